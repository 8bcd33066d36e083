"""Late phase (Jain: > day 90) and persistent cytopenia: the late work-up, stem cell boost and
allogeneic HCT, prior allo-HCT, pediatric specifics (lineage switch; deferring growth factors in
children is a caveat of the G-CSF card), secondary-malignancy vigilance and follow-up at the CAR-T
centre.

"Significant cytopenia" is the shared reading of
:func:`icaht.core.rules.prolonged.cytopenia_picture` (profile section ``cytopenia`` plus
transfusion dependence).

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); clinical-decisions.md ("Stem
cell boost candidate", "Allogeneic HCT") for the project's reading of them.
"""

from __future__ import annotations

import math

from icaht.core.course import day_of
from icaht.core.record import Death, Hct, Infection, MarrowBiopsy, StemCellBoost, StoredCells
from icaht.core.rule import CannotEvaluate, Fact, Fired, Outcome, rule
from icaht.core.rule_context import RuleContext, fact, lab_fact
from icaht.core.rules.prolonged import (
    CYTOPENIA_INPUTS,
    CYTOPENIA_SETTINGS,
    STALE_SETTINGS,
    anc_after,
    cytopenia_picture,
    marrow_fact,
    medication_facts,
    prolonged_or_late,
    support_fact,
)
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import MYELOSUPPRESSIVE
from icaht.knowledge.late_criteria import (
    B_ALL_DIAGNOSES,
    DAYS_PER_YEAR,
    PERSISTENT_SEVERE_NEUTROPENIA_MIN_DAYS,
    SEVERE_NEUTROPENIA_MAX_ANC_10E9_PER_L,
)
from icaht.knowledge.timeline_criteria import JAIN_PROLONGED_LAST_DAY

_LATE_FIRST_DAY = JAIN_PROLONGED_LAST_DAY + 1
_NO_DONOR_DATA = "Donor availability and organ function are not part of the record: check them."


# -- shared helpers ------------------------------------------------------------------------------
def _late(ctx: RuleContext) -> bool:
    return ctx.phase == "late"


def _malignant_marrows(ctx: RuleContext) -> list[MarrowBiopsy]:
    """Post-infusion marrows showing malignant infiltration or MDS (therapy-related neoplasm)."""
    return [m for m in ctx.marrows_after(0) if m.malignant_infiltration or m.mds]


def _blocked_by_disease(ctx: RuleContext) -> bool:
    """Relapse/progression or a post-infusion marrow with infiltration or MDS (JAIN L63)."""
    return ctx.relapse() is not None or bool(_malignant_marrows(ctx))


def _allo_hct_since(ctx: RuleContext, day: float) -> bool:
    """An allogeneic HCT recorded on or after ``day``."""
    hcts = ctx.course.of_kind(Hct)
    return any(h.hct_type == "allogeneic" and day_of(h.start) >= day for h in hcts)


def _severe_neutropenia_start(ctx: RuleContext) -> int | None:
    """First day of the current run of ANC <= 0.5 from day 0 (no value > 0.5 since), or None."""
    start: int | None = None
    for day, value in anc_after(ctx, 0):
        if value > SEVERE_NEUTROPENIA_MAX_ANC_10E9_PER_L:
            start = None
        elif start is None:
            start = day
    return start


def _active_infection_caveat(ctx: RuleContext) -> tuple[str, ...]:
    active = [i for i in ctx.course.of_kind(Infection) if i.end is None]
    if not active:
        return ()
    since = calendar_day(day_of(active[-1].start))
    return (
        f"Active infection ({active[-1].severity}, since day {since}): published series disagree "
        "(some excluded infection, some boosted because of it); a caveat, not a block.",
    )


# -- 8. late cytopenia work-up -------------------------------------------------------------------
def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _chip_fact(ctx: RuleContext) -> Fact:
    return fact("CHIP before CAR-T", _yes_no(ctx.course.facts.chip))


