"""Early phase (Jain: day < 30): growth factors, anti-infective prophylaxis, transfusion,
screening at day 21-28 and the infection work-up of neutropenic fever.

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); Rejeski et al. (ICAHT),
Blood 2023, Table 3; Beyar-Katz et al., Ann Hematol 2022.
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.rule import Fired, Outcome, rule
from icaht.core.rule_context import RuleContext, event_fact
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drugs import GM_CSF


@rule(
    id="growth-factor.avoid-gm-csf",
    title="Avoid GM-CSF after CAR-T",
    category="alert",
    strength="alert",
    summary="A GM-CSF (sargramostim, molgramostim) is running after infusion: the source "
    "advises avoiding GM-CSF after CAR-T (raised in CRS/ICANS; blocking it reduces toxicity in "
    "animal models); G-CSF is the growth factor to use.",
    citations=[Citation("JAIN", "L39, L53; Fig. 1")],
    inputs=["medication"],
)
def avoid_gm_csf(ctx: RuleContext) -> Outcome:
    given = [m for m in ctx.active_medications(GM_CSF) if ctx.as_of_day >= 0]
    if not given:
        return None
    return Fired(
        action="Consider stopping GM-CSF and using G-CSF (filgrastim) instead if a myeloid growth "
        "factor is needed: GM-CSF is raised in CRS/ICANS and the source advises avoiding it "
        "after CAR-T.",
        facts=tuple(event_fact("GM-CSF given", m.drug, day_of(m.start)) for m in given),
    )
