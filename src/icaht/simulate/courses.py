"""Blood-count courses of one synthetic patient: the neutrophil phenotype, platelet and Hb courses,
the TPO-RA course where one is given, transfusions below the triggers, lymphocytes, WBC, CRP,
ferritin, LDH and creatinine.

A course is a log-linear curve through (day, level) knots with multiplicative noise, evaluated
at the draw days. Each phase then keeps its values on the right side of the threshold that
defines it (e.g. an aplastic course stays below ANC 0.5 for its whole severe run, a quick course
stays above 1.0 once recovered), so the published definitions the core applies read back the
phenotype that was drawn. Days of a phase boundary are whole (calendar) days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from icaht.simulate import targets as t
from icaht.simulate.facts import Baseline

FloatArray = NDArray[np.float64]
Generator = np.random.Generator
Knots = list[tuple[float, float]]

ANC_SEVERE_BELOW = 0.48  # kept strictly under the 0.5 threshold (ICAHT "<= 0.5", HT "< 0.5")
ANC_NOT_SEVERE_ABOVE = 0.52
ANC_RECOVERED_ABOVE = 1.1  # above the 1.0 of the phenotype definitions
ANC_DIP_BELOW = 0.95
ANC_NOT_PROFOUND_ABOVE = 0.11  # above the 0.1 of profound neutropenia (HT)
ANC_PROFOUND_NOT_BELOW = 0.01  # laboratories report down to 0.01 x10^9/L
LINEAGE_MET_MARGIN = 1.0  # platelets kept 1 x10^9/L, Hb 0.1 g/dL from the BK thresholds


@dataclass(frozen=True, slots=True)
class TpoPlan:
    """A TPO-RA course (BK): start day, regimen, response and the day each lineage crosses its
    BK threshold (None = does not within follow-up)."""

    start_day: float
    regimen: str
    response: bool
    complete: bool
    anc_day: float | None
    platelet_day: float | None
    hb_day: float | None


@dataclass(frozen=True, slots=True)
class CoursePlan:
    """The drawn shape of the counts (hidden truth; the core must read it back)."""

    phenotype: t.Phenotype
    severe_start: int
    severe_end: int
    profound: bool
    recovered_day: int | None
    dip: tuple[int, int] | None
    second_severe: tuple[int, int] | None
    platelet_recovery_day: float
    hb_recovery_day: float
    tpo: TpoPlan | None


def _split_uniform(rng: Generator, spec: tuple[float, float, float]) -> float:
    """Half the draws between min and median, half between median and max."""
    low, median, high = spec
    return float(rng.uniform(low, median) if rng.random() < 0.5 else rng.uniform(median, high))


def _severe_days(rng: Generator, phenotype: t.Phenotype, high_risk: bool) -> int:
    if phenotype == "aplastic":
        return t.APLASTIC_MIN_SEVERE_DAYS + int(rng.exponential(t.APLASTIC_EXTRA_MEAN_DAYS))
    if rng.random() < t.NO_SEVERE_SHARE["high" if high_risk else "low"]:
        return 0
    if high_risk:
        days = rng.normal(*t.SEVERE_DAYS_HIGH_NORMAL)
        return int(np.clip(round(days), 3, t.NON_APLASTIC_MAX_SEVERE_DAYS))
    days = rng.gamma(*t.SEVERE_DAYS_LOW_GAMMA)
    return int(np.clip(round(days), 1, t.NON_APLASTIC_MAX_SEVERE_DAYS))


def _tpo_plan(rng: Generator) -> TpoPlan:
    start = round(_split_uniform(rng, t.TPO_RA_START_DAY))
    regimen = list(t.TPO_RA_REGIMEN_MIX)[
        int(rng.choice(len(t.TPO_RA_REGIMEN_MIX), p=list(t.TPO_RA_REGIMEN_MIX.values())))
    ]
    response = bool(rng.random() < t.TPO_RA_RESPONSE_SHARE)
    complete = response and bool(rng.random() < t.TPO_RA_COMPLETE_SHARE)

    def crossing(lineage: str) -> float:
        days = _split_uniform(rng, t.TPO_RA_DAYS_TO_RESOLUTION[lineage])
        return float(start + max(1.0, round(days - t.TPO_RA_THIRD_VALUE_LAG_DAYS)))

    anc = crossing("neutrophils")
    platelets = crossing("platelets")
    hb = crossing("hemoglobin")
    if not response:
        return TpoPlan(start, regimen, False, False, None, None, None)
    if not complete:  # one lineage short of complete resolution: hemoglobin stays <= 8
        return TpoPlan(start, regimen, True, False, anc, platelets, None)
    return TpoPlan(start, regimen, True, True, anc, platelets, hb)


def plan_course(rng: Generator, high_risk: bool) -> CoursePlan:
    """Draw the phenotype (by CAR-HEMATOTOX risk), the severe-neutropenia run and the rest."""
    mix = t.PHENOTYPE_MIX["high" if high_risk else "low"]
    phenotype: t.Phenotype = t.PHENOTYPES[int(rng.choice(3, p=[mix[p] for p in t.PHENOTYPES]))]
    start = int(rng.integers(1, 5))
    tpo = None
    if phenotype == "aplastic" and rng.random() < t.TPO_RA_GIVEN_APLASTIC:
        tpo = _tpo_plan(rng)
    end = start + _severe_days(rng, phenotype, high_risk)
    second = None
    if tpo is not None:  # partial recovery, then severe again from before the TPO-RA (BK)
        anc_day = int(tpo.anc_day) if tpo.anc_day is not None else 10_000
        fall = int(tpo.start_day - rng.integers(8, 16))
        if fall <= end + 4:  # no partial recovery in between: one continuous run
            fall = end
        second = (fall, max(anc_day, fall + 1))
    profound_p = t.PROFOUND_SHARE_APLASTIC if phenotype == "aplastic" else t.PROFOUND_SHARE_OTHER
    if end == start:
        profound_p = 0.0
    recovered = dip = None
    if phenotype != "aplastic":
        recovered = end + int(rng.integers(2, 7))
        if phenotype == "intermittent":
            dip_start = max(round(rng.uniform(*t.SECOND_DIP_START_DAYS)), recovered + 4)
            dip = (dip_start, dip_start + round(rng.uniform(*t.SECOND_DIP_DAYS)))
    platelet_recovery = {
        "quick": rng.uniform(14, 35),
        "intermittent": rng.uniform(21, 60),
        "aplastic": rng.uniform(45, 180),
    }[phenotype]
    hb_recovery = {
        "quick": rng.uniform(30, 80),
        "intermittent": rng.uniform(40, 100),
        "aplastic": rng.uniform(90, 240),
    }[phenotype]
    if tpo is not None:
        platelet_recovery = tpo.platelet_day if tpo.platelet_day is not None else 10_000.0
        hb_recovery = tpo.hb_day if tpo.hb_day is not None else 10_000.0
    return CoursePlan(
        phenotype=phenotype,
        severe_start=start,
        severe_end=end,
        profound=bool(rng.random() < profound_p),
        recovered_day=recovered,
        dip=dip,
        second_severe=second,
        platelet_recovery_day=float(platelet_recovery),
        hb_recovery_day=float(hb_recovery),
        tpo=tpo,
    )


def _curve(rng: Generator, days: FloatArray, knots: Knots, sd: float) -> FloatArray:
    """Log-linear interpolation through the knots (sorted by day) times lognormal noise."""
    ordered: Knots = []
    for day, level in sorted(knots, key=lambda k: k[0]):
        if not ordered or day > ordered[-1][0]:  # np.interp needs increasing days
            ordered.append((day, level))
    x = np.array([k[0] for k in ordered])
    y = np.log(np.array([max(k[1], 1e-3) for k in ordered]))
    curve: FloatArray = np.exp(np.interp(days, x, y))
    return curve * rng.lognormal(0.0, sd, days.size)


def anc_course(
    rng: Generator, plan: CoursePlan, base: Baseline, ld: float, days: FloatArray
) -> FloatArray:
    """ANC (10^9/L) at the draw days; the first draw is the pre-lymphodepletion baseline."""
    b0 = base.anc
    s, e = plan.severe_start, plan.severe_end
    nadir = rng.uniform(0.01, 0.09) if plan.profound else rng.uniform(0.12, 0.4)
    nadir_day = s + min(float(rng.uniform(1, 4)), (e - s) / 2)
    knots: Knots = [(-10.0, b0), (ld, b0), (0.0, max(b0 * rng.uniform(0.5, 0.9), 0.7))]
    if e > s:
        knots += [(s - 0.2, 0.55), (s, 0.45), (nadir_day, nadir), (e - 1.0, 0.4), (e, 0.55)]
    else:
        knots.append((s + rng.uniform(1, 4), rng.uniform(0.55, 0.95)))
    if plan.phenotype == "aplastic":
        if e - nadir_day > 6:
            knots.append(((nadir_day + e) / 2, rng.uniform(0.12, 0.35)))
        if plan.second_severe is not None:
            f0, f1 = plan.second_severe
            knots += [(f0 - 1.0, rng.uniform(0.6, 0.95)), (f0 + 2.0, rng.uniform(0.1, 0.35))]
            knots += [(f1 - 1.0, 0.4), (f1, 0.6)]
            e = f1
        knots += [(e + rng.uniform(10, 40), rng.uniform(0.9, 2.5)), (400.0, rng.uniform(1.5, 3.5))]
    else:
        assert plan.recovered_day is not None
        level = rng.uniform(1.5, 4.0)
        knots.append((plan.recovered_day, level))
        if plan.dip is not None:
            d0, d1 = plan.dip
            depth = rng.uniform(*t.SECOND_DIP_NADIR_10E9_PER_L)
            knots += [(d0 - 1.0, level), (d0 + 2.0, depth), (d1 - 2.0, depth * rng.uniform(1, 1.2))]
            knots += [(d1, 1.2), (d1 + 6.0, rng.uniform(1.5, 3.5))]
        knots.append((400.0, level * rng.uniform(0.9, 1.3)))
    values = _curve(rng, days, knots, 0.12)
    cal = np.floor(days)
    s, e = plan.severe_start, plan.severe_end
    severe = (cal >= s) & (cal < e)
    if plan.second_severe is not None:
        severe |= (cal >= plan.second_severe[0]) & (cal < plan.second_severe[1])
    values = np.where(
        severe,
        np.minimum(values, ANC_SEVERE_BELOW),
        np.where(cal >= 0, np.maximum(values, ANC_NOT_SEVERE_ABOVE), values),
    )
    if plan.profound:  # the nadir is seen on its day
        values = np.where(np.floor(nadir_day) == cal, np.minimum(values, nadir), values)
    values = np.where(cal >= 0, np.maximum(values, ANC_PROFOUND_NOT_BELOW), values)
    if not plan.profound:
        values = np.where(cal >= 0, np.maximum(values, ANC_NOT_PROFOUND_ABOVE), values)
    if plan.recovered_day is not None:
        up = cal >= plan.recovered_day
        if plan.dip is not None:
            d0, d1 = plan.dip
            in_dip = (cal > d0) & (cal < d1)
            values = np.where(in_dip, np.minimum(values, ANC_DIP_BELOW), values)
            up &= (cal < d0) | (cal >= d1 + 6)
        values = np.where(up, np.maximum(values, ANC_RECOVERED_ABOVE), values)
    values[0] = b0
    return np.round(values, 2)


def platelet_course(
    rng: Generator, plan: CoursePlan, base: Baseline, ld: float, days: FloatArray
) -> FloatArray:
    """Platelets (10^9/L) before transfusions."""
    p0 = base.platelets
    scale = min(1.0, p0 / 150.0) ** 0.5
    nadir = {
        "quick": rng.uniform(12, 60) * scale,
        "intermittent": rng.uniform(8, 40) * scale,
        "aplastic": rng.uniform(3, 12),
    }[plan.phenotype]
    nadir_day = rng.uniform(7, 12)
    recovery = plan.platelet_recovery_day
    final = max(p0 * rng.uniform(0.7, 1.1), rng.uniform(60, 120))
    if plan.phenotype == "aplastic":
        final = rng.uniform(40, 150)
    knots: Knots = [(-10.0, p0), (ld, p0), (0.0, p0 * rng.uniform(0.75, 0.95))]
    knots.append((nadir_day, nadir))
    if recovery - 10 > nadir_day + 2:
        knots.append((recovery - 10, nadir * rng.uniform(1.2, 2.0)))
    knots += [
        (recovery, rng.uniform(50, 70)),
        (recovery + 30, final),
        (max(400, recovery + 31), final),
    ]
    if plan.tpo is not None:
        knots = [(-10.0, p0), (ld, p0), (0.0, p0 * 0.8), (nadir_day, rng.uniform(3.0, 8.0))]
        knots.append((recovery - 0.5, rng.uniform(4.0, 9.0)))  # transfusion-dependent (BK)
        knots += [(recovery + 1, 25.0), (recovery + 10, 45.0), (recovery + 40, final)]
        knots.append((max(400, recovery + 41), final))
    values = _curve(rng, days, knots, 0.15)
    values[0] = p0
    return values


def hb_course(
    rng: Generator, plan: CoursePlan, base: Baseline, ld: float, days: FloatArray
) -> FloatArray:
    """Hemoglobin (g/dL) before transfusions."""
    h0 = base.hb
    drop = {"quick": (0.8, 2.8), "intermittent": (1.2, 3.2), "aplastic": (2.0, 4.0)}
    nadir = max(h0 - rng.uniform(*drop[plan.phenotype]), rng.uniform(5.8, 7.0))
    recovery = plan.hb_recovery_day
    final = min(rng.uniform(10.5, 13.5), h0 + 2.0)
    knots: Knots = [(-10.0, h0), (ld, h0), (0.0, h0 * rng.uniform(0.92, 1.0))]
    nadir_day = rng.uniform(10, 25)
    knots.append((nadir_day, nadir))
    if plan.tpo is not None:
        knots = [(-10.0, h0), (ld, h0), (0.0, h0 * 0.95), (nadir_day, min(nadir, 7.2))]
        knots.append((max(recovery, nadir_day + 1), rng.uniform(6.4, 7.4)))
    elif recovery > nadir_day + 10:
        knots.append((recovery - 10, nadir * rng.uniform(1.0, 1.15)))
    knots += [(recovery + 20, max(final - 1.5, 8.6)), (recovery + 80, final)]
    knots.append((max(400, recovery + 81), final))
    values = np.maximum(_curve(rng, days, knots, 0.04), 5.0)
    tpo = plan.tpo
    if tpo is not None and tpo.response and tpo.hb_day is None and tpo.platelet_day is not None:
        # response without complete resolution (BK 1/6): Hb settles between 7 and 8 g/dL,
        # no longer transfused
        settled = days >= tpo.platelet_day + 10.0
        values = np.where(settled, np.clip(values + 0.8, 7.1, 7.9), values)
    values[0] = h0
    return values


def transfuse(
    rng: Generator,
    days: FloatArray,
    values: FloatArray,
    *,
    trigger: float,
    increment: float,
    fade_days: float,
    two_unit_share: float,
) -> tuple[FloatArray, list[tuple[float, int]]]:
    """Values after transfusions given when a drawn value (from day 0) is below the trigger;
    each unit adds ``increment`` fading with ``fade_days``. Returns (values, [(day, units)])."""
    out = values.copy()
    given: list[tuple[float, int]] = []
    for i in range(days.size):
        if given:
            boost = sum(
                units * increment * np.exp(-(days[i] - day) / fade_days) for day, units in given
            )
            out[i] = values[i] + boost
        if days[i] >= 0 and out[i] < trigger and rng.random() < t.TRANSFUSE_BELOW_TRIGGER:
            units = 2 if rng.random() < two_unit_share else 1
            given.append((float(days[i]) + 0.1, units))
    return out, given


def cap_before(
    days: FloatArray, values: FloatArray, day: float | None, cap: float, floor: float
) -> FloatArray:
    """Keep values under ``cap`` before ``day`` (None: always) and over ``floor`` from it on."""
    if day is None:
        return np.minimum(values, cap)
    return np.where(days < day, np.minimum(values, cap), np.maximum(values, floor))


def lymphocyte_course(rng: Generator, ld: float, days: FloatArray) -> FloatArray:
    l0 = rng.uniform(0.4, 1.8)
    knots: Knots = [(-10.0, l0), (ld, l0), (0.0, rng.uniform(0.02, 0.2))]
    knots += [(rng.uniform(30, 120), rng.uniform(0.3, 1.0)), (400.0, rng.uniform(0.8, 2.0))]
    return _curve(rng, days, knots, 0.2)


def inflammation_courses(
    rng: Generator, base: Baseline, crs: tuple[float, float, int] | None, days: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """CRP (mg/dL) and ferritin (ng/mL): a rise with CRS (higher with its grade), then back."""
    c0, f0 = base.crp_mg_dl, base.ferritin
    onset, stop, grade = crs if crs is not None else (rng.uniform(1, 5), 0.0, 0)
    stop = max(stop, onset + 2)
    crp_peak = c0 + rng.uniform(0.5, 2.0) + (rng.uniform(3, 8) * grade)
    crp_knots: Knots = [(-10.0, c0), (0.0, c0), (onset + 1, crp_peak), (stop + 7, c0 * 0.6 + 0.2)]
    crp_knots.append((400.0, rng.uniform(0.1, 1.0)))
    fer_peak = f0 * rng.uniform(1.5, 3.0) * (1 + 0.5 * grade)
    fer_knots: Knots = [(-10.0, f0), (0.0, f0), (onset + 3, fer_peak), (stop + 30, f0 * 0.8)]
    fer_knots.append((400.0, f0 * rng.uniform(0.4, 0.9)))
    crp = _curve(rng, days, crp_knots, 0.15)
    ferritin = _curve(rng, days, fer_knots, 0.15)
    crp[0], ferritin[0] = c0, f0
    return crp, ferritin
