"""REST API under ``/api/v1``: patients, their assessment, replay and data, the rule catalogue
and profiles, the admin's user management and the researchers' de-identified export. One router
module per resource (``routes/``); what they share is in ``deps``; no SQL in a route (the store
does it). Every read or change of a patient is audited (a refused one too); every assessment
shown is recorded."""

from __future__ import annotations

from fastapi import APIRouter

from icaht.service.api.routes import (
    assessments,
    catalogue,
    data,
    health,
    patients,
    research,
    users,
)
from icaht.service.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
for _module in (health, patients, assessments, data, catalogue, users, research):
    router.include_router(_module.router)
