"""The patient list's filters and sort orders, the default being today's worklist order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from icaht.service.dashboard.cells import GradeCell
from icaht.service.dashboard.decisions import Decision
from icaht.service.dashboard.rows import PatientRow

#: The "grade >= 3" filter threshold: CTCAE v5 grade 3 is "severe" (CTCAE v5.0), and ICAHT /
#: T-ICAHT grade 3 is "severe" (Rejeski, Blood 2023; T-ICAHT Table 1).
SEVERE_GRADE = 3


_PHASE_ORDER = {"pre-infusion": 0, "early": 1, "prolonged": 2, "late": 3}


def _grade_value(cell: GradeCell) -> int:
    return -2 if cell.value is None else cell.value


def worklist_key(row: PatientRow, decided: dict[str, Decision]) -> tuple[int, int, int, str]:
    """Today's worklist order: most unacknowledged act-now items first, then stale counts, then
    phase (early before prolonged before late), then the patient key."""
    return (
        -row.open_act_now(decided),
        0 if row.lab_stale else 1,
        _WORKLIST_PHASE.get(row.phase, 9),
        row.key.lower(),
    )


_WORKLIST_PHASE = {"early": 0, "prolonged": 1, "late": 2, "pre-infusion": 3}


def sort_rows(
    rows: Sequence[PatientRow],
    sort: str,
    descending: bool,
    decided: dict[str, dict[str, Decision]],
) -> list[PatientRow]:
    def key(row: PatientRow) -> Any:
        if sort == "worklist":
            return worklist_key(row, decided.get(row.key, {}))
        if sort == "product":
            return (row.product.lower(), row.key)
        if sort == "day":
            return (-(10**6) if row.day is None else row.day, row.key)
        if sort == "phase":
            return (_PHASE_ORDER.get(row.phase, 9), row.key)
        if sort in ("anc", "plt", "hb"):
            return (_grade_value(row.ctcae[("anc", "plt", "hb").index(sort)]), row.key)
        if sort == "icaht":
            return (max(_grade_value(row.early_icaht), _grade_value(row.late_icaht)), row.key)
        if sort == "ticaht":
            return (max(_grade_value(row.early_ticaht), _grade_value(row.late_ticaht)), row.key)
        if sort == "phenotype":
            return (row.phenotype, row.key)
        if sort == "open":
            return (row.open_recommendations(decided.get(row.key, {})), row.key)
        if sort == "lab":
            return (-1e9 if row.last_lab_day is None else row.last_lab_day, row.key)
        return row.key.lower()

    return sorted(rows, key=key, reverse=descending)


def filter_rows(
    rows: Iterable[PatientRow],
    *,
    phase: str | None,
    severe: bool,
    tpo_ra: bool,
    query: str | None,
) -> list[PatientRow]:
    out = []
    needle = (query or "").strip().lower()
    for row in rows:
        if phase and row.phase != phase:
            continue
        if severe and row.current < SEVERE_GRADE:
            continue
        if tpo_ra and not row.on_tpo_ra:
            continue
        if needle and not any(
            needle in text.lower()
            for text in (row.key, row.name, row.mrn, row.product, row.diagnosis)
        ):
            continue
        out.append(row)
    return out
