"""The marrow on file: whether the latest marrow since infusion still answers a marrow trigger,
and a marrow result in words.

docs/decisions.md, "Marrow" (project defaults, profile section ``marrow``): a marrow within the
trailing ``marrow.valid_days`` (42) answers every marrow trigger (G-CSF-refractory, prolonged
cytopenia with risk features, the late work-up, before a TPO-RA or a stem cell boost); an older
one still answers them while the picture improves (a lineage better than at the marrow: its
values over the trailing window of its severity term all above those of the same window up to the
marrow, or fewer transfusions in the dependence window). A repeat is wanted when the picture has not
improved after that, or when new facts arise: a lineage severe today (severity terms) that was
neither severe nor significantly cytopenic (profile ``cytopenia``) on the marrow day, or a relapse
recorded after the marrow. Marrows from day 0 count; a
marrow before infusion does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from icaht.core.course import day_of
from icaht.core.dependence import transfusion_dependence
from icaht.core.outcome import Fact
from icaht.core.record import MarrowBiopsy
from icaht.core.severity import severe_lineages
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import ANALYTES, Analyte

if TYPE_CHECKING:
    from icaht.core.rule_context import RuleContext

_COUNTS = (Analyte.ANC, Analyte.PLATELETS, Analyte.HB)
_PRODUCTS: tuple[Literal["platelets", "rbc"], ...] = ("platelets", "rbc")


# -- a marrow in words ---------------------------------------------------------------------------
def _finding(name: str, value: bool | None) -> Iterator[str]:
    if value is not None:
        yield f"{name} found" if value else f"no {name}"


def _cellularity(marrow: MarrowBiopsy) -> Iterator[str]:
    if marrow.cellularity is not None:
        pct = marrow.cellularity_pct
        yield marrow.cellularity + ("" if pct is None else f" ({pct:g}% cellularity)")
    elif marrow.cellularity_pct is not None:
        yield f"{marrow.cellularity_pct:g}% cellularity"


def _lineages(marrow: MarrowBiopsy) -> Iterator[str]:
    for name, value in (
        ("myelopoiesis", marrow.myelopoiesis),
        ("erythropoiesis", marrow.erythropoiesis),
        ("megakaryopoiesis", marrow.megakaryopoiesis),
    ):
        if value is not None:
            yield f"{name} {value}"


def _cytogenetics(marrow: MarrowBiopsy) -> Iterator[str]:
    abnormal = marrow.cytogenetics_abnormal
    verdict = None if abnormal is None else ("abnormal" if abnormal else "normal")
    if marrow.cytogenetics is not None:
        yield f"cytogenetics {marrow.cytogenetics}" + ("" if verdict is None else f" ({verdict})")
    elif verdict is not None:
        yield f"{verdict} cytogenetics"


def _ngs(marrow: MarrowBiopsy) -> Iterator[str]:
    if marrow.ngs_variants:
        shown = [
            v.gene
            + (f" {v.description}" if v.description else "")
            + (f" (VAF {v.vaf_pct:g}%)" if v.vaf_pct is not None else "")
            for v in marrow.ngs_variants
        ]
        yield "NGS variants " + ", ".join(shown)
    elif marrow.ngs_done is not None:
        yield "NGS without variants" if marrow.ngs_done else "NGS not done"


def _graft(marrow: MarrowBiopsy) -> Iterator[str]:
    if marrow.donor_chimerism_pct is not None:
        yield f"donor chimerism {marrow.donor_chimerism_pct:g}%"
    yield from _finding("donor graft dysfunction", marrow.graft_dysfunction)


def marrow_words(marrow: MarrowBiopsy) -> str:
    """Every structured finding of a marrow in words ("hypocellular; no MDS; ...")."""
    parts = [
        *_cellularity(marrow),
        *(["complete aplasia"] if marrow.aplasia else []),
        *_finding("malignant infiltration", marrow.malignant_infiltration),
        *_finding("MDS", marrow.mds),
        *_finding("dysplasia", marrow.dysplasia),
        *_finding("fibrosis", marrow.fibrosis),
        *_finding("haemophagocytosis", marrow.hemophagocytosis),
        *_lineages(marrow),
        *([f"blasts {marrow.blasts_pct:g}%"] if marrow.blasts_pct is not None else []),
        *_cytogenetics(marrow),
        *_ngs(marrow),
        *_graft(marrow),
    ]
    return "; ".join(parts) or "recorded (no findings entered)"


def marrow_fact(marrow: MarrowBiopsy, label: str = "Marrow biopsy") -> Fact:
    """A marrow since infusion as a fact: its findings in words, on its day."""
    return Fact(label=label, value=marrow_words(marrow), day=calendar_day(day_of(marrow.start)))


# -- does the marrow on file answer a trigger? ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class MarrowReview:
    """The latest marrow since infusion, whether it answers the marrow triggers today, and the
    facts behind that (the improvement that keeps an older marrow valid, or why a repeat is
    wanted)."""

    latest: MarrowBiopsy | None
    answers: bool
    facts: tuple[Fact, ...] = ()

    @property
    def on_file(self) -> MarrowBiopsy | None:
        """The marrow that answers the triggers today, or None."""
        return self.latest if self.answers else None


def _count_on(ctx: RuleContext, analyte: Analyte, day: int) -> float | None:
    """The latest value of an analyte on or before a calendar day."""
    series = ctx.window(analyte, day - ctx.stale_days(), day)
    return float(series.value[-1]) if len(series) else None


def _trend_window_days(ctx: RuleContext, analyte: Analyte) -> int:
    """The trailing window a lineage's picture is judged over: the window of its severity term
    (persistent severe neutropenia; platelet or RBC transfusion dependence)."""
    if analyte == Analyte.ANC:
        return ctx.profile.severity.persistent_window_days
    windows = ctx.profile.transfusion
    if analyte == Analyte.PLATELETS:
        return windows.platelet_dependence_window_days
    return windows.rbc_dependence_window_days


def _counts_up(ctx: RuleContext, day: int) -> Iterator[Fact]:
    """Lineages whose values over their trailing window all lie above every value of the same
    window up to the marrow day: counts that swing around the same level (before and after
    transfusions, week to week) are no improvement."""
    for analyte in _COUNTS:
        days = _trend_window_days(ctx, analyte)
        then = ctx.window(analyte, day - days + 1, day).value
        now = ctx.window(analyte, ctx.as_of_day - days + 1, ctx.as_of_day).value
        if len(then) and len(now) and float(now.min()) > float(then.max()):
            info = ANALYTES[analyte]
            yield Fact(
                label=f"{info.display} up since the marrow",
                value=f"highest {float(then.max()):g} in the {days} days up to it, lowest "
                f"{float(now.min()):g} in the last {days} days ({info.canonical_unit})",
                day=ctx.as_of_day,
            )


def _fewer_transfusions(ctx: RuleContext, day: int) -> Iterator[Fact]:
    for product in _PRODUCTS:
        then = transfusion_dependence(ctx.course, day, product, ctx.profile.transfusion)
        now = transfusion_dependence(ctx.course, ctx.as_of_day, product, ctx.profile.transfusion)
        if now.count_in_window < then.count_in_window:
            yield Fact(
                label=f"Fewer {now.support}s than at the marrow",
                value=f"{then.count_in_window} -> {now.count_in_window} in {now.window_days} days",
                day=ctx.as_of_day,
            )


def _affected_on(ctx: RuleContext, day: int) -> set[str]:
    """Lineages severe (severity terms) or significantly cytopenic (profile ``cytopenia``) on a
    day: the picture the marrow of that day was taken for."""
    limits = ctx.profile.cytopenia
    affected: set[str] = {s.lineage for s in severe_lineages(ctx.course, day, ctx.profile)}
    anc = _count_on(ctx, Analyte.ANC, day)
    if anc is not None and anc <= limits.anc_10e9_l:
        affected.add("neutrophils")
    for lineage, analyte, limit in (
        ("platelets", Analyte.PLATELETS, limits.platelets_10e9_l),
        ("red cells", Analyte.HB, limits.hb_g_dl),
    ):
        value = _count_on(ctx, analyte, day)
        if value is not None and value < limit:
            affected.add(lineage)
    return affected


def _new_facts(ctx: RuleContext, day: int) -> tuple[Fact, ...]:
    """Facts that arose after the marrow: a lineage severe today that was neither severe nor
    significantly cytopenic on the marrow day, or a relapse recorded after it."""
    before = _affected_on(ctx, day)
    new = [
        Fact(label=f"Newly severe since the marrow: {s.lineage}", value=s.term, day=s.since_day)
        for s in ctx.severe_lineages
        if s.lineage not in before
    ]
    relapse = ctx.relapse()
    if relapse is not None and calendar_day(day_of(relapse.start)) > day:
        new.append(
            Fact(
                label="Relapse or progression after the marrow",
                value=relapse.status,
                day=calendar_day(day_of(relapse.start)),
            )
        )
    return tuple(new)


def review_marrow(ctx: RuleContext) -> MarrowReview:
    """Whether the latest marrow since infusion answers the marrow triggers as of the day
    (docs/decisions.md, Marrow)."""
    marrows = ctx.marrows_after(0)
    if not marrows:
        return MarrowReview(None, False)
    marrow = marrows[-1]
    day = calendar_day(day_of(marrow.start))
    new = _new_facts(ctx, day)
    if new:
        return MarrowReview(marrow, False, new)
    valid = ctx.profile.marrow.valid_days
    if ctx.as_of_day - day <= valid:
        return MarrowReview(marrow, True)
    improved = (*_counts_up(ctx, day), *_fewer_transfusions(ctx, day))
    if improved:
        return MarrowReview(marrow, True, improved)
    stale = Fact(
        label=f"Marrow older than {valid} days",
        value="no lineage better than at the marrow (counts not up, transfusions not fewer)",
        day=day,
    )
    return MarrowReview(marrow, False, (stale,))
