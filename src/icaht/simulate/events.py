"""Clinical events of one synthetic patient: outcomes (progression, death, next therapy, last
follow-up, day-30 response), CRS and ICANS with their treatment, severe infection, G-CSF, TPO-RA
courses, marrow biopsies, transfusions and anti-infective prophylaxis.

Events are plain dicts with the PatientRecord event fields (``kind``, ``start``, ``end``, ...), so
the record and the tabular writers share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from icaht.simulate import targets as t
from icaht.simulate.courses import CoursePlan, TpoPlan

FloatArray = NDArray[np.float64]
Generator = np.random.Generator
EventRow = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Progression, death and the end of follow-up (day numbers; None = not within a year)."""

    progression_day: float | None
    death_day: float | None
    next_therapy_day: float | None
    lost_day: float | None
    labs_end_day: float


def _round(day: float) -> float:
    return round(float(day), 2)


def draw_outcomes(
    rng: Generator, disease: t.Disease, high_risk: bool, tpo: TpoPlan | None
) -> Outcomes:
    """Outcomes within the first year. A patient on a TPO-RA is in remission through the course
    (BK patients responded to CAR-T); a non-responder may die of the aplasia later."""
    risk: t.Risk = "high" if high_risk else "low"
    progression = None
    if rng.random() < t.PROGRESSION_1Y[disease]:
        progression = 30.0 + float(rng.exponential(t.PROGRESSION_MEAN_DAYS_AFTER_30))
        if progression > t.FOLLOW_UP_DAYS:
            progression = None
    death = None
    if rng.random() < t.NRM_1Y[risk]:
        death = float(rng.uniform(15, t.FOLLOW_UP_DAYS))
    if tpo is not None:
        progression = None
        if death is not None:
            death = max(death, tpo.start_day + 70.0) if not tpo.response else None
    if death is not None:
        progression = None  # competing risks: the non-relapse death comes first
    elif progression is not None and rng.random() < t.DEATH_AFTER_PROGRESSION:
        death = progression + float(rng.uniform(20, 250))
    if death is not None and death > t.FOLLOW_UP_DAYS:
        death = None
    next_therapy = None
    if progression is not None and rng.random() < t.NEXT_THERAPY_AFTER_PROGRESSION:
        next_therapy = progression + float(rng.uniform(7, 30))
    lost = float(rng.uniform(60, t.FOLLOW_UP_DAYS)) if rng.random() < t.LOST_TO_FOLLOW_UP else None
    if tpo is not None and lost is not None:
        lost = max(lost, tpo.start_day + 150.0)
    end = t.FOLLOW_UP_DAYS + 1.0
    for stop in (death, lost, progression + rng.uniform(0, 30) if progression else None):
        if stop is not None:
            end = min(end, stop)
    return Outcomes(
        progression_day=progression,
        death_day=death,
        next_therapy_day=next_therapy if next_therapy is None or next_therapy < end + 30 else None,
        lost_day=lost,
        labs_end_day=end,
    )


def outcome_events(rng: Generator, outcomes: Outcomes, prior_cr: bool) -> list[EventRow]:
    rows: list[EventRow] = []
    progression = outcomes.progression_day
    if progression is None or progression > 30.5:
        status = ("cr", "pr", "sd")[int(rng.choice(3, p=t.DAY30_RESPONSE))]
        if outcomes.death_day is None or outcomes.death_day > 30.5:
            rows.append({"kind": "disease_status", "start": 30.5, "status": status})
            prior_cr = status == "cr"
    if progression is not None:
        rows.append(
            {
                "kind": "disease_status",
                "start": _round(progression),
                "status": "relapse" if prior_cr else "pd",
            }
        )
    if outcomes.next_therapy_day is not None:
        rows.append({"kind": "next_therapy", "start": _round(outcomes.next_therapy_day)})
    if outcomes.death_day is not None:
        cause = "progression" if progression is not None else "non-relapse"
        rows.append({"kind": "death", "start": _round(outcomes.death_day), "cause": cause})
    else:
        last = outcomes.lost_day if outcomes.lost_day is not None else float(t.FOLLOW_UP_DAYS)
        rows.append({"kind": "last_follow_up", "start": _round(last)})
    return rows


