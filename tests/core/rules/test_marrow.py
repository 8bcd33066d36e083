"""The marrow decision (icaht.core.rules.marrow) and the marrow on file (icaht.core.marrow).

Sources: Jain et al., Blood 2023 (seed 001, ``L<n>``); Baur et al., JITC 2021 (seed 004);
docs/decisions.md ("Severity terms", "Marrow"); issue 15 findings 6 and 13.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.utils.rule_helpers import SEED, daily, fired, record, unevaluated

from icaht.core.assessment import assess
from icaht.core.course import course_from_record
from icaht.core.guidance import contradictions
from icaht.core.marrow import marrow_words
from icaht.core.patient_record import PatientRecord
from icaht.core.record import MarrowBiopsy
from icaht.core.rule_context import RuleContext
from icaht.io.records import load_course

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
MARROW = "workup.marrow-biopsy"
RELAPSE = {"kind": "disease_status", "start": 35, "status": "relapse"}


def tx(day: float, product: str) -> dict[str, Any]:
    return {"kind": "transfusion", "start": day, "product": product}


def med(drug: str, start: float, end: float | None = None) -> dict[str, Any]:
    return {"kind": "medication", "drug": drug, "start": start, "end": end}


def marrow(day: float, **findings: Any) -> dict[str, Any]:
    return {"kind": "marrow_biopsy", "start": day, **findings}


def _counts(anc: float = 2.0, plt: float = 100.0, hb: float = 10.0) -> list[Any]:
    return daily("anc", 30, 45, anc) + daily("platelets", 30, 45, plt) + daily("hb", 30, 45, hb)


def _context(rec: PatientRecord, day: int) -> RuleContext:
    return RuleContext.as_of(course_from_record(rec), day, SEED)


# -- G-CSF-refractory --------------------------------------------------------------------------
def _refractory(anc_on_gcsf: float = 0.3, gcsf_start: int = 30) -> list[tuple[str, float, float]]:
    return daily("anc", 0, gcsf_start - 1, 0.3) + daily("anc", gcsf_start, 60, anc_on_gcsf)


@pytest.mark.parametrize(("day", "expected"), [(35, False), (36, True)])
def test_gcsf_refractory_after_7_days(day: int, expected: bool) -> None:
    """JAIN L53 and docs/decisions.md (Severity terms): G-CSF-refractory = ANC <= 0.5 on
    every value after >= 7 days of daily G-CSF (days 30-36)."""
    rec = record(labs=_refractory(), events=[med("filgrastim", 30)])
    assert (MARROW in fired(rec, day)) is expected


def test_gcsf_refractory_facts_and_words() -> None:
    """JAIN L53: the card names the G-CSF course and says "no response to G-CSF"."""
    out = fired(record(labs=_refractory(), events=[med("filgrastim", 30)]), 37)[MARROW]
    assert "no response to G-CSF" in out.action
    values = {f.label: f for f in out.facts}
    assert values["No response to G-CSF (G-CSF-refractory)"].day == 30


def test_no_response_to_gcsf_never_while_anc_rises() -> None:
    """docs/decisions.md, Severity terms; issue 15 finding 13: "no response to G-CSF" is never
    said while the ANC is rising (last value >= 2x the lowest of the course). Old code: after 7
    G-CSF days without an ANC > 0.5 it fired although the ANC went 0.05 -> 0.4."""
    labs = daily("anc", 20, 29, 0.05) + [
        ("anc", float(d), 0.05 + 0.05 * (d - 29)) for d in range(30, 38)
    ]
    rec = record(labs=labs, events=[med("filgrastim", 30)])
    out = fired(rec, 37)
    assert "workup.gcsf-no-response" not in out
    assert MARROW not in out


@pytest.mark.parametrize(("day", "expected"), [(29, False), (30, True)])
def test_gcsf_refractory_is_a_prolonged_phase_reason(day: int, expected: bool) -> None:
    """JAIN L51-53: the lack of response prompts a marrow in prolonged (or late) cytopenia."""
    rec = record(labs=_refractory(gcsf_start=20), events=[med("filgrastim", 20)])
    assert (MARROW in fired(rec, day)) is expected


# -- prolonged cytopenia with risk features ------------------------------------------------------
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
def test_risk_features_need_significant_cytopenia(counts: dict[str, float], expected: bool) -> None:
    """JAIN L53: prolonged cytopenia plus likely relapse -> marrow; profile cytopenia limits."""
    rec = record(labs=_counts(**counts), events=[RELAPSE])
    assert (MARROW in fired(rec, 40)) is expected


@pytest.mark.parametrize(
    ("patient", "events"),
    [
        ({"prior_marrow_dysplasia_or_fibrosis": True}, []),
        ({}, [{"kind": "finding", "start": 33, "finding": "iec_hs"}]),
        ({}, [{"kind": "iec_hs", "start": 33, "status": "suspected"}]),
        ({}, [RELAPSE]),
        ({}, [tx(36, "platelets"), tx(38, "platelets"), RELAPSE]),
    ],
)
def test_each_risk_feature(patient: dict[str, Any], events: list[Any]) -> None:
    """JAIN L53: relapse, fibrosis/dysplasia before CAR-T, or IEC-HS (a finding or a recorded
    suspected IEC-HS) each prompt a marrow in prolonged cytopenia."""
    rec = record(patient=patient, labs=_counts(plt=20), events=events)
    out = fired(rec, 40)[MARROW]
    assert "prolonged cytopenia with risk features" in out.action


def test_excluded_iec_hs_is_no_reason() -> None:
    """An IEC-HS recorded as excluded is no marrow reason."""
    events = [{"kind": "iec_hs", "start": 33, "status": "excluded"}]
    assert MARROW not in fired(record(labs=_counts(plt=20), events=events), 40)


def test_risk_feature_without_counts_cannot_be_evaluated() -> None:
    """A reason that needs cytopenia, with no current counts, is not evaluable (never silent)."""
    assert "current ANC" in unevaluated(record(events=[RELAPSE]), 40)[MARROW].missing


def test_child_marrow_work_up() -> None:
    """JAIN L73: children get broad cytogenetics, immunophenotype and NGS MRD in ALL."""
    rec = record(patient={"age_years": 8}, labs=_counts(plt=20), events=[RELAPSE])
    assert "NGS of B-cell receptor" in fired(rec, 40)[MARROW].action
    adult = record(patient={"age_years": 40}, labs=_counts(plt=20), events=[RELAPSE])
    assert "B-cell receptor" not in fired(adult, 40)[MARROW].action


# -- late work-up, TPO-RA and boost: one card with every reason ----------------------------------
def test_one_card_lists_every_reason() -> None:
    """docs/decisions.md, Marrow: one card listing every reason (late work-up, before a
    TPO-RA, before a boost), and no contradictory pair of the marrow decision."""
    labs = daily("anc", 60, 100, 0.2) + daily("platelets", 60, 100, 8) + daily("hb", 60, 100, 7)
    events = [tx(d, p) for d in range(62, 101, 3) for p in ("platelets", "rbc")]
    rec = record(patient={"stored_cells": "autologous"}, labs=labs, events=events)
    out = fired(rec, 95)[MARROW]
    for reason in ("the late-cytopenia work-up", "before a TPO-RA", "before a stem cell boost"):
        assert reason in out.action
    assert "stem-cell-boost.candidate" not in fired(rec, 95)
    assert contradictions(_context(rec, 95)) == []


@pytest.mark.parametrize(("day", "expected"), [(90, False), (91, True)])
def test_late_work_up_reason(day: int, expected: bool) -> None:
    """JAIN L1, L61: late cytopenia (> day 90) -> marrow aspirate and biopsy for alternate
    causes."""
    labs = daily("anc", 80, 95, 2.0) + daily("platelets", 80, 95, 40) + daily("hb", 80, 95, 10)
    assert (MARROW in fired(record(labs=labs), day)) is expected


# -- the marrow on file ----------------------------------------------------------------------------
def _late_picture(marrow_day: int, plt_late: float = 40.0, **findings: Any) -> PatientRecord:
    labs = daily("anc", 0, 200, 2.0) + daily("hb", 0, 200, 10) + daily("platelets", 0, 200, 40)
    labs = [(n, d, plt_late if n == "platelets" and d > marrow_day else v) for n, d, v in labs]
    return record(labs=labs, events=[marrow(marrow_day, **findings)])


@pytest.mark.parametrize(("day", "expected"), [(133, False), (134, True)])
def test_marrow_valid_42_days_then_repeat_without_improvement(day: int, expected: bool) -> None:
    """docs/decisions.md, Marrow: a marrow within 42 days answers every reason; after 42 days
    without improvement a repeat is suggested (marrow day 91 + 42 = day 133)."""
    out = fired(_late_picture(91), day)
    assert (MARROW in out) is expected
    if expected:
        assert "repeat marrow" in out[MARROW].action
        assert any(f.label == "Marrow older than 42 days" for f in out[MARROW].facts)


def test_older_marrow_still_answers_while_the_picture_improves() -> None:
    """docs/decisions.md, Marrow: after 42 days the marrow still answers while a lineage is
    better than at the marrow (platelets 40 -> 45)."""
    assert MARROW not in fired(_late_picture(91, plt_late=45.0), 150)


def test_older_marrow_answers_with_fewer_transfusions() -> None:
    """docs/decisions.md, Marrow: "transfusions fewer" is an improvement too."""
    labs = daily("anc", 0, 200, 2.0) + daily("hb", 0, 200, 10) + daily("platelets", 0, 200, 9)
    events = [marrow(91), *(tx(d, "platelets") for d in (80, 84, 88, 91, 130, 136))]
    rec = record(labs=labs, events=events)
    ctx = _context(rec, 140)
    assert ctx.marrow_on_file() is not None
    assert any("Fewer platelet transfusion" in f.label for f in ctx.marrow_review.facts)


def test_a_flat_picture_does_not_flicker_the_older_marrow() -> None:
    """docs/decisions.md, Marrow: an older marrow answers while the picture improves. SCAL L20
    ("pancytopenia, which persisted in the following months"; marrow in March 2022, day 245
    here): the weekly counts swing (platelets 11-27, ANC 0.6-1.0, Hb 7.5-8.5) around the same
    level. Judged on one value against the marrow day's, the day-245 marrow answered on day 301,
    stopped on day 315 and answered again on day 322: the marrow card and the TPO-RA candidate
    swapped places each week with no change in the facts. A flat picture is no improvement: the
    repeat-marrow card holds on every day until eltrombopag starts (day 330)."""
    course = load_course(EXAMPLES / "scaldaferri.json")
    days = range(290, 330)
    answers = {RuleContext.as_of(course, day, SEED).marrow_on_file() is not None for day in days}
    assert answers == {False}


def test_a_lineage_is_better_when_its_recent_range_is_above_the_marrows() -> None:
    """The improvement that keeps an older marrow valid is a lineage whose values over its
    trailing window all lie above those of the same window up to the marrow: platelets 30-40
    before the marrow, 41-45 now is better; 35-45 now (a trough back in the old range) is not."""
    labs = daily("anc", 0, 200, 2.0) + daily("hb", 0, 200, 10)
    before = [("platelets", float(d), 30.0 + (d % 2) * 10) for d in range(60, 92)]
    better = [("platelets", float(d), 41.0 + (d % 2) * 4) for d in range(92, 201)]
    swinging = [("platelets", float(d), 35.0 + (d % 2) * 10) for d in range(92, 201)]
    for later, answers in ((better, True), (swinging, False)):
        rec = record(labs=[*labs, *before, *later], events=[marrow(91)])
        assert (_context(rec, 151).marrow_on_file() is not None) is answers


def test_newly_severe_lineage_calls_for_a_repeat_within_42_days() -> None:
    """docs/decisions.md, Marrow: new facts (a lineage severe today that was neither severe nor
    cytopenic on the marrow day: platelets 100 then 8 and transfusion dependent) call for a repeat
    even within 42 days. Red cells already anaemic at the marrow are no new fact."""
    labs = daily("anc", 0, 120, 2.0) + daily("hb", 0, 120, 10) + daily("platelets", 0, 97, 100)
    labs += daily("platelets", 98, 106, 8)
    events = [marrow(95), tx(100, "platelets"), tx(105, "platelets")]
    out = fired(record(labs=labs, events=events), 106)[MARROW]
    assert "repeat marrow" in out.action
    new = {f.label: f.value for f in out.facts}
    assert new["Newly severe since the marrow: platelets"] == "platelet-transfusion dependent"


def test_pre_infusion_marrow_does_not_count() -> None:
    """docs/decisions.md, Marrow: marrows from day 0 count; one before infusion does not."""
    rec = _late_picture(-6)
    assert _context(rec, 95).marrow_on_file() is None
    assert "repeat" not in fired(rec, 95)[MARROW].action


@pytest.mark.parametrize(("case", "day"), [("jain-case2", 91), ("baur", 91), ("baur", 100)])
def test_no_repeat_marrow_the_day_after_a_marrow(case: str, day: int) -> None:
    """Issue 15 finding 6: only marrows from day 91 counted, so Jain case 2 and Baur (marrow on
    day 90, JAIN L59, BAUR) were asked for a marrow on day 91. A marrow since day 0 within 42 days
    answers every reason (docs/decisions.md, Marrow)."""
    assessment = assess(load_course(EXAMPLES / f"{case}.json"), day, SEED)
    out = {r.rule_id: r for r in assessment.recommendations}
    assert MARROW not in out
    late = out["workup.late-cytopenia"]
    assert "review the marrow of day 90" in late.action
    assert "take a marrow" not in late.action


@pytest.mark.parametrize("day", [56, 70, 97, 98])
def test_day_56_marrow_with_ngs_counts(day: int) -> None:
    """Issue 15 finding 6: Jain case 1's day-56 marrow (JAIN L41: no fibrosis, dysplasia, MDS or
    clonal mutations by NGS) is on file and answers every reason until day 98 (56 + 42)."""
    ctx = RuleContext.as_of(load_course(EXAMPLES / "jain-case1.json"), day, SEED)
    on_file = ctx.marrow_on_file()
    assert on_file is not None
    assert on_file.start == 56.0


# -- marrow findings in words ------------------------------------------------------------------
def test_marrow_findings_in_words() -> None:
    """Issue 15 finding 13: "Marrow biopsy: MDS True" became words; structured fields appear when
    present (docs/decisions.md)."""
    found = MarrowBiopsy.model_validate(
        {
            "start": 100.0,
            "cellularity": "hypocellular",
            "cellularity_pct": 10,
            "aplasia": True,
            "mds": True,
            "malignant_infiltration": False,
            "erythropoiesis": "reduced",
            "blasts_pct": 3,
            "cytogenetics": "46,XY,del(7q)",
            "cytogenetics_abnormal": True,
            "ngs_done": True,
            "ngs_variants": [{"gene": "TP53", "vaf_pct": 12, "description": "p.R248Q"}],
            "donor_chimerism_pct": 80,
            "graft_dysfunction": False,
        }
    )
    words = marrow_words(found)
    assert "True" not in words
    assert "False" not in words
    for part in (
        "hypocellular (10% cellularity)",
        "complete aplasia",
        "MDS found",
        "no malignant infiltration",
        "erythropoiesis reduced",
        "blasts 3%",
        "cytogenetics 46,XY,del(7q) (abnormal)",
        "NGS variants TP53 p.R248Q (VAF 12%)",
        "donor chimerism 80%",
        "no donor graft dysfunction",
    ):
        assert part in words
    assert marrow_words(MarrowBiopsy.model_validate({"start": 1.0, "ngs_done": True})) == (
        "NGS without variants"
    )


def test_marrow_fact_on_a_card_reads_in_words() -> None:
    """Issue 15 finding 13: the t-MN card's marrow fact reads "MDS found", never "MDS True"."""
    out = fired(record(events=[marrow(100, mds=True)]), 110)["hct.therapy-related-myeloid-neoplasm"]
    assert out.facts[0].value == "MDS found"
