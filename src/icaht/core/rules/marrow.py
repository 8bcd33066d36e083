"""The marrow decision: one card listing every reason a marrow aspirate and biopsy is wanted.

docs/decisions.md, "Marrow": the reasons are a G-CSF-refractory neutropenia (severity terms),
prolonged cytopenia with risk features (likely relapse, marrow dysplasia or fibrosis before CAR-T,
IEC-HS), the late work-up, and the marrow the TPO-RA candidate or a stem cell boost (or, after a
prior allo-HCT, a donor boost or second HCT) needs first. The marrow on file
(:meth:`icaht.core.rule_context.RuleContext.marrow_on_file`: within ``marrow.valid_days``, older
while the picture improves, not after new facts) answers every reason; otherwise the card asks for
a marrow, or a repeat with the facts that call for it.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Baur et al., J Immunother
Cancer 2021 (seed 004; lines as ``L<n>``).
"""

from __future__ import annotations

from dataclasses import dataclass

from icaht.core.course import day_of
from icaht.core.marrow import marrow_fact
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import HemophagocyticSyndrome
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact
from icaht.core.rules.boost_hct.indication import (
    BoostIndication,
    boost_indication,
    prior_allo_indication,
)
from icaht.core.rules.queries import (
    CYTOPENIA_INPUTS,
    CYTOPENIA_SETTINGS,
    cytopenia_picture,
    present_findings,
    prolonged_or_late,
)
from icaht.core.rules.tpo_ra.indication import tpo_ra_indication
from icaht.core.timeline import calendar_day
from icaht.knowledge.bibliography import Citation

_ACTIVE_IEC_HS = frozenset({"suspected", "confirmed"})
_PEDIATRIC_MARROW = (
    " In a child, look closely at marrow morphology (dysplasia, fibrosis) and send broad "
    "cytogenetics, immunophenotype and molecular testing, including NGS of B-cell receptor "
    "rearrangements for MRD in ALL."
)


@dataclass(frozen=True, slots=True)
class _Reason:
    """One reason for a marrow: in words, with the facts behind it."""

    text: str
    facts: tuple[Fact, ...]


def _gcsf_refractory(ctx: RuleContext) -> _Reason | None:
    """JAIN L53: "A complete lack of responsiveness to G-CSF may prompt bone marrow biopsy"
    (prolonged or late cytopenia). G-CSF-refractory is the severity term, never said while the
    ANC is rising."""
    refractory = ctx.gcsf_refractory
    if refractory is None or not prolonged_or_late(ctx):
        return None
    return _Reason(
        "no response to G-CSF",
        (
            fact(
                "No response to G-CSF (G-CSF-refractory)",
                f"ANC <= 0.5 x10^9/L on every value over {refractory.days_on} days of daily "
                f"G-CSF (highest {refractory.highest:g})",
                refractory.gcsf_start_day,
            ),
        ),
    )


def _risk_features(ctx: RuleContext) -> list[Fact]:
    """JAIN L53: likely relapse, marrow fibrosis or dysplasia before CAR-T, or IEC-HS (a finding,
    or a recorded IEC-HS/HLH suspected or confirmed)."""
    out = []
    relapse = ctx.relapse()
    if relapse is not None:
        out.append(event_fact("Relapse or progression", relapse.status, day_of(relapse.start)))
    if ctx.course.facts.prior_marrow_dysplasia_or_fibrosis:
        out.append(fact("Marrow dysplasia or fibrosis before CAR-T", "yes"))
    findings = [f for f in present_findings(ctx, "iec_hs") if day_of(f.start) >= 0]
    recorded = [
        d
        for d in ctx.course.of_kind(HemophagocyticSyndrome)
        if d.status in _ACTIVE_IEC_HS and day_of(d.start) >= 0
    ]
    if findings or recorded:
        first = min(day_of(e.start) for e in (*findings, *recorded))
        out.append(event_fact("IEC-HS", "present", first))
    return out


def _cytopenia_reasons(ctx: RuleContext) -> list[_Reason] | CannotEvaluate:
    """The reasons that need significant cytopenia: prolonged with risk features (JAIN L53) and
    the late work-up (JAIN L61: marrow aspirate and biopsy for alternate causes)."""
    if not prolonged_or_late(ctx):
        return []
    risks = _risk_features(ctx)
    late = ctx.phase == "late"
    if not risks and not late:
        return []
    cytopenia = cytopenia_picture(ctx)
    if not cytopenia.lineages:
        unknown = cytopenia.unknown()
        return unknown if unknown is not None and risks else []
    out = []
    if risks:
        out.append(_Reason("prolonged cytopenia with risk features", (*risks, *cytopenia.facts)))
    if late:
        out.append(_Reason("the late-cytopenia work-up", cytopenia.facts))
    return out


def _before_tpo_ra(ctx: RuleContext) -> _Reason | None:
    """BAUR L252-255, JAIN L57: a marrow excludes infiltration and MDS before a TPO-RA."""
    indication = tpo_ra_indication(ctx)
    return None if indication is None else _Reason("before a TPO-RA", indication)


