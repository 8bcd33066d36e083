"""EASIX, simplified EASIX and modified EASIX (Pennisi et al., Blood Adv 2021; key ``PENNISI``).

Formulas (``docs/evidence.md`` 5.3):

* EASIX = LDH (U/L) x creatinine (mg/dL) / platelets (10^9/L)
* simplified EASIX = LDH (U/L) / platelets (10^9/L)
* m-EASIX = LDH (U/L) x CRP (mg/dL) / platelets (10^9/L)

They are usually analysed as log2; ``log2_total`` carries it. No cut-off is applied: none is
universal (clinical-reference 5.3), so ``category`` is always ``None``. Units matter: creatinine in
umol/L or CRP in mg/L would change the value 88.4x or 10x, so the inputs must already be in the
canonical units named above (``icaht.knowledge.score_criteria``). Platelets 0 make the ratio
undefined: not computable, with a reason.
"""

from __future__ import annotations

import math
from typing import Final

from icaht.core.score_result import MISSING_BAND, ScoreItem, ScoreResult, present_input
from icaht.knowledge.score_criteria import (
    EASIX_CREATININE_UNIT,
    EASIX_CRP_UNIT,
    EASIX_LDH_UNIT,
    EASIX_PLATELETS_UNIT,
)

CITATIONS: Final = ("PENNISI",)

_NO_CUTOFF_NOTE = (
    "No universal cut-off: interpret against the cohort that validated it (Pennisi 2021 measured "
    "at lymphodepletion, day -1, day +1 and day +3); usually analysed as log2."
)

# (input name, unit, role in the formula)
_LDH = ("ldh", EASIX_LDH_UNIT, "numerator")
_CREATININE = ("creatinine_mg_dl", EASIX_CREATININE_UNIT, "numerator")
_CRP = ("crp_mg_dl", EASIX_CRP_UNIT, "numerator")
_PLATELETS = ("platelets", EASIX_PLATELETS_UNIT, "denominator")
_LDH_TERM = f"LDH ({EASIX_LDH_UNIT})"
_PLATELETS_TERM = f"platelets ({EASIX_PLATELETS_UNIT})"


def _ratio(
    name: str,
    formula: str,
    numerator: list[tuple[tuple[str, str, str], float | None]],
    platelets: float | None,
) -> ScoreResult:
    inputs = [*numerator, (_PLATELETS, platelets)]
    items: list[ScoreItem] = []
    missing: list[str] = []
    values: dict[str, float] = {}
    for (key, unit, role), raw in inputs:
        value = present_input(key, raw)
        if value is None:
            missing.append(key)
            items.append(ScoreItem(name=key, value=None, unit=unit, points=None, band=MISSING_BAND))
        else:
            values[key] = value
            items.append(ScoreItem(name=key, value=value, unit=unit, points=None, band=role))
    notes = [f"{name} = {formula}", _NO_CUTOFF_NOTE]
    if missing:
        reason: str | None = "missing input(s): " + ", ".join(missing)
    elif values["platelets"] == 0:
        reason = "platelets are 0: the ratio is undefined"
    else:
        reason = None
    if reason is not None:
        return ScoreResult(
            name=name,
            citations=list(CITATIONS),
            computable=False,
            total=None,
            items=items,
            missing=missing,
            reason=reason,
            notes=notes,
        )
    total = math.prod(values[key] for (key, _, _), _ in numerator) / values["platelets"]
    log2_total = math.log2(total) if total > 0 else None
    if log2_total is None:
        notes.append("total is 0: log2 is undefined")
    return ScoreResult(
        name=name,
        citations=list(CITATIONS),
        computable=True,
        total=total,
        items=items,
        notes=notes,
        log2_total=log2_total,
    )


def easix(
    *, ldh: float | None, creatinine_mg_dl: float | None, platelets: float | None
) -> ScoreResult:
    """EASIX = LDH (U/L) x creatinine (mg/dL) / platelets (10^9/L); ``None``/NaN = missing."""
    return _ratio(
        "EASIX",
        f"{_LDH_TERM} x creatinine ({EASIX_CREATININE_UNIT}) / {_PLATELETS_TERM}",
        [(_LDH, ldh), (_CREATININE, creatinine_mg_dl)],
        platelets,
    )


def simplified_easix(*, ldh: float | None, platelets: float | None) -> ScoreResult:
    """Simplified EASIX = LDH (U/L) / platelets (10^9/L); ``None``/NaN = missing."""
    return _ratio("simplified EASIX", f"{_LDH_TERM} / {_PLATELETS_TERM}", [(_LDH, ldh)], platelets)


def m_easix(*, ldh: float | None, crp_mg_dl: float | None, platelets: float | None) -> ScoreResult:
    """m-EASIX = LDH (U/L) x CRP (mg/dL) / platelets (10^9/L); ``None``/NaN = missing."""
    return _ratio(
        "m-EASIX",
        f"{_LDH_TERM} x CRP ({EASIX_CRP_UNIT}) / {_PLATELETS_TERM}",
        [(_LDH, ldh), (_CRP, crp_mg_dl)],
        platelets,
    )
