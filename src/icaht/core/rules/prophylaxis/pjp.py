"""PJP prophylaxis: start, the switch away from TMP-SMX while it may deepen the cytopenia, and
stop.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Baur et al., J Immunother Cancer
2021 (seed 004; lines as ``L<n>``).
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.rules.queries import (
    NONE_RECORDED_CAVEAT,
    PERSISTENT_CYTOPENIA_INPUTS,
    PERSISTENT_CYTOPENIA_SETTINGS,
    STALE_SETTINGS,
    absence_value,
    none_recorded,
    persistent_cytopenia,
    tmp_smx_switch,
)
from icaht.core.severity import SevereLineage
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import PJP_PROPHYLAXIS, TMP_SMX


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
