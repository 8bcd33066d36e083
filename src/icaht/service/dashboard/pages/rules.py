"""The rule catalogue page (open to every role): the catalogue grouped by category with the
settings and sources of each rule, as ``icaht.report.catalogue`` gives it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from icaht.core.rules import CATALOGUE
from icaht.report.catalogue import by_category
from icaht.service.dashboard.access import User
from icaht.service.dashboard.templating import render
from icaht.service.settings import profile_in_force

router = APIRouter(include_in_schema=False)


@router.get("/rules")
def rules_page(request: Request, user: User) -> HTMLResponse:
    groups = by_category(profile_in_force(request))
    context = {"nav": "rules", "count": len(CATALOGUE), "groups": groups}
    return render(request, "rules.html", context, user=user)
