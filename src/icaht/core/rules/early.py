"""Early phase (Jain: day < 30): anti-infective prophylaxis, transfusion, screening at day 21-28
and the infection work-up of neutropenic fever (G-CSF: :mod:`icaht.core.rules.growth_factor`).

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al. (ICAHT),
Blood 2023, Table 3; Beyar-Katz et al., Ann Hematol 2022.
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import Fever, Transfusion
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.rules.queries import (
    NONE_RECORDED_CAVEAT,
    STALE_SETTINGS,
    absence_value,
    hematotox_category,
    hematotox_missing,
    last_neutropenia_day,
    none_recorded,
    recovered_since_neutropenia,
)
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import (
    ANTIBACTERIAL_PROPHYLAXIS,
    ANTIFUNGAL_PROPHYLAXIS,
    ANTIVIRAL_PROPHYLAXIS,
)
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L
from icaht.knowledge.management_criteria import (
    CYTOPENIA_SCREEN_FIRST_DAY,
    CYTOPENIA_SCREEN_LAST_DAY,
    DAYS_PER_MONTH,
)
from icaht.knowledge.regimens import ANTIVIRAL

_ANC = f"{ANC_SEVERE_10E9_PER_L:g} x10^9/L"


def _missing_current(ctx: RuleContext, analyte: Analyte) -> str:
    return f"current {ANALYTES[analyte].display} (within {ctx.stale_days()} days)"


# -- antibacterial / antifungal prophylaxis ------------------------------------------------------
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


# -- antiviral prophylaxis -----------------------------------------------------------------------
def _antiviral_months_passed(ctx: RuleContext) -> bool:
    return ctx.as_of_day >= ctx.profile.prophylaxis.antiviral_months * DAYS_PER_MONTH


def _cd4_above_stop(ctx: RuleContext) -> Measurement | None:
    """The latest CD4 count if it is above the stop threshold."""
    cd4 = ctx.latest(Analyte.CD4)
    return cd4 if cd4 is not None and cd4.value > ctx.profile.prophylaxis.cd4_stop_10e9_l else None


_ANTIVIRAL_SETTINGS = ("prophylaxis.antiviral_months", "prophylaxis.cd4_stop_10e9_l")
_PAEDIATRIC_DOSE = "dose by weight per paediatric protocol"


def _antiviral_regimen(ctx: RuleContext) -> tuple[str, list[str]]:
    """(regimen, caveats): the adult doses for adults only; a child (younger than
    ``patient_groups.child_max_age_years``) gets the agents and "dose by weight per paediatric
    protocol" (docs/decisions.md, Prophylaxis; issue 15 finding 1: Jain case 3, 31 months);
    unknown age: the adult doses, named as such."""
    child = ctx.is_child()
    if child:
        return f"aciclovir or valaciclovir, {_PAEDIATRIC_DOSE}", []
    if child is None:
        limit = ctx.profile.patient_groups.child_max_age_years
        return ANTIVIRAL, [
            f"Age not recorded: adult doses shown; under {limit:g} years, {_PAEDIATRIC_DOSE}."
        ]
    return ANTIVIRAL, []


@rule(
    id="prophylaxis.antiviral-start",
    title="Antiviral prophylaxis",
    category="prophylaxis",
    decision="prophylaxis",
    summary="From infusion for the set number of months and until CD4 > 0.2 x10^9/L, when no "
    f"antiviral prophylaxis is active: consider {ANTIVIRAL} (adults; children: the agent, "
    f"{_PAEDIATRIC_DOSE}).",
    citations=[
        Citation("JAIN", "L37; Fig. 1"),
        Citation("ICAHT", "Table 3"),
    ],
    inputs=["medication", "cd4", "patient.age_years", "patient.complete_streams"],
    settings=[*_ANTIVIRAL_SETTINGS, "patient_groups.child_max_age_years"],
)
def antiviral_start(ctx: RuleContext) -> Outcome:
    """JAIN L37 / Fig. 1: antiviral prophylaxis early after infusion for 6-12 months; ICAHT Table 3:
    all patients until 1 year and/or CD4 > 0.2 x10^9/L, valaciclovir 500 mg twice daily or
    aciclovir 800 mg (docs/evidence.md 3.2-3.3). Continued until both are met; doses for
    adults only (docs/decisions.md, Prophylaxis)."""
    if ctx.as_of_day < 0 or ctx.active_medications(ANTIVIRAL_PROPHYLAXIS):
        return None
    months_passed = _antiviral_months_passed(ctx)
    if months_passed and _cd4_above_stop(ctx) is not None:
        return None
    months = ctx.profile.prophylaxis.antiviral_months
    regimen, caveats = _antiviral_regimen(ctx)
    if months_passed and ctx.latest(Analyte.CD4) is None:
        caveats.append(
            f"{months} months have passed but no CD4 count is on file: prophylaxis continues until "
            "CD4 exceeds the threshold."
        )
    if none_recorded(ctx, ANTIVIRAL_PROPHYLAXIS):
        caveats.append(NONE_RECORDED_CAVEAT)
    return Fired(
        action=f"Consider antiviral prophylaxis: {regimen}, for {months} months after "
        f"infusion and until CD4 > {ctx.profile.prophylaxis.cd4_stop_10e9_l:g} x10^9/L.",
        facts=(
            fact("Day after infusion", ctx.as_of_day),
            fact("Antiviral prophylaxis", absence_value(ctx, ANTIVIRAL_PROPHYLAXIS)),
        ),
        caveats=tuple(caveats),
    )


@rule(
    id="prophylaxis.antiviral-stop",
    title="Stop antiviral prophylaxis",
    category="prophylaxis",
    decision="prophylaxis",
    summary="Antiviral prophylaxis is active, the set number of months since infusion have passed "
    "and the latest CD4 is above 0.2 x10^9/L: consider stopping it. Without a CD4 count the rule "
    "cannot be evaluated.",
    citations=[
        Citation("JAIN", "L37; Fig. 1"),
        Citation("ICAHT", "Table 3"),
    ],
    inputs=["medication", "cd4"],
    settings=list(_ANTIVIRAL_SETTINGS),
)
def antiviral_stop(ctx: RuleContext) -> Outcome:
    """JAIN L37 / Fig. 1 (6-12 months; CD4 > 200/mm3); ICAHT Table 3 (1 year and/or CD4 > 0.2
    x10^9/L, read as both, docs/decisions.md)."""
    active = ctx.active_medications(ANTIVIRAL_PROPHYLAXIS)
    if not active or not _antiviral_months_passed(ctx):
        return None
    if ctx.latest(Analyte.CD4) is None:
        return CannotEvaluate(missing=("CD4 count",))
    cd4 = _cd4_above_stop(ctx)
    if cd4 is None:
        return None
    return Fired(
        action="Consider stopping antiviral prophylaxis: "
        f"{ctx.profile.prophylaxis.antiviral_months} months have passed and CD4 is above the "
        "threshold.",
        facts=(
            lab_fact(Analyte.CD4, cd4),
            *(event_fact("Active antiviral", m.drug, day_of(m.start)) for m in active),
        ),
    )


# -- transfusion ---------------------------------------------------------------------------------
def _under_trigger(
    ctx: RuleContext, analyte: Analyte, trigger: float
) -> tuple[Fact, ...] | CannotEvaluate | None:
    """The facts when the current value is under ``trigger``; CannotEvaluate in the Jain early
    phase without a current value; else None."""
    current = ctx.current(analyte)
    if current is None:
        if ctx.phase == "early":
            return CannotEvaluate(missing=(_missing_current(ctx, analyte),))
        return None
    if current.value >= trigger:
        return None
    unit = ANALYTES[analyte].canonical_unit
    return (lab_fact(analyte, current), fact("Trigger", f"< {trigger:g} {unit}"))


@rule(
    id="transfusion.rbc-trigger",
    title="RBC transfusion trigger",
    category="transfusion",
    decision="transfusion",
    summary="Current Hb under the profile trigger (default 7 g/dL): consider an RBC transfusion "
    "per institutional thresholds, one unit at a time.",
    citations=[
        Citation("JAIN", "L7 (case 1), L35"),
        Citation("ICAHT", "Table 3"),
    ],
    inputs=["hb", "jain_phase"],
    settings=["transfusion_triggers.hb_trigger_g_dl", *STALE_SETTINGS],
)
def rbc_trigger(ctx: RuleContext) -> Outcome:
    """JAIN L35: PRBC per institutional thresholds; case 1 (L7) kept Hb > 7 g/dL. ICAHT Table 3:
    consider one unit at a time (limits iron overload); irradiated products."""
    facts = _under_trigger(ctx, Analyte.HB, ctx.profile.transfusion_triggers.hb_trigger_g_dl)
    if not isinstance(facts, tuple):
        return facts
    return Fired(
        action="Consider an RBC transfusion per institutional thresholds, one unit at a time "
        "(irradiated).",
        facts=facts,
    )


@rule(
    id="transfusion.platelet-trigger",
    title="Platelet transfusion trigger",
    category="transfusion",
    decision="transfusion",
    summary="Current platelets under the profile trigger (default 10 x10^9/L): consider a "
    "platelet transfusion per institutional thresholds.",
    citations=[
        Citation("JAIN", "L7 (case 1), L35"),
        Citation("ICAHT", "Table 3"),
    ],
    inputs=["platelets", "jain_phase"],
    settings=["transfusion_triggers.platelet_trigger_10e9_l", *STALE_SETTINGS],
)
def platelet_trigger(ctx: RuleContext) -> Outcome:
    """JAIN L35: platelets per institutional thresholds; case 1 (L7) kept platelets > 10 x10^3/uL.
    ICAHT Table 3: institutional standards; irradiated products."""
    trigger = ctx.profile.transfusion_triggers.platelet_trigger_10e9_l
    facts = _under_trigger(ctx, Analyte.PLATELETS, trigger)
    if not isinstance(facts, tuple):
        return facts
    return Fired(
        action="Consider a platelet transfusion per institutional thresholds (irradiated).",
        facts=facts,
    )


def _trigger_met(ctx: RuleContext) -> list[Fact]:
    triggers = ctx.profile.transfusion_triggers
    out = []
    for analyte, trigger in (
        (Analyte.HB, triggers.hb_trigger_g_dl),
        (Analyte.PLATELETS, triggers.platelet_trigger_10e9_l),
    ):
        current = ctx.current(analyte)
        if current is not None and current.value < trigger:
            out.append(lab_fact(analyte, current, f"{ANALYTES[analyte].display} under trigger"))
    return out


@rule(
    id="transfusion.irradiated-products",
    title="Irradiated blood products",
    category="transfusion",
    decision="transfusion",
    summary="From infusion until the set day (default day 90), when RBC or platelet transfusions "
    "are recorded or a transfusion trigger is met: consider irradiated products. An alert when a "
    "transfusion in that window is recorded as not irradiated.",
    citations=[Citation("ICAHT", "Table 3")],
    inputs=["transfusion", "hb", "platelets", "jain_phase"],
    settings=[
        "transfusion_triggers.irradiated_until_day",
        "transfusion_triggers.hb_trigger_g_dl",
        "transfusion_triggers.platelet_trigger_10e9_l",
        *STALE_SETTINGS,
    ],
)
def irradiated_products(ctx: RuleContext) -> Outcome:
    """ICAHT Table 3 (pRBC/platelet transfusions): irradiated products from 7 days before
    leukapheresis until >= 90 days after infusion (fludarabine). The window here starts at
    infusion (the leukapheresis date is not in the record)."""
    until = ctx.profile.transfusion_triggers.irradiated_until_day
    if not 0 <= ctx.as_of_day <= until:
        return None
    given = [t for t in ctx.course.of_kind(Transfusion) if t.product in ("rbc", "platelets")]
    triggered = _trigger_met(ctx)
    if not given and not triggered:
        return None
    not_irradiated = [
        t for t in given if t.irradiated is False and 0 <= calendar_day(day_of(t.start)) <= until
    ]
    facts = [*triggered]
    if given:
        last = given[-1]
        facts.append(event_fact("Last transfusion", f"{last.product}", day_of(last.start)))
    facts += [
        event_fact("Transfusion NOT irradiated", t.product, day_of(t.start)) for t in not_irradiated
    ]
    return Fired(
        action=f"Consider irradiated blood products until at least day {until} after infusion "
        "(fludarabine lymphodepletion).",
        facts=tuple(facts),
        strength="alert" if not_irradiated else None,
    )


# -- day 21-28 screen ----------------------------------------------------------------------------
_SCREEN_ANALYTES = (Analyte.ANC, Analyte.PLATELETS, Analyte.HB)


@rule(
    id="workup.day21-28-cytopenia-screen",
    title="Day 21-28 cytopenia screen",
    category="workup",
    decision="workup",
    summary="On days 21-28 shows the latest ANC, platelets and Hb since day 21 and transfusion "
    "dependence (none recorded unless the stream is declared complete): consider screening for "
    "severe persistent cytopenia (as BK screened all patients) until all three counts since day "
    "21 are on file, then the results are shown without 'screen now'.",
    citations=[Citation("BK", "Abstract (methods)"), Citation("JAIN", "L23")],
    inputs=["anc", "platelets", "hb", "platelet_transfusion", "rbc_transfusion"],
    settings=[
        "transfusion.platelet_dependence_window_days",
        "transfusion.rbc_dependence_window_days",
        "transfusion.dependence_min_transfusions",
    ],
)
def day21_28_screen(ctx: RuleContext) -> Outcome:
    """BK (abstract, methods): all patients were screened for cytopenia on days 21-28 after
    infusion; JAIN L23: a second ANC drop often comes in week 3 or at the 1-month visit."""
    if not CYTOPENIA_SCREEN_FIRST_DAY <= ctx.as_of_day <= CYTOPENIA_SCREEN_LAST_DAY:
        return None
    facts: list[Fact] = []
    absent: list[str] = []
    for analyte in _SCREEN_ANALYTES:
        values = ctx.window(analyte, CYTOPENIA_SCREEN_FIRST_DAY, ctx.as_of_day)
        name = ANALYTES[analyte].display
        if len(values):
            latest = Measurement(day=float(values.day[-1]), value=float(values.value[-1]))
            facts.append(lab_fact(analyte, latest, f"Latest {name}"))
        else:
            absent.append(f"{name} since day {CYTOPENIA_SCREEN_FIRST_DAY}")
    if not facts:
        return CannotEvaluate(missing=tuple(absent))
    for status in (ctx.platelet_transfusion, ctx.rbc_transfusion):
        label = f"{status.support} ({status.window_days} days)"
        facts.append(fact(label, status.state, status.last_day))
    return Fired(
        action=_screen_action(absent),
        facts=tuple(facts),
        caveats=tuple(f"No {a}." for a in absent),
    )


def _screen_action(absent: list[str]) -> str:
    """ "Screen now" only until the screen's counts are on file (issue 15 finding 13), then its
    results are shown for the judgement of severe persistent cytopenia."""
    if absent:
        return (
            "Consider completing the screen for severe persistent cytopenia now (BK screened all "
            "patients on days 21-28)."
        )
    return (
        "Day 21-28 cytopenia screen on file (facts): consider it when judging severe persistent "
        "cytopenia (BK screened all patients on days 21-28)."
    )


# -- neutropenic fever ---------------------------------------------------------------------------
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
