"""Allogeneic HCT cards: complete aplasia, a therapy-related myeloid neoplasm, a child not yet
transplanted.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); docs/decisions.md ("Allogeneic
HCT").
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.marrow import marrow_fact
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import MarrowBiopsy
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, fact
from icaht.core.rules.boost_hct.indication import (
    BOOST_INPUTS,
    BOOST_SETTINGS,
    DEPENDENCE_INPUTS,
    NO_DONOR_DATA,
    allo_hct_since,
    boost_card,
    boosted,
)
from icaht.core.rules.queries import late_phase, support_fact
from icaht.knowledge.bibliography import Citation


def _hct_action(ctx: RuleContext, what: str) -> tuple[str, tuple[Fact, ...]]:
    """The HCT wording: the alternative to a boost offered today (docs/decisions.md:
    the boost is preferred and shown first), else plain."""
    if isinstance(boost_card(ctx), Fired):
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
        *BOOST_INPUTS,
        "finding",
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
        *BOOST_SETTINGS,
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
    if not late_phase(ctx) or ctx.course.facts.prior_allo_hct or allo_hct_since(ctx, 0.0):
        return None
    marrow = ctx.marrow_on_file()
    if marrow is None or not _aplastic(marrow) or not ctx.severe_lineages:
        return None
    boost = boosted(ctx)
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
        caveats=(NO_DONOR_DATA,),
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
    if not neoplasms or allo_hct_since(ctx, day_of(neoplasms[0].start)):
        return None
    return Fired(
        action="Consider referral for allogeneic HCT: a post-infusion marrow shows myelodysplasia "
        "/ a therapy-related myeloid neoplasm.",
        facts=tuple(marrow_fact(m) for m in neoplasms),
        caveats=(NO_DONOR_DATA,),
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
        *BOOST_INPUTS,
        *DEPENDENCE_INPUTS,
        "finding",
        "jain_phase",
        "patient.age_years",
        "hct",
        "infection",
        "medication",
        "transfusion",
        "hb",
        "platelets",
    ],
    settings=[
        "patient_groups.child_max_age_years",
        *BOOST_SETTINGS,
        "cytopenia.anc_10e9_l",
        "cytopenia.hb_g_dl",
        "cytopenia.platelets_10e9_l",
        "data_quality.stale_days_late",
    ],
)
def hct_child_bmt_naive(ctx: RuleContext) -> Outcome:
    """JAIN L73: "for BMT-naive pediatric patients with transfusion dependence or severe
    neutropenia requiring G-CSF therapy late after CAR-T infusion (beyond 90 days), allogeneic BMT
    with best available donor should be considered"."""
    child = ctx.is_child()
    prior = ctx.course.facts.prior_allo_hct
    if not late_phase(ctx) or child is False or prior is True or allo_hct_since(ctx, 0.0):
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
        caveats=(NO_DONOR_DATA,),
    )