def _before_boost(ctx: RuleContext) -> _Reason | None:
    """docs/decisions.md: a boost (or, after a prior allo-HCT, a donor boost or second HCT)
    needs a marrow on file first (JAIN L63, L77)."""
    indication = boost_indication(ctx)
    if isinstance(indication, BoostIndication):
        return _Reason("before a stem cell boost", indication.facts())
    donor = prior_allo_indication(ctx)
    if donor is not None:
        facts = (fact("Prior allogeneic HCT", "yes"), *(s.fact() for s in donor))
        return _Reason("before a donor boost or second allogeneic HCT", facts)
    return None


def _reasons(ctx: RuleContext) -> list[_Reason] | CannotEvaluate:
    cytopenia = _cytopenia_reasons(ctx)
    others = [
        r for r in (_gcsf_refractory(ctx), _before_tpo_ra(ctx), _before_boost(ctx)) if r is not None
    ]
    if isinstance(cytopenia, CannotEvaluate):
        return others or cytopenia
    return [*cytopenia, *others]


def _unique(facts: list[Fact]) -> tuple[Fact, ...]:
    return tuple(dict.fromkeys(facts))


@rule(
    id="workup.marrow-biopsy",
    title="Marrow aspirate and biopsy",
    category="workup",
    decision="marrow",
    summary="One card listing every reason for a marrow: G-CSF-refractory neutropenia "
    "(prolonged or late phase), prolonged cytopenia with a likely relapse, marrow dysplasia or "
    "fibrosis before CAR-T or IEC-HS, the late work-up (> day 90 with significant cytopenia), "
    "before a TPO-RA, before a stem cell boost (or donor boost / second HCT after a prior "
    "allo-HCT). A marrow since infusion within marrow.valid_days answers every reason, an older "
    "one while a lineage is better than at the marrow; a repeat is asked for otherwise, or when "
    "a lineage became severe or a relapse was recorded after the marrow.",
    citations=[
        Citation("JAIN", "L53, L57, L61, L63, L73, L77"),
        Citation("BAUR", "L252-255"),
    ],
    inputs=[
        *CYTOPENIA_INPUTS,
        "jain_phase",
        "medication",
        "treatments",
        "tpo_ra_response",
        "disease_status",
        "finding",
        "iec_hs",
        "marrow_biopsy",
        "stem_cell_boost",
        "hct",
        "patient.prior_marrow_dysplasia_or_fibrosis",
        "patient.prior_allo_hct",
        "patient.stored_cells",
        "patient.age_years",
        "patient.complete_streams",
        "transfusion",
    ],
    settings=[
        "marrow.valid_days",
        "severity.refractory_gcsf_days",
        "severity.refractory_rising_fold",
        "severity.persistent_window_days",
        "severity.persistent_min_values",
        "severity.gcsf_dependent_days",
        "severity.persisting_days",
        "gcsf.dependence_window_days",
        "transfusion.dependence_min_transfusions",
        "tpo_ra.earliest_day",
        "tpo_ra.low_platelet_consecutive_values",
        "boost.earliest_day",
        "boost.min_lineages",
        "patient_groups.child_max_age_years",
        *CYTOPENIA_SETTINGS,
        "tpo_ra.indication_persistence_days",
        "tpo_ra.partial_response_window_days",
    ],
)
def marrow_biopsy(ctx: RuleContext) -> Outcome:
    """JAIN L53 (no response to G-CSF; prolonged cytopenia with likely relapse, prior
    fibrosis/dysplasia or IEC-HS), L61 (late work-up), L57 and BAUR L252-255 (before a TPO-RA),
    L63, L77 (before a boost), L73 (the paediatric marrow work-up); docs/decisions.md, Marrow
    (one card, the marrow on file answers every reason)."""
    reasons = _reasons(ctx)
    if isinstance(reasons, CannotEvaluate):
        return reasons
    if not reasons:
        return None
    review = ctx.marrow_review
    if review.answers:
        return None
    latest = review.latest
    what = "a marrow aspirate and biopsy" if latest is None else "a repeat marrow"
    since = (
        ""
        if latest is None
        else f" (the marrow of day {calendar_day(day_of(latest.start))} no longer answers)"
    )
    action = (
        f"Consider {what} with cytogenetics and NGS{since}: "
        + "; ".join(r.text for r in reasons)
        + ". It looks for relapse, malignant infiltration, MDS or another therapy-related myeloid "
        "neoplasm, fibrosis and dysplasia (and haemophagocytosis); most marrows after CAR-T are "
        "hypocellular without dysplasia."
    )
    marrow = () if latest is None else (marrow_fact(latest, "Latest marrow since infusion"),)
    return Fired(
        action=action + (_PEDIATRIC_MARROW if ctx.is_child() else ""),
        facts=_unique([*(f for r in reasons for f in r.facts), *marrow, *review.facts]),
    )
