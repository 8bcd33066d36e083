"""Late phase (Jain: > day 90) and persistent cytopenia: the late work-up, stem cell boost and
allogeneic HCT, prior allo-HCT, pediatric specifics (lineage switch; deferring growth factors in
children is a caveat of the G-CSF card), secondary-malignancy vigilance and follow-up at the CAR-T
centre.

"Significant cytopenia" is the shared reading of
:func:`icaht.core.rules.prolonged.cytopenia_picture` (profile section ``cytopenia`` plus
transfusion dependence).

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); docs/decisions.md ("Stem
cell boost candidate", "Allogeneic HCT") for the project's reading of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from icaht.core.course import day_of
from icaht.core.marrow import marrow_fact
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.patient_facts import StoredCells
from icaht.core.record import Death, Finding, Hct, Infection, MarrowBiopsy, StemCellBoost
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact
from icaht.core.rules.queries import (
    CYTOPENIA_INPUTS,
    CYTOPENIA_SETTINGS,
    cytopenia_picture,
    medication_facts,
    prolonged_or_late,
    support_fact,
)
from icaht.core.severity import SevereLineage
from icaht.core.timeline import calendar_day
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import MYELOSUPPRESSIVE
from icaht.knowledge.late_criteria import (
    B_ALL_DIAGNOSES,
    DAYS_PER_YEAR,
)

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
    "transfusion dependence): stop marrow-suppressive drugs, look for occult infection, review "
    "the marrow on file (or obtain one: the marrow card), CHIP and LGL.",
    citations=[Citation("JAIN", "L3, L61-65; abstract")],
    inputs=[
        *CYTOPENIA_INPUTS,
        "jain_phase",
        "medication",
        "marrow_biopsy",
        "patient.chip",
        "disease_status",
        "patient.complete_streams",
        "transfusion",
    ],
    settings=[
        *CYTOPENIA_SETTINGS,
        "marrow.valid_days",
        "gcsf.dependence_window_days",
        "severity.gcsf_dependent_days",
        "severity.persistent_min_values",
        "severity.persistent_window_days",
        "transfusion.dependence_min_transfusions",
    ],
)
def late_cytopenia(ctx: RuleContext) -> Outcome:
    """JAIN L61: the prolonged-cytopenia evaluation remains appropriate late (avoid marrow-
    suppressive medication, work-up for occult infection, marrow aspirate and biopsy for alternate
    causes); L3, L65: therapy-related myeloid neoplasm, relapse, CHIP; L63: LGL. The marrow itself
    is the marrow card's (docs/decisions.md, Marrow: one card listing every reason)."""
    if not _late(ctx):
        return None
    cytopenia = cytopenia_picture(ctx)
    if not cytopenia.lineages:
        return cytopenia.unknown()
    on_file = ctx.marrow_on_file()
    marrow = (
        f"review the marrow of day {calendar_day(day_of(on_file.start))} for relapse or a "
        "therapy-related myeloid neoplasm"
        if on_file is not None
        else "obtain a marrow aspirate and biopsy with cytogenetics and NGS for relapse or a "
        "therapy-related myeloid neoplasm (see the marrow card)"
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
_HAEMOLYTIC_FINDINGS = (("dat_positive", "DAT positive"), ("hemolysis", "Haemolysis"))
_BOOST_SETTINGS = (
    "boost.earliest_day",
    "boost.min_lineages",
    "severity.persisting_days",
    "severity.persistent_window_days",
    "severity.persistent_min_values",
    "severity.gcsf_dependent_days",
    "gcsf.dependence_window_days",
    "transfusion.platelet_dependence_window_days",
    "transfusion.rbc_dependence_window_days",
    "transfusion.dependence_min_transfusions",
    "marrow.valid_days",
)
_BOOST_INPUTS = (
    "anc",
    "platelet_transfusion",
    "rbc_transfusion",
    "gcsf_dependence",
    "patient.stored_cells",
    "patient.prior_allo_hct",
    "disease_status",
    "marrow_biopsy",
    "stem_cell_boost",
    "finding",
)


def _haemolysis(ctx: RuleContext) -> list[Fact]:
    """Haemolytic causes on record: a DAT or haemolysis finding whose latest record is present."""
    out = []
    for name, label in _HAEMOLYTIC_FINDINGS:
        records = [f for f in ctx.course.of_kind(Finding) if f.finding == name]
        if records and records[-1].present:
            out.append(event_fact(label, "present", day_of(records[-1].start)))
    return out


def _persisting(ctx: RuleContext) -> tuple[SevereLineage, ...]:
    """Severe lineages (severity terms) that have persisted ``severity.persisting_days``."""
    need = ctx.profile.severity.persisting_days
    return tuple(s for s in ctx.severe_lineages if ctx.as_of_day - s.since_day + 1 >= need)


def _boosted(ctx: RuleContext) -> StemCellBoost | None:
    """The latest stem cell boost since infusion."""
    boosts = [b for b in ctx.course.of_kind(StemCellBoost) if day_of(b.start) >= 0]
    return boosts[-1] if boosts else None


@dataclass(frozen=True, slots=True)
class BoostIndication:
    """The boost indication without its marrow: the severe lineages and the stored cells."""

    lineages: tuple[SevereLineage, ...]
    stored: StoredCells

    def facts(self) -> tuple[Fact, ...]:
        return (*(s.fact() for s in self.lineages), fact("Stored cells on file", self.stored.value))


def boost_indication(ctx: RuleContext) -> BoostIndication | CannotEvaluate | None:
    """docs/decisions.md, Stem cell boost candidate, all but the marrow: day >=
    ``boost.earliest_day``, at least ``boost.min_lineages`` severe lineages each persisting
    ``severity.persisting_days``, stored autologous or donor cells (unknown: cannot evaluate); no
    boost given yet; blocked by relapse, a secondary malignancy on a marrow since infusion or a
    haemolytic cause. After a prior allo-HCT the donor pathway applies instead
    (:func:`prior_allo_indication`)."""
    if ctx.as_of_day < ctx.profile.boost.earliest_day or ctx.course.facts.prior_allo_hct:
        return None
    if _boosted(ctx) is not None or _blocked_by_disease(ctx) or _haemolysis(ctx):
        return None
    lineages = _persisting(ctx)
    stored = ctx.course.facts.stored_cells
    if len(lineages) < ctx.profile.boost.min_lineages or stored == StoredCells.NONE:
        return None
    if stored is None:
        return CannotEvaluate(
            missing=("stored cells on file (patient.stored_cells)",),
            facts=tuple(s.fact() for s in lineages),
        )
    return BoostIndication(lineages, stored)


def _product(stored: StoredCells) -> str:
    """JAIN L69 (autologous: CD34+-selected or unmanipulated); L77 (donor: T-cell-depleted)."""
    if stored == StoredCells.AUTOLOGOUS:
        return "the stored autologous cells (CD34-selected or unmanipulated)"
    return "the stored donor cells, T-cell-depleted (CD34 selection or TCR-alpha-beta depletion)"


def _boost_card(ctx: RuleContext) -> Outcome:
    indication = boost_indication(ctx)
    if not isinstance(indication, BoostIndication):
        return indication
    marrow = ctx.marrow_on_file()
    if marrow is None or marrow.cellularity == "hypercellular":
        return None
    caveats = list(_active_infection_caveat(ctx))
    if indication.stored == StoredCells.AUTOLOGOUS:
        caveats.append(
            "An autologous product may contain tumour cells (relapse reported in mantle cell "
            "lymphoma)."
        )
    count = len(indication.lineages)
    return Fired(
        action=f"Consider a stem cell boost with {_product(indication.stored)}, without "
        f"conditioning: {count} severe lineages have persisted at least "
        f"{ctx.profile.severity.persisting_days} days and the marrow shows no relapse, MDS or "
        "infiltration. The source prefers the boost over allogeneic HCT.",
        facts=(*indication.facts(), marrow_fact(marrow), *ctx.marrow_review.facts),
        caveats=tuple(caveats),
    )


@rule(
    id="stem-cell-boost.candidate",
    title="Stem cell boost candidate",
    category="stem cell boost",
    decision="boost-hct",
    summary="From boost.earliest_day, at least boost.min_lineages severe lineages (severity "
    "terms) each persisting severity.persisting_days, stored autologous or donor cells and a "
    "marrow on file (marrow.valid_days rule) without relapse, MDS or infiltration (without one: "
    "the marrow card). Blocked by relapse or secondary malignancy, a haemolytic cause (DAT or "
    "haemolysis) or a hypercellular marrow; not after a prior allo-HCT (donor pathway). Unknown "
    "stored cells cannot be evaluated.",
    citations=[Citation("JAIN", "L63, L67, L69, L73, L77")],
    inputs=[
        *_BOOST_INPUTS,
        "infection",
        "hb",
        "jain_phase",
        "medication",
        "platelets",
        "transfusion",
    ],
    settings=[
        *_BOOST_SETTINGS,
        "cytopenia.anc_10e9_l",
        "cytopenia.hb_g_dl",
        "cytopenia.platelets_10e9_l",
        "data_quality.stale_days_late",
        "data_quality.stale_days_prolonged",
    ],
)
def stem_cell_boost_candidate(ctx: RuleContext) -> Outcome:
    """JAIN L63: autologous stem cell boost is preferred over allogeneic BMT for severe
    transfusion-dependent late cytopenia without secondary malignancy or recurrent disease; L69:
    "transfusion-dependent cytopenias in >1 lineage", feasible only with stored cells,
    CD34+-selected or unmanipulated, without conditioning, tumour contamination (MCL relapse);
    L77: donor cells T-cell-depleted; L67: case 2 boosted at month 4 after the month-3 marrow."""
    return _boost_card(ctx)


# -- 10. prior allo-HCT with late cytopenia ------------------------------------------------------
def prior_allo_indication(ctx: RuleContext) -> tuple[SevereLineage, ...] | None:
    """docs/decisions.md, After a prior allo-HCT, all but the marrow: a prior allo-HCT, beyond
    day 90, a severe lineage persisting ``severity.persisting_days``, no relapse or malignant
    marrow since infusion, no boost or allo-HCT since infusion."""
    if not _late(ctx) or ctx.course.facts.prior_allo_hct is not True:
        return None
    if _blocked_by_disease(ctx) or _boosted(ctx) is not None or _allo_hct_since(ctx, 0.0):
        return None
    return _persisting(ctx) or None


def _falling_chimerism(ctx: RuleContext, marrow: MarrowBiopsy) -> Fact | None:
    """Donor chimerism on the marrow lower than on the marrow before it that reports one."""
    earlier = [
        m
        for m in ctx.course.of_kind(MarrowBiopsy)
        if m.donor_chimerism_pct is not None and day_of(m.start) < day_of(marrow.start)
    ]
    now = marrow.donor_chimerism_pct
    if not earlier or now is None or earlier[-1].donor_chimerism_pct is None:
        return None
    before = earlier[-1].donor_chimerism_pct
    if now >= before:
        return None
    return fact(
        "Donor chimerism falling", f"{before:g}% -> {now:g}%", calendar_day(day_of(marrow.start))
    )


def _graft_failure_signs(ctx: RuleContext, marrow: MarrowBiopsy) -> list[Fact]:
    """JAIN L77: hypocellularity or donor graft dysfunction (or falling donor chimerism)."""
    day = calendar_day(day_of(marrow.start))
    signs = []
    if marrow.cellularity == "hypocellular":
        signs.append(fact("Marrow hypocellular", "yes", day))
    if marrow.graft_dysfunction:
        signs.append(fact("Donor graft dysfunction", "yes", day))
    falling = _falling_chimerism(ctx, marrow)
    return [*signs, falling] if falling is not None else signs


@rule(
    id="stem-cell-boost.prior-allo-donor",
    title="Prior allo-HCT, late cytopenia: donor boost or second HCT",
    category="stem cell boost",
    decision="boost-hct",
    strength="source recommends",
    summary="Prior allogeneic HCT, beyond day 90, a severe lineage persisting "
    "severity.persisting_days, no relapse or malignant marrow, and a marrow on file showing "
    "hypocellularity, donor graft dysfunction or falling donor chimerism (without a marrow: the "
    "marrow card): a T-cell-depleted CD34+ boost from the original donor or, with adequate "
    "organ function, a second allogeneic HCT.",
    citations=[Citation("JAIN", "L75, L77")],
    inputs=[
        *_BOOST_INPUTS,
        "jain_phase",
        "hct",
        "hb",
        "medication",
        "patient.complete_streams",
        "platelets",
        "transfusion",
    ],
    settings=[
        *_BOOST_SETTINGS[2:],
        "cytopenia.anc_10e9_l",
        "cytopenia.hb_g_dl",
        "cytopenia.platelets_10e9_l",
        "data_quality.stale_days_early",
        "data_quality.stale_days_late",
        "data_quality.stale_days_prolonged",
    ],
)
def prior_allo_donor_boost(ctx: RuleContext) -> Outcome:
    """JAIN L77: post-BMT late cytopenia beyond 90 days "that appear to be because of bone marrow
    hypocellularity and donor graft dysfunction": "strong consideration should be given to
    providing a stem cell boost" from the original donor or leftover T-cell-depleted CD34+ cells;
    a new collection ex vivo T-cell depleted (CD34 selection or TCRab depletion); second
    allogeneic BMT with adequate organ function, particularly if the original donor is hard to
    reach."""
    lineages = prior_allo_indication(ctx)
    marrow = ctx.marrow_on_file()
    if lineages is None or marrow is None:
        return None
    signs = _graft_failure_signs(ctx, marrow)
    if not signs:
        return None
    stored = ctx.course.facts.stored_cells
    return Fired(
        action="Consider a stem cell boost from the original donor or leftover T-cell-depleted "
        "CD34+ cells (a new donor collection: ex vivo T-cell-depleted mobilized peripheral blood "
        "stem cells, by CD34 selection or TCR alpha-beta depletion), or a second allogeneic HCT "
        "if organ function is adequate, particularly if the original donor is hard to reach.",
        facts=(
            fact("Prior allogeneic HCT", "yes"),
            *(s.fact() for s in lineages),
            fact("Stored cells on file", "unknown" if stored is None else stored.value),
            marrow_fact(marrow),
            *signs,
        ),
        caveats=(_NO_DONOR_DATA,),
    )


# -- 11. allogeneic HCT --------------------------------------------------------------------------
def _hct_action(ctx: RuleContext, what: str) -> tuple[str, tuple[Fact, ...]]:
    """The HCT wording: the alternative to a boost offered today (docs/decisions.md:
    the boost is preferred and shown first), else plain."""
    if isinstance(_boost_card(ctx), Fired):
        return (
            f"If the stem cell boost is unavailable or fails, consider {what}",
            (fact("Preferred first", "stem cell boost (see the boost card)"),),
        )
    return f"Consider {what}", ()


def _aplastic(marrow: MarrowBiopsy) -> bool:
    """Complete aplasia, or hypocellular with every recorded lineage absent (JAIN L59, L63)."""
    if marrow.aplasia:
        return True
    lineages = [
        v for v in (marrow.myelopoiesis, marrow.erythropoiesis, marrow.megakaryopoiesis) if v
    ]
    return (
        marrow.cellularity == "hypocellular"
        and bool(lineages)
        and all(v == "absent" for v in lineages)
    )


@rule(
    id="hct.complete-aplasia",
    title="Allogeneic HCT for complete aplasia",
    category="HCT",
    decision="boost-hct",
    summary="Late phase (> day 90), no prior allo-HCT, a severe lineage, and the marrow on file "
    "(marrow.valid_days rule; after a boost, a marrow since it) shows complete aplasia with "
    "little haematopoiesis: the source considers allogeneic HCT (rare). When a stem cell boost "
    "is offered the same day, this is its alternative.",
    citations=[Citation("JAIN", "L59, L63")],
    inputs=[
        *_BOOST_INPUTS,
        "jain_phase",
        "hct",
        "infection",
        "hb",
        "medication",
        "patient.complete_streams",
        "platelets",
        "transfusion",
    ],
    settings=[
        *_BOOST_SETTINGS,
        "cytopenia.anc_10e9_l",
        "cytopenia.hb_g_dl",
        "cytopenia.platelets_10e9_l",
        "data_quality.stale_days_late",
    ],
)
def hct_complete_aplasia(ctx: RuleContext) -> Outcome:
    """JAIN L63: "Consideration of allogeneic BMT should be made in rare cases in which complete
    aplastic anemia occurs with little evidence of hematopoiesis, as seen in case 2" (L59: month-3
    marrow profoundly hypocellular); the boost is preferred and shown first."""
    if not _late(ctx) or ctx.course.facts.prior_allo_hct or _allo_hct_since(ctx, 0.0):
        return None
    marrow = ctx.marrow_on_file()
    if marrow is None or not _aplastic(marrow) or not ctx.severe_lineages:
        return None
    boost = _boosted(ctx)
    if boost is not None and day_of(boost.start) >= day_of(marrow.start):
        return None
    action, order = _hct_action(
        ctx,
        "allogeneic HCT: complete aplasia with little haematopoiesis on the marrow, with "
        "persisting severe cytopenia. This is rare; attribution to CAR-T is often clouded by "
        "prior transplant or therapy.",
    )
    return Fired(
        action=action,
        facts=(*order, marrow_fact(marrow), *(s.fact() for s in ctx.severe_lineages)),
        caveats=(_NO_DONOR_DATA,),
    )


@rule(
    id="hct.therapy-related-myeloid-neoplasm",
    title="Allogeneic HCT for a therapy-related myeloid neoplasm",
    category="HCT",
    decision="boost-hct",
    summary="A post-infusion marrow shows MDS / therapy-related myeloid neoplasm and no allogeneic "
    "HCT is recorded since: consider allogeneic HCT (docs/decisions.md, Allogeneic HCT).",
    citations=[Citation("JAIN", "L3, L63, L65")],
    inputs=["marrow_biopsy", "hct"],
)
def hct_therapy_related_neoplasm(ctx: RuleContext) -> Outcome:
    """JAIN L3, L65: late cytopenia raises therapy-related myeloid neoplasm (MDS after CAR-T,
    rapid onset with prior CHIP); L63: the stem cell boost is for cytopenia without secondary
    malignancy (so it never shows beside this card). docs/decisions.md lists a
    therapy-related myeloid neoplasm as an allogeneic HCT indication."""
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
    "G-CSF-dependent neutropenia: the source considers allogeneic HCT with the best available "
    "donor (the alternative when a stem cell boost is offered). Unknown age or prior-HCT status "
    "cannot be evaluated.",
    citations=[Citation("JAIN", "L73")],
    inputs=[
        *_BOOST_INPUTS,
        "jain_phase",
        "patient.age_years",
        "hct",
        "infection",
        "medication",
        "transfusion",
    ],
    settings=["patient_groups.child_max_age_years", *_BOOST_SETTINGS],
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
    action, order = _hct_action(
        ctx,
        "allogeneic HCT with the best available donor: a transplant-naive child beyond day 90 "
        "still needs transfusions or G-CSF.",
    )
    return Fired(
        action=action,
        facts=(
            *order,
            fact("Age", f"{ctx.course.facts.age_years:g} years"),
            fact("Prior allogeneic HCT", "no"),
            *indication,
        ),
        caveats=(_NO_DONOR_DATA,),
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
    settings=[*CYTOPENIA_SETTINGS, "transfusion.dependence_min_transfusions"],
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
