"""Synthetic CAR-T cohorts for demos, tests and benchmarks (``icaht simulate``).

Realistic patients (disease and product mix, pre-lymphodepletion labs calibrated to the published
CAR-HEMATOTOX distributions, CRS/ICANS, neutrophil phenotypes, platelet and Hb courses,
transfusions, G-CSF, TPO-RA courses and responses, progression and death), deterministic for a
seed, generated and written in chunks. Calibration targets and their sources: :mod:`.targets` and
``docs/simulate.md``. Synthetic data only: decision support only, not a medical device.
"""

from __future__ import annotations

from icaht.simulate.patient import SimulatedPatient, patient_id, simulate_patient
from icaht.simulate.writers import (
    FORMATS,
    Summary,
    available_formats,
    simulate_patients,
    simulate_records,
    write_cohort,
)

__all__ = [
    "FORMATS",
    "SimulatedPatient",
    "Summary",
    "available_formats",
    "patient_id",
    "simulate_patient",
    "simulate_patients",
    "simulate_records",
    "write_cohort",
]
