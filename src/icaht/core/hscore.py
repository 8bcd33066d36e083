"""HScore for reactive hemophagocytic syndrome (Fardet, Arthritis Rheumatol 2014; ``FARDET``).

Shown as supporting information for suspected IEC-HS (``docs/decisions.md``). Table
from ``docs/evidence.md`` 5.4 (Fardet's table as reproduced in Hindawi CRIRH 2017
tab. 3 and PMC7589537 table 4):

=========================================  ==================================================
Known immunosuppression (HIV+ or long-term  no 0; yes 18
immunosuppressive therapy)
Temperature (deg C)                         <38.4 -> 0; 38.4-39.4 -> 33; >39.4 -> 49
Organomegaly                                none 0; hepatomegaly or splenomegaly 23; both 38
Cytopenic lineages (Hb <=9.2 g/dL,          0 or 1 lineage 0; 2 -> 24; 3 -> 34
WBC <=5.0 x10^9/L, PLT <=110 x10^9/L)
Ferritin (ng/mL)                            <2000 -> 0; 2000-6000 -> 35; >6000 -> 50
Triglycerides (mmol/L)                      <1.5 -> 0; 1.5-4 -> 44; >4 -> 64
Fibrinogen (g/L)                            >2.5 -> 0; <=2.5 -> 30
AST (U/L)                                   <30 -> 0; >=30 -> 19
Hemophagocytosis on bone marrow aspirate    no 0; yes 35
=========================================  ==================================================

Decisions:

* Range ends written "a-b" are inclusive (temperature 38.4 and 39.4 -> 33; ferritin 2000 and 6000
  -> 35; triglycerides 1.5 and 4 mmol/L -> 44), matching the reproduced table's "strictly <" and
  "strictly >" wording for temperature.
* Triglycerides: the table is in mmol/L; icaht's canonical unit is mg/dL, so the cut-offs are
  converted with 88.57 mg/dL per mmol/L (clinical-reference 8.2): 1.5 mmol/L = 132.855 mg/dL and
  4 mmol/L = 354.28 mg/dL. (Some reproductions print 132.7 mg/dL, i.e. a factor of about 88.5; the
  two differ only for 132.7-132.85 mg/dL.)
* Fibrinogen: 2.5 g/L = 250 mg/dL (clinical-reference 8.2).
* Zero cytopenic lineages score 0, like one lineage (clinical-reference 5.4, derived: the table
  only states "1 lineage = 0").
* Missing inputs are never scored 0: the result is not computable, ``minimum`` is the points of the
  known items and ``maximum`` adds the most each missing item could add (partially known items,
  such as organomegaly with one organ unknown, contribute their own range).
* Probability: from the published table (90 -> <1%, 100 -> 1%, ... 240 -> 99%, >=250 -> >99%). A
  total between tabulated scores is read at the **highest tabulated score not above it** (169 is
  read at 160 -> 40%; the next row, 170 -> 54%, is named in the notes); a total below 90 reads
  "<1%" (Fardet: "<1% with an HScore <=90").
* Cut-off: Fardet's best cut-off is 169 (sensitivity 93%, specificity 86%); a total >= 169 is
  reported as "at or above cut-off 169".

Points, cut-offs and the probability table are data in ``icaht.knowledge.score_criteria``.
"""

from __future__ import annotations

import bisect
from typing import Final

from icaht.core.score_result import MISSING_BAND, ScoreItem, ScoreResult, present_input
from icaht.knowledge.score_criteria import (
    HSCORE_AST_POINTS,
    HSCORE_AST_U_PER_L,
    HSCORE_BEST_CUTOFF,
    HSCORE_CYTOPENIA_HB_G_PER_DL,
    HSCORE_CYTOPENIA_PLATELETS_10E9_PER_L,
    HSCORE_CYTOPENIA_POINTS_BY_LINEAGES,
    HSCORE_CYTOPENIA_WBC_10E9_PER_L,
    HSCORE_FERRITIN_HIGH_POINTS,
    HSCORE_FERRITIN_LOWER_NG_PER_ML,
    HSCORE_FERRITIN_MID_POINTS,
    HSCORE_FERRITIN_UPPER_NG_PER_ML,
    HSCORE_FIBRINOGEN_MG_PER_DL,
    HSCORE_FIBRINOGEN_POINTS,
    HSCORE_HEMOPHAGOCYTOSIS_POINTS,
    HSCORE_IMMUNOSUPPRESSION_POINTS,
    HSCORE_ORGANOMEGALY_BOTH_POINTS,
    HSCORE_ORGANOMEGALY_ONE_POINTS,
    HSCORE_PROBABILITY_TABLE,
    HSCORE_TEMP_HIGH_POINTS,
    HSCORE_TEMP_LOWER_C,
    HSCORE_TEMP_MID_POINTS,
    HSCORE_TEMP_UPPER_C,
    HSCORE_TG_HIGH_POINTS,
    HSCORE_TG_LOWER_MG_PER_DL,
    HSCORE_TG_LOWER_MMOL_PER_L,
    HSCORE_TG_MID_POINTS,
    HSCORE_TG_UPPER_MG_PER_DL,
    HSCORE_TG_UPPER_MMOL_PER_L,
    TRIGLYCERIDES_MG_PER_DL_PER_MMOL_PER_L,
)

