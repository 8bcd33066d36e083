"""Antiviral (HSV/VZV) prophylaxis: its start at infusion and its stop after
``prophylaxis.antiviral_months`` with CD4 recovery.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al. (ICAHT), Blood
2023, Table 3.
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fired, Outcome
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, fact, lab_fact
from icaht.core.rules.queries import NONE_RECORDED_CAVEAT, absence_value, none_recorded
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import ANTIVIRAL_PROPHYLAXIS
from icaht.knowledge.management_criteria import DAYS_PER_MONTH
from icaht.knowledge.regimens import ANTIVIRAL


def _antiviral_months_passed(ctx: RuleContext) -> bool:
    return ctx.as_of_day >= ctx.profile.prophylaxis.antiviral_months * DAYS_PER_MONTH


def _cd4_above_stop(ctx: RuleContext) -> Measurement | None:
    """The latest CD4 count if it is above the stop threshold."""
    cd4 = ctx.latest(Analyte.CD4)
    return cd4 if cd4 is not None and cd4.value > ctx.profile.prophylaxis.cd4_stop_10e9_l else None


_ANTIVIRAL_SETTINGS = ("prophylaxis.antiviral_months", "prophylaxis.cd4_stop_10e9_l")
_PAEDIATRIC_DOSE = "dose by weight per paediatric protocol"


def _antiviral_regimen(ctx: RuleContext) -> tuple[str, list[str]]:
    """(regimen, caveats): the adult doses for adults only; a child (younger than
    ``patient_groups.child_max_age_years``) gets the agents and "dose by weight per paediatric
    protocol" (docs/decisions.md, Prophylaxis; issue 15 finding 1: Jain case 3, 31 months);
    unknown age: the adult doses, named as such."""
    child = ctx.is_child()
    if child:
        return f"aciclovir or valaciclovir, {_PAEDIATRIC_DOSE}", []
    if child is None:
        limit = ctx.profile.patient_groups.child_max_age_years
        return ANTIVIRAL, [
            f"Age not recorded: adult doses shown; under {limit:g} years, {_PAEDIATRIC_DOSE}."
        ]
    return ANTIVIRAL, []


@rule(
    id="prophylaxis.antiviral-start",
    title="Antiviral prophylaxis",
    category="prophylaxis",
    decision="prophylaxis",
    summary="From infusion for the set number of months and until CD4 > 0.2 x10^9/L, when no "
    f"antiviral prophylaxis is active: consider {ANTIVIRAL} (adults; children: the agent, "
    f"{_PAEDIATRIC_DOSE}).",
    citations=[
        Citation("JAIN", "L37; Fig. 1"),
        Citation("ICAHT", "Table 3"),
    ],
    inputs=["medication", "cd4", "patient.age_years", "patient.complete_streams"],
    settings=[*_ANTIVIRAL_SETTINGS, "patient_groups.child_max_age_years"],
)
def antiviral_start(ctx: RuleContext) -> Outcome:
    """JAIN L37 / Fig. 1: antiviral prophylaxis early after infusion for 6-12 months; ICAHT Table 3:
    all patients until 1 year and/or CD4 > 0.2 x10^9/L, valaciclovir 500 mg twice daily or
    aciclovir 800 mg (docs/evidence.md 3.2-3.3). Continued until both are met; doses for
    adults only (docs/decisions.md, Prophylaxis)."""
    if ctx.as_of_day < 0 or ctx.active_medications(ANTIVIRAL_PROPHYLAXIS):
        return None
    months_passed = _antiviral_months_passed(ctx)
    if months_passed and _cd4_above_stop(ctx) is not None:
        return None
    months = ctx.profile.prophylaxis.antiviral_months
    regimen, caveats = _antiviral_regimen(ctx)
    if months_passed and ctx.latest(Analyte.CD4) is None:
        caveats.append(
            f"{months} months have passed but no CD4 count is on file: prophylaxis continues until "
            "CD4 exceeds the threshold."
        )
    if none_recorded(ctx, ANTIVIRAL_PROPHYLAXIS):
        caveats.append(NONE_RECORDED_CAVEAT)
    return Fired(
        action=f"Consider antiviral prophylaxis: {regimen}, for {months} months after "
        f"infusion and until CD4 > {ctx.profile.prophylaxis.cd4_stop_10e9_l:g} x10^9/L.",
        facts=(
            fact("Day after infusion", ctx.as_of_day),
            fact("Antiviral prophylaxis", absence_value(ctx, ANTIVIRAL_PROPHYLAXIS)),
        ),
        caveats=tuple(caveats),
    )


@rule(
    id="prophylaxis.antiviral-stop",
    title="Stop antiviral prophylaxis",
    category="prophylaxis",
    decision="prophylaxis",
    summary="Antiviral prophylaxis is active, the set number of months since infusion have passed "
    "and the latest CD4 is above 0.2 x10^9/L: consider stopping it. Without a CD4 count the rule "
    "cannot be evaluated.",
    citations=[
        Citation("JAIN", "L37; Fig. 1"),
        Citation("ICAHT", "Table 3"),
    ],
    inputs=["medication", "cd4"],
    settings=list(_ANTIVIRAL_SETTINGS),
)
def antiviral_stop(ctx: RuleContext) -> Outcome:
    """JAIN L37 / Fig. 1 (6-12 months; CD4 > 200/mm3); ICAHT Table 3 (1 year and/or CD4 > 0.2
    x10^9/L, read as both, docs/decisions.md)."""
    active = ctx.active_medications(ANTIVIRAL_PROPHYLAXIS)
    if not active or not _antiviral_months_passed(ctx):
        return None
    if ctx.latest(Analyte.CD4) is None:
        return CannotEvaluate(missing=("CD4 count",))
    cd4 = _cd4_above_stop(ctx)
    if cd4 is None:
        return None
    return Fired(
        action="Consider stopping antiviral prophylaxis: "
        f"{ctx.profile.prophylaxis.antiviral_months} months have passed and CD4 is above the "
        "threshold.",
        facts=(
            lab_fact(Analyte.CD4, cd4),
            *(event_fact("Active antiviral", m.drug, day_of(m.start)) for m in active),
        ),
    )
