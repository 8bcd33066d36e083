"""The IEC-HS cards: a recorded diagnosis, or a suspicion (the patterns of
:mod:`icaht.core.rules.iec_hs.pattern`), never both.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Hines et al. (IEC-HS); Fardet et
al. (HScore).
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.outcome import Fact, Fired, Outcome
from icaht.core.record import HemophagocyticSyndrome, Infection
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact
from icaht.core.rules.iec_hs.pattern import (
    active_infection,
    hscore_fact,
    lookback_first_day,
    supporting_findings,
    suspicion_pattern,
)
from icaht.core.timeline import calendar_day
from icaht.knowledge.bibliography import Citation

_WORKUP = (
    "an IEC-HS work-up (ferritin trend, fibrinogen, triglycerides, liver tests, bone marrow for "
    "hemophagocytosis)"
)
_TREATMENT = (
    "If suspicion is high, consider anakinra plus high-dose corticosteroids; for refractory "
    "IEC-HS, ruxolitinib, cyclophosphamide or etoposide are anecdotal options (weigh their "
    "cytotoxic effect on HSC and CAR-T cells)."
)
_INFECTION_FIRST = (
    "A documented active infection comes first: sepsis produces the same picture. Consider "
    f"evaluating IEC-HS once the infection is treated or excluded ({_WORKUP})."
)
_SUSPICION = "A suspicion to assess clinically, not a diagnosis."
_DIAGNOSIS_NAMES = {"iec_hs": "IEC-HS", "hlh": "HLH", "mas": "MAS"}


def _infection_fact(infection: Infection) -> Fact:
    shown = ", ".join(
        part for part in (infection.organism, infection.site, infection.severity) if part
    )
    return event_fact("Documented active infection", shown, day_of(infection.start))


def _crs_caveats(ctx: RuleContext) -> tuple[str, ...]:
    crs = ctx.crs_active()
    if crs is None:
        return ()
    grade = "grade not recorded" if crs.grade is None else f"grade {crs.grade}"
    return (
        f"CRS is active ({grade}) and overlaps with these features; IEC-HS can arise during CRS "
        "and is often not tied to CRS severity (Hines 2023).",
    )


def _card(ctx: RuleContext, lead: str | None, facts: list[Fact], caveats: tuple[str, ...]) -> Fired:
    """The card: ``lead`` (a recorded diagnosis) or the work-up; a documented active infection
    first and then no anakinra or steroids, else the source's treatment; the facts, the supporting
    findings of the window and the HScore."""
    supporting = [f for f in supporting_findings(ctx, lookback_first_day(ctx)) if f not in facts]
    infection = active_infection(ctx)
    if infection is not None:
        action = _INFECTION_FIRST if lead is None else f"{lead} {_INFECTION_FIRST}"
        facts = [_infection_fact(infection), *facts]
    else:
        action = f"{lead or f'Consider {_WORKUP}.'} {_TREATMENT}"
    return Fired(action=action, facts=(*facts, *supporting, hscore_fact(ctx)), caveats=caveats)


_CITATIONS = [
    Citation("JAIN", "L47, L53, L55"),
    Citation("HINES", "Abstract"),
    Citation("HLH-2004", "Diagnostic criteria (triglycerides, fibrinogen)"),
    Citation("FARDET", "HScore table"),
]
_INPUTS = [
    "crs",
    "ferritin",
    "fever",
    "anc",
    "platelets",
    "ast",
    "alt",
    "triglycerides",
    "fibrinogen",
    "finding",
    "marrow_biopsy",
    "infection",
    "iec_hs",
    "hscore",
]
_SETTINGS = [
    "iechs.ferritin_ng_ml",
    "iechs.rise_fold",
    "iechs.rise_window_days",
    "iechs.rise_min_fraction",
    "iechs.lookback_days",
    "marrow.valid_days",
    "hscore.lookback_days",
    # the marrow review (marrow_on_file): is the picture better than at the marrow?
    "cytopenia.anc_10e9_l",
    "cytopenia.hb_g_dl",
    "cytopenia.platelets_10e9_l",
    "data_quality.stale_days_prolonged",
    "gcsf.dependence_window_days",
    "severity.gcsf_dependent_days",
    "severity.persistent_min_values",
    "severity.persistent_window_days",
    "transfusion.dependence_min_transfusions",
    "transfusion.platelet_dependence_window_days",
    "transfusion.rbc_dependence_window_days",
]
#: What the marrow review reads besides the pattern's inputs.
_REVIEW_INPUTS = ["disease_status", "hb", "jain_phase", "medication", "transfusion"]


def _recorded(ctx: RuleContext) -> HemophagocyticSyndrome | None:
    """The latest recorded IEC-HS/HLH/MAS diagnosis known on the as-of day."""
    found = ctx.course.of_kind(HemophagocyticSyndrome)
    return found[-1] if found else None


def _closed_day(ctx: RuleContext, diagnosis: HemophagocyticSyndrome) -> int | None:
    """The day an excluded, resolved or ended diagnosis stopped applying (None while open)."""
    if diagnosis.end is not None and calendar_day(day_of(diagnosis.end)) < ctx.as_of_day:
        return calendar_day(day_of(diagnosis.end))
    if diagnosis.status in ("excluded", "resolved"):
        return calendar_day(day_of(diagnosis.start))
    return None


@rule(
    id="iec-hs.recorded",
    title="IEC-HS recorded",
    category="alert",
    decision="iec-hs",
    strength="alert",
    summary="A recorded IEC-HS (or HLH/MAS) diagnosis shows as recorded with its day and status, "
    "never as a suspicion. Excluded, resolved or ended: shown only when facts after it match a "
    "suspicion pattern again (see iec-hs.suspected). A documented active infection is named "
    "first, without anakinra or steroids.",
    citations=_CITATIONS,
    inputs=[*_INPUTS, *_REVIEW_INPUTS],
    settings=_SETTINGS,
)
def recorded_iec_hs(ctx: RuleContext) -> Outcome:
    """docs/decisions.md, IEC-HS: a recorded diagnosis shows as "IEC-HS recorded (day N)",
    not as a suspicion. JAIN L55 (anakinra plus high-dose steroids; refractory: ruxolitinib,
    cyclophosphamide, etoposide)."""
    diagnosis = _recorded(ctx)
    if ctx.as_of_day < 0 or diagnosis is None:
        return None
    name = _DIAGNOSIS_NAMES[diagnosis.diagnosis]
    day = calendar_day(day_of(diagnosis.start))
    recorded = event_fact(f"{name} recorded", diagnosis.status, day_of(diagnosis.start))
    closed = _closed_day(ctx, diagnosis)
    if closed is None:
        caveats = () if diagnosis.end is not None else ("No end date recorded.",)
        return _card(
            ctx,
            f"{name} recorded (day {day}, {diagnosis.status}): consider it as a cause of the "
            "cytopenia and follow ferritin, fibrinogen, triglycerides, liver tests and counts.",
            [recorded],
            caveats + _crs_caveats(ctx),
        )
    found = suspicion_pattern(ctx, max(lookback_first_day(ctx), closed + 1))
    if not isinstance(found, list):
        return found
    return _card(
        ctx,
        f"{name} recorded (day {day}) as {diagnosis.status}; facts since day {closed} match a "
        f"suspicion pattern again: consider re-evaluating with {_WORKUP}.",
        [recorded, *found],
        (_SUSPICION, *_crs_caveats(ctx)),
    )


@rule(
    id="iec-hs.suspected",
    title="Suspected IEC-HS",
    category="alert",
    decision="iec-hs",
    strength="alert",
    summary="Suspected IEC-HS (never a diagnosis; none recorded): resolved CRS followed by very "
    "high or rapidly rising ferritin, new fever and new severe cytopenia; or, in any CRS state, "
    "very high or rapidly rising ferritin with new severe cytopenia and a supporting finding "
    "(transaminases, triglycerides > 265 mg/dL, fibrinogen < 150 mg/dL, splenomegaly, marrow "
    "hemophagocytosis); or ferritin at or above the setting with fever or a supporting finding "
    "when counts are missing (named). A rapid rise counts only from half the ferritin setting. A "
    "documented active infection is named first, without anakinra or steroids. HScore shown.",
    citations=_CITATIONS,
    inputs=[*_INPUTS, *_REVIEW_INPUTS],
    settings=[*_SETTINGS, "data_quality.open_episode_active_days"],
)
def suspected_iec_hs(ctx: RuleContext) -> Outcome:
    """JAIN L47: suspect IEC-HS when resolved CRS is followed by a rapid ferritin rise (often
    > 10,000 ng/mL), recurrent fever and new severe cytopenia, especially with rising
    transaminases, hypertriglyceridemia, coagulopathy or new splenomegaly; marrow phagocytosis
    "will substantiate" it; L53: marrow for IEC-HS; L55: anakinra plus high-dose steroids,
    refractory cases ruxolitinib, cyclophosphamide or etoposide (anecdotal). HINES: IEC-HS also
    arises during CRS, often not tied to CRS severity. HLH-2004: triglycerides > 265 mg/dL,
    fibrinogen < 150 mg/dL. Infection first and the counts-missing pattern: docs/decisions.md.
    """
    if ctx.as_of_day < 0 or _recorded(ctx) is not None:
        return None
    found = suspicion_pattern(ctx, lookback_first_day(ctx))
    if not isinstance(found, list):
        return found
    return _card(ctx, None, found, (_SUSPICION, *_crs_caveats(ctx)))
