"""Prolonged phase (Jain: day 30-90) and beyond: PJP and extended anti-infective prophylaxis,
TA-TMA screening after allo-HCT and IPF interpretation (the marrow triggers are the one marrow card
of :mod:`icaht.core.rules.marrow`; G-CSF is :mod:`icaht.core.rules.growth_factor`).

Also the shared reading of "clinically significant cytopenia" (profile section ``cytopenia`` plus
transfusion dependence) used by the late-phase rules.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Baur et al., J Immunother
Cancer 2021 (seed 004; lines as ``L<n>``).
"""

from __future__ import annotations

import math

from icaht.core.course import day_of
from icaht.core.lineage import Measurement
from icaht.core.marrow import marrow_fact
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import Finding, Infection
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.rules.queries import (
    NONE_RECORDED_CAVEAT,
    PERSISTENT_CYTOPENIA_INPUTS,
    PERSISTENT_CYTOPENIA_SETTINGS,
    STALE_SETTINGS,
    absence_value,
    medication_facts,
    none_recorded,
    persistent_cytopenia,
    prolonged_or_late,
    support_fact,
    tmp_smx_switch,
)
from icaht.core.severity import SevereLineage
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import (
    ANTIBACTERIAL_PROPHYLAXIS,
    ANTIFUNGAL_PROPHYLAXIS,
    MOLD_ACTIVE_AZOLES,
    PJP_PROPHYLAXIS,
    TMP_SMX,
)
from icaht.knowledge.late_criteria import (
    GCSF_RESPONSE_ABOVE_ANC_10E9_PER_L,
    SEVERE_NEUTROPENIA_MAX_ANC_10E9_PER_L,
)

# -- shared helpers ------------------------------------------------------------------------------


def stale_severe_anc(ctx: RuleContext) -> CannotEvaluate | None:
    """When the current ANC is missing but the latest (stale) one was <= 0.5: cannot evaluate."""
    latest = ctx.latest(Analyte.ANC)
    if latest is None or latest.value > SEVERE_NEUTROPENIA_MAX_ANC_10E9_PER_L:
        return None
    return CannotEvaluate(
        missing=("current ANC (the latest value is stale)",),
        facts=(lab_fact(Analyte.ANC, latest, "Latest ANC (stale)"),),
    )


# -- 4. PJP prophylaxis --------------------------------------------------------------------------
def _lineage_facts(lineages: tuple[SevereLineage, ...]) -> tuple[Fact, ...]:
    return tuple(lineage.fact() for lineage in lineages)


def _cd4_fact(cd4: Measurement | None) -> tuple[Fact, ...]:
    return () if cd4 is None else (lab_fact(Analyte.CD4, cd4, "Latest CD4"),)


def _missing_counts(ctx: RuleContext) -> list[str]:
    """Current ANC or platelet count that is absent or stale: TMP-SMX cannot be judged."""
    return [
        f"current {ANALYTES[analyte].display} (within {ctx.stale_days()} days)"
        for analyte in (Analyte.ANC, Analyte.PLATELETS)
        if ctx.current(analyte) is None
    ]


def _severe_not_yet_persistent(ctx: RuleContext) -> tuple[str, ...]:
    """A caveat when a severe lineage has not yet held long enough to argue against TMP-SMX."""
    short = [s for s in ctx.severe_lineages if s not in persistent_cytopenia(ctx)]
    if not short:
        return ()
    days = ctx.profile.prophylaxis.pjp_persistent_cytopenia_days
    named = ", ".join(f"{s.lineage} since day {s.since_day}" for s in short)
    return (
        f"Severe cytopenia ({named}) has not yet held {days} days: if it persists, pentamidine "
        "or atovaquone replace TMP-SMX.",
    )


def _pjp_agent(ctx: RuleContext) -> tuple[str, tuple[Fact, ...], tuple[str, ...]]:
    """(agent, facts, caveats): pentamidine or atovaquone with persistent cytopenia (a severe
    lineage for >= ``prophylaxis.pjp_persistent_cytopenia_days``); no choice without current
    counts (issue 15 finding 12: never TMP-SMX unseen); else TMP-SMX, allergy to be checked."""
    persistent = persistent_cytopenia(ctx)
    if persistent:
        agent = "pentamidine or atovaquone (persistent cytopenia argues against TMP-SMX)"
        return agent, _lineage_facts(persistent), ()
    missing = _missing_counts(ctx)
    if missing:
        agent = (
            "an agent chosen once current counts are known (TMP-SMX is myelosuppressive; "
            "pentamidine or atovaquone with persistent cytopenia or allergy)"
        )
        choice = fact("Agent choice", f"cannot evaluate (missing: {'; '.join(missing)})")
        return agent, (choice,), ()
    agent = "TMP-SMX (pentamidine or atovaquone with persistent cytopenia or allergy)"
    return agent, (), (_ALLERGY_CAVEAT, *_severe_not_yet_persistent(ctx))


