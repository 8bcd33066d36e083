"""CAR-HEMATOTOX (Rejeski et al., Blood 2021; citation key ``HT``).

Five pre-lymphodepletion markers (measured around day -5; baseline selection is the caller's job,
``docs/decisions.md`` Timeline), total 0-7, low risk 0-1, high risk >= 2
(``docs/evidence.md`` 5.1):

==========  ===============  ==============  =========
Variable    0                1               2
==========  ===============  ==============  =========
Platelets   >175 x10^9/L     75-175          <75
ANC         >=1.2 x10^9/L    <1.2            -
Hb          >=9.0 g/dL       <9.0            -
CRP         <3.0 mg/dL       >=3.0           -
Ferritin    <650 ng/mL       650-2000        >2000
==========  ===============  ==============  =========

Boundary values (``docs/decisions.md``, Risk scores): a value exactly on a cut-off written as a
range scores in the middle band (platelets 75 and 175 -> 1; ferritin 650 and 2000 -> 1); ANC exactly
1.2 -> 0, Hb exactly 9.0 -> 0, CRP exactly 3.0 -> 1. A missing input makes the score not computable
(never imputed as normal); the present inputs still show their points and ``minimum``/``maximum``
give the range the total can take.

Inputs in canonical units: counts 10^9/L, Hb g/dL, CRP **mg/dL** (30 mg/L = 3.0 mg/dL), ferritin
ng/mL. Note: at least two public code bases encode wrong CAR-HEMATOTOX cut-offs (clinical-reference
5.1); these come from the reference table only. The cut-offs are data in
``icaht.knowledge.score_criteria``.
"""

from __future__ import annotations

from typing import Final

from icaht.core.score_result import MISSING_BAND, ScoreItem, ScoreResult, present_input
from icaht.knowledge.score_criteria import (
    HT_ANC_10E9_PER_L,
    HT_CRP_MG_PER_DL,
    HT_FERRITIN_LOWER_NG_PER_ML,
    HT_FERRITIN_UPPER_NG_PER_ML,
    HT_HB_G_PER_DL,
    HT_HIGH_RISK_MIN_POINTS,
    HT_PLATELETS_LOWER_10E9_PER_L,
    HT_PLATELETS_UPPER_10E9_PER_L,
)

NAME: Final = "CAR-HEMATOTOX"
CITATIONS: Final = ("HT",)

_UNIT_COUNT = "10^9/L"  # ScoreItem.unit: the canonical unit spelling of icaht.knowledge.analytes
_BAND_COUNT = "x10^9/L"
_P_HI = HT_PLATELETS_UPPER_10E9_PER_L
_P_LO = HT_PLATELETS_LOWER_10E9_PER_L
_F_HI = HT_FERRITIN_UPPER_NG_PER_ML
_F_LO = HT_FERRITIN_LOWER_NG_PER_ML


def _platelets(v: float) -> tuple[int, str]:
    if v > HT_PLATELETS_UPPER_10E9_PER_L:
        return 0, f">{_P_HI:g} {_BAND_COUNT} → 0"
    if v >= HT_PLATELETS_LOWER_10E9_PER_L:
        return 1, f"{_P_LO:g}-{_P_HI:g} {_BAND_COUNT} (both ends included) → 1"
    return 2, f"<{_P_LO:g} {_BAND_COUNT} → 2"


def _anc(v: float) -> tuple[int, str]:
    if v >= HT_ANC_10E9_PER_L:
        return 0, f"≥{HT_ANC_10E9_PER_L:.1f} {_BAND_COUNT} → 0"
    return 1, f"<{HT_ANC_10E9_PER_L:.1f} {_BAND_COUNT} → 1"


def _hb(v: float) -> tuple[int, str]:
    if v >= HT_HB_G_PER_DL:
        return 0, f"≥{HT_HB_G_PER_DL:.1f} g/dL → 0"
    return 1, f"<{HT_HB_G_PER_DL:.1f} g/dL → 1"


def _crp(v: float) -> tuple[int, str]:
    if v < HT_CRP_MG_PER_DL:
        return 0, f"<{HT_CRP_MG_PER_DL:.1f} mg/dL → 0"
    return 1, f"≥{HT_CRP_MG_PER_DL:.1f} mg/dL → 1"


def _ferritin(v: float) -> tuple[int, str]:
    if v < HT_FERRITIN_LOWER_NG_PER_ML:
        return 0, f"<{_F_LO:g} ng/mL → 0"
    if v <= HT_FERRITIN_UPPER_NG_PER_ML:
        return 1, f"{_F_LO:g}-{_F_HI:g} ng/mL (both ends included) → 1"
    return 2, f">{_F_HI:g} ng/mL → 2"


def car_hematotox(
    *,
    platelets: float | None,
    anc: float | None,
    hb: float | None,
    crp_mg_dl: float | None,
    ferritin: float | None,
) -> ScoreResult:
    """CAR-HEMATOTOX from pre-lymphodepletion values (canonical units; ``None``/NaN = missing).

    Computable only when all five inputs are present; then ``total`` is 0-7 and ``category`` is
    ``"low"`` (0-1) or ``"high"`` (>= 2). Otherwise ``missing`` names the absent inputs and
    ``minimum``/``maximum`` bound the total.
    """
    spec = (
        ("platelets", platelets, _UNIT_COUNT, _platelets, 2),
        ("anc", anc, _UNIT_COUNT, _anc, 1),
        ("hb", hb, "g/dL", _hb, 1),
        ("crp_mg_dl", crp_mg_dl, "mg/dL", _crp, 1),
        ("ferritin", ferritin, "ng/mL", _ferritin, 2),
    )
    items: list[ScoreItem] = []
    missing: list[str] = []
    known = 0
    missing_max = 0
    for name, raw, unit, rule, max_points in spec:
        value = present_input(name, raw)
        if value is None:
            missing.append(name)
            missing_max += max_points
            items.append(
                ScoreItem(name=name, value=None, unit=unit, points=None, band=MISSING_BAND)
            )
            continue
        points, band = rule(value)
        known += points
        items.append(ScoreItem(name=name, value=value, unit=unit, points=points, band=band))

    notes = [
        "Validated on values before lymphodepletion (around day -5); low risk 0-1, high risk >= 2.",
    ]
    if not missing:
        return ScoreResult(
            name=NAME,
            version="5 markers, 0-7",
            citations=list(CITATIONS),
            computable=True,
            total=float(known),
            category="high" if known >= HT_HIGH_RISK_MIN_POINTS else "low",
            items=items,
            notes=notes,
            minimum=float(known),
            maximum=float(known),
        )
    maximum = known + missing_max
    if known >= HT_HIGH_RISK_MIN_POINTS:
        notes.append(
            f"The known inputs already score {known}: the category would be high whatever the "
            "missing values."
        )
    elif maximum < HT_HIGH_RISK_MIN_POINTS:
        notes.append(
            f"The total cannot exceed {maximum}: the category would be low whatever the missing "
            "values."
        )
    return ScoreResult(
        name=NAME,
        version="5 markers, 0-7",
        citations=list(CITATIONS),
        computable=False,
        total=None,
        items=items,
        missing=missing,
        reason="missing input(s): " + ", ".join(missing) + " (never imputed as normal)",
        notes=notes,
        minimum=float(known),
        maximum=float(maximum),
    )
