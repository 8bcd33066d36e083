"""The medication decision (``medication``): the review of myelosuppressive drugs (before
lymphodepletion and after) and their label count limits (prophylactic G-CSF is the ``gcsf``
decision, :mod:`icaht.core.rules.gcsf`).

References: Jain et al., Blood 2023 (seed 001; lines as ``L<n>``); drug labels and Gerson 2002
(docs/evidence.md section 7).
"""

from __future__ import annotations

from icaht.core.course import day_of
from icaht.core.lineage import Measurement
from icaht.core.outcome import CannotEvaluate, Fact, Fired, Outcome
from icaht.core.record import Medication
from icaht.core.rule import rule
from icaht.core.rule_context import RuleContext, event_fact, lab_fact
from icaht.core.rules.queries import (
    PERSISTENT_CYTOPENIA_INPUTS,
    PERSISTENT_CYTOPENIA_SETTINGS,
    STALE_SETTINGS,
    tmp_smx_switch,
)
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.bibliography import Citation
from icaht.knowledge.drug_limits import (
    GANCICLOVIR_ANC_MIN_10E9_PER_L,
    GANCICLOVIR_HB_MIN_G_PER_DL,
    GANCICLOVIR_PLATELETS_MIN_10E9_PER_L,
    MYCOPHENOLATE_ANC_MIN_10E9_PER_L,
)
from icaht.knowledge.drugs import (
    GANCICLOVIR,
    LENALIDOMIDE,
    LINEZOLID,
    MYCOPHENOLATE,
    MYELOSUPPRESSIVE,
    TMP_SMX,
)

_DRUG_ADVICE: tuple[tuple[frozenset[str], str], ...] = (
    (TMP_SMX, "TMP-SMX: consider pentamidine or atovaquone if cytopenias persist (JAIN)."),
    (
        GANCICLOVIR,
        "Ganciclovir/valganciclovir: the label advises against use with ANC < "
        f"{GANCICLOVIR_ANC_MIN_10E9_PER_L:g} x10^9/L, platelets < "
        f"{GANCICLOVIR_PLATELETS_MIN_10E9_PER_L:g} x10^9/L or Hb < "
        f"{GANCICLOVIR_HB_MIN_G_PER_DL:g} g/dL; check blood counts often.",
    ),
    (
        LINEZOLID,
        "Linezolid: weekly blood counts; consider stopping it if myelosuppression develops or "
        "worsens (Gerson 2002).",
    ),
    (
        MYCOPHENOLATE,
        "Mycophenolate: the label advises interrupting or reducing the dose if ANC < "
        f"{MYCOPHENOLATE_ANC_MIN_10E9_PER_L:g} x10^9/L.",
    ),
    (
        LENALIDOMIDE,
        "Lenalidomide: review the need (bridging lenalidomide lowered platelets before CAR-T, "
        "BAUR).",
    ),
)


@rule(
    id="medication.myelosuppressive-review",
    title="Review myelosuppressive medication",
    category="alert",
    decision="medication",
    summary="A myelosuppressive drug (TMP-SMX, ganciclovir/valganciclovir, linezolid, "
    "mycophenolate, lenalidomide) is active on the day, before or after infusion: review it and "
    "consider an alternative where possible, with the drug-specific advice. TMP-SMX is left to "
    "prophylaxis.pjp-switch-from-tmp-smx when that card shows (one of the two, not both).",
    citations=[
        Citation("JAIN", "L35, L37, L61, L75"),
        Citation("LABEL-GANCICLOVIR", "Hematologic limits"),
        Citation("LABEL-MYCOPHENOLATE", "Neutropenia"),
        Citation("GERSON-LINEZOLID", "Abstract"),
        Citation("BAUR", "Case presentation (bridging R2)"),
    ],
    inputs=list(PERSISTENT_CYTOPENIA_INPUTS),
    settings=list(PERSISTENT_CYTOPENIA_SETTINGS),
)
def myelosuppressive_review(ctx: RuleContext) -> Outcome:
    """JAIN L35: review all medications before LD and replace myelosuppressive agents where
    possible; L61: avoid marrow-suppressive medication in late cytopenia; L37 (TMP-SMX), L75
    (ganciclovir); labels and Gerson 2002 (docs/evidence.md 7). Issue 15 finding 13: TMP-SMX
    is reviewed here or replaced there, never both on one day."""
    left_to_pjp = TMP_SMX if tmp_smx_switch(ctx) else frozenset()
    active = ctx.active_medications(MYELOSUPPRESSIVE - left_to_pjp)
    if not active:
        return None
    drugs = {m.drug for m in active}
    advice = [text for members, text in _DRUG_ADVICE if drugs & members]
    return Fired(
        action="Review the myelosuppressive drugs and consider alternatives where possible. "
        + " ".join(advice),
        facts=tuple(
            event_fact("Active myelosuppressive drug", m.drug, day_of(m.start)) for m in active
        ),
    )


