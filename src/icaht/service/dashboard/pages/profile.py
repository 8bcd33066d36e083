"""The profile page: every setting of the profile in force (open to every role)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from icaht.core.rule import setting_description
from icaht.knowledge.profile import shipped_profiles
from icaht.service.dashboard.access import User
from icaht.service.dashboard.templating import render
from icaht.service.settings import profile_in_force

router = APIRouter(include_in_schema=False)


@router.get("/profile")
def profile_page(request: Request, user: User) -> HTMLResponse:
    profile = profile_in_force(request)
    sections = []
    for section in type(profile).model_fields:
        value = getattr(profile, section)
        fields = getattr(type(value), "model_fields", None)
        if not fields:
            continue
        rows = []
        for name in fields:
            dotted = f"{section}.{name}"
            rows.append((dotted, str(getattr(value, name)), setting_description(dotted)))
        sections.append((section, rows))
    return render(
        request,
        "profile.html",
        {
            "nav": "profile",
            "profile": profile,
            "sections": sections,
            "shipped": shipped_profiles(),
        },
        user=user,
    )
