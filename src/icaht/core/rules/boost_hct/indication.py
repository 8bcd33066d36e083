"""When a stem cell boost is indicated (autologous stored cells, or the donor after a prior
allo-HCT), read by the boost cards and by the marrow card that asks for a marrow first, and the
autologous boost card of the day (:func:`boost_card`), which the HCT cards yield to.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); docs/decisions.md ("Stem cell
boost candidate").
"""

from __future__ import annotations

from dataclasses import dataclass

from icaht.core.course import day_of
from icaht.core.marrow import marrow_fact
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.patient_facts import StoredCells
from icaht.core.record import Finding, Hct, Infection, MarrowBiopsy, StemCellBoost
from icaht.core.rule_context import RuleContext, event_fact, fact
from icaht.core.rules.queries import late_phase
from icaht.core.severity import SevereLineage
from icaht.core.timeline import calendar_day

NO_DONOR_DATA = "Donor availability and organ function are not part of the record: check them."


def _malignant_marrows(ctx: RuleContext) -> list[MarrowBiopsy]:
    """Post-infusion marrows showing malignant infiltration or MDS (therapy-related neoplasm)."""
    return [m for m in ctx.marrows_after(0) if m.malignant_infiltration or m.mds]


def _blocked_by_disease(ctx: RuleContext) -> bool:
    """Relapse/progression or a post-infusion marrow with infiltration or MDS (JAIN L63)."""
    return ctx.relapse() is not None or bool(_malignant_marrows(ctx))


def allo_hct_since(ctx: RuleContext, day: float) -> bool:
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


_HAEMOLYTIC_FINDINGS = (("dat_positive", "DAT positive"), ("hemolysis", "Haemolysis"))
BOOST_SETTINGS = (
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
BOOST_INPUTS = (
    "anc",
    "patient.stored_cells",
    "patient.prior_allo_hct",
    "disease_status",
    "marrow_biopsy",
    "stem_cell_boost",
)
#: The dependence terms as derived inputs, read by the rules that show them (the severity terms
#: and the marrow review compute dependence from the raw events).
DEPENDENCE_INPUTS = ("platelet_transfusion", "rbc_transfusion", "gcsf_dependence")


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


def boosted(ctx: RuleContext) -> StemCellBoost | None:
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
    if boosted(ctx) is not None or _blocked_by_disease(ctx) or _haemolysis(ctx):
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


def prior_allo_indication(ctx: RuleContext) -> tuple[SevereLineage, ...] | None:
    """docs/decisions.md, After a prior allo-HCT, all but the marrow: a prior allo-HCT, beyond
    day 90, a severe lineage persisting ``severity.persisting_days``, no relapse or malignant
    marrow since infusion, no boost or allo-HCT since infusion."""
    if not late_phase(ctx) or ctx.course.facts.prior_allo_hct is not True:
        return None
    if _blocked_by_disease(ctx) or boosted(ctx) is not None or allo_hct_since(ctx, 0.0):
        return None
    return _persisting(ctx) or None


def _product(stored: StoredCells) -> str:
    """JAIN L69 (autologous: CD34+-selected or unmanipulated); L77 (donor: T-cell-depleted)."""
    if stored == StoredCells.AUTOLOGOUS:
        return "the stored autologous cells (CD34-selected or unmanipulated)"
    return "the stored donor cells, T-cell-depleted (CD34 selection or TCR-alpha-beta depletion)"


def boost_card(ctx: RuleContext) -> Outcome:
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
