"""Queries shared by the rules of several decisions, each with the settings and inputs it reads
(the rules that call a query declare its contract; ``tests/core/rules/test_rule_contracts.py``
checks that every rule declares exactly what it reads).

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al., Blood 2021
(CAR-HEMATOTOX); the project defaults of docs/decisions.md (Prophylaxis, "Absence is not a
negative", clinically significant cytopenia).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from icaht.core.course import day_of
from icaht.core.dependence import SupportStatus
from icaht.core.outcome import CannotEvaluate, Fact
from icaht.core.record import Finding
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.score_result import ScoreResult
from icaht.core.severity import SevereLineage
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.drugs import TMP_SMX
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L
from icaht.knowledge.score_criteria import HT_HIGH_RISK_MIN_POINTS

#: CAR-HEMATOTOX item names (core.hematotox) and the analyte of each.
HT_ANALYTES: dict[str, Analyte] = {
    "platelets": Analyte.PLATELETS,
    "anc": Analyte.ANC,
    "hb": Analyte.HB,
    "crp_mg_dl": Analyte.CRP,
    "ferritin": Analyte.FERRITIN,
}


def hematotox_category(score: ScoreResult) -> str | None:
    """ "high" or "low" when known: from the total, or from the known inputs when they already fix
    the category whatever the missing values (score ``minimum``/``maximum``); else None."""
    if score.category is not None:
        return score.category
    if score.minimum is not None and score.minimum >= HT_HIGH_RISK_MIN_POINTS:
        return "high"
    if score.maximum is not None and score.maximum < HT_HIGH_RISK_MIN_POINTS:
        return "low"
    return None


def hematotox_missing(score: ScoreResult) -> tuple[str, ...]:
    """The missing CAR-HEMATOTOX inputs, named as pre-lymphodepletion values."""
    return tuple(
        f"pre-lymphodepletion {ANALYTES[HT_ANALYTES[name]].display} (CAR-HEMATOTOX)"
        for name in score.missing
    )


def last_neutropenia_day(ctx: RuleContext) -> int | None:
    """The last calendar day from infusion with ANC <= 0.5 x10^9/L (ICAHT severe), if any."""
    anc = ctx.window(Analyte.ANC, 0, ctx.as_of_day)
    days, values = anc.day.tolist(), anc.value.tolist()
    low = [d for d, v in zip(days, values, strict=True) if v <= ANC_SEVERE_10E9_PER_L]
    return calendar_day(low[-1]) if low else None


def recovered_since_neutropenia(ctx: RuleContext) -> int | None:
    """Day of ANC recovery (``ctx.recovery_day``) after the last ANC <= 0.5, or None when there
    was no neutropenia or no recovery since."""
    last_low = last_neutropenia_day(ctx)
    return None if last_low is None else ctx.recovery_day(after_day=last_low)


#: The caveat of a start card when nothing of the class is recorded and the medication stream is
#: not declared complete (docs/decisions.md, "Absence is not a negative").
NONE_RECORDED_CAVEAT = (
    "None recorded; if it is running, this does not apply (the record's medication list is not "
    "declared complete)."
)


def none_recorded(ctx: RuleContext, drugs: frozenset[str]) -> bool:
    """Nothing of ``drugs`` is recorded and the medication stream is not declared complete: the
    absence says nothing (docs/decisions.md, "Absence is not a negative")."""
    return not ctx.stream_complete("medications") and not ctx.medications(drugs)


def absence_value(ctx: RuleContext, drugs: frozenset[str]) -> str:
    """How a drug class that is not running reads: "none recorded" when the absence says nothing,
    else "none running"."""
    return "none recorded" if none_recorded(ctx, drugs) else "none running"


#: Settings read by :func:`persistent_cytopenia` (severe lineages and how long they held).
PERSISTENT_CYTOPENIA_SETTINGS: tuple[str, ...] = (
    "prophylaxis.pjp_persistent_cytopenia_days",
    "severity.persistent_window_days",
    "severity.persistent_min_values",
    "severity.gcsf_dependent_days",
    "gcsf.dependence_window_days",
    "transfusion.dependence_min_transfusions",
    "transfusion.platelet_dependence_window_days",
    "transfusion.rbc_dependence_window_days",
)
#: Inputs read by :func:`persistent_cytopenia`.
PERSISTENT_CYTOPENIA_INPUTS: tuple[str, ...] = ("anc", "medication", "transfusion")


def persistent_cytopenia(ctx: RuleContext) -> tuple[SevereLineage, ...]:
    """Severe lineages (severity terms) held for at least ``prophylaxis.pjp_persistent_cytopenia
    _days``: the persistent cytopenia that argues against myelosuppressive TMP-SMX (JAIN L37;
    docs/decisions.md, Prophylaxis: ">= 14 days of a severe lineage")."""
    need = ctx.profile.prophylaxis.pjp_persistent_cytopenia_days
    return tuple(s for s in ctx.severe_lineages if ctx.as_of_day - s.since_day + 1 >= need)


def tmp_smx_switch(ctx: RuleContext) -> tuple[SevereLineage, ...]:
    """The persistent cytopenia for which ``prophylaxis.pjp-switch-from-tmp-smx`` fires (TMP-SMX
    running after infusion); empty when it does not. The myelosuppressive-drug review then
    leaves TMP-SMX to that card (one of the two, not both)."""
    if ctx.as_of_day < 0 or not ctx.active_medications(TMP_SMX):
        return ()
    return persistent_cytopenia(ctx)


def shown_total(score: ScoreResult) -> str:
    """The total, or the lower bound the known inputs give when some are missing."""
    if score.total is not None:
        return f"{score.total:g}"
    known = score.minimum or 0.0
    missing = ", ".join(ANALYTES[HT_ANALYTES[name]].display for name in score.missing)
    return f"at least {known:g} (missing: {missing})"


#: Settings read by ``RuleContext.current`` (how old a count may be in each Jain phase).
STALE_SETTINGS: tuple[str, ...] = (
    "data_quality.stale_days_early",
    "data_quality.stale_days_prolonged",
    "data_quality.stale_days_late",
)
#: The staleness settings a rule gated to the prolonged and late phases can read (its counts are
#: never judged by the early phase's limit).
STALE_FROM_PROLONGED: tuple[str, ...] = STALE_SETTINGS[1:]
#: The staleness setting a rule gated to the late phase reads.
STALE_LATE: tuple[str, ...] = STALE_SETTINGS[2:]
_CYTOPENIA_LIMITS: tuple[str, ...] = (
    "cytopenia.anc_10e9_l",
    "cytopenia.platelets_10e9_l",
    "cytopenia.hb_g_dl",
    "transfusion.platelet_dependence_window_days",
    "transfusion.rbc_dependence_window_days",
)
#: Settings read by :func:`cytopenia_picture`.
CYTOPENIA_SETTINGS: tuple[str, ...] = (*_CYTOPENIA_LIMITS, *STALE_SETTINGS)
#: ... by a rule gated to the prolonged and late phases, and by one gated to the late phase.
CYTOPENIA_SETTINGS_FROM_PROLONGED: tuple[str, ...] = (*_CYTOPENIA_LIMITS, *STALE_FROM_PROLONGED)
CYTOPENIA_SETTINGS_LATE: tuple[str, ...] = (*_CYTOPENIA_LIMITS, *STALE_LATE)
#: Inputs read by :func:`cytopenia_picture`.
CYTOPENIA_INPUTS: tuple[str, ...] = (
    "anc",
    "platelets",
    "hb",
    "platelet_transfusion",
    "rbc_transfusion",
)
_PROLONGED_OR_LATE = frozenset({"prolonged", "late"})


@dataclass(frozen=True, slots=True)
class CytopeniaPicture:
    """Which lineages show clinically significant cytopenia today, and which counts are missing.

    ``missing`` names current counts that are absent or stale for a lineage not already shown to be
    significant by transfusion dependence.
    """

    lineages: tuple[str, ...]
    facts: tuple[Fact, ...]
    missing: tuple[str, ...]

    def unknown(self) -> CannotEvaluate | None:
        """A "cannot evaluate" naming the missing counts, or None when nothing is missing."""
        return CannotEvaluate(missing=self.missing) if self.missing else None


def support_fact(status: SupportStatus) -> Fact:
    """A fact for transfusion or G-CSF dependence: how often in the trailing window."""
    unit = "day(s) given" if status.support == "G-CSF" else "transfusion(s)"
    return fact(
        f"{status.support[0].upper()}{status.support[1:]} dependent",
        f"{status.count_in_window} {unit} in the last {status.window_days} days"
        + ("" if status.since_day is None else f", dependent since day {status.since_day}"),
        status.last_day,
    )


def cytopenia_picture(ctx: RuleContext) -> CytopeniaPicture:
    """Significant cytopenia per lineage (profile ``cytopenia``): current ANC <= anc_10e9_l,
    platelets < platelets_10e9_l or platelet-transfusion dependence, Hb < hb_g_dl or RBC-transfusion
    dependence (project defaults, docs/decisions.md)."""
    settings = ctx.profile.cytopenia
    lineages: list[str] = []
    facts: list[Fact] = []
    missing: list[str] = []
    anc = ctx.current(Analyte.ANC)
    if anc is None:
        missing.append("current ANC")
    elif anc.value <= settings.anc_10e9_l:
        lineages.append("neutrophils")
        facts.append(lab_fact(Analyte.ANC, anc))
    for name, analyte, limit, support in (
        ("platelets", Analyte.PLATELETS, settings.platelets_10e9_l, ctx.platelet_transfusion),
        ("red cells", Analyte.HB, settings.hb_g_dl, ctx.rbc_transfusion),
    ):
        value = ctx.current(analyte)
        low = value is not None and value.value < limit
        if low and value is not None:
            facts.append(lab_fact(analyte, value))
        if support.dependent:
            facts.append(support_fact(support))
        if low or support.dependent:
            lineages.append(name)
        elif value is None:
            missing.append(f"current {analyte.value} value")
    return CytopeniaPicture(tuple(lineages), tuple(facts), tuple(missing))


def prolonged_or_late(ctx: RuleContext) -> bool:
    """Jain phase prolonged (day 30-90) or late (> day 90) (JAIN L1, L3)."""
    return ctx.phase in _PROLONGED_OR_LATE


def present_findings(ctx: RuleContext, name: str) -> list[Finding]:
    """Findings of one kind recorded as present, in time order."""
    return [f for f in ctx.course.of_kind(Finding) if f.finding == name and f.present]


def medication_facts(ctx: RuleContext, drugs: frozenset[str], label: str) -> tuple[Fact, ...]:
    """Facts for the active segments of a drug class."""
    return tuple(event_fact(label, m.drug, day_of(m.start)) for m in ctx.active_medications(drugs))


def anc_after(ctx: RuleContext, first_day: int) -> list[tuple[int, float]]:
    """(calendar day, ANC) from ``first_day`` to the as-of day, in time order."""
    series = ctx.window(Analyte.ANC, first_day, ctx.as_of_day)
    days = np.floor(series.day).astype(np.int64).tolist()  # calendar days, vectorised
    return list(zip(days, series.value.tolist(), strict=True))


def late_phase(ctx: RuleContext) -> bool:
    """The late phase of Jain (after day 90)."""
    return ctx.phase == "late"


def yes_no(value: bool | None) -> str:
    """A recorded yes/no patient fact as shown, "unknown" when not recorded."""
    return "unknown" if value is None else ("yes" if value else "no")


def chip_before_car_t_fact(ctx: RuleContext) -> Fact:
    """CHIP known before CAR-T (the patient fact), as the late cards show it."""
    return fact("CHIP before CAR-T", yes_no(ctx.course.facts.chip))