_PJP_CITATIONS = [Citation("JAIN", "L37, L61; Fig. 1")]
_PJP_SETTINGS = [
    "prophylaxis.pjp_start_day",
    "prophylaxis.cd4_stop_10e9_l",
    *PERSISTENT_CYTOPENIA_SETTINGS,
    *STALE_SETTINGS,
]
_ALLERGY_CAVEAT = (
    "Sulfonamide (TMP-SMX) allergy is not part of the record: check it; with an allergy use "
    "pentamidine or atovaquone."
)


@rule(
    id="prophylaxis.pjp-start",
    title="Start PJP prophylaxis",
    category="prophylaxis",
    decision="prophylaxis",
    summary="From prophylaxis.pjp_start_day, no PJP prophylaxis running and CD4 not above "
    "prophylaxis.cd4_stop_10e9_l: TMP-SMX, or pentamidine or atovaquone with persistent cytopenia "
    "(a severe lineage for >= prophylaxis.pjp_persistent_cytopenia_days) or allergy. Without a "
    "current ANC and platelet count the agent is not chosen (the missing counts are named).",
    citations=_PJP_CITATIONS,
    inputs=[
        "medication",
        "cd4",
        "platelets",
        *PERSISTENT_CYTOPENIA_INPUTS,
        "jain_phase",
        "patient.complete_streams",
    ],
    settings=_PJP_SETTINGS,
)
def pjp_start(ctx: RuleContext) -> Outcome:
    """JAIN L37: anti-PJP prophylaxis from day 30 (Fig. 1: day ~28) until CD4+ > 200/mm3;
    trimethoprim-sulfamethoxazole, with pentamidine or atovaquone for persistent cytopenias or drug
    allergy. docs/decisions.md, Prophylaxis: persistent = >= 14 days of a severe lineage;
    "Absence is not a negative": none recorded is not none running."""
    settings = ctx.profile.prophylaxis
    if ctx.as_of_day < settings.pjp_start_day or ctx.active_medications(PJP_PROPHYLAXIS):
        return None
    cd4 = ctx.latest(Analyte.CD4)
    if cd4 is not None and cd4.value > settings.cd4_stop_10e9_l:
        return None
    agent, facts, caveats = _pjp_agent(ctx)
    absent = none_recorded(ctx, PJP_PROPHYLAXIS)
    return Fired(
        action=f"Consider starting PJP prophylaxis with {agent}, continued until CD4 > "
        f"{settings.cd4_stop_10e9_l:g} x10^9/L (this can take 1-2 years or longer).",
        facts=(
            fact("Day after infusion", ctx.as_of_day, ctx.as_of_day),
            fact("PJP prophylaxis", absence_value(ctx, PJP_PROPHYLAXIS)),
            *_cd4_fact(cd4),
            *facts,
        ),
        caveats=((NONE_RECORDED_CAVEAT,) if absent else ()) + caveats,
    )


@rule(
    id="prophylaxis.pjp-switch-from-tmp-smx",
    title="PJP prophylaxis: replace TMP-SMX in persistent cytopenia",
    category="prophylaxis",
    decision="prophylaxis",
    summary="TMP-SMX running with persistent cytopenia (a severe lineage for >= "
    "prophylaxis.pjp_persistent_cytopenia_days): pentamidine or atovaquone are the source's "
    "alternatives. The myelosuppressive-drug review then leaves TMP-SMX to this card.",
    citations=[*_PJP_CITATIONS, Citation("BAUR", "L159-165")],
    inputs=list(PERSISTENT_CYTOPENIA_INPUTS),
    settings=list(PERSISTENT_CYTOPENIA_SETTINGS),
)
def pjp_switch_from_tmp_smx(ctx: RuleContext) -> Outcome:
    """JAIN L37: pentamidine or atovaquone are acceptable alternatives if there are concerns for
    persistent cytopenias (docs/decisions.md: >= 14 days of a severe lineage, so never at the
    lymphodepletion nadir); BAUR L159-165 kept low-dose co-trimoxazole (allo-HSCT data)."""
    persistent = tmp_smx_switch(ctx)
    if not persistent:
        return None
    running = ctx.active_medications(TMP_SMX)
    return Fired(
        action="Consider replacing TMP-SMX with pentamidine or atovaquone for PJP prophylaxis: "
        "cytopenia persists and TMP-SMX is potentially myelosuppressive.",
        facts=(
            *(event_fact("TMP-SMX running", m.drug, day_of(m.start)) for m in running),
            *_lineage_facts(persistent),
        ),
        caveats=(
            "Baur et al. kept low-dose co-trimoxazole in persistent thrombocytopenia, citing "
            "allo-HSCT data that suggest a reappraisal of its myelotoxicity.",
        ),
    )


