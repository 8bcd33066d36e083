"""Rules of the prolonged phase (icaht.core.rules.prolonged): biphasic drop, G-CSF failure and the
other marrow triggers, PJP and extended prophylaxis, TA-TMA screening and IPF interpretation.

Sources: Jain et al., Blood 2023 (seed 001, ``L<n>``); Baur et al., JITC 2021 (seed 004).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.rule_helpers import SEED, daily, fired, record, unevaluated

from icaht.core.assessment import assess
from icaht.core.record import PatientRecord
from icaht.io.records import load_course

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def tx(day: float, product: str) -> dict[str, Any]:
    return {"kind": "transfusion", "start": day, "product": product}


def med(drug: str, start: float, end: float | None = None) -> dict[str, Any]:
    return {"kind": "medication", "drug": drug, "start": start, "end": end}


def labels(rec_facts: list[Any]) -> list[str]:
    return [f.label for f in rec_facts]


# -- growth-factor.biphasic-drop -----------------------------------------------------------------
def _biphasic(after: float, later: float | None = None) -> list[tuple[str, float, float]]:
    labs = daily("anc", 0, 9, 0.3) + daily("anc", 10, 14, 1.0) + daily("anc", 15, 20, after)
    return labs + (daily("anc", 21, 25, later) if later is not None else [])


@pytest.mark.parametrize(("anc", "expected"), [(0.74, True), (0.75, False)])
def test_biphasic_drop_threshold(anc: float, expected: bool) -> None:
    """JAIN L53: after an initial recovery, a drop to ANC < 750/mm3 -> daily G-CSF."""
    out = fired(record(labs=_biphasic(anc)), 20)
    assert ("growth-factor.biphasic-drop" in out) is expected


def test_biphasic_drop_facts() -> None:
    """JAIN L53: the recovery day and the drop are shown with their days."""
    rec = fired(record(labs=_biphasic(0.6)), 20)["growth-factor.biphasic-drop"]
    facts = {f.label: f for f in rec.facts}
    assert facts["ANC recovery (> 0.5 on consecutive values)"].day == 12
    assert facts["Biphasic drop: ANC"].day == 15
    assert rec.action.startswith("Consider daily G-CSF")


@pytest.mark.parametrize(("later", "expected"), [(1.5, True), (1.51, False)])
def test_biphasic_drop_keeps_firing_until_above_1_5(later: float, expected: bool) -> None:
    """JAIN L53: daily G-CSF "until ANC is >1500/mm3"; exactly 1.5 is not above."""
    out = fired(record(labs=_biphasic(0.6, later)), 25)
    assert ("growth-factor.biphasic-drop" in out) is expected


@pytest.mark.parametrize("anc", [0.3, 0.6])
def test_biphasic_drop_needs_recovery_then_fall(anc: float) -> None:
    """JAIN L53: 'initial count recovery, and then later biphasic drop': no recovery (0.3), or an
    ANC that never rose to 0.75 after its recovery (0.6), is no biphasic drop."""
    assert "growth-factor.biphasic-drop" not in fired(record(labs=daily("anc", 0, 20, anc)), 20)


def test_biphasic_drop_crs_caveat() -> None:
    """JAIN L39: G-CSF is usually avoided during ongoing CRS unless severe infection. Revised
    (clinical-decisions.md, G-CSF): a CRS below grade 2 is a caveat on the card; grade >= 2
    defers it (tests/core/rules/test_gcsf.py)."""
    rec = record(labs=_biphasic(0.6), events=[{"kind": "crs", "start": 18, "grade": 1}])
    assert any("CRS" in c for c in fired(rec, 20)["growth-factor.biphasic-drop"].caveats)


# -- workup.gcsf-no-response ---------------------------------------------------------------------
def _no_response(anc_on_gcsf: float = 0.3, gcsf_start: int = 30) -> list[tuple[str, float, float]]:
    return daily("anc", 0, gcsf_start - 1, 0.3) + daily("anc", gcsf_start, 40, anc_on_gcsf)


@pytest.mark.parametrize(("day", "expected"), [(35, False), (36, True)])
def test_gcsf_no_response_exposure_days(day: int, expected: bool) -> None:
    """JAIN L53: complete lack of response to G-CSF -> marrow; >= gcsf.no_response_days (7)."""
    rec = record(labs=_no_response(), events=[med("filgrastim", 30)])
    assert ("workup.gcsf-no-response" in fired(rec, day)) is expected


@pytest.mark.parametrize(("anc", "expected"), [(0.5, True), (0.51, False)])
def test_gcsf_no_response_anc_threshold(anc: float, expected: bool) -> None:
    """JAIN L39/L53: a response is any ANC > 500/mm3; exactly 0.5 is no response."""
    rec = record(labs=_no_response(anc), events=[med("filgrastim", 30)])
    assert ("workup.gcsf-no-response" in fired(rec, 37)) is expected


def test_gcsf_no_response_facts_and_marrow_blocks() -> None:
    """JAIN L53: fires with the G-CSF start; a marrow since G-CSF started answers it."""
    events = [med("filgrastim", 30)]
    rec = fired(record(labs=_no_response(), events=events), 37)["workup.gcsf-no-response"]
    assert rec.facts[0].day == 30
    marrow = {"kind": "marrow_biopsy", "start": 36, "cellularity": "hypocellular"}
    assert "workup.gcsf-no-response" not in fired(
        record(labs=_no_response(), events=[*events, marrow]), 37
    )


@pytest.mark.parametrize(("day", "expected"), [(29, False), (30, True)])
def test_gcsf_no_response_prolonged_phase_only(day: int, expected: bool) -> None:
    """JAIN L51-53: the marrow trigger belongs to prolonged or late cytopenia (day >= 30)."""
    rec = record(labs=_no_response(gcsf_start=20), events=[med("filgrastim", 20)])
    assert ("workup.gcsf-no-response" in fired(rec, day)) is expected


# -- workup.marrow-prolonged-triggers ------------------------------------------------------------
RELAPSE = {"kind": "disease_status", "start": 35, "status": "relapse"}


def _counts(anc: float = 2.0, plt: float = 100.0, hb: float = 10.0) -> list[Any]:
    return daily("anc", 30, 45, anc) + daily("platelets", 30, 45, plt) + daily("hb", 30, 45, hb)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"anc": 1.0}, True),
        ({"anc": 1.01}, False),
        ({"plt": 49.9}, True),
        ({"plt": 50.0}, False),
        ({"hb": 7.9}, True),
        ({"hb": 8.0}, False),
    ],
)
def test_marrow_triggers_cytopenia_thresholds(counts: dict[str, float], expected: bool) -> None:
    """JAIN L53: prolonged cytopenia plus likely relapse -> marrow; profile cytopenia limits."""
    rec = record(labs=_counts(**counts), events=[RELAPSE])
    assert ("workup.marrow-prolonged-triggers" in fired(rec, 40)) is expected


def test_marrow_triggers_transfusion_dependence_counts() -> None:
    """JAIN L53; clinical-decisions.md: transfusion dependence is significant cytopenia."""
    rec = record(labs=_counts(), events=[RELAPSE, tx(38, "platelets")])
    assert "workup.marrow-prolonged-triggers" in fired(rec, 40)


@pytest.mark.parametrize(
    ("patient", "events"),
    [
        ({"prior_marrow_dysplasia_or_fibrosis": True}, []),
        ({}, [{"kind": "finding", "start": 33, "finding": "iec_hs"}]),
        ({}, [RELAPSE]),
    ],
)
def test_marrow_triggers_each_trigger(patient: dict[str, Any], events: list[Any]) -> None:
    """JAIN L53: relapse, fibrosis/dysplasia before CAR-T, or IEC-HS each prompt a marrow."""
    rec = record(patient=patient, labs=_counts(plt=20), events=events)
    assert "workup.marrow-prolonged-triggers" in fired(rec, 40)


def test_marrow_triggers_no_trigger_or_marrow_since() -> None:
    """JAIN L53: no trigger -> nothing; a marrow after the trigger answers it."""
    assert "workup.marrow-prolonged-triggers" not in fired(record(labs=_counts(plt=20)), 40)
    marrow = {"kind": "marrow_biopsy", "start": 37}
    rec = record(labs=_counts(plt=20), events=[RELAPSE, marrow])
    assert "workup.marrow-prolonged-triggers" not in fired(rec, 40)


@pytest.mark.parametrize(("day", "expected"), [(29, False), (30, True)])
def test_marrow_triggers_phase(day: int, expected: bool) -> None:
    """JAIN L1, L53: prolonged cytopenia = day 30-90."""
    labs = daily("platelets", 20, 30, 20.0) + daily("anc", 20, 30, 2.0) + daily("hb", 20, 30, 10)
    rec = record(patient={"prior_marrow_dysplasia_or_fibrosis": True}, labs=labs)
    assert ("workup.marrow-prolonged-triggers" in fired(rec, day)) is expected


def test_marrow_triggers_child_work_up() -> None:
    """JAIN L73: children get broad cytogenetics, immunophenotype and NGS MRD in ALL."""
    rec = record(patient={"age_years": 8}, labs=_counts(plt=20), events=[RELAPSE])
    assert "NGS of B-cell receptor" in fired(rec, 40)["workup.marrow-prolonged-triggers"].action
    adult = record(patient={"age_years": 40}, labs=_counts(plt=20), events=[RELAPSE])
    assert "NGS" not in fired(adult, 40)["workup.marrow-prolonged-triggers"].action


def test_marrow_triggers_cannot_evaluate_without_counts() -> None:
    """A trigger with no current counts is reported as not evaluable, never silently skipped."""
    missing = unevaluated(record(events=[RELAPSE]), 40)["workup.marrow-prolonged-triggers"]
    assert "current ANC" in missing.missing


# -- PJP prophylaxis -----------------------------------------------------------------------------
TMP_SMX = med("sulfamethoxazole-trimethoprim", 0)


@pytest.mark.parametrize(("day", "expected"), [(29, False), (30, True)])
def test_pjp_start_day(day: int, expected: bool) -> None:
    """JAIN L37: anti-PJP prophylaxis from day 30 (prophylaxis.pjp_start_day)."""
    assert ("prophylaxis.pjp-start" in fired(record(), day)) is expected


@pytest.mark.parametrize(("cd4", "expected"), [(0.2, True), (0.21, False)])
def test_pjp_start_cd4(cd4: float, expected: bool) -> None:
    """JAIN L37, Fig. 1: prophylaxis until CD4 > 200/mm3 (0.2 x10^9/L)."""
    rec = record(labs=[("cd4", 35, cd4)])
    assert ("prophylaxis.pjp-start" in fired(rec, 40)) is expected


@pytest.mark.parametrize(
    ("labs", "agent"),
    [
        ([("anc", 39, 0.99)], "pentamidine or atovaquone (persistent"),
        ([("anc", 39, 1.0)], "TMP-SMX (pentamidine"),
        ([("platelets", 39, 49.0)], "pentamidine or atovaquone (persistent"),
        ([("platelets", 39, 50.0)], "TMP-SMX (pentamidine"),
    ],
)
def test_pjp_start_agent(labs: list[tuple[str, float, float]], agent: str) -> None:
    """JAIN L37: TMP-SMX unless persistent cytopenia (CTCAE grade >= 3, project default)."""
    rec = fired(record(labs=labs), 40)["prophylaxis.pjp-start"]
    assert agent in rec.action
    assert bool(rec.caveats) is agent.startswith("TMP-SMX")  # allergy caveat with TMP-SMX


def test_pjp_start_not_when_running() -> None:
    """JAIN L37: the start rule is for patients on no PJP agent."""
    assert "prophylaxis.pjp-start" not in fired(record(events=[med("atovaquone", 28)]), 40)


@pytest.mark.parametrize(("anc", "expected"), [(0.99, True), (1.0, False)])
def test_pjp_switch_from_tmp_smx(anc: float, expected: bool) -> None:
    """JAIN L37: pentamidine or atovaquone when cytopenia persists on TMP-SMX (grade >= 3)."""
    rec = record(labs=[("anc", 39, anc)], events=[TMP_SMX])
    out = fired(rec, 40)
    assert ("prophylaxis.pjp-switch-from-tmp-smx" in out) is expected
    if expected:
        assert any("Baur" in c for c in out["prophylaxis.pjp-switch-from-tmp-smx"].caveats)


def test_pjp_switch_ignores_stale_counts() -> None:
    """A count older than the phase's stale limit does not describe today's cytopenia."""
    rec = record(labs=[("anc", 20, 0.3)], events=[TMP_SMX])
    assert "prophylaxis.pjp-switch-from-tmp-smx" not in fired(rec, 40)


@pytest.mark.parametrize(("cd4", "expected"), [(0.21, True), (0.2, False)])
def test_pjp_stop(cd4: float, expected: bool) -> None:
    """JAIN L37: stop PJP prophylaxis when CD4+ > 200/mm3."""
    rec = record(labs=[("cd4", 300, cd4)], events=[TMP_SMX])
    assert ("prophylaxis.pjp-stop" in fired(rec, 300)) is expected


def test_pjp_stop_without_cd4_cannot_be_evaluated() -> None:
    """JAIN L37: a CD4-driven stop needs a CD4 value; none on record -> not evaluable."""
    missing = unevaluated(record(events=[TMP_SMX]), 100)["prophylaxis.pjp-stop"].missing
    assert missing == ["CD4 count (no value on record)"]


# -- workup.ta-tma -------------------------------------------------------------------------------
def _tma(current_anc: float = 1.0, products: tuple[str, ...] = ("rbc", "platelets")) -> Any:
    labs = [
        *daily("anc", 20, 39, 1.0),
        ("anc", 40, current_anc),
        ("ipf", 38, 9.0),
        ("ldh", 38, 600.0),
    ]
    events = [tx(38, p) for p in products]
    events.append({"kind": "finding", "start": 38, "finding": "hypertension"})
    return labs, events


@pytest.mark.parametrize(("anc", "expected"), [(0.51, True), (0.5, False)])
def test_ta_tma_neutrophils_recovered(anc: float, expected: bool) -> None:
    """JAIN L75: TA-TMA with transfusion-dependent anemia and thrombocytopenia but recovered
    neutrophils (current ANC > 0.5)."""
    labs, events = _tma(anc)
    rec = record(patient={"prior_allo_hct": True}, labs=labs, events=events)
    assert ("workup.ta-tma" in fired(rec, 40)) is expected


def test_ta_tma_facts() -> None:
    """JAIN L75: IPF, LDH and hypertension are shown when on file."""
    labs, events = _tma()
    rec = record(patient={"prior_allo_hct": True}, labs=labs, events=events)
    shown = labels(fired(rec, 40)["workup.ta-tma"].facts)
    assert {"IPF", "LDH", "Hypertension"} <= set(shown)


@pytest.mark.parametrize(
    ("patient", "products", "day"),
    [
        ({"prior_allo_hct": False}, ("rbc", "platelets"), 40),
        ({"prior_allo_hct": True}, ("platelets",), 40),
        ({"prior_allo_hct": True}, ("rbc",), 40),
        ({"prior_allo_hct": True}, ("rbc", "platelets"), 29),
    ],
)
def test_ta_tma_near_misses(patient: dict[str, Any], products: tuple[str, ...], day: int) -> None:
    """JAIN L75: needs prior allo-HCT, RBC and platelet dependence, in prolonged cytopenia."""
    labs, events = _tma(products=products)
    labs = [lab for lab in labs if lab[1] <= day]
    events = [e for e in events if e["start"] <= day]
    assert "workup.ta-tma" not in fired(record(patient=patient, labs=labs, events=events), day)


def test_ta_tma_unknown_prior_hct() -> None:
    """Unknown prior allo-HCT when the pattern is present -> not evaluable."""
    labs, events = _tma()
    assert "workup.ta-tma" in unevaluated(record(labs=labs, events=events), 40)


# -- workup.ipf-interpretation -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ipf", "plt", "expected"),
    [(3.8, 49.0, True), (3.7, 49.0, False), (3.8, 50.0, False)],
)
def test_ipf_interpretation_thresholds(ipf: float, plt: float, expected: bool) -> None:
    """BAUR: IPF above the reference (3.7 %, workup.ipf_uln_percent) with thrombocytopenia
    (< cytopenia.platelets_10e9_l) suggests a partly consumptive component."""
    rec = record(labs=[("ipf", 40, ipf), ("platelets", 40, plt)])
    assert ("workup.ipf-interpretation" in fired(rec, 40)) is expected


@pytest.mark.parametrize(("uln", "expected"), [(7.5, True), (7.6, False)])
def test_ipf_interpretation_uses_laboratory_uln(uln: float, expected: bool) -> None:
    """BAUR: the laboratory's reference range (here its ULN) wins over the profile default."""
    rec = PatientRecord.model_validate(
        {
            "patient": {"patient_id": "t"},
            "observations": [
                {"time": 40, "analyte": "platelets", "value": 20, "unit": "10^9/L"},
                {"time": 40, "analyte": "ipf", "value": 7.6, "unit": "%", "uln": uln},
            ],
        }
    )
    assert ("workup.ipf-interpretation" in fired(rec, 40)) is expected


