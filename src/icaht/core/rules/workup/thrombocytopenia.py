"""Causes of a thrombocytopenia: TA-TMA screening after allo-HCT and the interpretation of the
immature platelet fraction (IPF).

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Baur et al., J Immunother Cancer
2021 (seed 004; lines as ``L<n>``).
"""

from __future__ import annotations

import math

from icaht.core.course import day_of
from icaht.core.lineage import Measurement
from icaht.core.marrow import marrow_fact
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import Finding
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.rules.queries import (
    STALE_FROM_PROLONGED,
    STALE_SETTINGS,
    prolonged_or_late,
    support_fact,
)
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.late_criteria import GCSF_RESPONSE_ABOVE_ANC_10E9_PER_L

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
        *STALE_FROM_PROLONGED,
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
