"""``GET /health``: liveness and the database schema revision (no sign-in needed)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from icaht import __version__
from icaht.service.api.deps import api_router
from icaht.store.database import current_revision

router = api_router()


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    """Liveness and the database schema revision (no sign-in needed)."""
    revision = current_revision(request.app.state.engine)
    return {"status": "ok", "icaht": __version__, "schema": revision}