def _below(ctx: RuleContext, analyte: Analyte, limit: float) -> tuple[Measurement | None, bool]:
    """The current value of an analyte and whether it is under ``limit``."""
    current = ctx.current(analyte)
    return current, current is not None and current.value < limit


def _label_checks(ctx: RuleContext) -> list[tuple[Medication, Analyte, float]]:
    """(drug segment, analyte, limit) for every active drug with a label count limit."""
    checks: list[tuple[Medication, Analyte, float]] = []
    for med in ctx.active_medications(GANCICLOVIR):
        checks += [
            (med, Analyte.ANC, GANCICLOVIR_ANC_MIN_10E9_PER_L),
            (med, Analyte.PLATELETS, GANCICLOVIR_PLATELETS_MIN_10E9_PER_L),
            (med, Analyte.HB, GANCICLOVIR_HB_MIN_G_PER_DL),
        ]
    checks += [
        (med, Analyte.ANC, MYCOPHENOLATE_ANC_MIN_10E9_PER_L)
        for med in ctx.active_medications(MYCOPHENOLATE)
    ]
    return checks


@rule(
    id="medication.label-count-limit",
    title="Drug label blood-count limit crossed",
    category="alert",
    decision="medication",
    strength="alert",
    summary="Ganciclovir/valganciclovir is active with a current ANC < 0.5 x10^9/L, platelets < "
    "25 x10^9/L or Hb < 8 g/dL (label: do not give), or mycophenolate with ANC < 1.3 x10^9/L "
    "(label: interrupt or reduce the dose).",
    citations=[
        Citation("LABEL-GANCICLOVIR", "Hematologic limits"),
        Citation("LABEL-MYCOPHENOLATE", "Neutropenia"),
        Citation("JAIN", "L35, L75"),
    ],
    inputs=["medication", "anc", "platelets", "hb", "jain_phase"],
    settings=list(STALE_SETTINGS),
)
def label_count_limit(ctx: RuleContext) -> Outcome:
    """Label limits (docs/evidence.md 7): ganciclovir/valganciclovir not to be given with
    ANC < 0.5, platelets < 25 x10^9/L or Hb < 8 g/dL; mycophenolate: ANC < 1.3 -> interrupt or
    reduce. Counts must be current (``data_quality`` staleness by phase)."""
    checks = _label_checks(ctx)
    if not checks:
        return None
    crossed: list[Fact] = []
    missing: list[str] = []
    for med, analyte, limit in checks:
        current, under = _below(ctx, analyte, limit)
        name = ANALYTES[analyte].display
        if current is None:
            missing.append(f"current {name} (on {med.drug})")
        elif under:
            unit = ANALYTES[analyte].canonical_unit
            crossed.append(event_fact("On", med.drug, day_of(med.start)))
            crossed.append(lab_fact(analyte, current, f"{name} (label limit < {limit:g} {unit})"))
    if crossed:
        return Fired(
            action="Review the drug now: a current blood count is under its label limit "
            "(ganciclovir/valganciclovir: do not give; mycophenolate: interrupt or reduce the "
            "dose); consider an alternative.",
            facts=tuple(dict.fromkeys(crossed)),
        )
    if missing:
        return CannotEvaluate(missing=tuple(dict.fromkeys(missing)))
    return None
