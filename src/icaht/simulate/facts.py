"""Patient facts and pre-lymphodepletion labs of one synthetic patient.

The CAR-HEMATOTOX category is drawn first (share by disease, :mod:`icaht.simulate.targets`), then
the points of each marker, then a value inside each marker's band: the bands are the reference
cut-offs of :mod:`icaht.knowledge.score_criteria`, with margins so that rounding to the precision a
laboratory reports never moves a value across a cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from icaht.knowledge.score_criteria import (
    HT_ANC_10E9_PER_L,
    HT_CRP_MG_PER_DL,
    HT_FERRITIN_LOWER_NG_PER_ML,
    HT_FERRITIN_UPPER_NG_PER_ML,
    HT_HB_G_PER_DL,
    HT_PLATELETS_LOWER_10E9_PER_L,
    HT_PLATELETS_UPPER_10E9_PER_L,
)
from icaht.simulate import targets as t

Generator = np.random.Generator

#: First infusion date of the cohort (PROJECT; the commercial era).
COHORT_START = date(2019, 1, 1)
COHORT_SPAN_DAYS = 5 * 365

_MARKERS = ("platelets", "anc", "hb", "crp", "ferritin")


@dataclass(frozen=True, slots=True)
class Baseline:
    """Pre-lymphodepletion values (canonical units: 10^9/L, g/dL, CRP mg/dL, ng/mL)."""

    platelets: float
    anc: float
    hb: float
    crp_mg_dl: float
    ferritin: float
    ldh: float
    creatinine: float
    ht_points: int


def _choice(rng: Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    return keys[
        int(rng.choice(len(keys), p=np.array(list(weights.values())) / sum(weights.values())))
    ]


def _split_normal(rng: Generator, spec: tuple[float, float, float, float, float]) -> float:
    """A value with the given median: half-normal below (spread ``lo_sd``) or above."""
    median, lowest, highest, below_sd, above_sd = spec
    if rng.random() < 0.5:
        return max(lowest, median - abs(rng.normal(0.0, below_sd)))
    return min(highest, median + abs(rng.normal(0.0, above_sd)))


def _log_uniform(rng: Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _points(rng: Generator, high_risk: bool) -> dict[str, int]:
    if not high_risk:
        points = dict.fromkeys(_MARKERS, 0)
        if rng.random() >= t.HT_LOW_ZERO_SHARE:
            points[_choice(rng, t.HT_LOW_ONE_POINT_WEIGHTS)] = 1
        return points
    while True:
        points = {name: int(rng.choice(len(p), p=p)) for name, p in t.HT_HIGH_POINTS.items()}
        if sum(points.values()) >= 2:
            return points


def _baseline(rng: Generator, high_risk: bool) -> Baseline:
    p = _points(rng, high_risk)
    p_hi, p_lo = HT_PLATELETS_UPPER_10E9_PER_L, HT_PLATELETS_LOWER_10E9_PER_L
    platelets = (
        rng.uniform(p_hi + 2, 360.0),
        rng.uniform(p_lo + 1, p_hi - 1),
        rng.uniform(18.0, p_lo - 1),
    )[p["platelets"]]
    anc = (
        _log_uniform(rng, HT_ANC_10E9_PER_L + 0.05, 6.5)
        if p["anc"] == 0
        else rng.uniform(0.25, HT_ANC_10E9_PER_L - 0.05)
    )
    hb = (
        rng.uniform(HT_HB_G_PER_DL + 0.15, 14.8)
        if p["hb"] == 0
        else rng.uniform(7.2, HT_HB_G_PER_DL - 0.15)
    )
    crp = (
        _log_uniform(rng, 0.05, HT_CRP_MG_PER_DL - 0.1)
        if p["crp"] == 0
        else _log_uniform(rng, HT_CRP_MG_PER_DL + 0.1, 22.0)
    )
    f_lo, f_hi = HT_FERRITIN_LOWER_NG_PER_ML, HT_FERRITIN_UPPER_NG_PER_ML
    ferritin = (
        _log_uniform(rng, 25.0, f_lo - 10),
        _log_uniform(rng, f_lo + 10, f_hi - 10),
        _log_uniform(rng, f_hi + 10, 9000.0),
    )[p["ferritin"]]
    return Baseline(
        platelets=round(float(platelets)),
        anc=round(float(anc), 2),
        hb=round(float(hb), 1),
        crp_mg_dl=round(float(crp), 2),
        ferritin=round(float(ferritin)),
        ldh=round(float(rng.lognormal(np.log(230.0), 0.35))),
        creatinine=round(float(rng.lognormal(np.log(0.9), 0.2)), 2),
        ht_points=sum(p.values()),
    )


@dataclass(frozen=True, slots=True)
class Patient:
    """The drawn facts (``facts`` uses the PatientFacts field names) and hidden truths."""

    facts: dict[str, Any]
    disease: t.Disease
    product: str
    high_risk: bool
    baseline: Baseline
    ld_start_day: float


def draw_patient(rng: Generator, patient_id: str) -> Patient:
    """Facts, disease, product, CAR-HEMATOTOX risk and pre-lymphodepletion labs."""
    disease: t.Disease = t.DISEASES[
        int(rng.choice(len(t.DISEASES), p=[t.DISEASE_MIX[d] for d in t.DISEASES]))
    ]
    product = _choice(rng, t.PRODUCT_MIX[disease])
    target, costim = t.PRODUCT_CONSTRUCT[product]
    age_key = f"{disease}/{product}" if disease == "B-ALL" else disease
    age = round(_split_normal(rng, t.AGE_YEARS[age_key]))
    sex = "female" if rng.random() < t.FEMALE_SHARE else "male"
    adult_kg = rng.lognormal(np.log(80.0 if sex == "male" else 68.0), 0.17)
    weight = adult_kg if age >= 18 else min(adult_kg, 4.0 + 2.8 * age)
    high_risk = bool(rng.random() < t.HT_HIGH_SHARE[disease])
    ld_start = -float(rng.integers(3, 6))  # Flu/Cy day -5..-3 (PROJECT)
    infusion = COHORT_START + timedelta(days=int(rng.integers(0, COHORT_SPAN_DAYS)))
    prior_auto = {"LBCL": 0.25, "MCL": 0.4, "B-ALL": 0.0, "MM": 0.9}[disease]  # PROJECT
    prior_allo = 0.35 if disease == "B-ALL" else 0.02  # PROJECT
    auto = bool(rng.random() < prior_auto)
    allo = bool(rng.random() < prior_allo)
    stored = "autologous" if auto and rng.random() < 0.5 else "donor" if allo else "none"
    marrow = None
    if disease in ("B-ALL", "MM"):
        marrow = round(float(rng.uniform(0, 60 if disease == "MM" else 40)), 1)
    facts: dict[str, Any] = {
        "patient_id": patient_id,
        "age_years": float(age),
        "sex": sex,
        "weight_kg": round(float(weight), 1),
        "diagnosis": disease,
        "product": product,
        "target": target,
        "costimulatory_domain": costim,
        "ld_regimen": "bendamustine" if product == "tisa-cel" and rng.random() < 0.1 else "Flu/Cy",
        "ld_start": ld_start,
        "infusion_date": infusion,
        "prior_auto_hct": auto,
        "prior_allo_hct": allo,
        "stored_cells": stored,
        "chip": bool(rng.random() < 0.1),  # PROJECT
        "marrow_disease_pct": marrow,
    }
    return Patient(
        facts=facts,
        disease=disease,
        product=product,
        high_risk=high_risk,
        baseline=_baseline(rng, high_risk),
        ld_start_day=ld_start,
    )
