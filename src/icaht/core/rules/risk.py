"""The risk decision (``risk``): CAR-HEMATOTOX before infusion and the risk factors for prolonged
cytopenia.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al., Blood 2021
(CAR-HEMATOTOX); Rejeski et al. (ICAHT), Blood 2023, Table 3.
"""

from __future__ import annotations

from collections.abc import Callable

from icaht.core.course import day_of
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.patient_facts import Costimulation
from icaht.core.record import CrsEpisode, Hct, IcansEpisode
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.rules.queries import HT_ANALYTES, hematotox_category, hematotox_missing, shown_total
from icaht.core.score_result import ScoreResult
from icaht.core.timeline import baseline_value
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.management_criteria import SEVERE_CRS_ICANS_MIN_GRADE
from icaht.knowledge.score_criteria import (
    HT_ANC_10E9_PER_L,
    HT_HB_G_PER_DL,
    HT_PLATELETS_LOWER_10E9_PER_L,
)


def _baseline_fact(ctx: RuleContext, analyte: Analyte, suffix: str = "") -> Fact | None:
    found = baseline_value(ctx.course, analyte, ctx.profile.baseline)
    if found is None:
        return None
    label = f"Pre-lymphodepletion {ANALYTES[analyte].display}{suffix}"
    return lab_fact(analyte, Measurement(day=found[0], value=found[1]), label)


def _hematotox_facts(ctx: RuleContext, score: ScoreResult) -> list[Fact]:
    facts: list[Fact] = []
    for item in score.items:
        if item.points is None:
            continue
        suffix = f" ({item.points} point{'s' if item.points != 1 else ''})"
        found = _baseline_fact(ctx, HT_ANALYTES[item.name], suffix)
        if found is not None:
            facts.append(found)
    return facts


@rule(
    id="risk.car-hematotox",
    title="CAR-HEMATOTOX risk",
    category="risk",
    decision="risk",
    summary="Shows the CAR-HEMATOTOX score from the pre-lymphodepletion platelets, ANC, Hb, CRP "
    "and ferritin, from before infusion through the early phase. High (>= 2): closer count "
    "monitoring, readiness for early G-CSF and infection vigilance (ICAHT high-risk patients). "
    "Low (0-1): low risk of prolonged severe neutropenia (high negative predictive value).",
    citations=[
        Citation("HT", "Abstract; Table 2"),
        Citation("ICAHT", "Table 3"),
        Citation("JAIN", "L45"),
    ],
    inputs=[
        "platelets",
        "anc",
        "hb",
        "crp",
        "ferritin",
        "car_hematotox",
        "jain_phase",
        "patient.ld_start",
    ],
    settings=["baseline.lookback_days"],
)
def car_hematotox_risk(ctx: RuleContext) -> Outcome:
    """CAR-HEMATOTOX (HT; docs/evidence.md 5.1): low 0-1, high >= 2; high sensitivity and NPV.
    ICAHT Table 3 ties prophylactic G-CSF and antibacterial prophylaxis to high risk."""
    if ctx.phase not in ("pre-infusion", "early"):
        return None
    score = ctx.scores.car_hematotox
    category = hematotox_category(score)
    facts = _hematotox_facts(ctx, score)
    if category is None:
        return CannotEvaluate(missing=hematotox_missing(score), facts=tuple(facts))
    facts.insert(0, fact("CAR-HEMATOTOX", f"{shown_total(score)} ({category} risk)"))
    caveats = () if score.computable else tuple(score.notes[1:])
    if category == "high":
        action = (
            "Consider closer blood-count monitoring: CAR-HEMATOTOX is high (>= 2), which predicts "
            "prolonged severe neutropenia; consider readiness for early G-CSF and heightened "
            "infection vigilance (ICAHT: high-risk patients)."
        )
    else:
        action = (
            "Consider standard blood-count monitoring: CAR-HEMATOTOX is low (0-1), i.e. low risk "
            "of prolonged severe neutropenia (the score has a high negative predictive value)."
        )
    return Fired(action=action, facts=tuple(facts), caveats=caveats)


