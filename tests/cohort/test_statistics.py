"""Cohort statistics on small results tables built by hand; expected values worked out by hand
in each test (the comments show the arithmetic)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from icaht.cohort import (
    aalen_johansen,
    descriptive,
    recovery,
    results_contract,
    strata,
    tabulation,
    tpo_ra_table,
)
from icaht.errors import InputError


def results(*rows: dict[str, object]) -> pd.DataFrame:
    """A prepared results table: every contract column, None unless the row gives it."""
    base = dict.fromkeys(results_contract.REQUIRED_COLUMNS)
    raw = pd.DataFrame(
        [{**base, "patient_id": f"P{i + 1}", "as_of_day": 365, **r} for i, r in enumerate(rows)]
    )
    return results_contract.prepare_results(raw, "test.parquet")


def one(frame: pd.DataFrame, **where: object) -> dict[str, object]:
    """The single row of ``frame`` matching ``where`` (missing values as None)."""
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    assert mask.sum() == 1, f"{where}: {mask.sum()} rows"
    row = frame[mask].iloc[0].to_dict()
    return {str(k): None if v is None or v is pd.NA or pd.isna(v) else v for k, v in row.items()}


# --- checking the table -----------------------------------------------------------------------


def test_missing_columns_are_all_named() -> None:
    raw = pd.DataFrame({"patient_id": ["P1"]})
    with pytest.raises(InputError) as caught:
        results_contract.prepare_results(raw, "r.parquet")
    fields = {p.field for p in caught.value.problems}
    assert {"age_years", "anc_recovery_day", "tpo_ra_drugs"} <= fields
    assert all(p.source == "r.parquet" for p in caught.value.problems)


def test_bad_values_name_row_field_and_value() -> None:
    base = dict.fromkeys(results_contract.REQUIRED_COLUMNS)
    raw = pd.DataFrame(
        [
            {**base, "patient_id": "P1", "early_icaht": 7},
            {**base, "patient_id": "P2", "phenotype": "sluggish", "anc_recovery_day": "soon"},
            {**base, "patient_id": "P2", "gcsf_used": "maybe", "death_day": 12.5},
        ]
    )
    with pytest.raises(InputError) as caught:
        results_contract.prepare_results(raw, "r.csv")
    found = {(p.row, p.field, p.value) for p in caught.value.problems}
    assert (1, "early_icaht", 7) in found
    assert (2, "phenotype", "sluggish") in found
    assert (2, "anc_recovery_day", "soon") in found
    assert (3, "gcsf_used", "maybe") in found
    assert (3, "death_day", 12.5) in found
    assert (3, "patient_id", "P2") in found  # duplicate id, named at its second row


def test_csv_text_is_typed_and_empty_text_is_missing() -> None:
    base = dict.fromkeys(results_contract.REQUIRED_COLUMNS, "")
    raw = pd.DataFrame([{**base, "patient_id": "P1", "gcsf_used": "true", "age_years": "61.5"}])
    df = results_contract.prepare_results(raw, "r.csv")
    assert df.loc[0, "gcsf_used"] is True
    assert df.loc[0, "age_years"] == 61.5
    assert df.loc[0, "product"] is None  # "" is missing, not a product called ""
    assert math.isnan(float(df.loc[0, "anc_recovery_day"]))  # "" is missing, not day 0


def test_ctcae_grade_0_1_code_is_accepted() -> None:
    # icaht.core.ctcae: -1 = grade 0 or 1, not assessable without a lab LLN
    df = results({"ctcae_neutrophils_late": -1})
    assert df.loc[0, "ctcae_neutrophils_late"] == -1


# --- cohort table -----------------------------------------------------------------------------


def test_cohort_characteristics_medians_and_categories() -> None:
    df = results(
        {"age_years": 30.0, "product": "axi-cel", "diagnosis": "DLBCL"},
        {"age_years": 50.0, "product": "axi-cel", "diagnosis": "DLBCL"},
        {"age_years": 70.0, "product": "tisa-cel", "diagnosis": "MCL"},
        {"age_years": None, "product": None, "diagnosis": "DLBCL"},
    )
    table = descriptive.cohort_characteristics(df)
    age = one(table, characteristic="Age (years)")
    # ages 30, 50, 70 (one missing): median 50, range 30-70, 3 with data
    assert (age["median"], age["min"], age["max"], age["n_with_data"]) == (50.0, 30.0, 70.0, 3)
    assert age["display"] == "50 (30-70)"
    axi = one(table, characteristic="CAR-T product", category="axi-cel")
    assert (axi["n"], axi["percent"]) == (2, 50.0)  # 2 of 4 patients
    missing = one(table, characteristic="CAR-T product", category="not recorded")
    assert missing["n"] == 1
    assert one(table, characteristic="Patients")["n"] == 4
    assert one(table, characteristic="Diagnosis", category="DLBCL")["display"] == "3/4 (75.0%)"


def test_cohort_hematotox_missing_is_not_computable() -> None:
    df = results({"car_hematotox_risk": "low"}, {"car_hematotox_risk": None})
    table = descriptive.cohort_characteristics(df)
    assert one(table, characteristic="CAR-HEMATOTOX risk", category="low (0-1)")["n"] == 1
    assert one(table, characteristic="CAR-HEMATOTOX risk", category="not computable")["n"] == 1


# --- cytopenia incidence ----------------------------------------------------------------------


def test_cytopenia_incidence_thresholds_and_denominators() -> None:
    # neutrophils, early phase: grades 4, 3, 2, grade 0-1 (no LLN), no value
    df = results(
        {"ctcae_neutrophils_early": 4},
        {"ctcae_neutrophils_early": 3},
        {"ctcae_neutrophils_early": 2},
        {"ctcae_neutrophils_early": -1},
        {"ctcae_neutrophils_early": None},
    )
    table = descriptive.cytopenia_incidence(df)
    early = table[
        (table["lineage"] == "Neutrophils (ANC)") & (table["phase"] == "early (day < 30)")
    ]
    by_grade = {int(r["min_grade"]): r for r in early.to_dict("records")}
    # 4 patients have a grade (the "0-1" one included), 1 has none
    assert {int(r["n_with_data"]) for r in by_grade.values()} == {4}
    assert int(by_grade[1]["n_without_data"]) == 1
    # any grade >= 1: 4, 3, 2 -> 3/4; the "0-1" patient is listed as not assessable
    assert (int(by_grade[1]["n"]), by_grade[1]["percent"]) == (3, 75.0)
    assert int(by_grade[1]["n_not_assessable"]) == 1
    # grade >= 3: 4, 3 -> 2/4; grade 4: 1/4
    assert (int(by_grade[3]["n"]), by_grade[3]["percent"]) == (2, 50.0)
    assert (int(by_grade[4]["n"]), by_grade[4]["percent"]) == (1, 25.0)
    # a phase without any value says so instead of 0%
    late = one(table, lineage="Platelets", phase="late (day > 90)", min_grade=3)
    assert late["n_with_data"] == 0
    assert late["percent"] is None
    assert late["display"] == "no data"


# --- ICAHT, phenotype, recovery days --------------------------------------------------------------


def test_icaht_distribution_counts_flags_and_ungraded() -> None:
    df = results(
        {"early_icaht": 0},
        {"early_icaht": 3, "early_icaht_provisional": True},
        {"early_icaht": 3, "early_icaht_lower_bound": True},
        {"early_icaht": None},
    )
    table = descriptive.icaht_distributions(df)
    label = results_contract.ICAHT_LABELS["early_icaht"]
    g3 = one(table, measure=label, grade="3")
    # 2 of the 3 graded patients; one provisional, one lower bound
    assert (g3["n"], g3["n_with_data"], g3["percent"]) == (2, 3, 66.7)
    assert (g3["n_provisional"], g3["n_lower_bound"]) == (1, 1)
    assert one(table, measure=label, grade="not graded")["n"] == 1
    assert one(table, measure=label, grade="4")["n"] == 0


def test_phenotype_mix() -> None:
    df = results(
        {"phenotype": "quick"},
        {"phenotype": "quick"},
        {"phenotype": "aplastic"},
        {"phenotype": "undetermined"},
        {"phenotype": None},
    )
    table = descriptive.phenotype_mix(df)
    quick = one(table, phenotype="quick")
    # 2 of 5 patients; 2 of the 3 with a determined phenotype
    assert (quick["n"], quick["percent_of_all"], quick["percent_of_determined"]) == (2, 40.0, 66.7)
    assert one(table, phenotype="not reported")["n"] == 1
    assert one(table, phenotype="undetermined")["percent_of_determined"] is None


def test_recovery_times_count_patients_without_recovery() -> None:
    df = results(
        {"anc_nadir": 0.1, "anc_recovery_day": 12},
        {"anc_nadir": 0.3, "anc_recovery_day": 20},
        {"anc_nadir": 0.2},  # at risk, not recovered
        {"anc_nadir": 1.2},  # never <= 0.5: nothing to recover from
        {},  # no ANC at all
    )
    row = one(recovery.recovery_times(df), lineage="Neutrophils (ANC)")
    assert (row["n_with_data"], row["n_never_below"], row["n_at_risk"]) == (4, 1, 3)
    assert (row["n_recovered"], row["n_not_recovered"]) == (2, 1)
    # recovery days 12 and 20: median 16, range 12-20
    assert (row["median_day"], row["min_day"], row["max_day"]) == (16.0, 12.0, 20.0)


def test_platelet_transfusion_puts_a_patient_at_risk() -> None:
    # T-ICAHT recovery is looked for from the first count < 20 or the first platelet transfusion
    df = results(
        {"platelet_nadir": 25.0, "platelet_transfusions": 2, "platelet_recovery_day": 30},
        {"platelet_nadir": 25.0, "platelet_transfusions": 0},
        {"platelet_nadir": 8.0},
    )
    assert recovery.recovery_population(df, "platelets") == [None, recovery.NEVER_BELOW, None]


# --- competing risks --------------------------------------------------------------------------


def test_competing_risk_event_per_patient() -> None:
    df = results(
        {"anc_nadir": 0.1, "anc_recovery_day": 14, "death_day": 40, "follow_up_end_day": 40},
        {"anc_nadir": 0.1, "anc_recovery_day": 50, "death_day": 30, "follow_up_end_day": 30},
        {"anc_nadir": 0.1, "anc_recovery_day": 21, "progression_day": 21},  # same day: recovery
        {"anc_nadir": 0.1, "progression_day": 25, "death_day": 60, "follow_up_end_day": 60},
        {"anc_nadir": 0.1, "follow_up_end_day": 200, "as_of_day": 90, "death_day": 150},
        {"anc_nadir": 0.1, "last_observation_day": 45},
        {"anc_nadir": 0.1},
        {"anc_nadir": 0.9, "follow_up_end_day": 100},
    )
    data = recovery.competing_risk_times(df, "neutrophils")
    got = [
        (None if math.isnan(t) else t, e, x)
        for t, e, x in zip(data["time"], data["event"], data["excluded"], strict=True)
    ]
    assert got == [
        (14.0, aalen_johansen.RECOVERY, None),
        (30.0, aalen_johansen.DEATH, None),  # died before recovering
        (21.0, aalen_johansen.RECOVERY, None),
        (25.0, aalen_johansen.PROGRESSION, None),  # the first competing event
        (
            90.0,
            aalen_johansen.CENSORED,
            None,
        ),  # death after the assessment day is not known: censored
        (45.0, aalen_johansen.CENSORED, None),  # no follow-up end: the last observation
        (None, aalen_johansen.CENSORED, "no follow-up end day"),
        (None, aalen_johansen.CENSORED, recovery.NEVER_BELOW),
    ]


def test_aalen_johansen_hand_checked() -> None:
    # 6 patients: recovery on days 5, 10 and 30; death on day 10; censored on days 20 and 40.
    # day 5:  6 at risk, 1 recovery      CIF = 1/6                    S = 5/6
    # day 10: 5 at risk, 1 rec + 1 death CIF = 1/6 + 5/6 * 1/5 = 1/3  S = 5/6 * 3/5 = 1/2
    # day 20: censored (3 -> 2 at risk)
    # day 30: 2 at risk, 1 recovery      CIF = 1/3 + 1/2 * 1/2 = 7/12 S = 1/4
    # day 40: censored; later days are beyond follow-up
    times = np.array([5, 10, 10, 20, 30, 40], dtype=np.float64)
    events = np.array([1, 1, 2, 0, 1, 0], dtype=np.int64)
    fit = aalen_johansen.aalen_johansen(times, events)
    assert fit.at(4)[0] == 0.0
    assert fit.at(5)[0] == pytest.approx(1 / 6)
    assert fit.at(9)[0] == pytest.approx(1 / 6)
    assert fit.at(10)[0] == pytest.approx(1 / 3)
    assert fit.at(29)[0] == pytest.approx(1 / 3)
    assert fit.at(30)[0] == pytest.approx(7 / 12)
    assert fit.at(40)[0] == pytest.approx(7 / 12)
    assert fit.at(41) == (None, None, None)
    # at risk at the start of a day: censored on day 20 still counts on day 20
    assert [fit.at_risk(d) for d in (5, 10, 20, 21, 30, 41)] == [6, 5, 3, 2, 2, 0]
    estimate, low, high = fit.at(30)
    assert low is not None
    assert high is not None
    assert 0.0 <= low < estimate < high <= 1.0


def test_aalen_johansen_complete_follow_up_is_final() -> None:
    # everyone had an event: the estimate holds after the last day (2 of 3 recovered)
    fit = aalen_johansen.aalen_johansen(np.array([3.0, 8.0, 9.0]), np.array([1, 2, 1]))
    assert fit.complete
    assert fit.at(365)[0] == pytest.approx(2 / 3)


def _reference_aalen_johansen(times: np.ndarray, events: np.ndarray, day: int) -> float:
    """Textbook tie-aware Aalen-Johansen at the end of ``day`` (written here independently)."""
    cif, surv = 0.0, 1.0
    for t in sorted(set(times[events != 0].tolist())):
        if t > day:
            break
        at_risk = int((times >= t).sum())
        d_interest = int(((times == t) & (events == 1)).sum())
        d_all = int(((times == t) & (events != 0)).sum())
        cif += surv * d_interest / at_risk
        surv *= 1 - d_all / at_risk
    return cif


def test_aalen_johansen_matches_textbook_formula_with_ties() -> None:
    # many same-day recoveries, deaths, progressions and censorings: the estimate must equal the
    # tie-aware formula whatever order lifelines sees within a day
    rng = np.random.default_rng(7)
    times = rng.integers(0, 60, 400).astype(np.float64)
    events = rng.choice([0, 1, 1, 2, 3], 400).astype(np.int64)
    fit = aalen_johansen.aalen_johansen(times, events)
    for day in (0, 7, 14, 30, 45, 59):
        assert fit.at(day)[0] == pytest.approx(_reference_aalen_johansen(times, events, day))


def test_without_competing_events_cif_is_one_minus_kaplan_meier() -> None:
    times = np.array([2, 4, 4, 6, 8, 9], dtype=np.float64)
    events = np.array([1, 0, 1, 1, 0, 1], dtype=np.int64)
    # KM: day 2: 5/6; day 4: 5/6 * 4/5 = 2/3; day 6: 2/3 * 2/3 = 4/9; day 9: 0
    fit = aalen_johansen.aalen_johansen(times, events)
    assert fit.at(4)[0] == pytest.approx(1 - 2 / 3)
    assert fit.at(6)[0] == pytest.approx(1 - 4 / 9)
    assert fit.at(9)[0] == pytest.approx(1.0)


def test_aalen_johansen_leaves_global_random_state_alone() -> None:
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    aalen_johansen.aalen_johansen(np.array([1.0, 1.0, 2.0, 2.0]), np.array([1, 2, 1, 3]))
    assert np.random.random() == expected


def test_strata_crs_grades() -> None:
    df = results(*({"crs_max_grade": g} for g in (None, 0, 1, 2, 3, 4)))
    assert strata.strata(df, "crs_grade").tolist() == [
        "none recorded",
        "none recorded",
        "grade 1",
        "grade 2",
        "grade >= 3",
        "grade >= 3",
    ]


def test_cumulative_incidence_by_hematotox_risk() -> None:
    low = {"car_hematotox_risk": "low", "anc_nadir": 0.1, "follow_up_end_day": 100}
    high = {"car_hematotox_risk": "high", "anc_nadir": 0.05, "follow_up_end_day": 100}
    df = results(
        {**low, "anc_recovery_day": 10},
        {**low, "anc_recovery_day": 20},
        {**high, "anc_recovery_day": 40},
        {**high, "death_day": 25, "follow_up_end_day": 25},
        {**high},  # censored at day 100
        {"car_hematotox_risk": None, "anc_nadir": 2.0, "follow_up_end_day": 100},
    )
    table, curves = recovery.cumulative_incidence(df, "neutrophils", "car_hematotox_risk", (30, 60))
    assert table["stratum"].drop_duplicates().tolist() == [
        "low (0-1)",
        "high (>= 2)",
        "not available",
    ]
    low30 = one(table, stratum="low (0-1)", day=30)
    assert (low30["n"], low30["n_recovered"], low30["cumulative_incidence"]) == (2, 2, 1.0)
    # high: 3 at risk; death day 25 (competing), recovery day 40 among 2 at risk:
    # CIF(30) = 0; CIF(60) = S(40-) * 1/2 = 2/3 * 1/2 = 1/3
    high30 = one(table, stratum="high (>= 2)", day=30)
    high60 = one(table, stratum="high (>= 2)", day=60)
    assert high30["cumulative_incidence"] == 0.0
    assert high60["cumulative_incidence"] == pytest.approx(1 / 3)
    assert (high60["n_death_before_recovery"], high60["n_censored"]) == (1, 1)
    assert (high30["n_at_risk"], high60["n_at_risk"]) == (2, 1)
    # the stratum without anyone at risk is shown, with its exclusion counted
    na = one(table, stratum="not available", day=30)
    assert (na["n"], na["n_excluded"]) == (0, 1)
    assert na["cumulative_incidence"] is None
    assert na["display"] == "no patients"
    assert recovery.NEVER_BELOW in str(na["excluded_reasons"])
    high_curve = curves[curves["stratum"] == "high (>= 2)"]["cumulative_incidence"].tolist()
    assert high_curve == sorted(high_curve)  # a cumulative incidence never falls
    assert high_curve[-1] == pytest.approx(1 / 3)


def test_cumulative_incidence_beyond_follow_up_is_not_extrapolated() -> None:
    df = results(
        {"anc_nadir": 0.1, "anc_recovery_day": 10, "follow_up_end_day": 50},
        {"anc_nadir": 0.1, "follow_up_end_day": 50},
    )
    table, _ = recovery.cumulative_incidence(df, "neutrophils", "all", (30, 60))
    assert one(table, day=30)["cumulative_incidence"] == 0.5
    beyond = one(table, day=60)
    assert beyond["cumulative_incidence"] is None
    assert beyond["display"] == "beyond follow-up"


# --- TPO-RA -----------------------------------------------------------------------------------


def test_tpo_ra_table_in_beyar_katz_form() -> None:
    # three treated patients shaped like the Beyar-Katz 2022 abstract: start days 21, 43, 55
    # (median 43, range 21-55); days to platelets 6, 27, 38 (median 27, range 6-38)
    treated = [
        {
            "tpo_ra_drugs": "eltrombopag",
            "tpo_ra_start_day": 21,
            "tpo_ra_days_to_platelets": 6,
            "tpo_ra_response": True,
            "tpo_ra_lineages_met": "platelets;neutrophils",
            "tpo_ra_complete_resolution": True,
            "gcsf_used": True,
            "product": "tisa-cel",
        },
        {
            "tpo_ra_drugs": "romiplostim",
            "tpo_ra_start_day": 43,
            "tpo_ra_days_to_platelets": 27,
            "tpo_ra_response": True,
            "tpo_ra_lineages_met": "platelets",
            "tpo_ra_complete_resolution": False,
            "gcsf_used": True,
            "product": "tisa-cel",
        },
        {
            "tpo_ra_drugs": "romiplostim;eltrombopag",
            "tpo_ra_start_day": 55,
            "tpo_ra_days_to_platelets": 38,
            "tpo_ra_response": None,
            "product": "axi-cel",
        },
    ]
    df = results(*treated, {"product": "axi-cel"})
    table = tpo_ra_table.tpo_ra_table(df)
    assert one(table, item="Treated with a TPO-RA")["display"] == "3/4 (75.0%)"
    start = one(table, item="Days from infusion to first TPO-RA dose, median (range)")
    assert start["display"] == "43 (21-55)"
    assert start["beyar_katz_2022"] == "43 (21-55)"
    platelets = one(
        table, item="Days from first dose to resolution, median (range)", category="platelets"
    )
    assert (platelets["display"], platelets["n_with_data"]) == ("27 (6-38)", 3)
    both = one(table, item="Agent", category="eltrombopag + romiplostim")
    assert (both["n"], both["beyar_katz_2022"]) == (1, "1")
    response = one(
        table,
        item="Response (transfusion independence plus ANC > 0.5 and/or platelets > 20)",
    )
    assert response["display"] == "2/2 (100.0%)"  # the third has no response value yet
    assert one(table, item="Lineage criterion met", category="platelets")["n"] == 2
    assert one(table, item="Lineage criterion met", category="neutrophils")["n"] == 1
    assert one(table, item="Product (treated)", category="tisa-cel")["display"] == "2/3 (66.7%)"
    neutrophils = one(
        table, item="Days from first dose to resolution, median (range)", category="neutrophils"
    )
    assert (neutrophils["display"], neutrophils["n_with_data"]) == ("-", 0)


def test_tpo_ra_table_without_treated_patients() -> None:
    table = tpo_ra_table.tpo_ra_table(results({}, {}))
    assert one(table, item="Treated with a TPO-RA")["display"] == "0/2 (0.0%)"
    assert (
        one(
            table, item="Complete resolution (ANC > 0.5 and platelets > 20 x10^9/L and Hb > 8 g/dL)"
        )["display"]
        == "0/0"
    )


# --- completeness and formatting --------------------------------------------------------------


def test_data_completeness_and_integer_counts() -> None:
    table = descriptive.data_completeness(results({"age_years": 40.0}, {}))
    age = one(table, column="age_years")
    assert (age["n_with_data"], age["n_missing"], age["percent_with_data"]) == (1, 1, 50.0)
    assert str(table["n_missing"].dtype) == "Int64"  # written as 1, not 1.0


def test_formatting() -> None:
    assert tabulation.format_median_range(43.0, 21.0, 55.0) == "43 (21-55)"
    assert tabulation.format_median_range(16.5, 12.0, 21.0) == "16.5 (12-21)"
    assert tabulation.format_median_range(None, None, None) == "-"
    assert tabulation.format_fraction(6, 93) == "6/93 (6.5%)"
    assert tabulation.format_fraction(0, 0) == "0/0"
