"""De-identified cohort results for researchers (``/api/v1/cohort``).

One row per stored patient (the columns of ``icaht grade``: grades, phenotype, worst CTCAE per
lineage and phase, CAR-HEMATOTOX, rule ids), with the patient id replaced by a keyed pseudonym
(HMAC-SHA256 of the id under the server's secret key, so the same patient keeps the same
pseudonym between exports of one server and cannot be reversed without the key). Rows hold days
after infusion only: no names, dates, ages or free text. Every export is audited.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from typing import Annotated, Literal

from fastapi import Query, Request, Response

from icaht.core.assessment import assess
from icaht.core.record import MAX_DAY_RANGE
from icaht.report.rows import assessment_row
from icaht.service.api.deps import Db, Researcher, api_router
from icaht.service.auth import audited
from icaht.service.settings import profile_in_force
from icaht.store.patients import current_patient_keys
from icaht.store.reading import load_course

router = api_router("/cohort")
PSEUDONYM_HEX_DIGITS = 16


def pseudonym(secret: str, patient_key: str) -> str:
    """A stable, keyed pseudonym for a patient id."""
    digest = hmac.new(secret.encode("utf-8"), patient_key.encode("utf-8"), hashlib.sha256)
    return "pt-" + digest.hexdigest()[:PSEUDONYM_HEX_DIGITS]


@router.get(
    "/results",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def cohort_results(
    request: Request,
    who: Researcher,
    db: Db,
    as_of: Annotated[
        int | None,
        Query(
            ge=-MAX_DAY_RANGE,
            le=MAX_DAY_RANGE,
            description=(
                "As of a day after infusion (a day number only: researchers see no dates); "
                "default: each patient's latest data."
            ),
        ),
    ] = None,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """One de-identified row per patient, assessed as of a day (no look-ahead)."""
    secret: str = request.app.state.settings.secret_key
    profile = profile_in_force(request)
    keys = current_patient_keys(db)
    rows, returned = [], []
    for key in keys:
        course = load_course(db, key)
        if course is None:
            continue
        returned.append(key)
        when = None if as_of is None else float(as_of)
        row = assessment_row(assess(course, when, profile, episodes=False))
        row["patient_id"] = pseudonym(secret, key)
        rows.append(row)
    audited(
        db,
        who,
        "cohort-export",
        detail={
            "patients": len(rows),
            "patient_keys": returned,  # which patients the export returned (issue 18)
            "as_of_day": as_of,
            "format": fmt,
        },
    )
    if fmt == "json":
        return Response(json.dumps(rows), media_type="application/json")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["patient_id"])
    writer.writeheader()
    writer.writerows(rows)
    return Response(buffer.getvalue(), media_type="text/csv")