@rule(
    id="workup.late-cytopenia",
    title="Late cytopenia work-up",
    category="workup",
    decision="workup",
    summary="Jain late phase (> day 90) with significant cytopenia (profile section cytopenia or "
    "transfusion dependence): stop marrow-suppressive drugs, look for occult infection, marrow "
    "aspirate and biopsy for relapse or therapy-related myeloid neoplasm, CHIP and LGL.",
    citations=[Citation("JAIN", "L3, L61-65; abstract")],
    inputs=[*CYTOPENIA_INPUTS, "jain_phase", "medication", "marrow_biopsy", "patient.chip"],
    settings=CYTOPENIA_SETTINGS,
)
def late_cytopenia(ctx: RuleContext) -> Outcome:
    """JAIN L61: the prolonged-cytopenia evaluation remains appropriate late (avoid marrow-
    suppressive medication, work-up for occult infection, marrow aspirate and biopsy for alternate
    causes); L3, L65: therapy-related myeloid neoplasm, relapse, CHIP; L63: LGL."""
    if not _late(ctx):
        return None
    cytopenia = cytopenia_picture(ctx)
    if not cytopenia.lineages:
        return cytopenia.unknown()
    late_marrows = ctx.marrows_after(_LATE_FIRST_DAY)
    marrow = (
        f"review the marrow of day {calendar_day(day_of(late_marrows[-1].start))}"
        if late_marrows
        else "take a marrow aspirate and biopsy with cytogenetics and NGS for relapse or a "
        "therapy-related myeloid neoplasm"
    )
    return Fired(
        action="Consider the late-cytopenia work-up: stop or replace marrow-suppressive drugs "
        f"where possible, look for occult infection, {marrow}, and consider clonal "
        "hematopoiesis (CHIP) and large granular lymphocytosis (LGL) or other immune-mediated "
        "causes.",
        facts=(
            *cytopenia.facts,
            *medication_facts(ctx, MYELOSUPPRESSIVE, "Myelosuppressive drug running"),
            *(marrow_fact(m) for m in ctx.marrows_after(0)[-1:]),
            _chip_fact(ctx),
        ),
    )


# -- 9. stem cell boost candidacy ----------------------------------------------------------------
def _boost_indication(ctx: RuleContext) -> tuple[list[str], list[Fact]]:
    """Lineages needing support: transfusion dependence, G-CSF dependence or ANC <= 0.5."""
    lineages: list[str] = []
    facts: list[Fact] = []
    for name, support in (
        ("platelets", ctx.platelet_transfusion),
        ("red cells", ctx.rbc_transfusion),
    ):
        if support.dependent:
            lineages.append(name)
            facts.append(support_fact(support))
    anc = ctx.current(Analyte.ANC)
    severe = anc is not None and anc.value <= SEVERE_NEUTROPENIA_MAX_ANC_10E9_PER_L
    if ctx.gcsf.dependent:
        facts.append(support_fact(ctx.gcsf))
    if severe and anc is not None:
        facts.append(lab_fact(Analyte.ANC, anc))
    if ctx.gcsf.dependent or severe:
        lineages.append("neutrophils")
    return lineages, facts


def _boost_marrow_caveats(marrows: list[MarrowBiopsy]) -> tuple[str, ...]:
    if not marrows:
        return (
            "No marrow since infusion: a marrow aspirate and biopsy should first exclude relapse "
            "and a secondary malignancy.",
        )
    if not any(m.malignant_infiltration is False for m in marrows):
        return ("No post-infusion marrow records that malignant infiltration was excluded.",)
    return ()


@rule(
    id="stem-cell-boost.candidate",
    title="Stem cell boost candidate",
    category="stem cell boost",
    decision="boost-hct",
    summary="Prolonged or late phase with transfusion dependence, G-CSF dependence or ANC <= 0.5 "
    "x10^9/L, stored autologous or donor cells on file, no relapse and no malignant infiltration "
    "or MDS in a post-infusion marrow (without a marrow: fire with the caveat to obtain one "
    "first). Unknown stored cells cannot be evaluated.",
    citations=[Citation("JAIN", "L63, L67, L69, L73, L77")],
    inputs=[
        "jain_phase",
        "platelet_transfusion",
        "rbc_transfusion",
        "gcsf_dependence",
        "anc",
        "patient.stored_cells",
        "disease_status",
        "marrow_biopsy",
        "stem_cell_boost",
        "infection",
    ],
    settings=[
        "transfusion.platelet_dependence_window_days",
        "transfusion.rbc_dependence_window_days",
        "gcsf.dependence_window_days",
        *STALE_SETTINGS,
    ],
)
def stem_cell_boost_candidate(ctx: RuleContext) -> Outcome:
    """JAIN L63: autologous stem cell boost is preferred over allogeneic BMT for severe
    transfusion-dependent late cytopenia without secondary malignancy or recurrent disease; L69:
    feasible only with stored autologous or allogeneic cells, CD34+-selected or unmanipulated,
    without conditioning, tumour contamination (MCL relapse); L67: case 2 boosted at month 4."""
    if not prolonged_or_late(ctx) or _blocked_by_disease(ctx):
        return None
    if any(day_of(b.start) >= 0 for b in ctx.course.of_kind(StemCellBoost)):
        return None
    lineages, facts = _boost_indication(ctx)
    stored = ctx.course.facts.stored_cells
    if not lineages or stored == StoredCells.NONE:
        return None
    if stored is None:
        return CannotEvaluate(
            missing=("stored cells on file (patient.stored_cells)",), facts=tuple(facts)
        )
    marrows = ctx.marrows_after(0)
    extent = "multilineage" if len(lineages) > 1 else "single lineage"
    caveats = [*_boost_marrow_caveats(marrows), *_active_infection_caveat(ctx)]
    if stored == StoredCells.AUTOLOGOUS:
        caveats.append(
            "An autologous product may contain tumour cells (relapse reported in mantle cell "
            "lymphoma)."
        )
    return Fired(
        action=f"Consider a stem cell boost with the stored {stored.value} cells (CD34+-selected "
        "or unmanipulated, without conditioning) for the prolonged or late cytopenia needing "
        "support; the source prefers it over allogeneic HCT when there is no secondary "
        "malignancy or recurrent disease.",
        facts=(
            *facts,
            fact("Lineages needing support", f"{', '.join(lineages)} ({extent})"),
            fact("Stored cells on file", stored.value),
            *(marrow_fact(m) for m in marrows[-1:]),
        ),
        caveats=tuple(caveats),
    )