@rule(
    id="prophylaxis.pjp-stop",
    title="Stop PJP prophylaxis: CD4 recovered",
    category="prophylaxis",
    decision="prophylaxis",
    summary="PJP prophylaxis running and the latest CD4 above prophylaxis.cd4_stop_10e9_l: the "
    "source stops it on this CD4-driven criterion. Without any CD4 value the stop cannot be "
    "evaluated.",
    citations=_PJP_CITATIONS,
    inputs=["medication", "cd4"],
    settings=["prophylaxis.cd4_stop_10e9_l"],
)
def pjp_stop(ctx: RuleContext) -> Outcome:
    """JAIN L37 and Fig. 1: a CD4+ count-driven discontinuation of anti-PJP prophylaxis when CD4+
    T cells are > 200/mm3."""
    running = ctx.active_medications(PJP_PROPHYLAXIS)
    if ctx.as_of_day < 0 or not running:
        return None
    facts = tuple(event_fact("PJP prophylaxis running", m.drug, day_of(m.start)) for m in running)
    cd4 = ctx.latest(Analyte.CD4)
    if cd4 is None:
        return CannotEvaluate(missing=("CD4 count (no value on record)",), facts=facts)
    limit = ctx.profile.prophylaxis.cd4_stop_10e9_l
    if cd4.value <= limit:
        return None
    return Fired(
        action=f"Consider stopping PJP prophylaxis: CD4 is above {limit:g} x10^9/L.",
        facts=(*facts, *_cd4_fact(cd4)),
    )


# -- 5. TA-TMA screening after allo-HCT ----------------------------------------------------------
_TMA_LABS = (Analyte.IPF, Analyte.RETICULOCYTES, Analyte.RETICULOCYTES_PCT, Analyte.LDH)
_TMA_FINDINGS = ("hypertension", "proteinuria", "hemolysis")


def _tma_facts(ctx: RuleContext) -> list[Fact]:
    """Whichever TA-TMA markers are on file: latest IPF, reticulocytes, LDH and findings."""
    facts = []
    for analyte in _TMA_LABS:
        value = ctx.latest(analyte)
        if value is not None:
            facts.append(lab_fact(analyte, value))
    for name in _TMA_FINDINGS:
        records = [f for f in ctx.course.of_kind(Finding) if f.finding == name]
        if records:
            last = records[-1]
            shown = "present" if last.present else "absent"
            facts.append(event_fact(name.capitalize(), shown, day_of(last.start)))
    return facts


def _neutrophils_recovered(ctx: RuleContext) -> Fact | CannotEvaluate | None:
    """ANC recovered and the current ANC > 0.5: its fact; stale: cannot evaluate; else None."""
    recovery = ctx.recovery_day()
    if recovery is None:
        return None
    current = ctx.current(Analyte.ANC)
    if current is None:
        return CannotEvaluate(missing=("current ANC (the latest value is stale)",))
    if current.value <= GCSF_RESPONSE_ABOVE_ANC_10E9_PER_L:
        return None
    return lab_fact(Analyte.ANC, current, f"ANC (recovered since day {recovery})")


