"""The G-CSF cards, one per state of :func:`icaht.core.rules.gcsf.state.gcsf_card`, with the caveats
every card carries (open CRS or ICANS episodes, a child, no G-CSF recorded).

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al. (ICAHT), Blood
2023, Table 3.
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.outcome import Fact, Fired, Outcome
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact
from icaht.core.rules.gcsf.state import (
    CARD_INPUTS,
    CARD_SETTINGS,
    DEFER_INPUTS,
    DEFER_SETTINGS,
    SEVERE_ANC,
    Episode,
    State,
    active_episodes,
    deferring_episodes,
    defers,
    gcsf_card,
)
from icaht.core.rules.queries import STALE_SETTINGS, shown_total
from icaht.core.timeline import calendar_day
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import GCSF, GM_CSF
from icaht.knowledge.late_criteria import (
    BIPHASIC_DROP_BELOW_ANC_10E9_PER_L,
    BIPHASIC_GCSF_UNTIL_ANC_ABOVE_10E9_PER_L,
)
from icaht.knowledge.regimens import FILGRASTIM


def _episode_name(episode: Episode) -> str:
    grade = "grade not recorded" if episode.grade is None else f"grade {episode.grade}"
    return f"{episode.kind.upper()} ({grade})"


def _episode_fact(ctx: RuleContext, episode: Episode) -> Fact:
    value = "grade not recorded" if episode.grade is None else f"grade {episode.grade}"
    if episode.end is None:
        last = ctx.episode_last_day(episode)
        value += f"; ongoing (no end date yet; counted active to day {last} at most)"
    return event_fact(f"{episode.kind.upper()} active", value, day_of(episode.start))


def _episode_caveat(ctx: RuleContext, episode: Episode, state: State) -> str:
    """Why an active CRS/ICANS does not defer the advice shown."""
    since = f"{_episode_name(episode)} active since day {calendar_day(day_of(episode.start))}"
    if not defers(ctx, episode):
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
        for e in active_episodes(ctx)
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
    caveats = [_episode_caveat(ctx, e, state) for e in active_episodes(ctx)]
    caveats += _open_episode_caveats(ctx) + _grade4_icans_caveat(ctx) + _child_caveat(ctx)
    if _none_recorded(ctx):
        caveats.append("G-CSF: none recorded; if it is running, this does not apply.")
    return tuple(caveats)


def _regimen(ctx: RuleContext) -> str:
    if ctx.is_child() is True:
        return f"{FILGRASTIM} (dose by weight per paediatric protocol)"
    return FILGRASTIM


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
    inputs=[*DEFER_INPUTS, "anc", "car_hematotox", "jain_phase"],
    settings=[
        *DEFER_SETTINGS,
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
    deferring = deferring_episodes(ctx)
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
    inputs=["car_hematotox", "anc", *CARD_INPUTS, "jain_phase", "patient.complete_streams"],
    settings=[
        "gcsf.prophylactic_for_high_hematotox",
        "gcsf.prophylactic_start_day",
        "prophylaxis.recovery_consecutive_values",
        *CARD_SETTINGS,
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
            *(_episode_fact(ctx, e) for e in active_episodes(ctx)),
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
    inputs=["anc", *CARD_INPUTS, "car_hematotox", "jain_phase", "patient.complete_streams"],
    settings=[
        "gcsf.therapeutic_start_day",
        "severity.persistent_window_days",
        "severity.persistent_min_values",
        *CARD_SETTINGS,
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
        action=f"Consider {_regimen(ctx)}: ANC <= {SEVERE_ANC} on or after day "
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
    summary="After an initial ANC recovery (> 0.5 x10^9/L on consecutive values after an ANC <= "
    "0.5 since infusion; without one on record, a drop after day +21), a later fall to ANC < "
    "0.75 x10^9/L (from a value >= 0.75) at most gcsf.biphasic_advice_days old, with no value > "
    "1.5 x10^9/L and no G-CSF since: consider daily G-CSF until ANC > 1.5 x10^9/L.",
    citations=[Citation("JAIN", "L53; L23; Fig. 1")],
    inputs=["anc", *CARD_INPUTS, "car_hematotox", "jain_phase", "patient.complete_streams"],
    settings=[
        "prophylaxis.recovery_consecutive_values",
        "gcsf.biphasic_advice_days",
        *CARD_SETTINGS,
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
    inputs=["anc", *CARD_INPUTS, "car_hematotox", "jain_phase", "patient.complete_streams"],
    settings=[
        "gcsf.therapeutic_start_day",
        "gcsf.biphasic_advice_days",
        *CARD_SETTINGS,
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
    episodes = deferring_episodes(ctx)
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