# -- 10. allogeneic HCT --------------------------------------------------------------------------
_HCT_AFTER_SCB = (
    "Stored cells are on file: the source prefers a stem cell boost over allogeneic HCT "
    "(see the stem cell boost recommendation)."
)


@rule(
    id="hct.complete-aplasia",
    title="Allogeneic HCT for complete aplasia",
    category="HCT",
    decision="boost-hct",
    summary="Prolonged or late phase, the latest post-infusion marrow hypocellular, no ANC > 0.5 "
    "x10^9/L for >= 14 days (HT aplastic duration) and RBC- and platelet-transfusion "
    "dependence: the source considers allogeneic HCT in rare complete aplasia with little "
    "hematopoiesis.",
    citations=[Citation("JAIN", "L59, L63"), Citation("HT", "aplastic phenotype (>= 14 days)")],
    inputs=[
        "jain_phase",
        "marrow_biopsy",
        "anc",
        "rbc_transfusion",
        "platelet_transfusion",
        "patient.stored_cells",
    ],
    settings=[
        "transfusion.platelet_dependence_window_days",
        "transfusion.rbc_dependence_window_days",
        *STALE_SETTINGS,
    ],
)
def hct_complete_aplasia(ctx: RuleContext) -> Outcome:
    """JAIN L63: "Consideration of allogeneic BMT should be made in rare cases in which complete
    aplastic anemia occurs with little evidence of hematopoiesis, as seen in case 2" (L59: marrow
    profoundly hypocellular, ANC never > 500/mm3, PRBC and platelet dependent)."""
    marrows = ctx.marrows_after(0)
    dependent = ctx.rbc_transfusion.dependent and ctx.platelet_transfusion.dependent
    if not prolonged_or_late(ctx) or not marrows or not dependent:
        return None
    if marrows[-1].cellularity != "hypocellular":
        return None
    start = _severe_neutropenia_start(ctx)
    if start is None or ctx.as_of_day - start + 1 < PERSISTENT_SEVERE_NEUTROPENIA_MIN_DAYS:
        return None
    anc = ctx.current(Analyte.ANC)
    if anc is None:
        return CannotEvaluate(missing=("current ANC (the latest value is stale)",))
    stored = ctx.course.facts.stored_cells
    has_cells = stored in (StoredCells.AUTOLOGOUS, StoredCells.DONOR)
    return Fired(
        action="Consider allogeneic HCT: complete aplasia with little hematopoiesis (hypocellular "
        "marrow, persistent ANC <= 0.5 x10^9/L, RBC and platelet transfusion dependence). This is "
        "rare; attribution to CAR-T is often clouded by prior transplant or therapy.",
        facts=(
            marrow_fact(marrows[-1]),
            fact("No ANC > 0.5 since", f"{ctx.as_of_day - start + 1} days", start),
            lab_fact(Analyte.ANC, anc),
            support_fact(ctx.rbc_transfusion),
            support_fact(ctx.platelet_transfusion),
        ),
        caveats=((_HCT_AFTER_SCB,) if has_cells else ()) + (_NO_DONOR_DATA,),
    )


