"""The infection work-up of neutropenic fever (G-CSF is its own decision,
:mod:`icaht.core.rules.gcsf`).

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al. (ICAHT), Blood
2023, Table 3; Lee et al., ASTCT consensus grading (CRS fever).
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fired, Outcome
from icaht.core.record import Fever
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, lab_fact
from icaht.core.rules.queries import STALE_SETTINGS
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L


def _anc_on(ctx: RuleContext, day: int) -> Measurement | None:
    """The lowest ANC on a calendar day."""
    values = ctx.window(Analyte.ANC, day, day)
    if not len(values):
        return None
    i = int(values.value.argmin())
    return Measurement(day=float(values.day[i]), value=float(values.value[i]))


def _neutropenic_anc(ctx: RuleContext, fever_day: int) -> Measurement | None:
    """ANC <= 0.5 on the fever day, else a current ANC <= 0.5, else None."""
    for anc in (_anc_on(ctx, fever_day), ctx.current(Analyte.ANC)):
        if anc is not None and anc.value <= ANC_SEVERE_10E9_PER_L:
            return anc
    return None


@rule(
    id="workup.neutropenic-fever",
    title="Neutropenic fever: infection work-up",
    category="workup",
    decision="workup",
    strength="alert",
    summary="A fever within the look-back days with ANC <= 0.5 x10^9/L on the fever day or "
    "currently: consider an infection work-up per the institutional febrile-neutropenia pathway.",
    citations=[
        Citation("JAIN", "L37, L39, L61"),
        Citation("ICAHT", "Table 3"),
        Citation("LEE", "CRS grading (fever not attributable to another cause)"),
    ],
    inputs=["fever", "anc", "crs", "jain_phase"],
    settings=[
        "workup.fever_lookback_days",
        *STALE_SETTINGS,
        "data_quality.open_episode_active_days",
    ],
)
def neutropenic_fever(ctx: RuleContext) -> Outcome:
    """JAIN L37: infections are common in the first 30 days and need thorough evaluation; L39:
    severe infection with neutropenia; L61: work-up for occult infection. ICAHT Table 3: G-CSF
    for severe neutropenia with or without infection. LEE: CRS fever is fever not attributable to
    another cause, so infection is to be excluded even during CRS."""
    lookback = ctx.profile.workup.fever_lookback_days
    fevers = [f for f in ctx.course.of_kind(Fever) if day_of(f.start) > ctx.as_of_day - lookback]
    if not fevers:
        return None
    fever = fevers[-1]
    fever_day = calendar_day(day_of(fever.start))
    anc = _neutropenic_anc(ctx, fever_day)
    if anc is None:
        if _anc_on(ctx, fever_day) is None and ctx.current(Analyte.ANC) is None:
            return CannotEvaluate(missing=(f"ANC on the fever day (day {fever_day}) or current",))
        return None
    shown = "fever" if fever.temperature_c is None else f"{fever.temperature_c:g} °C"
    caveats: tuple[str, ...] = ()
    if ctx.crs_active() is not None:
        caveats = ("CRS is active: the fever may be CRS, but infection is to be excluded.",)
    return Fired(
        action="Consider an infection work-up now (blood cultures and imaging as indicated) per "
        "the institutional febrile-neutropenia pathway.",
        facts=(event_fact("Fever", shown, day_of(fever.start)), lab_fact(Analyte.ANC, anc)),
        caveats=caveats,
    )
