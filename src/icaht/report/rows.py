"""One flat row per assessed patient, for result tables (CSV/Parquet) and cohort work."""

from __future__ import annotations

from icaht.core.assessment import Assessment

_PHASES = ("early", "prolonged", "late")


def assessment_row(a: Assessment) -> dict[str, object]:
    """The columns of ``icaht grade``: grades, phenotype, worst CTCAE per lineage and phase,
    CAR-HEMATOTOX, the recommendations fired and the rules that could not be evaluated on the
    as-of day (rule ids, ``;``-separated). ``*_provisional`` columns say whether a grade can still
    change."""
    row: dict[str, object] = {
        "patient_id": a.patient_id,
        "as_of_day": a.as_of_day,
        "follow_up_end_day": a.follow_up_end_day,
        "follow_up_end_reason": a.follow_up_end_reason,
        "profile": f"{a.profile_name}@{a.profile_version}",
    }
    for name, result in (
        ("early_icaht", a.early_icaht),
        ("late_icaht", a.late_icaht),
        ("early_ticaht", a.early_ticaht),
        ("late_ticaht", a.late_ticaht),
    ):
        row[name] = result.grade
        row[f"{name}_provisional"] = result.provisional
        row[f"{name}_lower_bound"] = result.lower_bound
    row["phenotype"] = a.phenotype.phenotype
    row["platelet_recovery_day"] = a.platelet_recovery_day
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
