"""Which G-CSF card applies today (:func:`gcsf_card`): the indications (prophylactic, biphasic
drop, severe neutropenia) and their deferral during CRS or ICANS, in the order of
:mod:`icaht.core.rules.gcsf`.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al. (ICAHT), Blood
2023, Table 3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from icaht.core.dependence import gcsf_days
from icaht.core.drug_courses import _PER_DAY
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fact
from icaht.core.record import CrsEpisode, IcansEpisode, Medication
from icaht.core.rule_context import RuleContext, fact, lab_fact
from icaht.core.rules.queries import (
    anc_after,
    hematotox_category,
    hematotox_missing,
    recovered_since_neutropenia,
)
from icaht.core.score_result import ScoreResult
from icaht.core.timeline import icaht_window
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.drugs import GCSF, GM_CSF, LONG_ACTING_GCSF
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L, SECOND_DIP_AFTER_DAY
from icaht.knowledge.late_criteria import (
    BIPHASIC_DROP_BELOW_ANC_10E9_PER_L,
    BIPHASIC_GCSF_UNTIL_ANC_ABOVE_10E9_PER_L,
)

State = Literal["gm-csf", "prophylactic", "biphasic", "consider", "defer"]
Episode = CrsEpisode | IcansEpisode
SEVERE_ANC = f"{ANC_SEVERE_10E9_PER_L:g} x10^9/L"
#: Settings and inputs of the CRS/ICANS deferral, which every G-CSF card names.
DEFER_SETTINGS = (
    "gcsf.defer_during_active_crs",
    "gcsf.defer_min_grade",
    "data_quality.open_episode_active_days",
)
DEFER_INPUTS = ("medication", "crs", "icans", "infection")
#: ... and the child caveat of the advising cards.
CARD_SETTINGS = (*DEFER_SETTINGS, "patient_groups.child_max_age_years")
CARD_INPUTS = (*DEFER_INPUTS, "patient.age_years")


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


def _initial_recovery(ctx: RuleContext) -> tuple[int, int] | None:
    """The initial recovery the biphasic drop follows, and the first day a drop may fall on.

    The recovery follows the first ANC <= 0.5 since infusion: counts still above 0.5 after
    infusion have not recovered from anything, and their first fall is the nadir, not a second
    dip. Without any ANC <= 0.5 on record (the early nadir before the record, or none) the
    recovered counts are the record's and the drop is the second dip of HT, after day +21."""
    nadir = next((d for d, v in anc_after(ctx, 0) if v <= ANC_SEVERE_10E9_PER_L), None)
    recovery = ctx.recovery_day(after_day=nadir)
    if recovery is None:
        return None
    return recovery, recovery if nadir is not None else SECOND_DIP_AFTER_DAY + 1


def _biphasic(ctx: RuleContext) -> Indication | CannotEvaluate | None:
    """JAIN L53: after initial recovery, a drop to ANC < 0.75 -> daily G-CSF until ANC > 1.5.
    The advice ends when G-CSF starts or the drop is older than ``gcsf.biphasic_advice_days``
    (docs/decisions.md)."""
    initial = _initial_recovery(ctx)
    if initial is None:
        return None
    recovery, first_drop_day = initial
    drop = _latest_drop(ctx, recovery)
    if drop is None or drop[0] < first_drop_day:
        return None
    if ctx.as_of_day - drop[0] > ctx.profile.gcsf.biphasic_advice_days:
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


def active_episodes(ctx: RuleContext) -> list[Episode]:
    return [e for e in (ctx.crs_active(), ctx.icans_active()) if e is not None]


def defers(ctx: RuleContext, episode: Episode) -> bool:
    """An active episode of grade >= ``gcsf.defer_min_grade``, or of unrecorded grade
    (conservative: an ungraded CRS/ICANS defers, named as such)."""
    return episode.grade is None or episode.grade >= ctx.profile.gcsf.defer_min_grade


def deferring_episodes(ctx: RuleContext) -> list[Episode]:
    """JAIN L39: the active CRS/ICANS episodes that defer G-CSF (profile setting), unless a
    severe infection is active."""
    if not ctx.profile.gcsf.defer_during_active_crs or ctx.severe_infection_active() is not None:
        return []
    return [e for e in active_episodes(ctx) if defers(ctx, e)]


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
    """The state of the G-CSF decision as of the day (in the priority order of
    :mod:`icaht.core.rules.gcsf`)."""
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
            shown: State = "defer" if deferring_episodes(ctx) else found.state
            return GcsfCard(shown, indication=found, unevaluated=tuple(unevaluated))
        if found is not None:
            unevaluated.append((state, found))
    return GcsfCard(None, unevaluated=tuple(unevaluated))