def _pre_ld_cytopenia(ctx: RuleContext) -> list[Fact]:
    """Baseline counts in the CAR-HEMATOTOX point bands (ANC < 1.2, platelets < 75, Hb < 9.0)."""
    out: list[Fact] = []
    for analyte, limit in (
        (Analyte.ANC, HT_ANC_10E9_PER_L),
        (Analyte.PLATELETS, HT_PLATELETS_LOWER_10E9_PER_L),
        (Analyte.HB, HT_HB_G_PER_DL),
    ):
        found = baseline_value(ctx.course, analyte, ctx.profile.baseline)
        if found is not None and found[1] < limit:
            label = f"Pre-lymphodepletion cytopenia: {ANALYTES[analyte].display} < {limit:g}"
            out.append(lab_fact(analyte, Measurement(day=found[0], value=found[1]), label))
    return out


def _prior_allo(ctx: RuleContext) -> list[Fact]:
    hcts = [
        h for h in ctx.course.of_kind(Hct) if h.hct_type == "allogeneic" and day_of(h.start) < 0
    ]
    if hcts:
        return [event_fact("Prior allogeneic HCT", "yes", day_of(hcts[-1].start))]
    return [fact("Prior allogeneic HCT", "yes")] if ctx.course.facts.prior_allo_hct else []


def _marrow_burden(ctx: RuleContext) -> list[Fact]:
    pct = ctx.course.facts.marrow_disease_pct
    limit = ctx.profile.patient_groups.high_marrow_burden_pct
    if pct is None or pct < limit:
        return []
    return [fact(f"High marrow disease burden (>= {limit:g}%)", f"{pct:g}%")]


def _severe_crs_icans(ctx: RuleContext) -> list[Fact]:
    episodes: list[CrsEpisode | IcansEpisode] = [
        *ctx.course.of_kind(CrsEpisode),
        *ctx.course.of_kind(IcansEpisode),
    ]
    return [
        event_fact(
            f"Grade >= {SEVERE_CRS_ICANS_MIN_GRADE} {e.kind.upper()}",
            f"grade {e.grade}",
            day_of(e.start),
        )
        for e in episodes
        if e.grade is not None and e.grade >= SEVERE_CRS_ICANS_MIN_GRADE and day_of(e.start) >= 0
    ]


_RISK_FACTORS: tuple[Callable[[RuleContext], list[Fact]], ...] = (
    _pre_ld_cytopenia,
    _prior_allo,
    _marrow_burden,
    _severe_crs_icans,
)


@rule(
    id="risk.cytopenia-risk-factors",
    title="Risk factors for prolonged cytopenia",
    category="risk",
    decision="risk",
    summary="Up to day 90, lists the risk factors for prolonged cytopenia that are present: "
    "pre-lymphodepletion cytopenia (CAR-HEMATOTOX bands: ANC < 1.2, platelets < 75, Hb < 9.0), "
    "prior allogeneic HCT, high marrow disease burden, grade >= 3 CRS or ICANS. The "
    "costimulatory domain is a note, not a risk factor (the seed: it 'may impact' recovery).",
    citations=[Citation("JAIN", "L43-45, L75, L81"), Citation("HT", "Table 2")],
    inputs=[
        "anc",
        "platelets",
        "hb",
        "patient.prior_allo_hct",
        "patient.marrow_disease_pct",
        "patient.costimulatory_domain",
        "hct",
        "crs",
        "icans",
        "jain_phase",
        "patient.ld_start",
    ],
    settings=["baseline.lookback_days", "patient_groups.high_marrow_burden_pct"],
)
def cytopenia_risk_factors(ctx: RuleContext) -> Outcome:
    """JAIN L43 (grade 3-4 CRS/ICANS), L45 (preceding cytopenia, prior allo-BMT, marrow disease),
    L75 (prior BMT after CRS severity), L81 (summary). L45 says only that the costimulatory domain
    "may impact count recovery": a note with the other factors, never a factor of its own (issue
    15 finding 13)."""
    if ctx.phase == "late":
        return None
    facts = [f for source in _RISK_FACTORS for f in source(ctx)]
    if not facts:
        return None
    return Fired(
        action="Consider these risk factors for prolonged cytopenia when planning count "
        "monitoring and supportive care.",
        facts=tuple(facts),
        caveats=_costimulation_note(ctx),
    )


def _costimulation_note(ctx: RuleContext) -> tuple[str, ...]:
    """JAIN L45: "the costimulatory domain of the CAR may impact count recovery" (no direction
    given): CD28, once listed as a risk factor, is named as a note only."""
    if ctx.course.facts.costimulatory_domain is not Costimulation.CD28:
        return ()
    return (
        "Costimulatory domain CD28: the source says only that the costimulatory domain 'may "
        "impact' count recovery; it is not counted as a risk factor.",
    )