NAME: Final = "HScore"
CITATIONS: Final = ("FARDET",)

_TABLE_SCORES: Final = tuple(s for s, _ in HSCORE_PROBABILITY_TABLE)
_COUNT = "10^9/L"


def probability_row(total: float) -> tuple[int | None, str]:
    """The tabulated row a total is read at and its probability label.

    The highest tabulated score not above ``total``; below the first row (90) the label is
    ``"<1%"`` with no row.
    """
    i = bisect.bisect_right(_TABLE_SCORES, total) - 1
    if i < 0:
        return None, HSCORE_PROBABILITY_TABLE[0][1]
    return HSCORE_PROBABILITY_TABLE[i]


def _probability_note(total: float) -> str:
    row, label = probability_row(total)
    if row is None:
        return f"probability <1%: {total:g} is below the first tabulated score (90 → <1%)"
    i = _TABLE_SCORES.index(row)
    if row == total or i + 1 == len(_TABLE_SCORES):
        return f"probability {label}: read at tabulated score {row}"
    nxt, nxt_label = HSCORE_PROBABILITY_TABLE[i + 1]
    return (
        f"probability {label}: {total:g} lies between tabulated scores {row} ({label}) and "
        f"{nxt} ({nxt_label}); read at the highest tabulated score not above it"
    )


class _Acc:
    """Collects items, missing inputs and the known/maximum points."""

    __slots__ = ("items", "known", "missing", "upper")

    def __init__(self) -> None:
        self.items: list[ScoreItem] = []
        self.missing: list[str] = []
        self.known = 0  # points certain from the known inputs (the minimum)
        self.upper = 0  # the most the total can be

    def add(
        self,
        name: str,
        value: float | None,
        unit: str,
        points: int | None,
        band: str,
        *,
        low: int,
        high: int,
    ) -> None:
        self.items.append(ScoreItem(name=name, value=value, unit=unit, points=points, band=band))
        self.known += low
        self.upper += high


def _flag(acc: _Acc, name: str, flag: bool | None, points: int, label: str) -> None:
    if flag is None:
        acc.missing.append(name)
        acc.add(name, None, "yes/no", None, MISSING_BAND, low=0, high=points)
    else:
        got = points if flag else 0
        band = f"{label}: {'yes' if flag else 'no'} → {got}"
        acc.add(name, float(flag), "yes/no", got, band, low=got, high=got)


def _temperature(acc: _Acc, t: float | None) -> None:
    name, unit = "temperature_c", "°C"
    if t is None:
        acc.missing.append(name)
        acc.add(name, None, unit, None, MISSING_BAND, low=0, high=HSCORE_TEMP_HIGH_POINTS)
        return
    lo, hi = HSCORE_TEMP_LOWER_C, HSCORE_TEMP_UPPER_C
    if t < lo:
        pts, band = 0, f"<{lo:g} °C → 0"
    elif t <= hi:
        pts, band = HSCORE_TEMP_MID_POINTS, f"{lo:g}-{hi:g} °C → {HSCORE_TEMP_MID_POINTS}"
    else:
        pts, band = HSCORE_TEMP_HIGH_POINTS, f">{hi:g} °C → {HSCORE_TEMP_HIGH_POINTS}"
    acc.add(name, t, unit, pts, band, low=pts, high=pts)


def _organomegaly(acc: _Acc, hepatomegaly: bool | None, splenomegaly: bool | None) -> None:
    def pts(n: int) -> int:
        return (0, HSCORE_ORGANOMEGALY_ONE_POINTS, HSCORE_ORGANOMEGALY_BOTH_POINTS)[n]

    flags = {"hepatomegaly": hepatomegaly, "splenomegaly": splenomegaly}
    unknown = [k for k, v in flags.items() if v is None]
    enlarged = sum(1 for v in flags.values() if v)
    shown = ", ".join(
        f"{k} {'missing' if v is None else ('yes' if v else 'no')}" for k, v in flags.items()
    )
    if unknown:
        acc.missing.extend(unknown)
        low, high = pts(enlarged), pts(enlarged + len(unknown))
        band = f"{MISSING_BAND} ({shown}: {low}-{high} points)"
        acc.add("organomegaly", None, "organs", None, band, low=low, high=high)
        return
    got = pts(enlarged)
    acc.add("organomegaly", float(enlarged), "organs", got, f"{shown} → {got}", low=got, high=got)


