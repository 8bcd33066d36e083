"""CORS for the CDS Hooks endpoints (``/cds-services``: discovery, services, feedback).

CDS clients that run in a browser (the public CDS Hooks sandbox, https://sandbox.cds-hooks.org,
and clients built like it) call a CDS service from the page: the browser asks first with an
``OPTIONS`` preflight, and shows the answer to the page only when it names the page's origin.
The origins allowed are a setting (``ICAHT_CDS_CORS_ORIGINS``, a JSON list; ``["*"]`` allows
any); by default the sandbox, so it can call a server on the developer's machine. The
preflight also answers Chrome's Private Network Access check (a public page calling a local
server: ``Access-Control-Allow-Private-Network``). Only the CDS endpoints answer CORS: the
REST API and the dashboard stay same-origin. A call still needs its client JWT outside demo
mode; CORS only lets a browser show the answer.

Starlette's CORS middleware does the work (with its Private Network Access option); this
wrapper limits it to the CDS paths.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from icaht.service.body_limit import CDS_PREFIX

#: Methods of the CDS endpoints (discovery GET, service and feedback POST).
METHODS = ("GET", "POST", "OPTIONS")
#: Request headers a CDS client sends (the client JWT, the JSON body).
HEADERS = ("Authorization", "Content-Type")
#: Project default: seconds a browser may keep a preflight's answer.
PREFLIGHT_SECONDS = 600


class CdsCors:
    """CORS on the ``/cds-services`` paths only (module docstring)."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=METHODS,
            allow_headers=HEADERS,
            allow_private_network=True,
            max_age=PREFLIGHT_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != CDS_PREFIX and not path.startswith(CDS_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        await self.cors(scope, receive, send)