def test_ipf_interpretation_without_current_platelets() -> None:
    """A raised IPF without a current platelet count cannot be interpreted."""
    assert "workup.ipf-interpretation" in unevaluated(record(labs=[("ipf", 40, 7.6)]), 40)


@pytest.mark.parametrize(("day", "expected"), [(89, False), (90, True), (120, True)])
def test_ipf_interpretation_baur_example(day: int, expected: bool) -> None:
    """BAUR: month-3 IPF 7.6 % (1.2-3.7) with platelets < 50 and reduced megakaryopoiesis."""
    assessment = assess(load_course(EXAMPLES / "baur.json"), day, SEED)
    recs = {r.rule_id: r for r in assessment.recommendations}
    assert ("workup.ipf-interpretation" in recs) is expected
    if expected:
        values = [f.value for f in recs["workup.ipf-interpretation"].facts]
        assert "7.6 %" in values
        assert any("megakaryopoiesis reduced" in v for v in values)


# -- prophylaxis.extended-antimicrobial ----------------------------------------------------------
@pytest.mark.parametrize(("anc", "expected"), [(0.5, True), (0.51, False)])
def test_extended_prophylaxis_threshold(anc: float, expected: bool) -> None:
    """JAIN L61: extend prophylaxis in severe neutropenia (ANC <= 0.5)."""
    rec = record(labs=[("anc", 40, anc)])
    assert ("prophylaxis.extended-antimicrobial" in fired(rec, 40)) is expected