def _cytopenias(acc: _Acc, hb: float | None, wbc: float | None, platelets: float | None) -> None:
    def pts(n: int) -> int:
        return HSCORE_CYTOPENIA_POINTS_BY_LINEAGES[n]

    lineages = (
        ("hb", hb, HSCORE_CYTOPENIA_HB_G_PER_DL, "g/dL"),
        ("wbc", wbc, HSCORE_CYTOPENIA_WBC_10E9_PER_L, _COUNT),
        ("platelets", platelets, HSCORE_CYTOPENIA_PLATELETS_10E9_PER_L, _COUNT),
    )
    parts: list[str] = []
    unknown: list[str] = []
    cytopenic = 0
    for name, value, cut, unit in lineages:
        if value is None:
            unknown.append(name)
            parts.append(f"{name} missing")
        elif value <= cut:
            cytopenic += 1
            parts.append(f"{name} {value:g} ≤{cut:g} {unit}")
        else:
            parts.append(f"{name} {value:g} >{cut:g} {unit}")
    shown = ", ".join(parts)
    if unknown:
        acc.missing.extend(unknown)
        low, high = pts(cytopenic), pts(cytopenic + len(unknown))
        band = f"{MISSING_BAND} ({shown}: {low}-{high} points)"
        acc.add("cytopenias", None, "lineages", None, band, low=low, high=high)
        return
    got = pts(cytopenic)
    band = f"{shown}: {cytopenic} cytopenic lineage(s) → {got}"
    acc.add("cytopenias", float(cytopenic), "lineages", got, band, low=got, high=got)


def _ferritin(acc: _Acc, v: float | None) -> None:
    name, unit = "ferritin", "ng/mL"
    lo, hi = HSCORE_FERRITIN_LOWER_NG_PER_ML, HSCORE_FERRITIN_UPPER_NG_PER_ML
    mid, top = HSCORE_FERRITIN_MID_POINTS, HSCORE_FERRITIN_HIGH_POINTS
    if v is None:
        acc.missing.append(name)
        acc.add(name, None, unit, None, MISSING_BAND, low=0, high=top)
        return
    if v < lo:
        pts, band = 0, f"<{lo:g} ng/mL → 0"
    elif v <= hi:
        pts, band = mid, f"{lo:g}-{hi:g} ng/mL → {mid}"
    else:
        pts, band = top, f">{hi:g} ng/mL → {top}"
    acc.add(name, v, unit, pts, band, low=pts, high=pts)


def _triglycerides(acc: _Acc, v: float | None) -> None:
    name, unit = "triglycerides_mg_dl", "mg/dL"
    lo, hi = HSCORE_TG_LOWER_MG_PER_DL, HSCORE_TG_UPPER_MG_PER_DL
    lo_mmol, hi_mmol = HSCORE_TG_LOWER_MMOL_PER_L, HSCORE_TG_UPPER_MMOL_PER_L
    mid, top = HSCORE_TG_MID_POINTS, HSCORE_TG_HIGH_POINTS
    if v is None:
        acc.missing.append(name)
        acc.add(name, None, unit, None, MISSING_BAND, low=0, high=top)
        return
    conv = f"at {TRIGLYCERIDES_MG_PER_DL_PER_MMOL_PER_L:g} mg/dL per mmol/L"
    if v < lo:
        pts, band = 0, f"<{lo_mmol:g} mmol/L (<{lo:.2f} mg/dL {conv}) → 0"
    elif v <= hi:
        pts = mid
        band = f"{lo_mmol:g}-{hi_mmol:g} mmol/L ({lo:.2f}-{hi:.2f} mg/dL {conv}) → {mid}"
    else:
        pts, band = top, f">{hi_mmol:g} mmol/L (>{hi:.2f} mg/dL {conv}) → {top}"
    acc.add(name, v, unit, pts, band, low=pts, high=pts)


def _fibrinogen(acc: _Acc, v: float | None) -> None:
    name, unit = "fibrinogen_mg_dl", "mg/dL"
    cut, got_pts = HSCORE_FIBRINOGEN_MG_PER_DL, HSCORE_FIBRINOGEN_POINTS
    if v is None:
        acc.missing.append(name)
        acc.add(name, None, unit, None, MISSING_BAND, low=0, high=got_pts)
        return
    if v <= cut:
        pts, band = got_pts, f"≤{cut / 100:g} g/L (≤{cut:g} mg/dL) → {got_pts}"
    else:
        pts, band = 0, f">{cut / 100:g} g/L (>{cut:g} mg/dL) → 0"
    acc.add(name, v, unit, pts, band, low=pts, high=pts)


