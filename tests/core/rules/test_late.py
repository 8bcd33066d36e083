"""Rules of the late phase (icaht.core.rules.late): late work-up, stem cell boost, allogeneic HCT,
prior allo-HCT, pediatric specifics, secondary-malignancy vigilance and follow-up.

Sources: Jain et al., Blood 2023 (seed 001, ``L<n>``); clinical-decisions.md ("Stem cell boost
candidate", "Allogeneic HCT").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.rule_helpers import SEED, daily, fired, record, unevaluated

from icaht.core.assessment import assess
from icaht.core.guidance import Recommendation
from icaht.io.records import load_course

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def tx(day: float, product: str) -> dict[str, Any]:
    return {"kind": "transfusion", "start": day, "product": product}


def med(drug: str, start: float, end: float | None = None) -> dict[str, Any]:
    return {"kind": "medication", "drug": drug, "start": start, "end": end}


def counts(first: int, last: int, anc: float = 2.0, plt: float = 100.0, hb: float = 10.0) -> Any:
    return (
        daily("anc", first, last, anc)
        + daily("platelets", first, last, plt)
        + daily("hb", first, last, hb)
    )


def example(case: str, day: int) -> dict[str, Recommendation]:
    assessment = assess(load_course(EXAMPLES / f"{case}.json"), day, SEED)
    return {r.rule_id: r for r in assessment.recommendations}


# -- workup.late-cytopenia -----------------------------------------------------------------------
@pytest.mark.parametrize(("day", "expected"), [(90, False), (91, True)])
def test_late_cytopenia_day(day: int, expected: bool) -> None:
    """JAIN L1, L61: late cytopenia = beyond day 90."""
    rec = record(labs=counts(80, 95, plt=20))
    assert ("workup.late-cytopenia" in fired(rec, day)) is expected


@pytest.mark.parametrize(("anc", "expected"), [(1.0, True), (1.01, False)])
def test_late_cytopenia_threshold(anc: float, expected: bool) -> None:
    """JAIN L61; cytopenia.anc_10e9_l (1.0, '<='): significant neutropenia."""
    assert (
        "workup.late-cytopenia" in fired(record(labs=counts(95, 100, anc=anc)), 100)
    ) is expected


def test_late_cytopenia_facts() -> None:
    """JAIN L61-65: myelosuppressive drugs running and CHIP are shown."""
    rec = record(
        patient={"chip": True}, labs=counts(95, 100, plt=20), events=[med("linezolid", 90)]
    )
    out = fired(rec, 100)["workup.late-cytopenia"]
    values = {f.label: f.value for f in out.facts}
    assert values["Myelosuppressive drug running"] == "linezolid"
    assert values["CHIP before CAR-T"] == "yes"
    assert "marrow aspirate and biopsy" in out.action


def test_late_cytopenia_reviews_existing_late_marrow() -> None:
    """JAIN L61: with a marrow beyond day 90 the action reviews it instead of asking for one."""
    rec = record(labs=counts(95, 100, plt=20), events=[{"kind": "marrow_biopsy", "start": 95}])
    assert "review the marrow of day 95" in fired(rec, 100)["workup.late-cytopenia"].action


def test_late_cytopenia_without_counts() -> None:
    """No current counts in the late phase -> not evaluable (never silently skipped)."""
    assert "workup.late-cytopenia" in unevaluated(record(labs=counts(10, 20)), 100)


# -- stem-cell-boost.candidate -------------------------------------------------------------------
def _boost(patient: dict[str, Any] | None = None, events: list[Any] | None = None) -> Any:
    return record(
        patient={"stored_cells": "autologous", **(patient or {})},
        labs=counts(50, 60, plt=20),
        events=[tx(55, "platelets"), *(events or [])],
    )


def test_boost_candidate_fires_with_marrow_caveat() -> None:
    """JAIN L63, L69: transfusion-dependent prolonged cytopenia, stored cells; no marrow -> obtain
    one first (clinical-decisions.md)."""
    out = fired(_boost(), 60)["stem-cell-boost.candidate"]
    assert any("No marrow since infusion" in c for c in out.caveats)
    assert any("tumour cells" in c for c in out.caveats)
    values = {f.label: f.value for f in out.facts}
    assert values["Stored cells on file"] == "autologous"
    assert values["Lineages needing support"] == "platelets (single lineage)"


def test_boost_candidate_multilineage_and_clean_marrow() -> None:
    """clinical-decisions.md: flag multilineage; a marrow without infiltration clears the caveat."""
    marrow = {"kind": "marrow_biopsy", "start": 50, "malignant_infiltration": False}
    out = fired(_boost(events=[tx(56, "rbc"), marrow]), 60)["stem-cell-boost.candidate"]
    assert "multilineage" in {f.label: f.value for f in out.facts}["Lineages needing support"]
    assert not any("marrow" in c.lower() for c in out.caveats)


@pytest.mark.parametrize(
    ("patient", "events"),
    [
        ({"stored_cells": "none"}, []),
        ({}, [{"kind": "disease_status", "start": 45, "status": "relapse"}]),
        ({}, [{"kind": "marrow_biopsy", "start": 50, "malignant_infiltration": True}]),
        ({}, [{"kind": "marrow_biopsy", "start": 50, "mds": True}]),
        ({}, [{"kind": "stem_cell_boost", "start": 58, "source": "autologous"}]),
    ],
)
def test_boost_candidate_blocks(patient: dict[str, Any], events: list[Any]) -> None:
    """JAIN L63: no boost without stored cells, with relapse or secondary malignancy (or once
    given)."""
    assert "stem-cell-boost.candidate" not in fired(_boost(patient, events), 60)


def test_boost_candidate_unknown_stored_cells() -> None:
    """clinical-decisions.md: stored cells unknown -> cannot evaluate."""
    rec = record(labs=counts(50, 60, plt=20), events=[tx(55, "platelets")])
    missing = unevaluated(rec, 60)["stem-cell-boost.candidate"].missing
    assert missing == ["stored cells on file (patient.stored_cells)"]


@pytest.mark.parametrize(("anc", "expected"), [(0.5, True), (0.51, False)])
def test_boost_candidate_severe_neutropenia(anc: float, expected: bool) -> None:
    """clinical-decisions.md: persistent severe neutropenia (ANC <= 0.5) qualifies alone."""
    rec = record(patient={"stored_cells": "donor"}, labs=counts(50, 60, anc=anc))
    assert ("stem-cell-boost.candidate" in fired(rec, 60)) is expected


@pytest.mark.parametrize(("day", "expected"), [(29, False), (30, True)])
def test_boost_candidate_phase(day: int, expected: bool) -> None:
    """clinical-decisions.md: prolonged or late cytopenia (day >= 30)."""
    rec = record(
        patient={"stored_cells": "autologous"},
        labs=counts(20, 30, plt=20),
        events=[tx(25, "platelets")],
    )
    assert ("stem-cell-boost.candidate" in fired(rec, day)) is expected


def test_boost_candidate_gcsf_dependence_and_infection_caveat() -> None:
    """clinical-decisions.md: G-CSF dependence qualifies; active infection is a caveat."""
    events = [med("filgrastim", 40), {"kind": "infection", "start": 55, "severity": "moderate"}]
    rec = record(patient={"stored_cells": "donor"}, labs=counts(50, 60), events=events)
    out = fired(rec, 60)["stem-cell-boost.candidate"]
    assert any("Active infection" in c for c in out.caveats)


def test_boost_candidate_jain_case2() -> None:
    """JAIN L59, L67: case 2 (stored autologous cells, hypocellular marrow at month 3 without
    plasma cells) is a boost candidate by day ~100."""
    out = example("jain-case2", 100)["stem-cell-boost.candidate"]
    assert {f.label: f.value for f in out.facts}["Stored cells on file"] == "autologous"
    assert not any("No marrow" in c for c in out.caveats)


# -- hct.complete-aplasia ------------------------------------------------------------------------
def _aplasia(last_above_day: int | None = None, cellularity: str = "hypocellular") -> Any:
    labs = daily("anc", 0, 100, 0.3)
    if last_above_day is not None:
        labs = [(n, d, 0.6 if d == last_above_day else v) for n, d, v in labs]
    events = [
        {"kind": "marrow_biopsy", "start": 90, "cellularity": cellularity},
        tx(95, "rbc"),
        tx(98, "platelets"),
    ]
    return record(labs=labs, events=events)


def test_complete_aplasia_fires() -> None:
    """JAIN L63: allogeneic HCT in rare complete aplasia with little hematopoiesis."""
    out = fired(_aplasia(), 100)["hct.complete-aplasia"]
    assert out.facts[0].day == 90
    assert out.action.startswith("Consider allogeneic HCT")


@pytest.mark.parametrize(("last_above", "expected"), [(86, True), (87, False)])
def test_complete_aplasia_duration(last_above: int, expected: bool) -> None:
    """HT: persistent = no ANC > 0.5 for >= 14 days (day 87-100 is 14 days)."""
    assert ("hct.complete-aplasia" in fired(_aplasia(last_above), 100)) is expected


def test_complete_aplasia_needs_hypocellular_marrow_and_both_transfusions() -> None:
    """JAIN L59, L63: hypocellular marrow; PRBC and platelet dependent."""
    assert "hct.complete-aplasia" not in fired(_aplasia(cellularity="normocellular"), 100)
    rec = record(
        labs=daily("anc", 0, 100, 0.3),
        events=[
            {"kind": "marrow_biopsy", "start": 90, "cellularity": "hypocellular"},
            tx(95, "rbc"),
        ],
    )
    assert "hct.complete-aplasia" not in fired(rec, 100)


@pytest.mark.parametrize("day", [90, 100, 120])
def test_complete_aplasia_jain_case2(day: int) -> None:
    """JAIN L59, L63: case 2 is the example of complete aplasia (allo-BMT considered); the boost
    is preferred with stored cells."""
    out = example("jain-case2", day)["hct.complete-aplasia"]
    assert any("prefers a stem cell boost" in c for c in out.caveats)


# -- hct.therapy-related-myeloid-neoplasm --------------------------------------------------------
def test_therapy_related_neoplasm() -> None:
    """JAIN L3, L65; clinical-decisions.md: t-MN after CAR-T -> consider allogeneic HCT."""
    marrow = {"kind": "marrow_biopsy", "start": 100, "mds": True}
    assert "hct.therapy-related-myeloid-neoplasm" in fired(record(events=[marrow]), 110)
    clean = {"kind": "marrow_biopsy", "start": 100, "mds": False}
    assert "hct.therapy-related-myeloid-neoplasm" not in fired(record(events=[clean]), 110)
    done = [marrow, {"kind": "hct", "start": 120, "hct_type": "allogeneic"}]
    assert "hct.therapy-related-myeloid-neoplasm" not in fired(record(events=done), 130)


# -- hct.child-bmt-naive -------------------------------------------------------------------------
def _child(age: float | None = 10, prior: bool | None = False, events: Any = None) -> Any:
    patient: dict[str, Any] = {"age_years": age, "prior_allo_hct": prior}
    return record(patient=patient, events=events or [tx(85, "rbc")])


@pytest.mark.parametrize(
    ("rec", "day", "expected"),
    [
        (_child(), 90, False),
        (_child(), 91, True),
        (_child(age=17.9), 91, True),
        (_child(age=18), 91, False),
        (_child(prior=True), 91, False),
        (_child(events=[med("filgrastim", 80)]), 91, True),
        (_child(events=[med("filgrastim", 60, 70)]), 91, False),
    ],
)
def test_child_bmt_naive(rec: Any, day: int, expected: bool) -> None:
    """JAIN L73: BMT-naive child (< 18, patient_groups.child_max_age_years) beyond day 90 with
    transfusion dependence or G-CSF-requiring neutropenia -> allo-BMT with best donor."""
    assert ("hct.child-bmt-naive" in fired(rec, day)) is expected


@pytest.mark.parametrize(("age", "prior"), [(None, False), (10, None)])
def test_child_bmt_naive_unknown(age: float | None, prior: bool | None) -> None:
    """Unknown age or prior-HCT status with the indication present -> not evaluable."""
    assert "hct.child-bmt-naive" in unevaluated(_child(age=age, prior=prior), 91)


# -- stem-cell-boost.prior-allo-donor ------------------------------------------------------------
@pytest.mark.parametrize(("day", "expected"), [(90, False), (91, True)])
def test_prior_allo_donor_boost_day(day: int, expected: bool) -> None:
    """JAIN L77: post-BMT late cytopenia persisting beyond 90 days."""
    rec = record(patient={"prior_allo_hct": True}, labs=counts(80, 95, plt=20))
    out = fired(rec, day)
    assert ("stem-cell-boost.prior-allo-donor" in out) is expected
    if expected:
        assert out["stem-cell-boost.prior-allo-donor"].strength == "source recommends"


@pytest.mark.parametrize(
    ("patient", "events"),
    [
        ({"prior_allo_hct": False}, []),
        ({"prior_allo_hct": True}, [{"kind": "disease_status", "start": 95, "status": "relapse"}]),
    ],
)
def test_prior_allo_donor_boost_near_misses(patient: dict[str, Any], events: Any) -> None:
    """JAIN L77: only after a prior allo-BMT, and not for relapse."""
    rec = record(patient=patient, labs=counts(95, 100, plt=20), events=events)
    assert "stem-cell-boost.prior-allo-donor" not in fired(rec, 100)


def test_prior_allo_donor_boost_jain_case3() -> None:
    """JAIN L71, L77-79: case 3 (post-haplo BMT, transfusions beyond day 90): boost considered."""
    assert "stem-cell-boost.prior-allo-donor" not in example("jain-case3", 90)
    out = example("jain-case3", 100)["stem-cell-boost.prior-allo-donor"]
    assert "original donor" in out.action
    assert "second allogeneic HCT" in out.action


# -- alert.lineage-switch ------------------------------------------------------------------------
def _switch(patient: dict[str, Any], day: int = 40) -> Any:
    base = {"age_years": 5, "kmt2a_rearranged": True, "diagnosis": "B-ALL"}
    return record(patient={**base, **patient}, labs=counts(day - 5, day, plt=20))


@pytest.mark.parametrize(
    ("patient", "expected"),
    [
        ({}, True),
        ({"kmt2a_rearranged": False}, False),
        ({"age_years": 0.9, "kmt2a_rearranged": None}, True),
        ({"age_years": 1.0, "kmt2a_rearranged": None}, False),
        ({"age_years": 18}, False),
        ({"diagnosis": "DLBCL"}, False),
    ],
)
def test_lineage_switch(patient: dict[str, Any], expected: bool) -> None:
    """JAIN L73: infants and children with KMT2A-r B-ALL: lineage switch after CAR-T."""
    assert ("alert.lineage-switch" in fired(_switch(patient), 40)) is expected


@pytest.mark.parametrize(("day", "expected"), [(29, False), (30, True)])
def test_lineage_switch_persistent_cytopenia_only(day: int, expected: bool) -> None:
    """JAIN L73: occult myeloid malignancy as a cause of prolonged cytopenias."""
    assert ("alert.lineage-switch" in fired(_switch({}, day), day)) is expected


@pytest.mark.parametrize("patient", [{"diagnosis": None}, {"age_years": None}])
def test_lineage_switch_unknown(patient: dict[str, Any]) -> None:
    """A KMT2A-rearranged patient with unknown diagnosis or age -> not evaluable."""
    assert "alert.lineage-switch" in unevaluated(_switch(patient), 40)


def test_lineage_switch_jain_case3() -> None:
    """JAIN L71, L73: case 3 is a 31-month-old with KMT2A-r B-ALL."""
    assert example("jain-case3", 100)["alert.lineage-switch"].strength == "alert"


# -- growth factors in children ------------------------------------------------------------------
@pytest.mark.parametrize("events", [[med("filgrastim", 35)], [med("eltrombopag", 35)]])
def test_defer_growth_factors_in_children_is_no_card_of_its_own(events: list[Any]) -> None:
    """JAIN L73: prolonged growth-factor use is often deferred in children (HCT candidates).
    Revised (clinical-decisions.md, G-CSF): a caveat on the G-CSF card (tests/core/rules/
    test_gcsf.py), not a card of its own."""
    rec = record(patient={"age_years": 10}, events=events)
    assert not any(r.startswith("growth-factor.defer-in") for r in fired(rec, 40))


# -- alert.secondary-malignancy ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("chip", "day", "expected"),
    [(True, 0, True), (True, -1, False), (False, 10, False), (None, 90, False), (None, 91, True)],
)
def test_secondary_malignancy(chip: bool | None, day: int, expected: bool) -> None:
    """JAIN L65: CHIP -> rapid-onset MDS within 90 days; late persistent cytopenia -> t-MN."""
    rec = record(patient={"chip": chip}, labs=counts(80, 95, plt=20))
    assert ("alert.secondary-malignancy" in fired(rec, day)) is expected


# -- workup.follow-up-car-t-centre ---------------------------------------------------------------
@pytest.mark.parametrize(("day", "expected"), [(-1, False), (0, True), (730, True), (731, False)])
def test_follow_up_at_car_t_centre(day: int, expected: bool) -> None:
    """JAIN L61: restaging visits at the CAR-T centre for at least 2 years (to day 730)."""
    assert ("workup.follow-up-car-t-centre" in fired(record(), day)) is expected


def test_follow_up_not_after_death() -> None:
    """No follow-up recommendation once a death is recorded."""
    rec = record(events=[{"kind": "death", "start": 50}])
    assert "workup.follow-up-car-t-centre" not in fired(rec, 60)


def test_fired_facts_of_the_simple_rules() -> None:
    """JAIN L61, L65, L73: CHIP, G-CSF dependence, age and the follow-up end are shown as facts."""
    chip = fired(record(patient={"chip": True}), 10)["alert.secondary-malignancy"]
    assert {f.label: f.value for f in chip.facts}["CHIP before CAR-T"] == "yes"
    naive = {f.label: f.value for f in fired(_child(), 91)["hct.child-bmt-naive"].facts}
    assert naive["RBC transfusion dependent"] == "1 transfusion(s) in the last 28 days"
    follow = fired(record(), 0)["workup.follow-up-car-t-centre"].facts[0]
    assert follow.value == "day 730"
