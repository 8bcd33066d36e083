"""The rule catalogue page (open to every role)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from icaht.core.guidance import settings_used, sources
from icaht.core.rule import CATEGORIES
from icaht.core.rules import CATALOGUE
from icaht.service.dashboard.access import User
from icaht.service.dashboard.templating import render
from icaht.service.settings import profile_in_force

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class RuleView:
    id: str
    title: str
    category: str
    strength: str
    summary: str
    inputs: tuple[str, ...]
    settings: tuple[Any, ...]
    sources: tuple[Any, ...]


@router.get("/rules")
def rules_page(request: Request, user: User) -> HTMLResponse:
    profile = profile_in_force(request)
    views = [
        RuleView(
            r.id,
            r.title,
            r.category,
            r.strength,
            r.summary,
            r.inputs,
            settings_used(r, profile),
            sources(r),
        )
        for r in CATALOGUE
    ]
    order = {c: i for i, c in enumerate(CATEGORIES)}
    views.sort(key=lambda v: order[v.category])  # type: ignore[index]
    groups = [(c, list(g)) for c, g in groupby(views, key=lambda v: v.category)]
    return render(
        request, "rules.html", {"nav": "rules", "rules": views, "groups": groups}, user=user
    )
