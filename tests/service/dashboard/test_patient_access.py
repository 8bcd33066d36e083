"""Every patient page of the dashboard refuses a role without patient access, and in one order:
sign in first, then 403 for the role, and only then the page's own answers (422, 404). The
routes are read from the dashboard itself, so a new route without the check fails here unless
it is named as open to every role."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from tests.service.dashboard.conftest import Site, site, store

from icaht.service.dashboard.routes import PAGES

__all__ = ["site", "store"]  # the dashboard's fixtures, requested by name

#: Pages open to every signed-in role (or to everyone): sign-in, the rule catalogue, the profile.
OPEN = {
    ("GET", "/"),
    ("GET", "/signin"),
    ("POST", "/signin"),
    ("POST", "/signout"),
    ("GET", "/rules"),
    ("GET", "/profile"),
    ("GET", "/static/vendor/plotly.min.js"),
}


def _dashboard_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for page in PAGES
        for route in page.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    )


PATIENT_ROUTES = [r for r in _dashboard_routes() if r not in OPEN]


def test_the_patient_routes_are_found() -> None:
    assert ("GET", "/patient") in PATIENT_ROUTES
    assert ("POST", "/upload/confirm") in PATIENT_ROUTES
    assert len(PATIENT_ROUTES) == 14


@pytest.mark.parametrize(("method", "path"), PATIENT_ROUTES)
def test_a_researcher_is_refused_every_patient_page(site: Site, method: str, path: str) -> None:
    """Without parameters (a GET page would answer 422, a post 400 or 404, to a clinician)."""
    unsigned = site.client.request(method, path, follow_redirects=False)
    assert unsigned.status_code == 303
    assert unsigned.headers["location"].startswith("/signin")
    site.sign_in("researcher-user")
    data = {"csrf_token": site.token("/rules")} if method == "POST" else None
    refused = site.client.request(method, path, data=data, follow_redirects=False)
    assert refused.status_code == 403, refused.text[:300]
    assert "researcher role cannot open patient pages" in refused.text