def crs_icans(
    rng: Generator, key: str, death_day: float | None
) -> tuple[list[EventRow], tuple[float, float, int] | None]:
    """CRS and ICANS episodes with fever, tocilizumab and dexamethasone; returns the events and
    (onset, end, grade) of the CRS for the inflammation markers."""
    any_crs, severe_crs, onset_median = t.CRS_RATES[key]
    any_icans, severe_icans = t.ICANS_RATES[key]
    rows: list[EventRow] = []
    crs = None
    if rng.random() < any_crs:
        onset = max(0.2, onset_median + rng.normal(0.0, 1.5))
        grade = _grade(rng, severe_crs / any_crs)
        end = onset + rng.uniform(2, 9)
        crs = (onset, end, grade)
        rows.append({"kind": "crs", "start": _round(onset), "end": _round(end), "grade": grade})
        rows.append(
            {
                "kind": "fever",
                "start": _round(onset),
                "temperature_c": round(rng.uniform(38.0, 40.5), 1),
            }
        )
        if grade >= 2:
            rows.append(_medication("tocilizumab", onset + 0.5, onset + 1.5, 8.0, "mg/kg", "once"))
    if rng.random() < any_icans:
        onset = (crs[0] if crs else rng.uniform(2, 6)) + rng.uniform(1, 5)
        grade = _grade(rng, severe_icans / any_icans)
        end = onset + rng.uniform(2, 12)
        rows.append({"kind": "icans", "start": _round(onset), "end": _round(end), "grade": grade})
        if grade >= 2:
            rows.append(_medication("dexamethasone", onset, end, 10.0, "mg", "every 6 hours"))
    if death_day is not None:
        rows = [r for r in rows if r["start"] < death_day]
        for r in rows:
            if r.get("end") is not None and r["end"] > death_day:
                r["end"] = _round(death_day)
    return rows, crs


def _grade(rng: Generator, severe_share: float) -> int:
    if rng.random() < severe_share:
        return 3 if rng.random() < t.HIGH_GRADE_3_SHARE else 4
    return 1 if rng.random() < t.LOW_GRADE_1_SHARE else 2


def _medication(
    drug: str, start: float, end: float | None, dose: float, unit: str, frequency: str
) -> EventRow:
    row: EventRow = {
        "kind": "medication",
        "start": _round(start),
        "drug": drug,
        "dose": dose,
        "dose_unit": unit,
        "frequency": frequency,
    }
    if end is not None:
        row["end"] = _round(max(end, start))
    return row


def infection(rng: Generator, high_risk: bool, end_day: float) -> list[EventRow]:
    risk: t.Risk = "high" if high_risk else "low"
    if rng.random() >= t.SEVERE_INFECTION[risk]:
        return []
    start = float(rng.uniform(3, 90))
    if start >= end_day:
        return []
    site, organism = [
        ("bloodstream", "Escherichia coli"),
        ("lung", "Aspergillus fumigatus"),
        ("lung", "SARS-CoV-2"),
        ("bloodstream", "Staphylococcus epidermidis"),
    ][int(rng.integers(4))]
    row: EventRow = {
        "kind": "infection",
        "start": _round(start),
        "end": _round(min(start + rng.uniform(5, 21), end_day)),
        "severity": "severe",
        "site": site,
        "organism": organism,
    }
    return [row]


