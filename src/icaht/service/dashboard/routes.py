"""Dashboard routes (server-rendered HTML at ``/``; not part of the OpenAPI schema), assembled
from the page groups of ``icaht.service.dashboard.pages`` (one router each).

Every page needs a signed-in browser session (demo mode signs the demo clinician in
automatically); patient pages need the clinician or admin role; every form post is checked
against the session's CSRF token. Every patient read, change and assessment shown is audited.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from icaht.service.dashboard.access import (
    CsrfRejected,
    PatientAccessDenied,
    SignInRequired,
    local_path,
    service_settings,
)
from icaht.service.dashboard.pages import (
    additions,
    assets,
    corrections,
    decision,
    labs,
    patient,
    patients,
    printout,
    profile,
    rules,
    signin,
    upload,
)
from icaht.service.dashboard.templating import HERE, error_page, forbidden
from icaht.service.sessions import DEMO_USER, codec

#: The page groups, each with its ``router``, in the order they are mounted.
PAGES: Final = (
    signin,
    patients,
    patient,
    printout,
    decision,
    additions,
    labs,
    corrections,
    upload,
    rules,
    profile,
    assets,
)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        manager = codec(request)
        params = dict(request.query_params)
        if (
            service_settings(request).demo
            and request.method == "GET"
            and "autosignin" not in params
        ):
            # Demo mode: sign the demo clinician in and come back; the marker stops a loop when
            # the browser refuses the cookie (it then lands on the sign-in form).
            params["autosignin"] = "1"
            response = RedirectResponse(f"{request.url.path}?{urlencode(params)}", 303)
            manager.write(response, request, manager.new(DEMO_USER))
            return response
        params.pop("autosignin", None)
        target = request.url.path + (f"?{urlencode(params)}" if params else "")
        if request.method != "GET":
            target = "/patients"
        response = RedirectResponse(
            "/signin?" + urlencode({"next": local_path(target)}), status_code=303
        )
        if manager.read(request) is None:
            manager.write(response, request, manager.new())
        return response

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _: CsrfRejected) -> Response:
        return error_page(
            request,
            None,
            403,
            "Form refused",
            "This form did not carry a valid security token (it may have expired or come "
            "from another site). Reload the page and try again.",
        )

    @app.exception_handler(PatientAccessDenied)
    async def _no_patient_access(request: Request, refused: PatientAccessDenied) -> Response:
        return forbidden(request, refused.user)


def install(app: FastAPI) -> None:
    """Mount the dashboard on an application: routes at ``/``, static files, error pages."""
    _handlers(app)
    for page in PAGES:
        app.include_router(page.router)
    app.mount(
        "/static", StaticFiles(directory=str(HERE / "static"), follow_symlink=False), "static"
    )