@rule(
    id="workup.ta-tma",
    title="Screen for TA-TMA after allogeneic HCT",
    category="workup",
    decision="workup",
    summary="Prior allogeneic HCT, prolonged or late phase, neutrophils recovered (current ANC > "
    "0.5 x10^9/L) but RBC- and platelet-transfusion dependent: the source asks for a formal "
    "TA-TMA assessment.",
    citations=[Citation("JAIN", "L75")],
    inputs=[
        "patient.prior_allo_hct",
        "jain_phase",
        "anc",
        "rbc_transfusion",
        "platelet_transfusion",
        "ipf",
        "reticulocytes",
        "reticulocytes_pct",
        "ldh",
        "finding",
    ],
    settings=[
        "prophylaxis.recovery_consecutive_values",
        "transfusion.platelet_dependence_window_days",
        "transfusion.rbc_dependence_window_days",
        *STALE_SETTINGS,
        "transfusion.dependence_min_transfusions",
    ],
)
def ta_tma(ctx: RuleContext) -> Outcome:
    """JAIN L75: TA-TMA may be a consideration with prolonged transfusion-dependent anemia and
    thrombocytopenia but neutrophil recovery (elevated IPF, reticulocytes, hemolytic markers);
    formal assessment of hypertension, proteinuria and terminal complement activation."""
    dependent = ctx.rbc_transfusion.dependent and ctx.platelet_transfusion.dependent
    if not prolonged_or_late(ctx) or not dependent or ctx.course.facts.prior_allo_hct is False:
        return None
    recovered = _neutrophils_recovered(ctx)
    if not isinstance(recovered, Fact):
        return recovered
    if ctx.course.facts.prior_allo_hct is None:
        return CannotEvaluate(missing=("prior allogeneic HCT (patient.prior_allo_hct)",))
    return Fired(
        action="Consider a formal TA-TMA work-up: IPF, reticulocytes, LDH, haptoglobin and other "
        "hemolysis markers, urine protein, blood pressure and any need for antihypertensives, and "
        "terminal complement activation (transfusion-dependent anemia and thrombocytopenia with "
        "recovered neutrophils after allogeneic HCT).",
        facts=(
            fact("Prior allogeneic HCT", "yes"),
            recovered,
            support_fact(ctx.rbc_transfusion),
            support_fact(ctx.platelet_transfusion),
            *_tma_facts(ctx),
        ),
        caveats=("Haptoglobin and terminal complement activation are not recorded by icaht.",),
    )


# -- 6. IPF interpretation -----------------------------------------------------------------------
def _raised_ipf(ctx: RuleContext) -> tuple[Measurement, float] | None:
    """The latest IPF and its upper limit (the laboratory's, else the profile's) when above it."""
    series = ctx.series(Analyte.IPF)
    if not len(series):
        return None
    lab_uln = float(series.uln[-1])
    uln = ctx.profile.workup.ipf_uln_percent if math.isnan(lab_uln) else lab_uln
    value = float(series.value[-1])
    if value <= uln:
        return None
    return Measurement(day=float(series.day[-1]), value=value), uln


@rule(
    id="workup.ipf-interpretation",
    title="Raised IPF in thrombocytopenia",
    category="workup",
    decision="workup",
    summary="The latest IPF above its upper limit (laboratory ULN, else workup.ipf_uln_percent) "
    "with current platelets below cytopenia.platelets_10e9_l: a raised IPF suggests an at least "
    "partly consumptive component but does not separate ITP from aplasia.",
    citations=[Citation("BAUR", "L19-20, L180-189, L240-246")],
    inputs=["ipf", "platelets", "marrow_biopsy", "jain_phase"],
    settings=["workup.ipf_uln_percent", "cytopenia.platelets_10e9_l", *STALE_SETTINGS],
)
def ipf_interpretation(ctx: RuleContext) -> Outcome:
    """BAUR L180-189: IPF 7.6% (1.2-3.7) despite reduced megakaryopoiesis indicated an at least
    partially consumptive (ITP-like) component; L240-246: IPF can be raised in both ITP and AA, so
    it cannot separate them; reduced megakaryopoiesis suggests a hypoproductive cause."""
    raised = _raised_ipf(ctx)
    if raised is None:
        return None
    ipf, uln = raised
    facts = (lab_fact(Analyte.IPF, ipf), fact("IPF upper limit", f"{uln:g} %"))
    platelets = ctx.current(Analyte.PLATELETS)
    if platelets is None:
        return CannotEvaluate(missing=("current platelet count",), facts=facts)
    if platelets.value >= ctx.profile.cytopenia.platelets_10e9_l:
        return None
    marrows = [m for m in ctx.marrows_after(0) if m.megakaryopoiesis is not None]
    return Fired(
        action="Consider the raised IPF as a sign of an at least partly consumptive (ITP-like) "
        "component of the thrombocytopenia; IPF does not reliably separate ITP from aplasia, so "
        "interpret it together with the marrow megakaryopoiesis.",
        facts=(
            *facts,
            lab_fact(Analyte.PLATELETS, platelets),
            *(marrow_fact(m) for m in marrows[-1:]),
        ),
        caveats=()
        if marrows
        else ("No post-infusion marrow records megakaryopoiesis: interpret IPF with a marrow.",),
    )


# -- 7. extended and mold-active prophylaxis -----------------------------------------------------
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
        *STALE_SETTINGS,
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