def gcsf(
    rng: Generator,
    days: FloatArray,
    anc: FloatArray,
    plan: CoursePlan,
    crs: tuple[float, float, int] | None,
) -> list[EventRow]:
    """Filgrastim 5 ug/kg daily: when ANC <= 0.5 on or after day 7 (deferred while CRS is active,
    docs/decisions.md), until ANC > 1.0; for a biphasic drop below 0.75 until > 1.5 (JAIN).
    TPO-RA patients are on daily G-CSF before the TPO-RA (BK)."""
    rows: list[EventRow] = []
    earliest = float(t.GCSF_START_DAY)
    if crs is not None and crs[2] >= 2:
        earliest = max(earliest, crs[1])
    severe = np.flatnonzero((days >= earliest) & (anc <= 0.5))
    given = plan.tpo is not None or rng.random() < t.GCSF_WHEN_ELIGIBLE
    if severe.size and given:
        first = int(severe[0])
        later = np.flatnonzero((np.arange(days.size) > first) & (anc > 1.0))
        stop = float(days[later[0]]) if later.size else float(days[-1])
        if plan.tpo is not None and plan.tpo.anc_day is None:
            stop = plan.tpo.start_day + 7 * t.TPO_RA_NO_RESPONSE_STOP_WEEKS
        rows.append(
            _medication(
                "filgrastim", float(days[first]) + 0.1, stop, t.FILGRASTIM_UG_KG, "ug/kg", "daily"
            )
        )
    if plan.dip is not None and rng.random() < t.GCSF_SECOND_DIP_SHARE:
        low = np.flatnonzero((days > 21) & (anc < t.GCSF_SECOND_DIP_BELOW_10E9_PER_L))
        if low.size:
            first = int(low[0])
            after = np.flatnonzero(
                (np.arange(days.size) > first) & (anc > t.GCSF_SECOND_DIP_UNTIL_10E9_PER_L)
            )
            stop = float(days[after[0]]) if after.size else float(days[-1])
            start = float(days[first]) + 0.1
            if not rows or start > rows[-1].get("end", start):
                rows.append(
                    _medication("filgrastim", start, stop, t.FILGRASTIM_UG_KG, "ug/kg", "daily")
                )
    return rows


def tpo_ra(rng: Generator, tpo: TpoPlan, end_day: float) -> list[EventRow]:
    """The TPO-RA segments (BK regimens), and a marrow biopsy before (BAUR/clinical-decisions:
    marrow infiltration and MDS excluded first)."""
    start = tpo.start_day
    rows: list[EventRow] = [
        {
            "kind": "marrow_biopsy",
            "start": _round(start - rng.uniform(3, 10)),
            "cellularity": "hypocellular",
            "malignant_infiltration": False,
            "mds": False,
            "dysplasia": False,
            "megakaryopoiesis": "reduced",
        }
    ]
    if tpo.response:
        assert tpo.platelet_day is not None
        stop = tpo.platelet_day + float(rng.uniform(14, 42))  # BK: taper after response
    else:
        stop = start + 7.0 * t.TPO_RA_NO_RESPONSE_STOP_WEEKS
    stop = min(stop, end_day)
    eltrombopag_from = start
    if tpo.regimen in ("romiplostim", "both"):
        rows.append(
            _medication("romiplostim", start, start + 7.0, t.ROMIPLOSTIM_FLAT_UG, "ug", "weekly")
        )
        eltrombopag_from = start + 14.0
    if tpo.regimen in ("eltrombopag", "both"):
        dose = t.ELTROMBOPAG_START_MG
        seg = eltrombopag_from
        crossing = tpo.platelet_day if tpo.platelet_day is not None else stop
        while seg < stop:
            seg_end = min(seg + t.ELTROMBOPAG_STEP_DAYS, stop)
            if seg_end < stop and seg_end > crossing:
                seg_end = stop  # platelets responding: no further increase
            rows.append(_medication("eltrombopag", seg, seg_end - 0.01, dose, "mg", "daily"))
            dose = min(dose + t.ELTROMBOPAG_STEP_MG, t.ELTROMBOPAG_MAX_MG)
            seg = seg_end
    return rows


def transfusion_rows(product: str, given: list[tuple[float, int]]) -> list[EventRow]:
    return [
        {
            "kind": "transfusion",
            "start": _round(day),
            "product": product,
            "units": units,
            "irradiated": True,
        }
        for day, units in given
    ]


def prophylaxis(end_day: float, cytopenic: bool) -> list[EventRow]:
    """Antiviral from infusion for a year (ICAHT Table 3) and PJP prophylaxis from day 30: TMP-SMX,
    or atovaquone when cytopenias persist (JAIN)."""
    rows = [_medication("valaciclovir", 0.0, end_day, 500.0, "mg", "twice daily")]
    if end_day > 30:
        if cytopenic:
            rows.append(_medication("atovaquone", 30.0, end_day, 1500.0, "mg", "daily"))
        else:
            rows.append(
                _medication(
                    "sulfamethoxazole-trimethoprim",
                    30.0,
                    end_day,
                    960.0,
                    "mg",
                    "three times weekly",
                )
            )
    return rows
