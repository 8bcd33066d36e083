"""The IEC-HS decision (issue 15 finding 5; docs/decisions.md, IEC-HS): one card at a time,
"suspected" never "diagnosed", a documented infection named first without anakinra or steroids,
a rapid ferritin rise only from half the ferritin setting, a ferritin at or above the setting that
fires when counts are missing, and a recorded diagnosis shown as recorded."""

from __future__ import annotations

from typing import Any

import pytest
from tests.utils.rule_helpers import SEED, fired, record, unevaluated

from icaht.core.course import course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.core.rule_context import RuleContext

SUSPECTED = "iec-hs.suspected"
RECORDED = "iec-hs.recorded"
AS_OF = 12
CRS_RESOLVED = {"kind": "crs", "start": 1, "end": 5, "grade": 2}
FEVER = {"kind": "fever", "start": 11, "temperature_c": 39.0}
BACTERAEMIA = {
    "kind": "infection",
    "start": 10,
    "severity": "severe",
    "site": "bloodstream",
    "organism": "E. coli",
}
COUNTS = (
    ("anc", 5.0, 0.8),
    ("anc", 11.0, 0.3),
    ("platelets", 5.0, 120.0),
    ("platelets", 11.0, 90.0),
)


def _record(
    ferritin: list[tuple[str, float, float]],
    events: list[dict[str, Any]],
    counts: tuple[tuple[str, float, float], ...] = COUNTS,
    extra: tuple[tuple[str, float, float], ...] = (),
) -> PatientRecord:
    return record(labs=[*ferritin, *counts, *extra], events=events)


def _treatment_offered(rec: PatientRecord, day: int) -> list[str]:
    """Rule ids whose card offers anakinra or steroids."""
    return [
        rule_id
        for rule_id, r in fired(rec, day).items()
        if "anakinra" in r.action.lower() or "steroid" in r.action.lower()
    ]


def test_ferritin_400_to_900_with_e_coli_bacteraemia_offers_no_steroids() -> None:
    """Issue 15 finding 5: ferritin 400 -> 900 with E. coli bacteraemia recommended steroids. A
    rapid rise counts only when it reaches half the ferritin setting (5,000), and a documented
    infection is named first without anakinra or steroids (docs/decisions.md, IEC-HS)."""
    rec = _record(
        [("ferritin", 8.0, 400.0), ("ferritin", 11.0, 900.0)], [CRS_RESOLVED, FEVER, BACTERAEMIA]
    )
    assert SUSPECTED not in fired(rec, AS_OF)
    assert _treatment_offered(rec, AS_OF) == []


def test_a_rise_below_half_the_setting_never_counts() -> None:
    """docs/decisions.md, IEC-HS: 'a 400 -> 900 rise never fires' (iechs.rise_min_fraction
    = 0.5 of iechs.ferritin_ng_ml, project default), even with the whole classic pattern."""
    rec = _record([("ferritin", 8.0, 400.0), ("ferritin", 11.0, 900.0)], [CRS_RESOLVED, FEVER])
    assert SUSPECTED not in fired(rec, AS_OF)
    assert SUSPECTED not in unevaluated(rec, AS_OF)


def test_documented_infection_is_named_first_without_anakinra_or_steroids() -> None:
    """docs/decisions.md, IEC-HS: 'sepsis produces the same picture': the card asks to
    evaluate IEC-HS once the infection is treated or excluded and offers no anakinra or
    steroids."""
    rec = _record([("ferritin", 11.0, 25_000.0)], [CRS_RESOLVED, FEVER, BACTERAEMIA])
    card = fired(rec, AS_OF)[SUSPECTED]
    assert card.facts[0].label == "Documented active infection"
    assert "E. coli" in card.facts[0].value
    assert "sepsis produces the same picture" in card.action
    assert "once the infection is treated or excluded" in card.action
    assert _treatment_offered(rec, AS_OF) == []


def test_without_infection_the_treatment_is_offered() -> None:
    """JAIN L55: anakinra plus high-dose steroids if suspicion is high (no infection recorded,
    or the infection ended)."""
    ended = {**BACTERAEMIA, "start": 2, "end": 6}
    rec = _record([("ferritin", 11.0, 25_000.0)], [CRS_RESOLVED, FEVER, ended])
    assert "anakinra plus high-dose corticosteroids" in fired(rec, AS_OF)[SUSPECTED].action


def test_ferritin_50000_with_marrow_hemophagocytosis_fires_without_counts() -> None:
    """Issue 15 finding 5: ferritin 50,000 with marrow hemophagocytosis stayed silent when counts
    were missing. A ferritin at or above the setting with a supporting finding fires, naming the
    missing counts (docs/decisions.md, IEC-HS; JAIN L47: marrow phagocytosis 'will
    substantiate')."""
    marrow = {"kind": "marrow_biopsy", "start": 18, "hemophagocytosis": True}
    rec = record(labs=[("ferritin", 20.0, 50_000.0)], events=[marrow])
    card = fired(rec, 20)[SUSPECTED]
    values = {f.label: f.value for f in card.facts}
    assert values["Hemophagocytosis in the marrow"] == "present"
    assert values["Counts missing (new cytopenia not assessable)"] == (
        "ANC since day 14; Platelets since day 14"
    )
    assert "diagnos" not in card.action.lower()


def test_ferritin_800000_with_fever_and_organ_failure_fires_without_counts() -> None:
    """Issue 15 finding 5: ferritin 800,000 with fever and organ failure (transaminases above
    the ULN) stayed silent without counts."""
    base = record(
        labs=[("ferritin", 30.0, 800_000.0)], events=[{"kind": "fever", "start": 29}]
    ).model_dump()
    base["observations"].append(
        {"time": 30.0, "analyte": "alt", "value": 900.0, "unit": "U/L", "uln": 40.0}
    )
    card = fired(PatientRecord.model_validate(base), 30)[SUSPECTED]
    labels = [f.label for f in card.facts]
    assert "New fever" in labels
    assert "ALT above ULN 40" in labels
    assert "Counts missing (new cytopenia not assessable)" in labels


