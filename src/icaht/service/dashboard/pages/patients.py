"""The patient list: today's worklist of every current patient, filtered and sorted."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from icaht.service.dashboard import decisions as decision_store
from icaht.service.dashboard.access import Db, PatientUser, remote
from icaht.service.dashboard.list_order import filter_rows, sort_rows
from icaht.service.dashboard.looks import last_views
from icaht.service.dashboard.rows import RowCache, list_rows, new_row_cache
from icaht.service.dashboard.templating import render
from icaht.service.settings import profile_in_force
from icaht.store.audit import audit

router = APIRouter(include_in_schema=False)


def _row_cache(request: Request) -> RowCache:
    found: RowCache | None = getattr(request.app.state, "dashboard_rows", None)
    if found is None:
        found = new_row_cache()
        request.app.state.dashboard_rows = found
    return found


@router.get("/patients")
def patients_page(
    request: Request,
    user: PatientUser,
    db: Db,
    q: str = "",
    phase: str = "",
    severe: bool = False,
    tpo: bool = False,
    sort: str = "worklist",
    dir: str = "asc",
) -> HTMLResponse:
    profile = profile_in_force(request)
    rows = list_rows(db, _row_cache(request), profile)
    decided = decision_store.all_decisions(db)
    shown = filter_rows(rows, phase=phase or None, severe=severe, tpo_ra=tpo, query=q)
    descending = dir == "desc"
    shown = sort_rows(shown, sort, descending, decided)
    audit(
        db,
        actor=user.username,
        action="dashboard-list",
        remote=remote(request),
        detail={"count": len(shown)},
    )
    db.commit()
    filters = {"q": q, "phase": phase, "severe": "1" if severe else "", "tpo": "1" if tpo else ""}

    def query(**change: str) -> str:
        merged = {**filters, "sort": sort, "dir": dir, **change}
        return urlencode({k: v for k, v in merged.items() if v})

    return render(
        request,
        "patients.html",
        {
            "nav": "patients",
            "rows": shown,
            "total": len(rows),
            "decided": decided,
            "looked": last_views(db, user.username),
            "q": q,
            "phase": phase,
            "phases": ("pre-infusion", "early", "prolonged", "late"),
            "severe": severe,
            "tpo": tpo,
            "sort": sort,
            "descending": descending,
            "query": query,
        },
        user=user,
    )