@rule(
    id="hct.therapy-related-myeloid-neoplasm",
    title="Allogeneic HCT for a therapy-related myeloid neoplasm",
    category="HCT",
    decision="boost-hct",
    summary="A post-infusion marrow shows MDS / therapy-related myeloid neoplasm and no allogeneic "
    "HCT is recorded since: consider allogeneic HCT (clinical-decisions.md, Allogeneic HCT).",
    citations=[Citation("JAIN", "L3, L63, L65")],
    inputs=["marrow_biopsy", "hct"],
)
def hct_therapy_related_neoplasm(ctx: RuleContext) -> Outcome:
    """JAIN L3, L65: late cytopenia raises therapy-related myeloid neoplasm (MDS after CAR-T,
    rapid onset with prior CHIP); L63: the stem cell boost is for cytopenia without secondary
    malignancy. clinical-decisions.md lists a therapy-related myeloid neoplasm as an allogeneic HCT
    indication."""
    neoplasms = [m for m in ctx.marrows_after(0) if m.mds]
    if not neoplasms or _allo_hct_since(ctx, day_of(neoplasms[0].start)):
        return None
    return Fired(
        action="Consider referral for allogeneic HCT: a post-infusion marrow shows myelodysplasia "
        "/ a therapy-related myeloid neoplasm.",
        facts=tuple(marrow_fact(m) for m in neoplasms),
        caveats=(_NO_DONOR_DATA,),
    )


def _child_hct_indication(ctx: RuleContext) -> list[Fact]:
    supports = (ctx.rbc_transfusion, ctx.platelet_transfusion, ctx.gcsf)
    return [support_fact(s) for s in supports if s.dependent]


@rule(
    id="hct.child-bmt-naive",
    title="Allogeneic HCT for a transplant-naive child",
    category="HCT",
    decision="boost-hct",
    summary="A child without prior allogeneic HCT beyond day 90 with transfusion dependence or "
    "neutropenia needing G-CSF: the source considers allogeneic HCT with the best available "
    "donor. Unknown age or prior-HCT status cannot be evaluated.",
    citations=[Citation("JAIN", "L73")],
    inputs=[
        "jain_phase",
        "patient.age_years",
        "patient.prior_allo_hct",
        "rbc_transfusion",
        "platelet_transfusion",
        "gcsf_dependence",
        "hct",
    ],
    settings=[
        "patient_groups.child_max_age_years",
        "transfusion.platelet_dependence_window_days",
        "transfusion.rbc_dependence_window_days",
        "gcsf.dependence_window_days",
    ],
)
def hct_child_bmt_naive(ctx: RuleContext) -> Outcome:
    """JAIN L73: "for BMT-naive pediatric patients with transfusion dependence or severe
    neutropenia requiring G-CSF therapy late after CAR-T infusion (beyond 90 days), allogeneic BMT
    with best available donor should be considered"."""
    child = ctx.is_child()
    prior = ctx.course.facts.prior_allo_hct
    if not _late(ctx) or child is False or prior is True or _allo_hct_since(ctx, 0.0):
        return None
    indication = _child_hct_indication(ctx)
    if not indication:
        return None
    missing = [
        name
        for name, value in (("age (patient.age_years)", child), ("prior allogeneic HCT", prior))
        if value is None
    ]
    if missing:
        return CannotEvaluate(missing=tuple(missing), facts=tuple(indication))
    return Fired(
        action="Consider allogeneic HCT with the best available donor: a transplant-naive child "
        "beyond day 90 still needs transfusions or G-CSF.",
        facts=(
            fact("Age", f"{ctx.course.facts.age_years:g} years"),
            fact("Prior allogeneic HCT", "no"),
            *indication,
        ),
        caveats=(_NO_DONOR_DATA,),
    )


# -- 11. prior allo-HCT with late cytopenia ------------------------------------------------------
def _graft_caveat(marrows: list[MarrowBiopsy]) -> tuple[str, ...]:
    if any(m.cellularity == "hypocellular" for m in marrows):
        return ()
    return (
        "The source applies this when the cytopenia appears due to marrow hypocellularity and "
        "donor graft dysfunction: no post-infusion marrow on file shows hypocellularity.",
    )


