"""The profile page: every setting of the profile in force with its documented source (open to
every role), as ``icaht.report.catalogue`` lists them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from icaht.core.rule import setting_description
from icaht.knowledge.profile import shipped_profiles
from icaht.report.catalogue import profile_sections
from icaht.service.dashboard.access import User
from icaht.service.dashboard.templating import render
from icaht.service.settings import profile_in_force

router = APIRouter(include_in_schema=False)


@router.get("/profile")
def profile_page(request: Request, user: User) -> HTMLResponse:
    profile = profile_in_force(request)
    sections = [
        (section, [(dotted, str(value), setting_description(dotted)) for dotted, value in rows])
        for section, rows in profile_sections(profile)
        if rows
    ]
    context = {
        "nav": "profile",
        "profile": profile,
        "sections": sections,
        "shipped": shipped_profiles(),
    }
    return render(request, "profile.html", context, user=user)
