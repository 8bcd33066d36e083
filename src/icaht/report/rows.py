"""One flat row per assessed patient, for result tables (CSV/Parquet) and cohort work.

:data:`ResultRow` is the one row type: ``icaht grade`` and the research export write
:func:`assessment_row` (or :func:`grades_row` without the rules); the cohort results table
(:func:`icaht.cohort.results.cohort_row`) extends :func:`assessment_row` with its own columns.
"""

from __future__ import annotations

from typing import Protocol

from icaht.core.assessment import Assessment
from icaht.core.icaht import IcahtResult
from icaht.core.recovery import PhenotypeResult

_PHASES = ("early", "prolonged", "late")

#: One cell of a result row: text, a number, a flag or null (a CSV cell, a Parquet value).
Cell = str | int | float | bool | None
#: One patient's result row: column name -> cell, in column order.
ResultRow = dict[str, Cell]


class Graded(Protocol):
    """The graded results of a patient (an :class:`Assessment`, or a rule context when the rules
    are not run)."""

    @property
    def early_icaht(self) -> IcahtResult: ...
    @property
    def late_icaht(self) -> IcahtResult: ...
    @property
    def early_ticaht(self) -> IcahtResult: ...
    @property
    def late_ticaht(self) -> IcahtResult: ...
    @property
    def phenotype(self) -> PhenotypeResult: ...
    @property
    def platelet_recovery_day(self) -> int | None: ...


def grades_row(
    patient_id: str, as_of_day: int, follow_up_end: tuple[int, str], profile: str, g: Graded
) -> ResultRow:
    """The first columns of every row (``icaht grade --grades-only`` writes only these): who,
    as of when, follow-up end, profile, the four window grades (``*_provisional``: the grade can
    still change), the recovery phenotype and the platelet recovery day."""
    row: ResultRow = {
        "patient_id": patient_id,
        "as_of_day": as_of_day,
        "follow_up_end_day": follow_up_end[0],
        "follow_up_end_reason": follow_up_end[1],
        "profile": profile,
    }
    for name, result in (
        ("early_icaht", g.early_icaht),
        ("late_icaht", g.late_icaht),
        ("early_ticaht", g.early_ticaht),
        ("late_ticaht", g.late_ticaht),
    ):
        row[name] = result.grade
        row[f"{name}_provisional"] = result.provisional
        row[f"{name}_lower_bound"] = result.lower_bound
    row["phenotype"] = g.phenotype.phenotype
    row["platelet_recovery_day"] = g.platelet_recovery_day
    return row


def assessment_row(a: Assessment) -> ResultRow:
    """The columns of ``icaht grade``: :func:`grades_row`, then the worst CTCAE per lineage and
    phase, CAR-HEMATOTOX, the recommendations fired and the rules that could not be evaluated on
    the as-of day (rule ids, ``;``-separated)."""
    row = grades_row(
        a.patient_id,
        a.as_of_day,
        (a.follow_up_end_day, a.follow_up_end_reason),
        f"{a.profile_name}@{a.profile_version}",
        a,
    )
    for status in a.lineages:
        key = status.lineage.replace(" ", "_")
        for phase in _PHASES:
            row[f"ctcae_{key}_{phase}"] = status.worst_ctcae_by_phase.get(phase)
    ht = a.scores.car_hematotox
    row["car_hematotox"] = ht.total
    row["car_hematotox_risk"] = ht.category
    row["car_hematotox_missing"] = ";".join(ht.missing)
    row["recommendations"] = ";".join(r.rule_id for r in a.recommendations)
    row["not_evaluated"] = ";".join(r.rule_id for r in a.not_evaluated)
    return row
