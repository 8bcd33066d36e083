"""Stem cell boost cards: a boost of stored autologous cells, or a donor boost after a prior
allo-HCT.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); docs/decisions.md ("Stem cell
boost candidate").
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.marrow import marrow_fact
from icaht.core.outcome import Fact, Fired, Outcome
from icaht.core.record import MarrowBiopsy
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, fact
from icaht.core.rules.boost_hct.indication import (
    BOOST_INPUTS,
    BOOST_SETTINGS,
    NO_DONOR_DATA,
    boost_card,
    prior_allo_indication,
)
from icaht.core.timeline import calendar_day
from icaht.knowledge.bibliography import Citation


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
        *BOOST_INPUTS,
        "finding",
        "infection",
        "hb",
        "jain_phase",
        "medication",
        "platelets",
        "transfusion",
    ],
    settings=[
        *BOOST_SETTINGS,
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
    return boost_card(ctx)


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
        *BOOST_INPUTS,
        "jain_phase",
        "hct",
        "hb",
        "medication",
        "patient.complete_streams",
        "platelets",
        "transfusion",
    ],
    settings=[
        *BOOST_SETTINGS[2:],
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
        caveats=(NO_DONOR_DATA,),
    )
