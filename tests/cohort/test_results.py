"""The per-patient results row: the shared contract's columns, agreement with the Assessment,
the default as-of day, the guidance checkpoints, recovery days and no look-ahead."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from icaht.cohort.results import (
    DEFAULT_HORIZON_DAY,
    RESULTS_SCHEMA,
    cohort_row,
    default_as_of_day,
    rows_table,
)
from icaht.core.assessment import assess
from icaht.core.course import Course, course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.io.inputs import load_courses
from icaht.knowledge.profile import load_profile
from icaht.report.rows import assessment_row

EXAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("examples").glob("*.json"))
PROFILE = load_profile()

# The shared contract (issue 7 brief), typed out here: s=string, i=int64, f=float64, b=bool.
_CONTRACT = """
patient_id s age_years f sex s diagnosis s product s target s costimulatory_domain s
as_of_day i follow_up_end_day i follow_up_end_reason s death_day i progression_day i
last_observation_day i crs_max_grade i icans_max_grade i car_hematotox i car_hematotox_risk s
car_hematotox_missing s early_icaht i early_icaht_provisional b early_icaht_lower_bound b
late_icaht i late_icaht_provisional b late_icaht_lower_bound b early_ticaht i
early_ticaht_provisional b early_ticaht_lower_bound b late_ticaht i late_ticaht_provisional b
late_ticaht_lower_bound b phenotype s anc_recovery_day i anc_nadir f platelet_recovery_day i
platelet_nadir f gcsf_used b rbc_transfusions i platelet_transfusions i tpo_ra_drugs s
tpo_ra_start_day i tpo_ra_days_on i tpo_ra_response b tpo_ra_response_day i tpo_ra_lineages_met s
tpo_ra_transfusion_independent b tpo_ra_days_to_platelets i tpo_ra_days_to_neutrophils i
tpo_ra_days_to_hemoglobin i tpo_ra_complete_resolution b tpo_ra_complete_resolution_day i
recommendations_day30 s recommendations_day90 s recommendations s not_evaluated s profile s
"""
_TYPES = {"s": pa.string(), "i": pa.int64(), "f": pa.float64(), "b": pa.bool_()}


def _contract() -> dict[str, pa.DataType]:
    words = _CONTRACT.split()
    columns = {name: _TYPES[kind] for name, kind in zip(words[::2], words[1::2], strict=True)}
    for lineage in ("neutrophils", "platelets", "hemoglobin", "white_cells", "lymphocytes"):
        for phase in ("early", "prolonged", "late"):
            columns[f"ctcae_{lineage}_{phase}"] = pa.int64()
    return columns


def test_schema_is_the_shared_contract() -> None:
    expected = _contract()
    assert set(RESULTS_SCHEMA.names) == set(expected)
    for name, kind in expected.items():
        assert RESULTS_SCHEMA.field(name).type == kind, name


def _courses() -> list[Course]:
    return [c for path in EXAMPLES for c in load_courses(path)]


@pytest.mark.parametrize("course", _courses(), ids=lambda c: c.facts.patient_id)
def test_row_reports_the_assessment_as_of_its_day(course: Course) -> None:
    row = cohort_row(course, None, PROFILE)
    day = row["as_of_day"]
    assessment = assess(course, day, PROFILE)
    for name in ("early_icaht", "late_icaht", "early_ticaht", "late_ticaht"):
        result = getattr(assessment, name)
        assert row[name] == result.grade
        assert row[f"{name}_provisional"] == result.provisional
        assert row[f"{name}_lower_bound"] == result.lower_bound
    assert row["phenotype"] == assessment.phenotype.phenotype
    assert row["follow_up_end_day"] == assessment.follow_up_end_day
    assert row["platelet_recovery_day"] == assessment.platelet_recovery_day
    assert row["recommendations"] == ";".join(r.rule_id for r in assessment.recommendations)
    assert row["not_evaluated"] == ";".join(r.rule_id for r in assessment.not_evaluated)
    for checkpoint in (30, 90):
        column = f"recommendations_day{checkpoint}"
        if day < checkpoint:
            assert row[column] is None
        else:
            fired = assess(course, checkpoint, PROFILE).recommendations
            assert row[column] == ";".join(r.rule_id for r in fired)
    neutrophils = next(s for s in assessment.lineages if s.lineage == "neutrophils")
    assert row["ctcae_neutrophils_early"] == neutrophils.worst_ctcae_by_phase["early"]
    assert row["profile"] == f"{PROFILE.name}@{PROFILE.version}"
    rows_table([row])  # the row fits the schema


@pytest.mark.parametrize("course", _courses(), ids=lambda c: c.facts.patient_id)
def test_the_cohort_row_extends_the_grade_row(course: Course) -> None:
    """One row type: every ``icaht grade`` column is in the cohort row with the same value, except
    CAR-HEMATOTOX, whose total the results table keeps as whole points."""
    row = cohort_row(course, 60, PROFILE)
    graded = assessment_row(assess(course, 60, PROFILE, episodes=False))
    total = graded.pop("car_hematotox")
    assert row["car_hematotox"] == (None if total is None else round(float(total)))
    assert {name: row[name] for name in graded} == graded


def _record(
    observations: list[tuple[float, str, float, str]], events: list[dict[str, object]]
) -> Course:
    record = PatientRecord.model_validate(
        {
            "patient": {"patient_id": "T1", "age_years": 60, "sex": "female"},
            "observations": [
                {"day": d, "analyte": a, "value": v, "unit": u} for d, a, v, u in observations
            ],
            "events": events,
        }
    )
    return course_from_record(record)


def test_default_as_of_day_is_end_of_follow_up_capped_at_one_year() -> None:
    short = _record([(0.3, "anc", 2.0, "10^9/L"), (45.3, "anc", 2.5, "10^9/L")], [])
    assert default_as_of_day(short) == 45
    assert cohort_row(short, None, PROFILE)["as_of_day"] == 45
    long = _record([(0.3, "anc", 2.0, "10^9/L"), (500.2, "anc", 2.5, "10^9/L")], [])
    assert default_as_of_day(long) == DEFAULT_HORIZON_DAY
    died = _record([(0.3, "anc", 2.0, "10^9/L")], [{"kind": "death", "day": 70.5}])
    assert default_as_of_day(died) == 70


def test_checkpoints_are_empty_before_they_are_reached() -> None:
    course = _record([(0.3, "anc", 0.2, "10^9/L"), (20.3, "anc", 1.5, "10^9/L")], [])
    row = cohort_row(course, 25, PROFILE)
    assert row["recommendations_day30"] is None
    assert row["recommendations_day90"] is None
    row = cohort_row(course, 60, PROFILE)
    assert row["recommendations_day30"] is not None
    assert row["recommendations_day90"] is None


def test_no_look_ahead() -> None:
    course = _record(
        [(0.3, "anc", 0.2, "10^9/L"), (10.3, "anc", 0.3, "10^9/L"), (40.3, "anc", 1.8, "10^9/L")],
        [
            {"kind": "transfusion", "day": 5.0, "product": "rbc"},
            {"kind": "transfusion", "day": 50.0, "product": "rbc"},
            {"kind": "crs", "day": 2.0, "grade": 1},
            {"kind": "crs", "day": 45.0, "grade": 3},
            {"kind": "disease_status", "day": 60.0, "status": "pd"},
            {"kind": "death", "day": 80.0},
        ],
    )
    early = cohort_row(course, 30, PROFILE)
    assert early["rbc_transfusions"] == 1
    assert early["crs_max_grade"] == 1
    assert early["progression_day"] is None
    assert early["death_day"] is None
    assert early["last_observation_day"] == 10
    assert early["anc_recovery_day"] is None  # 1.8 on day 40 is not known on day 30
    late = cohort_row(course, 100, PROFILE)
    assert late["rbc_transfusions"] == 2
    assert late["crs_max_grade"] == 3
    assert late["progression_day"] == 60
    assert late["death_day"] == 80
    assert late["anc_recovery_day"] == 40