def test_very_high_ferritin_alone_without_counts_cannot_be_evaluated() -> None:
    """Finding 5: 'not even cannot evaluate'. Ferritin >= the setting, no fever, no supporting
    finding and no counts: the missing counts are named."""
    rec = record(labs=[("ferritin", 20.0, 50_000.0)])
    assert unevaluated(rec, 20)[SUSPECTED].missing == ["ANC since day 14", "Platelets since day 14"]


def test_fever_of_active_crs_does_not_stand_in_for_the_counts() -> None:
    """HINES pattern during active CRS needs a supporting finding: the CRS's own fever does not
    make the counts-missing pattern fire (it cannot be evaluated)."""
    rec = record(
        labs=[("ferritin", 11.0, 20_000.0)],
        events=[{"kind": "crs", "start": 1, "grade": 2}, FEVER],
    )
    assert SUSPECTED not in fired(rec, AS_OF)
    assert SUSPECTED in unevaluated(rec, AS_OF)


def test_marrow_hemophagocytosis_supports_the_pattern_during_crs() -> None:
    """JAIN L47, L53 and HINES: hemophagocytosis in the marrow is a supporting finding."""
    marrow = {"kind": "marrow_biopsy", "start": 10, "hemophagocytosis": True}
    rec = _record([("ferritin", 11.0, 12_000.0)], [{"kind": "crs", "start": 1, "grade": 2}, marrow])
    card = fired(rec, AS_OF)[SUSPECTED]
    assert any("CRS is active" in c for c in card.caveats)


# -- a recorded diagnosis ------------------------------------------------------------------------
def _diagnosis(status: str, start: int = 10, end: int | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "iec_hs", "start": start, "status": status}
    if end is not None:
        event["end"] = end
    return event


@pytest.mark.parametrize("status", ["confirmed", "suspected"])
def test_recorded_diagnosis_shows_as_recorded_not_as_a_suspicion(status: str) -> None:
    """docs/decisions.md, IEC-HS: a recorded diagnosis shows as 'IEC-HS recorded (day N)'."""
    rec = _record([("ferritin", 11.0, 12_000.0)], [CRS_RESOLVED, FEVER, _diagnosis(status)])
    out = fired(rec, AS_OF)
    assert SUSPECTED not in out
    assert out[RECORDED].action.startswith(f"IEC-HS recorded (day 10, {status})")


def test_excluded_diagnosis_is_silent_until_new_facts_match_again() -> None:
    """An excluded diagnosis says so, and shows only when facts after the exclusion match a
    suspicion pattern again (never as a fresh suspicion)."""
    pattern = _record(
        [("ferritin", 11.0, 12_000.0)], [CRS_RESOLVED, FEVER, _diagnosis("excluded", 11)]
    )
    assert RECORDED not in fired(pattern, AS_OF)
    assert SUSPECTED not in fired(pattern, AS_OF)
    later = _record(
        [("ferritin", 11.0, 12_000.0), ("ferritin", 16.0, 30_000.0)],
        [CRS_RESOLVED, FEVER, _diagnosis("excluded", 11), {"kind": "fever", "start": 16}],
        counts=(*COUNTS, ("platelets", 16.0, 15.0)),
    )
    card = fired(later, 16)[RECORDED]
    assert card.action.startswith("IEC-HS recorded (day 11) as excluded")
    assert SUSPECTED not in fired(later, 16)


def test_hlh_diagnosis_is_named_as_recorded() -> None:
    """The recorded diagnosis names HLH or MAS as recorded."""
    event = {**_diagnosis("confirmed"), "diagnosis": "hlh"}
    assert fired(record(events=[event]), AS_OF)[RECORDED].action.startswith("HLH recorded")


# -- one card ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "events",
    [
        [CRS_RESOLVED, FEVER],
        [CRS_RESOLVED, FEVER, BACTERAEMIA],
        [CRS_RESOLVED, FEVER, _diagnosis("confirmed")],
        [CRS_RESOLVED, FEVER, _diagnosis("excluded", 3)],
        [{"kind": "crs", "start": 1, "grade": 2}, FEVER],
    ],
)
def test_one_iec_hs_card_at_a_time(events: list[dict[str, Any]]) -> None:
    """Issue 15: an exclusive decision shows one state; the IEC-HS rules never fire together."""
    from icaht.core.guidance import contradictions  # noqa: PLC0415 (absent before issue 15)

    rec = _record([("ferritin", 11.0, 12_000.0)], events, extra=(("fibrinogen", 11.0, 100.0),))
    ctx = RuleContext.as_of(course_from_record(rec), AS_OF, SEED)
    assert contradictions(ctx) == []
    assert len([r for r in fired(rec, AS_OF) if r.startswith("iec-hs.")]) == 1


def test_recorded_diagnosis_with_active_infection_names_it_without_treatment() -> None:
    """A recorded diagnosis keeps its wording; a documented active infection is named first and
    no anakinra or steroids are offered (docs/decisions.md, IEC-HS)."""
    events = [CRS_RESOLVED, FEVER, BACTERAEMIA, _diagnosis("confirmed")]
    rec = _record([("ferritin", 11.0, 12_000.0)], events)
    card = fired(rec, AS_OF)[RECORDED]
    assert card.action.startswith("IEC-HS recorded (day 10, confirmed)")
    assert "sepsis produces the same picture" in card.action
    assert card.facts[0].label == "Documented active infection"
    assert _treatment_offered(rec, AS_OF) == []