@pytest.mark.parametrize(("day", "expected"), [(29, False), (30, True)])
def test_extended_prophylaxis_phase(day: int, expected: bool) -> None:
    """JAIN L61: prolonged or late severe neutropenia."""
    rec = record(labs=daily("anc", 25, 30, 0.2))
    assert ("prophylaxis.extended-antimicrobial" in fired(rec, day)) is expected


def test_extended_prophylaxis_mold_active_azole() -> None:
    """JAIN L61: suggest a mold-active azole unless one is already running."""
    action = fired(record(labs=[("anc", 40, 0.2)]), 40)["prophylaxis.extended-antimicrobial"]
    assert "mold-active azole" in action.action
    rec = record(labs=[("anc", 40, 0.2)], events=[med("posaconazole", 20)])
    assert "mold-active azole" not in fired(rec, 40)["prophylaxis.extended-antimicrobial"].action


def test_extended_prophylaxis_stale_severe_anc() -> None:
    """The last ANC was severe but is stale (> 14 days in the prolonged phase): not evaluable."""
    assert "prophylaxis.extended-antimicrobial" in unevaluated(record(labs=[("anc", 20, 0.2)]), 40)


def test_biphasic_drop_stale_anc_cannot_be_evaluated() -> None:
    """JAIN L53: whether ANC has passed 1.5 since the drop is unknown without a current ANC."""
    out = unevaluated(record(labs=_biphasic(0.6)), 24)["growth-factor.biphasic-drop"]
    assert out.missing == ["current ANC (the latest value is stale)"]


def test_gcsf_no_response_needs_anc_on_gcsf() -> None:
    """JAIN L53: without an ANC since G-CSF started, the response cannot be judged."""
    labs = daily("anc", 0, 29, 0.3)
    rec = record(labs=labs, events=[med("filgrastim", 30)])
    assert "workup.gcsf-no-response" in unevaluated(rec, 37)


def test_extended_prophylaxis_facts() -> None:
    """JAIN L61: the severe ANC and the classes not running are shown."""
    out = fired(record(labs=[("anc", 40, 0.2)]), 40)["prophylaxis.extended-antimicrobial"]
    values = {f.label: f.value for f in out.facts}
    assert values["ANC"] == "0.2 10^9/L"
    assert values["Prophylaxis not running"] == "antibacterial, antifungal, mold-active azole"