@rule(
    id="stem-cell-boost.prior-allo-donor",
    title="Prior allo-HCT, late cytopenia: donor boost or second HCT",
    category="stem cell boost",
    decision="boost-hct",
    strength="source recommends",
    summary="Prior allogeneic HCT and significant cytopenia or transfusion dependence beyond day "
    "90, without relapse or malignant marrow: strongly consider a CD34+ boost from the original "
    "donor (or stored T-cell-depleted CD34+ cells) or, with adequate organ function, a second "
    "allogeneic HCT.",
    citations=[Citation("JAIN", "L75, L77")],
    inputs=[
        *CYTOPENIA_INPUTS,
        "jain_phase",
        "patient.prior_allo_hct",
        "patient.stored_cells",
        "disease_status",
        "marrow_biopsy",
    ],
    settings=CYTOPENIA_SETTINGS,
)
def prior_allo_donor_boost(ctx: RuleContext) -> Outcome:
    """JAIN L77: post-BMT late cytopenia beyond 90 days from hypocellularity and graft
    dysfunction: "strong consideration should be given to providing a stem cell boost" from the
    original donor or leftover T-cell-depleted CD34+ cells; a new collection ex vivo T-cell
    depleted (CD34 selection or TCRab depletion); second allogeneic BMT with adequate organ
    function, particularly if the original donor is hard to reach."""
    if not _late(ctx) or ctx.course.facts.prior_allo_hct is not True or _blocked_by_disease(ctx):
        return None
    cytopenia = cytopenia_picture(ctx)
    if not cytopenia.lineages:
        return cytopenia.unknown()
    stored = ctx.course.facts.stored_cells
    marrows = ctx.marrows_after(0)
    return Fired(
        action="Consider a stem cell boost from the original donor or leftover T-cell-depleted "
        "CD34+ cells (a new donor collection: ex vivo T-cell-depleted mobilized peripheral blood "
        "stem cells, by CD34 selection or TCR alpha-beta depletion), or a second allogeneic HCT "
        "if organ function is adequate, particularly if the original donor is hard to reach.",
        facts=(
            fact("Prior allogeneic HCT", "yes"),
            fact("Stored cells on file", "unknown" if stored is None else stored.value),
            *cytopenia.facts,
            *(marrow_fact(m) for m in marrows[-1:]),
        ),
        caveats=(*_graft_caveat(marrows), _NO_DONOR_DATA),
    )


# -- 12. lineage switch ----------------------------------------------------------------------------
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
        *CYTOPENIA_SETTINGS,
        "patient_groups.child_max_age_years",
        "patient_groups.infant_max_age_years",
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
            fact("KMT2A rearranged", _yes_no(facts.kmt2a_rearranged)),
            fact("Diagnosis", facts.diagnosis),
            fact("CAR target", facts.target or "unknown"),
            *cytopenia.facts,
        ),
    )


# -- 14. secondary malignancy vigilance ----------------------------------------------------------
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
    settings=CYTOPENIA_SETTINGS,
)
def secondary_malignancy(ctx: RuleContext) -> Outcome:
    """JAIN L65: secondary malignancies 2-16%; CHIP predisposes to MDS after CAR-T, with rapid
    onset of MDS within the first 90 days in patients with preceding CHIP; L3: late cytopenia
    raises therapy-related myeloid neoplasm. Missing counts are reported by workup.late-cytopenia,
    not here."""
    if ctx.as_of_day < 0:
        return None
    chip = ctx.course.facts.chip is True
    cytopenia = cytopenia_picture(ctx) if _late(ctx) else None
    persistent = cytopenia is not None and bool(cytopenia.lineages)
    if not chip and not persistent:
        return None
    return Fired(
        action="Consider a therapy-related myeloid neoplasm (MDS/AML) when counts do not recover: "
        "secondary malignancies are reported in 2-16% after CAR-T, and rapid-onset MDS within 90 "
        "days in patients with prior CHIP; review the counts and a marrow with cytogenetics and "
        "NGS accordingly.",
        facts=(_chip_fact(ctx), *(cytopenia.facts if cytopenia is not None else ())),
    )


# -- 15. follow-up at the CAR-T centre -----------------------------------------------------------
@rule(
    id="workup.follow-up-car-t-centre",
    title="Follow-up at the CAR-T centre",
    category="workup",
    decision="workup",
    summary="From infusion until workup.follow_up_years years: restaging and follow-up visits at "
    "the CAR-T treatment centre.",
    citations=[Citation("JAIN", "L61")],
    inputs=["death"],
    settings=["workup.follow_up_years"],
)
def follow_up_car_t_centre(ctx: RuleContext) -> Outcome:
    """JAIN L61: "we advocate patients continue restaging visits for at least 2 years from CAR-T
    at the CAR-T treatment center whenever possible"."""
    years = ctx.profile.workup.follow_up_years
    end_day = math.floor(years * DAYS_PER_YEAR)
    if not 0 <= ctx.as_of_day <= end_day or ctx.course.of_kind(Death):
        return None
    return Fired(
        action=f"Consider restaging and follow-up visits at the CAR-T centre for at least {years} "
        f"years from infusion (to about day {end_day}), also once care returns to the referring "
        "team.",
        facts=(fact("Follow-up at the CAR-T centre until", f"day {end_day}"),),
    )
