"""The G-CSF decision (decision ``gcsf``, docs/decisions.md "G-CSF"): one card a day.

The card's state is the first of these that applies; each rule below shows one state, so two
G-CSF cards never fire together (``guidance.contradictions`` finds none):

1. a GM-CSF running after infusion: alert, avoid GM-CSF (JAIN L39);
2. G-CSF already running at the daily schedule: no card;
3. prophylactic G-CSF from day +2 for CAR-HEMATOTOX-high patients in the early ICAHT window until
   ANC recovery (profiles with ``gcsf.prophylactic_for_high_hematotox``: icaht-2023; ICAHT
   Table 3);
4. a therapeutic indication, either a biphasic drop (ANC < 0.75 x10^9/L after an earlier
   recovery; daily G-CSF until ANC > 1.5, JAIN L53) or a current ANC <= 0.5 from
   ``gcsf.therapeutic_start_day`` in any phase (JAIN L39, L53; ICAHT Table 3); **deferred**
   while CRS or ICANS of grade >= ``gcsf.defer_min_grade`` (or of unrecorded grade) is active,
   unless a severe infection is (JAIN L39); otherwise the indication's own card.

Every card of a child carries the seed's caveat that prolonged growth factors are often deferred in
children (JAIN L73) instead of a card of its own. Absence is not a negative: when the G-CSF stream
is not declared complete and no G-CSF is recorded, the advice says so.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al. (ICAHT), Blood
2023, Table 3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from icaht.core.course import day_of
from icaht.core.drug_courses import _PER_DAY
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import CrsEpisode, IcansEpisode, Medication
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.rules.queries import (
    STALE_SETTINGS,
    anc_after,
    hematotox_category,
    hematotox_missing,
    recovered_since_neutropenia,
    shown_total,
)
from icaht.core.score import ScoreResult
from icaht.core.support import gcsf_days
from icaht.core.timeline import calendar_day, icaht_window
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import GCSF, GM_CSF, LONG_ACTING_GCSF
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L
from icaht.knowledge.late_criteria import (
    BIPHASIC_DROP_BELOW_ANC_10E9_PER_L,
    BIPHASIC_GCSF_UNTIL_ANC_ABOVE_10E9_PER_L,
)
from icaht.knowledge.regimens import FILGRASTIM

State = Literal["gm-csf", "prophylactic", "biphasic", "consider", "defer"]
Episode = CrsEpisode | IcansEpisode

_ANC = f"{ANC_SEVERE_10E9_PER_L:g} x10^9/L"
#: Settings and inputs of the CRS/ICANS deferral, which every G-CSF card names.
_DEFER_SETTINGS = (
    "gcsf.defer_during_active_crs",
    "gcsf.defer_min_grade",
    "data_quality.open_episode_active_days",
)
_DEFER_INPUTS = ("medication", "crs", "icans", "infection")
#: ... and the child caveat of the advising cards.
_CARD_SETTINGS = (*_DEFER_SETTINGS, "patient_groups.child_max_age_years")
_CARD_INPUTS = (*_DEFER_INPUTS, "patient.age_years")


# -- the facts the state reads -------------------------------------------------------------------
def _daily(med: Medication) -> bool:
    """A G-CSF segment given at least daily (frequency daily or not recorded: label dosing), or a
    long-acting form."""
    if med.drug in LONG_ACTING_GCSF or med.frequency is None:
        return True
    return med.frequency.strip().lower() in _PER_DAY


def _running_daily(ctx: RuleContext) -> list[Medication]:
    """G-CSF segments running on the as-of day at the daily schedule."""
    return [m for m in ctx.active_medications(GCSF) if _daily(m)]


def _prophylactic(ctx: RuleContext) -> ScoreResult | CannotEvaluate | None:
    """ICAHT Table 3: the CAR-HEMATOTOX score when prophylactic G-CSF applies (profile setting,
    from the start day in the early ICAHT window, no ANC recovery after the nadir, category high);
    CannotEvaluate when it would apply but the category is unknown."""
    settings = ctx.profile.gcsf
    if not settings.prophylactic_for_high_hematotox:
        return None
    if ctx.as_of_day < settings.prophylactic_start_day or icaht_window(ctx.as_of_day) != "early":
        return None
    if recovered_since_neutropenia(ctx) is not None:
        return None
    score = ctx.scores.car_hematotox
    category = hematotox_category(score)
    if category is None:
        return CannotEvaluate(missing=hematotox_missing(score))
    return score if category == "high" else None


@dataclass(frozen=True, slots=True)
class Indication:
    """Why therapeutic G-CSF is a consideration today: the state it calls for and its facts."""

    state: Literal["biphasic", "consider"]
    anc: Measurement
    facts: tuple[Fact, ...]


Found = Indication | CannotEvaluate | None


def _latest_drop(ctx: RuleContext, recovery: int) -> tuple[int, float] | None:
    """The latest fall (day, ANC < 0.75 following a value >= 0.75) from the recovery day on that
    no ANC > 1.5 has followed."""
    drop: tuple[int, float] | None = None
    was_higher = False
    for day, value in anc_after(ctx, recovery):
        if value < BIPHASIC_DROP_BELOW_ANC_10E9_PER_L:
            if was_higher:
                drop, was_higher = (day, value), False
            continue
        was_higher = True
        if value > BIPHASIC_GCSF_UNTIL_ANC_ABOVE_10E9_PER_L:
            drop = None
    return drop


def _biphasic(ctx: RuleContext) -> Indication | CannotEvaluate | None:
    """JAIN L53: after initial recovery, a drop to ANC < 0.75 -> daily G-CSF until ANC > 1.5.
    The advice ends when G-CSF starts or the drop is older than ``gcsf.biphasic_advice_days``
    (docs/decisions.md)."""
    recovery = ctx.recovery_day()
    if recovery is None:
        return None
    drop = _latest_drop(ctx, recovery)
    if drop is None or ctx.as_of_day - drop[0] > ctx.profile.gcsf.biphasic_advice_days:
        return None
    if any(day >= drop[0] for day in gcsf_days(ctx.course, ctx.as_of_day)):
        return None
    facts = (
        fact("ANC recovery (> 0.5 on consecutive values)", "reached", recovery),
        fact("Biphasic drop: ANC", f"{drop[1]:g} 10^9/L", drop[0]),
    )
    current = ctx.current(Analyte.ANC)
    if current is None:
        return CannotEvaluate(missing=("current ANC (the latest value is stale)",), facts=facts)
    return Indication("biphasic", current, (*facts, lab_fact(Analyte.ANC, current, "Current ANC")))


def _severe(ctx: RuleContext) -> Indication | CannotEvaluate | None:
    """JAIN L39, L53; ICAHT Table 3: a current ANC <= 0.5 from the start day, in any phase.
    Without a current ANC: CannotEvaluate in the early phase, or later when the latest ANC was
    <= 0.5 or there is none (a stale value above 0.5 calls for nothing)."""
    if ctx.as_of_day < ctx.profile.gcsf.therapeutic_start_day:
        return None
    anc = ctx.current(Analyte.ANC)
    if anc is not None:
        if anc.value > ANC_SEVERE_10E9_PER_L:
            return None
        facts = [lab_fact(Analyte.ANC, anc)]
        if ctx.persistent_severe_neutropenia:
            window = ctx.profile.severity.persistent_window_days
            every = f"every ANC in {window} days <= 0.5"
            facts.append(fact("Persistent severe neutropenia", every))
        return Indication("consider", anc, tuple(facts))
    latest = ctx.latest(Analyte.ANC)
    if ctx.phase != "early" and latest is not None and latest.value > ANC_SEVERE_10E9_PER_L:
        return None
    missing = f"current {ANALYTES[Analyte.ANC].display} (within {ctx.stale_days()} days)"
    known = () if latest is None else (lab_fact(Analyte.ANC, latest, "Latest ANC"),)
    return CannotEvaluate(missing=(missing,), facts=known)


def _active_episodes(ctx: RuleContext) -> list[Episode]:
    return [e for e in (ctx.crs_active(), ctx.icans_active()) if e is not None]


def _defers(ctx: RuleContext, episode: Episode) -> bool:
    """An active episode of grade >= ``gcsf.defer_min_grade``, or of unrecorded grade
    (conservative: an ungraded CRS/ICANS defers, named as such)."""
    return episode.grade is None or episode.grade >= ctx.profile.gcsf.defer_min_grade


def _deferring(ctx: RuleContext) -> list[Episode]:
    """JAIN L39: the active CRS/ICANS episodes that defer G-CSF (profile setting), unless a
    severe infection is active."""
    if not ctx.profile.gcsf.defer_during_active_crs or ctx.severe_infection_active() is not None:
        return []
    return [e for e in _active_episodes(ctx) if _defers(ctx, e)]


# -- the state -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GcsfCard:
    """The one G-CSF card of the day (``state`` None: no card) and the rules that cannot be
    evaluated, by state."""

    state: State | None
    indication: Indication | None = None
    hematotox: ScoreResult | None = None
    unevaluated: tuple[tuple[State, CannotEvaluate], ...] = ()

    def cannot_evaluate(self, state: State) -> CannotEvaluate | None:
        return dict(self.unevaluated).get(state)


def gcsf_card(ctx: RuleContext) -> GcsfCard:
    """The state of the G-CSF decision as of the day (module docstring, in priority order)."""
    if ctx.as_of_day < 0:
        return GcsfCard(None)
    if ctx.active_medications(GM_CSF):
        return GcsfCard("gm-csf")
    if _running_daily(ctx):
        return GcsfCard(None)
    unevaluated: list[tuple[State, CannotEvaluate]] = []
    prophylactic = _prophylactic(ctx)
    if isinstance(prophylactic, ScoreResult):
        return GcsfCard("prophylactic", hematotox=prophylactic)
    if prophylactic is not None:
        unevaluated.append(("prophylactic", prophylactic))
    indications: tuple[tuple[State, Callable[[RuleContext], Found]], ...] = (
        ("biphasic", _biphasic),
        ("consider", _severe),
    )
    for state, find in indications:
        found = find(ctx)
        if isinstance(found, Indication):
            shown: State = "defer" if _deferring(ctx) else found.state
            return GcsfCard(shown, indication=found, unevaluated=tuple(unevaluated))
        if found is not None:
            unevaluated.append((state, found))
    return GcsfCard(None, unevaluated=tuple(unevaluated))


# -- what a card says ----------------------------------------------------------------------------
def _episode_name(episode: Episode) -> str:
    grade = "grade not recorded" if episode.grade is None else f"grade {episode.grade}"
    return f"{episode.kind.upper()} ({grade})"


def _episode_fact(ctx: RuleContext, episode: Episode) -> Fact:
    value = "grade not recorded" if episode.grade is None else f"grade {episode.grade}"
    if episode.end is None:
        value += f"; no end date recorded, counted active to day {ctx.episode_last_day(episode)}"
    return event_fact(f"{episode.kind.upper()} active", value, day_of(episode.start))


def _episode_caveat(ctx: RuleContext, episode: Episode, state: State) -> str:
    """Why an active CRS/ICANS does not defer the advice shown."""
    since = f"{_episode_name(episode)} active since day {calendar_day(day_of(episode.start))}"
    if not _defers(ctx, episode):
        why = (
            f"below the deferral grade {ctx.profile.gcsf.defer_min_grade}; early G-CSF may "
            "worsen CRS and ICANS (JAIN L39): watch for escalation."
        )
    elif state == "prophylactic":
        why = (
            "the seed avoids G-CSF during ongoing CRS unless there is severe infection (JAIN "
            "L39); ICAHT reports no CRS/ICANS signal with prophylactic G-CSF."
        )
    elif ctx.severe_infection_active() is not None:
        why = "but with a severe infection and neutropenia the seed uses G-CSF (JAIN L39)."
    else:
        why = (
            "this profile does not defer G-CSF; the seed avoids G-CSF during ongoing CRS unless "
            "there is severe infection (JAIN L39)."
        )
    return f"{since}: {why}"


def _open_episode_caveats(ctx: RuleContext) -> list[str]:
    days = ctx.profile.data_quality.open_episode_active_days
    return [
        f"{e.kind.upper()} end date missing (none recorded as of today): counted as active for at "
        f"most {days} days after its start, to day {ctx.episode_last_day(e)} (project default); "
        "record the end date when it resolves."
        for e in _active_episodes(ctx)
        if e.end is None
    ]


def _grade4_icans_caveat(ctx: RuleContext) -> list[str]:
    """Finding 13 (issue 15): G-CSF advised during active grade-4 ICANS is named."""
    icans = ctx.icans_active()
    if icans is None or icans.grade is None or icans.grade < 4:
        return []
    return [
        "ICANS grade 4 is active: early G-CSF may worsen CRS and ICANS (JAIN L39); weigh the "
        "benefit against the neurotoxicity before starting it."
    ]


def _child_caveat(ctx: RuleContext) -> list[str]:
    if ctx.is_child() is not True:
        return []
    return [
        "Child: prolonged growth-factor use is often deferred in paediatric patients, most of "
        "whom are BMT candidates after CAR-T; myeloid growth factors may exacerbate CRS "
        "(JAIN L73)."
    ]


def _none_recorded(ctx: RuleContext) -> bool:
    return not ctx.stream_complete("gcsf") and not ctx.medications(GCSF)


def _gcsf_fact(ctx: RuleContext) -> Fact:
    """What the record says about G-CSF today (never 'none' from a silent stream)."""
    given = ctx.medications(GCSF)
    if not given:
        return fact("G-CSF", "none given" if ctx.stream_complete("gcsf") else "none recorded")
    running = ctx.active_medications(GCSF)
    if running:  # not daily, else no advising card shows
        med = running[-1]
        shown = f"{med.drug} {med.frequency} (not daily)"
        return event_fact("G-CSF running", shown, day_of(med.start))
    last = given[-1]
    end = last.start if last.end is None else last.end
    return fact("G-CSF", f"not running (last {last.drug} to day {calendar_day(day_of(end))})")


def _caveats(ctx: RuleContext, state: State) -> tuple[str, ...]:
    """The caveats of an advising card (prophylactic, biphasic, consider)."""
    caveats = [_episode_caveat(ctx, e, state) for e in _active_episodes(ctx)]
    caveats += _open_episode_caveats(ctx) + _grade4_icans_caveat(ctx) + _child_caveat(ctx)
    if _none_recorded(ctx):
        caveats.append("G-CSF: none recorded; if it is running, this does not apply.")
    return tuple(caveats)


def _regimen(ctx: RuleContext) -> str:
    if ctx.is_child() is True:
        return f"{FILGRASTIM} (dose by weight per paediatric protocol)"
    return FILGRASTIM


# -- the rules -----------------------------------------------------------------------------------
@rule(
    id="growth-factor.avoid-gm-csf",
    title="Avoid GM-CSF after CAR-T",
    category="alert",
    decision="gcsf",
    strength="alert",
    summary="A GM-CSF (sargramostim, molgramostim) is running after infusion: the source "
    "advises avoiding GM-CSF after CAR-T (raised in CRS/ICANS; blocking it reduces toxicity in "
    "animal models); G-CSF is the growth factor to use. This alert is the G-CSF card while "
    "GM-CSF runs.",
    citations=[Citation("JAIN", "L39, L53; Fig. 1")],
    inputs=[*_DEFER_INPUTS, "anc", "car_hematotox", "jain_phase"],
    settings=[
        *_DEFER_SETTINGS,
        "data_quality.stale_days_early",
        "data_quality.stale_days_late",
        "data_quality.stale_days_prolonged",
        "gcsf.biphasic_advice_days",
        "gcsf.prophylactic_for_high_hematotox",
        "gcsf.prophylactic_start_day",
        "gcsf.therapeutic_start_day",
        "prophylaxis.recovery_consecutive_values",
        "severity.persistent_min_values",
        "severity.persistent_window_days",
        "baseline.lookback_days",
    ],
)
def avoid_gm_csf(ctx: RuleContext) -> Outcome:
    """JAIN L39: GM-CSF is raised in CRS/ICANS and its blockade abrogates similar toxicity in
    animal models, so the seed avoids GM-CSF after CAR-T."""
    if gcsf_card(ctx).state != "gm-csf":
        return None
    given = ctx.active_medications(GM_CSF)
    deferring = _deferring(ctx)
    caveats = [
        f"{_episode_name(e)} is active: the seed would also defer G-CSF now (JAIN L39)."
        for e in deferring
    ]
    return Fired(
        action="Consider stopping GM-CSF and using G-CSF (filgrastim) instead if a myeloid growth "
        "factor is needed: GM-CSF is raised in CRS/ICANS and the source advises avoiding it "
        "after CAR-T.",
        facts=tuple(event_fact("GM-CSF given", m.drug, day_of(m.start)) for m in given),
        caveats=tuple(caveats + _open_episode_caveats(ctx)),
    )


@rule(
    id="growth-factor.prophylactic-gcsf",
    title="Prophylactic G-CSF for CAR-HEMATOTOX-high patients",
    category="growth factor",
    decision="gcsf",
    summary="Profiles that give prophylactic G-CSF (icaht-2023): from the start day in the early "
    "ICAHT window, a CAR-HEMATOTOX-high patient without G-CSF running and without ANC recovery "
    f"after the nadir: consider {FILGRASTIM}. Active CRS/ICANS is named as a caveat.",
    citations=[Citation("ICAHT", "Table 3"), Citation("JAIN", "L39, L73")],
    inputs=["car_hematotox", "anc", *_CARD_INPUTS, "jain_phase", "patient.complete_streams"],
    settings=[
        "gcsf.prophylactic_for_high_hematotox",
        "gcsf.prophylactic_start_day",
        "prophylaxis.recovery_consecutive_values",
        *_CARD_SETTINGS,
        "data_quality.stale_days_early",
        "data_quality.stale_days_late",
        "data_quality.stale_days_prolonged",
        "gcsf.biphasic_advice_days",
        "gcsf.therapeutic_start_day",
        "severity.persistent_min_values",
        "severity.persistent_window_days",
        "baseline.lookback_days",
    ],
)
def prophylactic_gcsf(ctx: RuleContext) -> Outcome:
    """ICAHT Table 3: prophylactic G-CSF from day +2 for patients at high risk of ICAHT (e.g.
    CAR-HEMATOTOX high), 5 ug/kg once daily; not part of the seed approach (JAIN L39)."""
    card = gcsf_card(ctx)
    if card.state != "prophylactic" or card.hematotox is None:
        return card.cannot_evaluate("prophylactic")
    return Fired(
        action=f"Consider prophylactic {_regimen(ctx)} from day "
        f"+{ctx.profile.gcsf.prophylactic_start_day} (CAR-HEMATOTOX high; ICAHT Table 3).",
        facts=(
            fact("CAR-HEMATOTOX", f"{shown_total(card.hematotox)} (high)"),
            _gcsf_fact(ctx),
            *(_episode_fact(ctx, e) for e in _active_episodes(ctx)),
        ),
        caveats=_caveats(ctx, "prophylactic"),
    )


@rule(
    id="growth-factor.consider-gcsf",
    title="Consider G-CSF for severe neutropenia",
    category="growth factor",
    decision="gcsf",
    summary="From the G-CSF start day (default day 7), in any phase, a current ANC <= 0.5 "
    f"x10^9/L with no G-CSF running daily: consider {FILGRASTIM} (deferred while CRS or ICANS "
    "grade >= 2 is active unless there is a severe infection: growth-factor.defer-gcsf-during-"
    "crs).",
    citations=[
        Citation("JAIN", "L39, L53; Fig. 1"),
        Citation("ICAHT", "Table 3"),
    ],
    inputs=["anc", *_CARD_INPUTS, "car_hematotox", "jain_phase", "patient.complete_streams"],
    settings=[
        "gcsf.therapeutic_start_day",
        "severity.persistent_window_days",
        "severity.persistent_min_values",
        *_CARD_SETTINGS,
        *STALE_SETTINGS,
        "gcsf.biphasic_advice_days",
        "gcsf.prophylactic_for_high_hematotox",
        "gcsf.prophylactic_start_day",
        "prophylaxis.recovery_consecutive_values",
        "baseline.lookback_days",
    ],
)
def consider_gcsf(ctx: RuleContext) -> Outcome:
    """JAIN L39 / Fig. 1: if ANC has not recovered to > 500/mm3 by day 7-10, consider G-CSF;
    L53: patients with prolonged severe neutropenia or active infection may be treated with G-CSF
    (docs/decisions.md: in any phase). ICAHT Table 3: therapeutic G-CSF for ANC < 500/uL,
    5 ug/kg once daily (read as the ICAHT severe band <= 0.5)."""
    card = gcsf_card(ctx)
    if card.state != "consider" or card.indication is None:
        return card.cannot_evaluate("consider")
    return Fired(
        action=f"Consider {_regimen(ctx)}: ANC <= {_ANC} on or after day "
        f"{ctx.profile.gcsf.therapeutic_start_day} (severe neutropenia; the source treats "
        "prolonged severe neutropenia or active infection with G-CSF). Avoid GM-CSF.",
        facts=(*card.indication.facts, _gcsf_fact(ctx)),
        caveats=_caveats(ctx, "consider"),
    )


@rule(
    id="growth-factor.biphasic-drop",
    title="Biphasic neutrophil drop: daily G-CSF",
    category="growth factor",
    decision="gcsf",
    summary="After an initial ANC recovery (> 0.5 x10^9/L on consecutive values), a later fall "
    "to ANC < 0.75 x10^9/L (from a value >= 0.75) at most gcsf.biphasic_advice_days old, with "
    "no value > 1.5 x10^9/L and no G-CSF since: consider daily G-CSF until ANC > 1.5 x10^9/L.",
    citations=[Citation("JAIN", "L53; L23; Fig. 1")],
    inputs=["anc", *_CARD_INPUTS, "car_hematotox", "jain_phase", "patient.complete_streams"],
    settings=[
        "prophylaxis.recovery_consecutive_values",
        "gcsf.biphasic_advice_days",
        *_CARD_SETTINGS,
        *STALE_SETTINGS,
        "gcsf.prophylactic_for_high_hematotox",
        "gcsf.prophylactic_start_day",
        "gcsf.therapeutic_start_day",
        "severity.persistent_min_values",
        "severity.persistent_window_days",
        "baseline.lookback_days",
    ],
)
def biphasic_drop(ctx: RuleContext) -> Outcome:
    """JAIN L53: "in patients with initial count recovery, and then later biphasic drop in
    neutrophils to <750/mm3, we often use daily G-CSF until ANC is >1500/mm3" (L23: biphasic,
    "intermittent" recovery). The advice ends when G-CSF starts or the drop is older than
    ``gcsf.biphasic_advice_days`` (docs/decisions.md; issue 15 finding 11)."""
    card = gcsf_card(ctx)
    if card.state != "biphasic" or card.indication is None:
        return card.cannot_evaluate("biphasic")
    return Fired(
        action="Consider daily G-CSF until ANC > "
        f"{BIPHASIC_GCSF_UNTIL_ANC_ABOVE_10E9_PER_L:g} x10^9/L ({_regimen(ctx)}): the ANC dropped "
        f"below {BIPHASIC_DROP_BELOW_ANC_10E9_PER_L:g} x10^9/L after an initial recovery (biphasic "
        "course); transient responses are common and G-CSF dependence usually fades over weeks.",
        facts=(*card.indication.facts, _gcsf_fact(ctx)),
        caveats=_caveats(ctx, "biphasic"),
    )


@rule(
    id="growth-factor.defer-gcsf-during-crs",
    title="Defer G-CSF while CRS or ICANS is active",
    category="growth factor",
    decision="gcsf",
    summary="G-CSF would be considered (ANC <= 0.5 x10^9/L from the start day, or a biphasic "
    "drop) but CRS or ICANS of grade >= gcsf.defer_min_grade (or of unrecorded grade) is active "
    "and no severe infection is: consider deferring G-CSF until it resolves. An episode without "
    "an end date counts as active for at most data_quality.open_episode_active_days.",
    citations=[Citation("JAIN", "L39")],
    inputs=["anc", *_CARD_INPUTS, "car_hematotox", "jain_phase", "patient.complete_streams"],
    settings=[
        "gcsf.therapeutic_start_day",
        "gcsf.biphasic_advice_days",
        *_CARD_SETTINGS,
        *STALE_SETTINGS,
        "gcsf.prophylactic_for_high_hematotox",
        "gcsf.prophylactic_start_day",
        "prophylaxis.recovery_consecutive_values",
        "severity.persistent_min_values",
        "severity.persistent_window_days",
        "baseline.lookback_days",
    ],
)
def defer_gcsf_during_crs(ctx: RuleContext) -> Outcome:
    """JAIN L39: 'We commonly avoid the use of G-CSF in patients with ongoing CRS, unless there is
    concomitant severe infection in a setting of neutropenia'; early G-CSF may worsen CRS and
    ICANS. The deferral is the state of the G-CSF card, naming the active CRS/ICANS."""
    card = gcsf_card(ctx)
    if card.state != "defer" or card.indication is None:
        return None
    episodes = _deferring(ctx)
    named = " and ".join(_episode_name(e) for e in episodes)
    named += " are" if len(episodes) > 1 else " is"
    would = "daily G-CSF for the biphasic drop" if card.indication.state == "biphasic" else "G-CSF"
    caveats = [
        f"{e.kind.upper()} grade not recorded: deferred as if grade >= "
        f"{ctx.profile.gcsf.defer_min_grade} (conservative); record the grade."
        for e in episodes
        if e.grade is None
    ]
    return Fired(
        action=f"Consider deferring {would} while {named} active: the seed avoids G-CSF in "
        "ongoing CRS unless there is a severe infection with neutropenia (early G-CSF may worsen "
        "CRS and ICANS). Reconsider once it resolves or if a severe infection develops.",
        facts=(
            *card.indication.facts,
            *(_episode_fact(ctx, e) for e in episodes),
            fact("Severe infection", "none recorded as active"),
            _gcsf_fact(ctx),
        ),
        caveats=tuple(caveats + _open_episode_caveats(ctx) + _child_caveat(ctx)),
    )
