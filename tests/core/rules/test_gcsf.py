"""The G-CSF decision as one card a day (icaht.core.rules.gcsf): issue 15 findings 7, 11
and the G-CSF parts of 13, and docs/decisions.md "G-CSF" (revised 2026-12).

Sources: Jain et al., Blood 2023 (seed 001, ``L<n>``); Rejeski et al. (ICAHT), Blood 2023, Table 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.utils.rule_helpers import ICAHT, SEED, daily, fired, record, unevaluated

from icaht.core.course import course_from_record
from icaht.core.guidance import contradictions, evaluate_all, fired_rule_ids
from icaht.core.outcome import Fired
from icaht.core.patient_record import PatientRecord
from icaht.core.rule_context import RuleContext
from icaht.core.rules import CATALOGUE
from icaht.io.records import load_course
from icaht.knowledge.profile import Profile
from icaht.simulate import simulate_records

CONSIDER = "growth-factor.consider-gcsf"
DEFER = "growth-factor.defer-gcsf-during-crs"
BIPHASIC = "growth-factor.biphasic-drop"
PROPHYLACTIC = "growth-factor.prophylactic-gcsf"
GM_CSF = "growth-factor.avoid-gm-csf"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

HIGH_HT = [("platelets", -5.0, 74.0), ("anc", -5.0, 2.0), ("hb", -5.0, 12.0)]
HIGH_HT += [("crp", -5.0, 1.0), ("ferritin", -5.0, 100.0)]


def med(drug: str, start: float, end: float | None = None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "medication", "start": start, "drug": drug, **extra}
    if end is not None:
        event["end"] = end
    return event


def episode(
    kind: str, start: float, end: float | None = None, grade: int | None = 2
) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": kind, "start": start}
    if end is not None:
        event["end"] = end
    if grade is not None:
        event["grade"] = grade
    return event


def gcsf_cards(rec: PatientRecord, day: int, profile: Profile = SEED) -> list[str]:
    return [r for r in fired(rec, day, profile) if r.startswith("growth-factor.")]


def _biphasic(after: float, last_day: int = 20) -> list[tuple[str, float, float]]:
    """ANC 0.3 days 0-9, 1.0 days 10-14 (recovery day 12), then ``after`` from day 15 (the
    drop) to ``last_day``."""
    return daily("anc", 0, 9, 0.3) + daily("anc", 10, 14, 1.0) + daily("anc", 15, last_day, after)


# -- finding 7: G-CSF in any phase ---------------------------------------------------------------
@pytest.mark.parametrize("day", [40, 95, 200])
def test_finding_7_prolonged_severe_neutropenia_is_not_silent(day: int) -> None:
    """Issue 15 finding 7: ANC 0.1 at day 40 with no G-CSF was silent. docs/decisions.md
    (G-CSF): consider filgrastim 5 ug/kg/day when ANC <= 0.5 from day 7 in any phase; JAIN L53:
    'patients with prolonged severe neutropenia ... may be treated with G-CSF'."""
    rec = record(labs=daily("anc", day - 20, day, 0.1))
    result = fired(rec, day)
    assert CONSIDER in result
    assert "5 ug/kg" in result[CONSIDER].action
    facts = {f.label: f.value for f in result[CONSIDER].facts}
    assert facts["ANC"] == "0.1 10^9/L"
    assert "Persistent severe neutropenia" in facts


def test_a_stale_anc_above_0_5_after_the_early_phase_calls_for_nothing() -> None:
    """Late phase, the latest ANC (stale) was 2.0: no G-CSF question to raise; a stale ANC
    <= 0.5 cannot be evaluated (named)."""
    assert CONSIDER not in unevaluated(record(labs=[("anc", 100.0, 2.0)]), 200)
    missing = unevaluated(record(labs=[("anc", 100.0, 0.2)]), 200)[CONSIDER].missing
    assert missing == ["current ANC (within 35 days)"]


# -- one card: consider and defer never together -------------------------------------------------
_RECORDS = {
    "anc low, CRS grade 2": record(labs=daily("anc", 0, 40, 0.2), events=[episode("crs", 1, 12)]),
    "GM-CSF with anc low": record(
        labs=daily("anc", 0, 40, 0.2), events=[med("sargramostim", 5, 30)]
    ),
    "biphasic with ICANS": record(labs=_biphasic(0.3, 40), events=[episode("icans", 16, 22)]),
    "child, ungraded CRS": record(
        patient={"age_years": 3},
        labs=daily("anc", 0, 40, 0.2),
        events=[episode("crs", 1, grade=None)],
    ),
}


@pytest.mark.parametrize("profile", [SEED, ICAHT], ids=["seed-2023", "icaht-2023"])
@pytest.mark.parametrize("name", sorted(_RECORDS))
def test_one_gcsf_card_a_day(name: str, profile: Profile) -> None:
    """Issue 15 ('consider and defer G-CSF' cannot appear on the same day): no two G-CSF rules
    fire together on any day 0-40, with either profile."""
    course = course_from_record(_RECORDS[name])
    for day in range(41):
        pairs = contradictions(RuleContext.as_of(course, day, profile))
        assert not [p for p in pairs if p[0].startswith("growth-factor.")], (day, pairs)


def test_one_gcsf_card_a_day_in_a_simulated_cohort() -> None:
    """Issue 15 (one card per decision): no two G-CSF rules fire together on any day 0-200 of
    40 simulated patients, with either profile (the G-CSF rules alone, to stay quick)."""
    rules = tuple(r for r in CATALOGUE if r.decision == "gcsf")
    for rec in simulate_records(40, 7):
        course = course_from_record(rec)
        for profile in (SEED, ICAHT):
            for day in range(201):
                outcomes = evaluate_all(RuleContext.as_of(course, day, profile), rules)
                shown = [r.id for r, outcome in outcomes if isinstance(outcome, Fired)]
                assert len(shown) <= 1, (rec.patient.patient_id, profile.name, day, shown)


def test_gm_csf_running_is_the_card() -> None:
    """JAIN L39 (never GM-CSF): while GM-CSF runs the G-CSF card is the alert, naming a CRS that
    would also defer G-CSF."""
    rec = record(
        labs=[("anc", 8.0, 0.2)],
        events=[med("sargramostim", 5), episode("crs", 6, 12, grade=2)],
    )
    result = fired(rec, 8)
    assert gcsf_cards(rec, 8) == [GM_CSF]
    assert result[GM_CSF].strength == "alert"
    assert "CRS (grade 2) is active" in result[GM_CSF].caveats[0]


def test_prophylactic_gcsf_is_the_card_not_a_second_one() -> None:
    """ICAHT Table 3 (profile icaht-2023): prophylactic G-CSF from day +2 for CAR-HEMATOTOX
    high stays, as a state of the same card: with ANC <= 0.5 on day 8 it is the only card."""
    rec = record(labs=[*HIGH_HT, ("anc", 8.0, 0.2)])
    assert gcsf_cards(rec, 8, ICAHT) == [PROPHYLACTIC]
    assert gcsf_cards(rec, 8, SEED) == [CONSIDER]


# -- deferral during CRS / ICANS -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("events", "card"),
    [
        ([episode("icans", 5, 10, grade=2)], DEFER),
        ([episode("icans", 5, 10, grade=1)], CONSIDER),
        ([episode("crs", 5, 10, grade=1)], CONSIDER),
        ([episode("crs", 5, 10, grade=3)], DEFER),
        ([episode("crs", 5, 10, grade=None)], DEFER),
        (
            [
                episode("icans", 5, 10, grade=3),
                {"kind": "infection", "start": 7, "severity": "severe"},
            ],
            CONSIDER,
        ),
    ],
)
def test_defer_while_crs_or_icans_grade_2_or_more(events: list[dict[str, Any]], card: str) -> None:
    """docs/decisions.md (G-CSF): defer while CRS or ICANS grade >= 2 is active unless severe
    infection (JAIN L39: 'early use of G-CSF may worsen CRS and ICANS'; 'we commonly avoid ...
    ongoing CRS, unless there is concomitant severe infection'). Ungraded: deferred
    (conservative)."""
    assert gcsf_cards(record(labs=[("anc", 8.0, 0.2)], events=events), 8) == [card]


def test_the_deferral_names_the_active_episodes() -> None:
    """The deferral is the state of the G-CSF card and names the active CRS/ICANS."""
    rec = record(
        labs=[("anc", 8.0, 0.2)],
        events=[episode("crs", 1, 10, grade=3), episode("icans", 5, 18, grade=None)],
    )
    card = fired(rec, 8)[DEFER]
    assert "CRS (grade 3) and ICANS (grade not recorded) are active" in card.action
    facts = {f.label: f.value for f in card.facts}  # as of day 8 neither end is known yet
    assert (
        facts["CRS active"]
        == "grade 3; ongoing (no end date yet; counted active to day 15 at most)"
    )
    assert facts["ICANS active"] == (
        "grade not recorded; ongoing (no end date yet; counted active to day 19 at most)"
    )
    assert any("ICANS grade not recorded: deferred as if grade >= 2" in c for c in card.caveats)


@pytest.mark.parametrize(("day", "card"), [(15, DEFER), (16, CONSIDER)])
def test_finding_13_a_crs_without_end_date_is_not_active_forever(day: int, card: str) -> None:
    """Issue 15 finding 13: a CRS with no end date was active forever (G-CSF deferred forever).
    docs/decisions.md: it counts as active for at most 14 days after its start (project
    default data_quality.open_episode_active_days) and is flagged 'end date missing'."""
    rec = record(labs=daily("anc", 0, day, 0.2), events=[episode("crs", 1, grade=2)])
    result = fired(rec, day)
    assert gcsf_cards(rec, day) == [card]
    if card == DEFER:
        assert any("CRS end date missing" in c for c in result[DEFER].caveats)
        facts = {f.label: f.value for f in result[DEFER].facts}
        assert (
            facts["CRS active"]
            == "grade 2; ongoing (no end date yet; counted active to day 15 at most)"
        )


def test_open_episode_limit_is_a_setting() -> None:
    """data_quality.open_episode_active_days (project default 14) is an institution setting."""
    rec = record(labs=daily("anc", 0, 12, 0.2), events=[episode("icans", 1, grade=2)])
    quality = SEED.data_quality.model_copy(update={"open_episode_active_days": 7})
    assert gcsf_cards(rec, 12, SEED.model_copy(update={"data_quality": quality})) == [CONSIDER]


def test_finding_13_gcsf_during_grade_4_icans_gets_a_caveat() -> None:
    """Issue 15 finding 13: G-CSF advised during active grade-4 ICANS had no caveat. With a
    severe infection the source uses G-CSF (JAIN L39); the card names the grade-4 ICANS."""
    rec = record(
        labs=[("anc", 8.0, 0.2)],
        events=[
            episode("icans", 6, 12, grade=4),
            {"kind": "infection", "start": 7, "severity": "severe"},
        ],
    )
    caveats = fired(rec, 8)[CONSIDER].caveats
    assert any(c.startswith("ICANS grade 4 is active") for c in caveats)
    assert any("with a severe infection and neutropenia the seed uses G-CSF" in c for c in caveats)


# -- finding 11: the biphasic drop ---------------------------------------------------------------
@pytest.mark.parametrize(("day", "fires"), [(29, True), (30, False)])
def test_finding_11_biphasic_advice_ends_when_the_drop_is_older_than_14_days(
    day: int, fires: bool
) -> None:
    """Issue 15 finding 11: the biphasic-drop advice never expired. docs/decisions.md: it
    ends when the drop (day 15) is older than 14 days (gcsf.biphasic_advice_days)."""
    rec = record(labs=_biphasic(0.6, day))
    assert (BIPHASIC in fired(rec, day)) is fires


def test_finding_11_biphasic_advice_ends_when_gcsf_starts() -> None:
    """Issue 15 finding 11: it fired while G-CSF ran. JAIN L53 (daily G-CSF until ANC > 1.5):
    once G-CSF starts after the drop, the advice has been followed."""
    rec = record(labs=_biphasic(0.6, 22), events=[med("filgrastim", 18, 20)])
    assert BIPHASIC in fired(record(labs=_biphasic(0.6, 22)), 22)
    assert BIPHASIC not in fired(rec, 19)
    assert BIPHASIC not in fired(rec, 22)


@pytest.mark.parametrize("day", range(3, 14))
def test_the_first_fall_after_lymphodepletion_is_not_biphasic(day: int) -> None:
    """JAIN L53: "in patients with initial count recovery, and then later biphasic drop in
    neutrophils to <750/mm3, we often use daily G-CSF until ANC is >1500/mm3". Counts that are
    still above 0.5 after infusion (1.8, 1.2, 0.9) have not recovered from anything: the first
    fall to 0.7 on day 3 and the nadir that follows were called a biphasic drop, advising daily
    G-CSF from day 3 (before day 7, docs/decisions.md G-CSF). The recovery must follow an ANC
    <= 0.5; the usual advice holds from day 7 at ANC <= 0.5."""
    values = (1.8, 1.2, 0.9, 0.7, 0.6, 0.4, 0.3, 0.2, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0)
    rec = record(labs=[("anc", float(d), v) for d, v in enumerate(values)])
    cards = gcsf_cards(rec, day)
    assert BIPHASIC not in cards
    assert cards == ([CONSIDER] if 7 <= day <= 10 else [])


@pytest.mark.parametrize(("drop_day", "fires"), [(15, False), (40, True)])
def test_without_a_recorded_nadir_a_dip_after_day_21_is_biphasic(
    drop_day: int, fires: bool
) -> None:
    """A record without any ANC <= 0.5 (the early nadir before the record, or none): a fall to
    < 0.75 after recovered counts is the second dip of Rejeski (intermittent phenotype: after day
    +21), not on day 15."""
    labs = daily("anc", 0, drop_day - 1, 1.6) + daily("anc", drop_day, drop_day + 3, 0.6)
    assert (BIPHASIC in gcsf_cards(record(labs=labs), drop_day + 3)) is fires


@pytest.mark.parametrize("day", [70, 372])
def test_finding_11_scaldaferri_dip_is_not_cited_later(day: int) -> None:
    """Issue 15 finding 11: Scaldaferri's day-56 dip was still cited on day 372 while G-CSF was
    given (three times weekly from day 35, SCAL)."""
    course = load_course(EXAMPLES / "scaldaferri.json")
    assert BIPHASIC not in fired_rule_ids(RuleContext.as_of(course, day, SEED))


def test_biphasic_drop_deferred_during_icans() -> None:
    """JAIN L39 applies to the biphasic drop too: the card is the deferral, naming what it
    defers."""
    rec = record(labs=_biphasic(0.6), events=[episode("icans", 18, 22, grade=2)])
    card = fired(rec, 20)
    assert gcsf_cards(rec, 20) == [DEFER]
    assert "deferring daily G-CSF for the biphasic drop" in card[DEFER].action


# -- G-CSF already running -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("gcsf", "card"),
    [
        (med("filgrastim", 5, frequency="daily"), None),
        (med("filgrastim", 5), None),  # frequency not recorded: label dosing (daily)
        (med("pegfilgrastim", 5, frequency="once"), None),  # long-acting
        (med("filgrastim", 5, frequency="weekly"), CONSIDER),  # not at the daily schedule
    ],
)
def test_never_while_gcsf_runs_at_the_daily_schedule(
    gcsf: dict[str, Any], card: str | None
) -> None:
    """docs/decisions.md: never when G-CSF is already running at that schedule (5 ug/kg/day);
    a weekly G-CSF is named on the card."""
    rec = record(labs=[("anc", 40.0, 0.2)], events=[gcsf])
    assert gcsf_cards(rec, 40) == ([card] if card else [])
    if card:
        facts = {f.label: f.value for f in fired(rec, 40)[card].facts}
        assert facts["G-CSF running"] == "filgrastim weekly (not daily)"


# -- absence is not a negative -------------------------------------------------------------------
def test_no_gcsf_recorded_is_not_no_gcsf_given() -> None:
    """docs/decisions.md (Absence is not a negative): a rule that advises starting something
    fires with 'none recorded; if it is running, this does not apply' unless the stream is
    declared complete."""
    silent = fired(record(labs=[("anc", 8.0, 0.2)]), 8)[CONSIDER]
    assert "G-CSF: none recorded; if it is running, this does not apply." in silent.caveats
    assert {f.label: f.value for f in silent.facts}["G-CSF"] == "none recorded"
    complete = record(patient={"complete_streams": ["gcsf"]}, labs=[("anc", 8.0, 0.2)])
    declared = fired(complete, 8)[CONSIDER]
    assert not any("none recorded" in c for c in declared.caveats)
    assert {f.label: f.value for f in declared.facts}["G-CSF"] == "none given"


# -- children ------------------------------------------------------------------------------------
def test_child_caveat_and_dose_by_weight() -> None:
    """JAIN L73: 'prolonged use of growth factors are often deferred in pediatric patients' is a
    caveat on the G-CSF card (docs/decisions.md); the dose is per weight per paediatric
    protocol."""
    rec = record(patient={"age_years": 2.58}, labs=daily("anc", 20, 40, 0.1))
    card = fired(rec, 40)[CONSIDER]
    assert "dose by weight per paediatric protocol" in card.action
    assert any(
        c.startswith("Child: prolonged growth-factor use is often deferred") for c in card.caveats
    )
    adult = fired(record(patient={"age_years": 40}, labs=daily("anc", 20, 40, 0.1)), 40)[CONSIDER]
    assert not any(c.startswith("Child") for c in adult.caveats)
