"""The alert decision (``alert``): lineage switch in children and secondary-malignancy vigilance.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``).
"""

from __future__ import annotations

from icaht.core.outcome import CannotEvaluate, Fired, Outcome
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, fact
from icaht.core.rules.queries import (
    CYTOPENIA_INPUTS,
    CYTOPENIA_SETTINGS_FROM_PROLONGED,
    CYTOPENIA_SETTINGS_LATE,
    chip_before_car_t_fact,
    cytopenia_picture,
    late_phase,
    prolonged_or_late,
    yes_no,
)
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.late_criteria import B_ALL_DIAGNOSES


def _lineage_switch_risk(ctx: RuleContext) -> bool | CannotEvaluate:
    """Infant, or child with KMT2A rearrangement, with B-ALL (unknown facts: cannot evaluate)."""
    facts = ctx.course.facts
    infant, child = ctx.is_infant(), ctx.is_child()
    if not (infant or (child and facts.kmt2a_rearranged)):
        if child is None and facts.kmt2a_rearranged:
            return CannotEvaluate(missing=("age (patient.age_years)",))
        return False
    if facts.diagnosis is None:
        return CannotEvaluate(missing=("diagnosis (patient.diagnosis)",))
    return facts.diagnosis.strip().lower() in B_ALL_DIAGNOSES


@rule(
    id="alert.lineage-switch",
    title="Lineage switch / occult myeloid malignancy",
    category="alert",
    decision="alert",
    strength="alert",
    summary="An infant, or a child with KMT2A-rearranged B-ALL, with significant cytopenia in the "
    "prolonged or late phase: lineage switch can cause an occult myeloid malignancy; look "
    "closely at the marrow.",
    citations=[Citation("JAIN", "L73")],
    inputs=[
        *CYTOPENIA_INPUTS,
        "jain_phase",
        "patient.age_years",
        "patient.kmt2a_rearranged",
        "patient.diagnosis",
        "patient.target",
    ],
    settings=[
        *CYTOPENIA_SETTINGS_FROM_PROLONGED,
        "patient_groups.child_max_age_years",
        "patient_groups.infant_max_age_years",
        "transfusion.dependence_min_transfusions",
    ],
)
def lineage_switch(ctx: RuleContext) -> Outcome:
    """JAIN L73: in young infants and children with cytogenetic drivers of B-ALL (e.g. KMT2A
    rearrangements) lineage switch can occur after CAR-T, so an occult myeloid malignancy may
    underlie prolonged cytopenia: marrow morphology, cytogenetics, immunophenotype and molecular
    screening including NGS of B-cell receptor rearrangements for MRD."""
    if not prolonged_or_late(ctx):
        return None
    risk = _lineage_switch_risk(ctx)
    if isinstance(risk, CannotEvaluate) or not risk:
        return risk or None
    cytopenia = cytopenia_picture(ctx)
    if not cytopenia.lineages:
        return cytopenia.unknown()
    facts = ctx.course.facts
    return Fired(
        action="Consider lineage switch with an occult myeloid malignancy as the cause of the "
        "persistent cytopenia: review marrow morphology (dysplasia, fibrosis), immunophenotype, "
        "cytogenetics and molecular testing, including NGS of B-cell receptor rearrangements for "
        "MRD.",
        facts=(
            fact("Age", f"{facts.age_years:g} years"),
            fact("KMT2A rearranged", yes_no(facts.kmt2a_rearranged)),
            fact("Diagnosis", facts.diagnosis),
            fact("CAR target", facts.target or "unknown"),
            *cytopenia.facts,
        ),
    )


@rule(
    id="alert.secondary-malignancy",
    title="Vigilance for a therapy-related myeloid neoplasm",
    category="alert",
    decision="alert",
    strength="alert",
    summary="Late phase with significant cytopenia, or CHIP known before CAR-T (from infusion "
    "on): secondary malignancies are reported in 2-16% and rapid-onset MDS within 90 days in "
    "patients with prior CHIP.",
    citations=[Citation("JAIN", "L65, L81")],
    inputs=[*CYTOPENIA_INPUTS, "jain_phase", "patient.chip"],
    settings=[*CYTOPENIA_SETTINGS_LATE, "transfusion.dependence_min_transfusions"],
)
def secondary_malignancy(ctx: RuleContext) -> Outcome:
    """JAIN L65: secondary malignancies 2-16%; CHIP predisposes to MDS after CAR-T, with rapid
    onset of MDS within the first 90 days in patients with preceding CHIP; L3: late cytopenia
    raises therapy-related myeloid neoplasm. Missing counts are reported by workup.late-cytopenia,
    not here."""
    if ctx.as_of_day < 0:
        return None
    chip = ctx.course.facts.chip is True
    cytopenia = cytopenia_picture(ctx) if late_phase(ctx) else None
    persistent = cytopenia is not None and bool(cytopenia.lineages)
    if not chip and not persistent:
        return None
    return Fired(
        action="Consider a therapy-related myeloid neoplasm (MDS/AML) when counts do not recover: "
        "secondary malignancies are reported in 2-16% after CAR-T, and rapid-onset MDS within 90 "
        "days in patients with prior CHIP; review the counts and a marrow with cytogenetics and "
        "NGS accordingly.",
        facts=(chip_before_car_t_fact(ctx), *(cytopenia.facts if cytopenia is not None else ())),
    )
