"""Antibacterial and antifungal prophylaxis: start and stop in the early phase (Jain: day < 30),
extended with a mold-active azole for select patients in the prolonged and late phases.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al. (ICAHT), Blood
2023, Table 3.
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import Infection
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.rules.queries import (
    NONE_RECORDED_CAVEAT,
    STALE_FROM_PROLONGED,
    absence_value,
    hematotox_category,
    hematotox_missing,
    last_neutropenia_day,
    medication_facts,
    none_recorded,
    prolonged_or_late,
    recovered_since_neutropenia,
)
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import (
    ANTIBACTERIAL_PROPHYLAXIS,
    ANTIFUNGAL_PROPHYLAXIS,
    MOLD_ACTIVE_AZOLES,
)
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L
from icaht.knowledge.late_criteria import SEVERE_NEUTROPENIA_MAX_ANC_10E9_PER_L

_ANC = f"{ANC_SEVERE_10E9_PER_L:g} x10^9/L"
_ABX_AFX = ANTIBACTERIAL_PROPHYLAXIS | ANTIFUNGAL_PROPHYLAXIS


def _prophylaxis_indication(ctx: RuleContext) -> list[Fact] | CannotEvaluate | None:
    """Why antibacterial/antifungal prophylaxis is indicated today (facts), or None.

    Jain early phase only (prolonged and late severe neutropenia: prophylaxis.extended-
    antimicrobial). Window: from day 0 (``antibacterial_start = "day0"``) or from an ANC <= 0.5,
    until ANC recovery after the last such value. With ``antibacterial_high_risk_only``, only
    CAR-HEMATOTOX-high patients once ANC <= 0.5. A window that starts at neutropenia cannot be
    evaluated without any ANC."""
    settings = ctx.profile.prophylaxis
    if ctx.phase != "early" or recovered_since_neutropenia(ctx) is not None:
        return None
    last_low = last_neutropenia_day(ctx)
    from_neutropenia = settings.antibacterial_high_risk_only or (
        settings.antibacterial_start == "neutropenia"
    )
    if last_low is None:
        if not from_neutropenia:
            return [fact("Prophylaxis window", "from day 0 until ANC recovery")]
        no_anc = not len(ctx.window(Analyte.ANC, 0, ctx.as_of_day))
        return CannotEvaluate(missing=("ANC from day 0",)) if no_anc else None
    facts = [fact(f"Last ANC <= {_ANC}", "no recovery since", last_low)]
    if settings.antibacterial_high_risk_only:
        score = ctx.scores.car_hematotox
        category = hematotox_category(score)
        if category is None:
            return CannotEvaluate(missing=hematotox_missing(score), facts=tuple(facts))
        if category != "high":
            return None
        facts.append(fact("CAR-HEMATOTOX", "high"))
    return facts


def _not_active_label(ctx: RuleContext, drugs: frozenset[str]) -> str:
    """ "None recorded" when the absence says nothing (docs/decisions.md, "Absence is not a
    negative"), else "Not active"."""
    return "None recorded" if none_recorded(ctx, drugs) else "Not active"


@rule(
    id="prophylaxis.antibacterial-antifungal-start",
    title="Antibacterial and antifungal prophylaxis",
    category="prophylaxis",
    decision="prophylaxis",
    summary="In the Jain early phase, from day 0 or the first ANC <= 0.5 x10^9/L (setting) until "
    "ANC recovery, when no antibacterial or no antifungal prophylaxis is active: consider "
    "starting it. Profiles that restrict it to high-risk patients (icaht-2023) require "
    "CAR-HEMATOTOX high.",
    citations=[
        Citation("JAIN", "L37, L61"),
        Citation("ICAHT", "Table 3"),
    ],
    inputs=["anc", "medication", "car_hematotox", "jain_phase", "patient.complete_streams"],
    settings=[
        "prophylaxis.antibacterial_start",
        "prophylaxis.antibacterial_high_risk_only",
        "prophylaxis.recovery_consecutive_values",
        "baseline.lookback_days",
    ],
)
def antibacterial_antifungal_start(ctx: RuleContext) -> Outcome:
    """JAIN L37: bacterial and fungal prophylaxis from day 0 or at first neutropenia until ANC
    recovery; L61: fluconazole or micafungin, extended for severe neutropenia. ICAHT Table 3:
    antibacterial prophylaxis only at high risk, once ANC < 500/uL (e.g. levofloxacin or
    ciprofloxacin; read as the ICAHT severe band <= 0.5). Recovery: ``ctx.recovery_day``. With
    nothing recorded in a medication stream not declared complete, the card says so
    (docs/decisions.md, "Absence is not a negative")."""
    lacking = []
    if not ctx.active_medications(ANTIBACTERIAL_PROPHYLAXIS):
        lacking.append("antibacterial (e.g. levofloxacin or ciprofloxacin)")
    if not ctx.active_medications(ANTIFUNGAL_PROPHYLAXIS):
        lacking.append("antifungal (e.g. fluconazole or micafungin)")
    if not lacking:
        return None
    indication = _prophylaxis_indication(ctx)
    if not isinstance(indication, list):
        return indication
    caveats = []
    if none_recorded(ctx, _ABX_AFX):
        caveats.append(NONE_RECORDED_CAVEAT)
    if ctx.profile.prophylaxis.antibacterial_high_risk_only:
        caveats.append("Caution with MDR colonisation; follow local epidemiology (ICAHT).")
    return Fired(
        action=f"Consider starting {' and '.join(lacking)} prophylaxis until ANC recovery.",
        facts=(*indication, fact(_not_active_label(ctx, _ABX_AFX), "; ".join(lacking))),
        caveats=tuple(caveats),
    )


@rule(
    id="prophylaxis.antibacterial-antifungal-stop",
    title="Stop antibacterial and antifungal prophylaxis after ANC recovery",
    category="prophylaxis",
    decision="prophylaxis",
    summary="An antibacterial or antifungal prophylaxis agent is active and ANC has recovered "
    "(> 0.5 x10^9/L on the set number of consecutive values) after the last ANC <= 0.5: "
    "consider stopping it.",
    citations=[Citation("JAIN", "L37, L61")],
    inputs=["anc", "medication"],
    settings=["prophylaxis.recovery_consecutive_values"],
)
def antibacterial_antifungal_stop(ctx: RuleContext) -> Outcome:
    """JAIN L37: continue bacterial and fungal prophylaxis until ANC recovery; L61: extend it only
    while severe neutropenia persists. Recovery = ``ctx.recovery_day`` after the last ANC <= 0.5
    (CIBMTR engraftment, docs/decisions.md), so no severe neutropenia is ongoing."""
    active = ctx.active_medications(_ABX_AFX)
    recovered = recovered_since_neutropenia(ctx)
    if not active or recovered is None:
        return None
    return Fired(
        action="Consider stopping antibacterial/antifungal prophylaxis: ANC has recovered.",
        facts=(
            fact(
                f"ANC recovery (> {_ANC} on "
                f"{ctx.profile.prophylaxis.recovery_consecutive_values} consecutive values)",
                "reached",
                recovered,
            ),
            *(event_fact("Active prophylaxis", m.drug, day_of(m.start)) for m in active),
        ),
    )


def stale_severe_anc(ctx: RuleContext) -> CannotEvaluate | None:
    """When the current ANC is missing but the latest (stale) one was <= 0.5: cannot evaluate."""
    latest = ctx.latest(Analyte.ANC)
    if latest is None or latest.value > SEVERE_NEUTROPENIA_MAX_ANC_10E9_PER_L:
        return None
    return CannotEvaluate(
        missing=("current ANC (the latest value is stale)",),
        facts=(lab_fact(Analyte.ANC, latest, "Latest ANC (stale)"),),
    )


_EXTENDED_CLASSES = (
    ("antibacterial", ANTIBACTERIAL_PROPHYLAXIS),
    ("antifungal", ANTIFUNGAL_PROPHYLAXIS),
)


def _not_running(ctx: RuleContext, mold_advised: bool) -> tuple[Fact, ...]:
    """The prophylaxis classes not running, each "none recorded" or "none running"."""
    classes = list(_EXTENDED_CLASSES)
    if mold_advised:
        classes.append(("mold-active azole", MOLD_ACTIVE_AZOLES))
    gaps = [
        f"{name} ({absence_value(ctx, drugs)})"
        for name, drugs in classes
        if not ctx.active_medications(drugs)
    ]
    return (fact("Prophylaxis not running", ", ".join(gaps)),) if gaps else ()


def _mold_azole(ctx: RuleContext) -> tuple[str, tuple[Fact, ...]]:
    """(advice, facts) on a mold-active azole: a "consider for select patients" only with
    persistent severe neutropenia (severity terms) and none running (JAIN L61)."""
    running = medication_facts(ctx, MOLD_ACTIVE_AZOLES, "Mold-active azole running")
    if running or not ctx.persistent_severe_neutropenia:
        return "", running
    window = ctx.profile.severity.persistent_window_days
    return (
        " For select patients with this persistent severe neutropenia, consider a mold-active "
        "azole (posaconazole, voriconazole or isavuconazole).",
        (fact("Persistent severe neutropenia", f"every ANC <= 0.5 in the last {window} days"),),
    )


@rule(
    id="prophylaxis.extended-antimicrobial",
    title="Extend antibacterial and antifungal prophylaxis; mold-active azole",
    category="prophylaxis",
    decision="prophylaxis",
    summary="Prolonged or late phase with current ANC <= 0.5 x10^9/L: the source extends "
    "antibacterial and antifungal prophylaxis; with persistent severe neutropenia (severity "
    "terms) a mold-active azole is a consideration for select patients.",
    citations=[Citation("JAIN", "L61")],
    inputs=["anc", "medication", "infection", "jain_phase", "patient.complete_streams"],
    settings=[
        *STALE_FROM_PROLONGED,
        "severity.persistent_window_days",
        "severity.persistent_min_values",
    ],
)
def extended_antimicrobial(ctx: RuleContext) -> Outcome:
    """JAIN L61: "We also extend bacterial and fungal infection prophylaxis for patients with
    severe neutropenia ... We also consider an azole with mold-coverage for select patients who
    have prolonged or late severe neutropenia" (docs/decisions.md: persistent severe
    neutropenia after day 30, named as for select patients; issue 15 finding 13)."""
    if not prolonged_or_late(ctx):
        return None
    anc = ctx.current(Analyte.ANC)
    if anc is None:
        return stale_severe_anc(ctx)
    if anc.value > SEVERE_NEUTROPENIA_MAX_ANC_10E9_PER_L:
        return None
    azole, azole_facts = _mold_azole(ctx)
    running = (
        *medication_facts(ctx, ANTIBACTERIAL_PROPHYLAXIS, "Antibacterial prophylaxis running"),
        *medication_facts(ctx, ANTIFUNGAL_PROPHYLAXIS, "Antifungal prophylaxis running"),
    )
    infections = [i for i in ctx.course.of_kind(Infection) if i.end is None]
    absent = not running and none_recorded(ctx, ANTIBACTERIAL_PROPHYLAXIS | ANTIFUNGAL_PROPHYLAXIS)
    return Fired(
        action="Consider extending antibacterial and antifungal prophylaxis while severe "
        f"neutropenia persists.{azole}",
        facts=(
            lab_fact(Analyte.ANC, anc),
            fact("Jain phase", ctx.phase),
            *running,
            *azole_facts,
            *_not_running(ctx, bool(azole)),
            *(event_fact("Active infection", i.severity, day_of(i.start)) for i in infections),
        ),
        caveats=(NONE_RECORDED_CAVEAT,) if absent else (),
    )
