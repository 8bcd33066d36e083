"""The rule catalogue and the profiles a request may use (any signed-in caller)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import HTTPException, Request
from fastapi import Path as PathParam

from icaht.knowledge.profile import Profile
from icaht.report.catalogue import catalogue_json
from icaht.service.api.deps import Anyone, ProfileQuery, api_router, chosen_profile
from icaht.service.settings import named_profile, profile_names

router = api_router()


@router.get("/rules")
def rules(request: Request, _: Anyone, profile: ProfileQuery = None) -> dict[str, Any]:
    """The rule catalogue with the profile's values of the settings each rule uses."""
    loaded: dict[str, Any] = json.loads(catalogue_json(chosen_profile(request, profile)))
    return loaded


@router.get("/profiles")
def profiles(request: Request, _: Anyone) -> list[str]:
    """The profile names a request may use: shipped and admin-registered."""
    return profile_names(request)


@router.get("/profiles/{name}")
def profile_detail(
    request: Request, name: Annotated[str, PathParam(max_length=64)], _: Anyone
) -> Profile:
    """A shipped or admin-registered profile's settings."""
    if name not in profile_names(request):
        raise HTTPException(404, "no such profile")
    return named_profile(request, name)