def _ast(acc: _Acc, v: float | None) -> None:
    name, unit = "ast", "U/L"
    cut, got_pts = HSCORE_AST_U_PER_L, HSCORE_AST_POINTS
    if v is None:
        acc.missing.append(name)
        acc.add(name, None, unit, None, MISSING_BAND, low=0, high=got_pts)
        return
    if v >= cut:
        pts, band = got_pts, f"≥{cut:g} U/L → {got_pts}"
    else:
        pts, band = 0, f"<{cut:g} U/L → 0"
    acc.add(name, v, unit, pts, band, low=pts, high=pts)


def _cutoff_label(total: float) -> str:
    if total >= HSCORE_BEST_CUTOFF:
        return f"at or above cut-off {HSCORE_BEST_CUTOFF}"
    return f"below cut-off {HSCORE_BEST_CUTOFF}"


def hscore(
    *,
    immunosuppression: bool | None = None,
    temperature_c: float | None = None,
    hepatomegaly: bool | None = None,
    splenomegaly: bool | None = None,
    hb: float | None = None,
    wbc: float | None = None,
    platelets: float | None = None,
    ferritin: float | None = None,
    triglycerides_mg_dl: float | None = None,
    fibrinogen_mg_dl: float | None = None,
    ast: float | None = None,
    hemophagocytosis: bool | None = None,
) -> ScoreResult:
    """HScore (0-337) from the items of Fardet 2014; every input is optional (``None`` = unknown).

    Canonical units: temperature deg C (the highest recorded), Hb g/dL, WBC and platelets
    10^9/L, ferritin ng/mL, triglycerides mg/dL, fibrinogen mg/dL, AST U/L.
    ``immunosuppression`` = HIV-positive or long-term immunosuppressive therapy;
    ``hemophagocytosis`` = features on a bone marrow aspirate.

    With every input known: ``total``, ``probability`` (from the published table) and ``category``
    relative to the best cut-off 169. Otherwise not computable, with ``missing``, ``minimum`` and
    ``maximum`` (and the probabilities at both ends in the notes).
    """
    acc = _Acc()
    _flag(acc, "immunosuppression", immunosuppression, HSCORE_IMMUNOSUPPRESSION_POINTS,
          "known immunosuppression")  # fmt: skip
    _temperature(acc, present_input("temperature_c", temperature_c))
    _organomegaly(acc, hepatomegaly, splenomegaly)
    _cytopenias(
        acc,
        present_input("hb", hb),
        present_input("wbc", wbc),
        present_input("platelets", platelets),
    )
    _ferritin(acc, present_input("ferritin", ferritin))
    _triglycerides(acc, present_input("triglycerides_mg_dl", triglycerides_mg_dl))
    _fibrinogen(acc, present_input("fibrinogen_mg_dl", fibrinogen_mg_dl))
    _ast(acc, present_input("ast", ast))
    _flag(acc, "hemophagocytosis", hemophagocytosis, HSCORE_HEMOPHAGOCYTOSIS_POINTS,
          "hemophagocytosis on bone marrow aspirate")  # fmt: skip

    cutoff_note = (
        f"Best cut-off {HSCORE_BEST_CUTOFF} (sensitivity 93%, specificity 86%; Fardet 2014); "
        "supporting information only, not a diagnosis."
    )
    low, high = float(acc.known), float(acc.upper)
    if not acc.missing:
        total = low
        _, label = probability_row(total)
        return ScoreResult(
            name=NAME,
            version="Fardet 2014 (0-337)",
            citations=list(CITATIONS),
            computable=True,
            total=total,
            category=_cutoff_label(total),
            items=acc.items,
            notes=[_probability_note(total), cutoff_note],
            minimum=total,
            maximum=total,
            probability=label,
        )
    notes = [
        f"Known items give {low:g}; the missing items could add up to {high - low:g}: the total "
        f"lies in {low:g}-{high:g} (probability {probability_row(low)[1]} to "
        f"{probability_row(high)[1]}). Missing items are never scored 0.",
        cutoff_note,
    ]
    if low >= HSCORE_BEST_CUTOFF:
        notes.append(f"At or above cut-off {HSCORE_BEST_CUTOFF} whatever the missing items.")
    elif high < HSCORE_BEST_CUTOFF:
        notes.append(f"Below cut-off {HSCORE_BEST_CUTOFF} whatever the missing items.")
    return ScoreResult(
        name=NAME,
        version="Fardet 2014 (0-337)",
        citations=list(CITATIONS),
        computable=False,
        total=None,
        items=acc.items,
        missing=acc.missing,
        reason="missing input(s): " + ", ".join(acc.missing) + " (never scored as 0)",
        notes=notes,
        minimum=low,
        maximum=high,
    )
