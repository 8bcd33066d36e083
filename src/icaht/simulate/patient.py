"""One synthetic patient, from its own random stream: facts, observations (columnar) and events.

Patient ``index`` of a cohort with ``seed`` draws from ``numpy.random.default_rng([seed, index])``,
so it is the same whatever the cohort size and wherever it falls in a chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from icaht.core.patient_record import PatientRecord
from icaht.simulate import targets as t
from icaht.simulate.courses import (
    LINEAGE_MET_MARGIN,
    CoursePlan,
    anc_course,
    cap_before,
    hb_course,
    inflammation_courses,
    lymphocyte_course,
    plan_course,
    platelet_course,
    transfuse,
)
from icaht.simulate.events import (
    EventRow,
    crs_icans,
    draw_outcomes,
    gcsf,
    infection,
    outcome_events,
    prophylaxis,
    tpo_ra,
    transfusion_rows,
)
from icaht.simulate.facts import draw_patient
from icaht.simulate.schedule import draw_schedule

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Analyte:
    """How one analyte is written: name, unit, factor from the canonical unit, limits, decimals."""

    name: str
    unit: str
    factor: float
    lln: float | None
    uln: float | None
    decimals: int


#: The analytes written, in code order (limits in the written unit; reference ranges PROJECT).
ANALYTES: Final[tuple[Analyte, ...]] = (
    Analyte("anc", "10^9/L", 1.0, 1.8, 7.5, 2),
    Analyte("platelets", "10^9/L", 1.0, 150.0, 400.0, 0),
    Analyte("hb", "g/dL", 1.0, 12.0, 16.0, 1),
    Analyte("wbc", "10^9/L", 1.0, 4.0, 10.0, 2),
    Analyte("lymphocytes", "10^9/L", 1.0, 1.0, 4.0, 2),
    Analyte("crp", "mg/L", 10.0, None, 5.0, 1),
    Analyte("ferritin", "ng/mL", 1.0, 30.0, 400.0, 0),
    Analyte("ldh", "U/L", 1.0, 135.0, 225.0, 0),
    Analyte("creatinine", "mg/dL", 1.0, 0.6, 1.2, 2),
)
_CODE = {a.name: i for i, a in enumerate(ANALYTES)}


@dataclass(frozen=True, slots=True)
class Truth:
    """What was drawn for the patient (not written; for summaries and tests)."""

    disease: str
    product: str
    high_risk: bool
    ht_points: int
    phenotype: t.Phenotype
    tpo_ra: bool
    tpo_ra_start_day: float | None


@dataclass(frozen=True, slots=True)
class SimulatedPatient:
    """One patient in columnar form: observation arrays (analyte code, day, value in the written
    unit) and event rows with PatientRecord field names."""

    facts: dict[str, Any]
    code: NDArray[np.int64]
    day: FloatArray
    value: FloatArray
    events: list[EventRow]
    truth: Truth

    def to_record(self) -> PatientRecord:
        """The validated PatientRecord."""
        observations = []
        for code, day, value in zip(
            self.code.tolist(), self.day.tolist(), self.value.tolist(), strict=True
        ):
            spec = ANALYTES[code]
            row: dict[str, Any] = {"time": day, "analyte": spec.name, "value": value}
            row["unit"] = spec.unit
            if spec.lln is not None:
                row["lln"] = spec.lln
            if spec.uln is not None:
                row["uln"] = spec.uln
            observations.append(row)
        facts = {k: v for k, v in self.facts.items() if v is not None}
        return PatientRecord.model_validate(
            {"patient": facts, "observations": observations, "events": self.events}
        )


def patient_id(seed: int, index: int) -> str:
    """The id of patient ``index`` of the cohort with ``seed`` (sorts in patient order)."""
    return f"SIM{seed}-{index:07d}"


def _support_span(plan: CoursePlan) -> tuple[float, float] | None:
    """Twice-weekly visits while transfusion-dependent or on a TPO-RA."""
    if plan.tpo is not None:
        return plan.tpo.start_day - 14.0, plan.tpo.start_day + 120.0
    end = max(plan.platelet_recovery_day - 5.0, plan.hb_recovery_day - 30.0)
    return (31.0, end) if end > 31.0 else None


def simulate_patient(seed: int, index: int) -> SimulatedPatient:
    """Draw patient ``index`` of the cohort ``seed``."""
    rng = np.random.default_rng([seed, index])
    patient = draw_patient(rng, patient_id(seed, index))
    base, ld = patient.baseline, patient.ld_start_day
    plan = plan_course(rng, patient.high_risk)
    outcomes = draw_outcomes(rng, patient.disease, patient.high_risk, plan.tpo)
    key = f"{patient.disease}/{patient.product}"
    clinical, crs = crs_icans(rng, key, outcomes.death_day)
    protected = None
    if plan.tpo is not None:
        protected = (plan.tpo.start_day - 20.0, plan.tpo.start_day + 130.0)
    schedule = draw_schedule(
        rng,
        ld_start_day=ld,
        end_day=outcomes.labs_end_day,
        support=_support_span(plan),
        protected=protected,
    )
    days = schedule.counts
    anc = anc_course(rng, plan, base, ld, days)
    platelets, platelet_tx = transfuse(
        rng,
        days,
        platelet_course(rng, plan, base, ld, days),
        trigger=t.PLATELET_TRIGGER_10E9_PER_L,
        increment=t.PLATELET_INCREMENT_10E9_PER_L,
        fade_days=2.0,
        two_unit_share=0.0,
    )
    hb, rbc_tx = transfuse(
        rng,
        days,
        hb_course(rng, plan, base, ld, days),
        trigger=t.HB_TRIGGER_G_DL,
        increment=t.HB_INCREMENT_G_DL,
        fade_days=60.0,
        two_unit_share=t.RBC_TWO_UNITS_SHARE,
    )
    if plan.tpo is not None:  # keep each lineage on its side of the BK threshold
        platelets = cap_before(
            days,
            platelets,
            plan.tpo.platelet_day,
            20.0 - LINEAGE_MET_MARGIN,
            20.0 + LINEAGE_MET_MARGIN,
        )
        hb = cap_before(days, hb, plan.tpo.hb_day, 7.9, 8.1)
    platelets[0], hb[0] = base.platelets, base.hb
    lymphocytes = lymphocyte_course(rng, ld, days)
    wbc = anc + lymphocytes + rng.uniform(0.05, 0.5, days.size) * np.where(anc > 0.5, 1.0, 0.3)
    crp, ferritin = inflammation_courses(rng, base, crs, schedule.inflammation)
    chem = schedule.chemistry
    ldh = base.ldh * rng.lognormal(0.0, 0.15, chem.size) * np.where(chem < 14, 1.3, 1.0)
    creatinine = base.creatinine * rng.lognormal(0.0, 0.08, chem.size)
    ldh[0], creatinine[0] = base.ldh, base.creatinine
    series = (
        ("anc", days, anc),
        ("platelets", days, platelets),
        ("hb", days, hb),
        ("wbc", days, wbc),
        ("lymphocytes", days, lymphocytes),
        ("crp", schedule.inflammation, crp * ANALYTES[_CODE["crp"]].factor),
        ("ferritin", schedule.inflammation, ferritin),
        ("ldh", chem, ldh),
        ("creatinine", chem, creatinine),
    )
    code = np.concatenate([np.full(d.size, _CODE[name], dtype=np.int64) for name, d, _ in series])
    day = np.round(np.concatenate([d for _, d, _ in series]), 2)
    value = np.concatenate([np.round(v, ANALYTES[_CODE[name]].decimals) for name, _, v in series])
    end = outcomes.labs_end_day
    events = list(clinical)
    events += outcome_events(rng, outcomes, prior_cr=False)
    events += infection(rng, patient.high_risk, end)
    events += gcsf(rng, days, anc, plan, crs)
    if plan.tpo is not None:
        events += tpo_ra(rng, plan.tpo, end)
    elif plan.phenotype == "aplastic" and rng.random() < 0.5 and end > 40:
        events.append(
            {
                "kind": "marrow_biopsy",
                "start": round(float(rng.uniform(28, min(60.0, end))), 2),
                "cellularity": "hypocellular",
                "malignant_infiltration": False,
                "mds": False,
                "hemophagocytosis": bool(rng.random() < 0.1),
            }
        )
    events += transfusion_rows("platelets", platelet_tx)
    events += transfusion_rows("rbc", rbc_tx)
    events += prophylaxis(min(end, float(t.FOLLOW_UP_DAYS)), plan.phenotype == "aplastic")
    events.sort(key=lambda e: (e["start"], e["kind"]))
    truth = Truth(
        disease=patient.disease,
        product=patient.product,
        high_risk=patient.high_risk,
        ht_points=base.ht_points,
        phenotype=plan.phenotype,
        tpo_ra=plan.tpo is not None,
        tpo_ra_start_day=plan.tpo.start_day if plan.tpo is not None else None,
    )
    return SimulatedPatient(patient.facts, code, day, value, events, truth)
