"""Deterministic benchmark cohort: a tabular set (patients/observations/events as Parquet).

A fixture for ``benchmarks/grading.py``, not the clinical simulator: plausible CAR-T courses that
exercise every grading path (quick, intermittent and aplastic neutrophil courses, platelet and Hb
dips, mixed units, aliases and LOINC-only rows, ISO-date times, transfusions, G-CSF, CRS/ICANS,
death/progression/last follow-up). Patients are written in chunks, so memory stays bounded.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

VERSION = 1
_S, _F, _I, _B = pa.string(), pa.float64(), pa.int64(), pa.bool_()
PATIENTS = pa.schema(
    [("patient_id", _S), ("age_years", _F), ("sex", _S), ("weight_kg", _F), ("diagnosis", _S)]
    + [("product", _S), ("target", _S), ("costimulatory_domain", _S), ("ld_regimen", _S)]
    + [("ld_start", _F), ("infusion_date", pa.date32()), ("known_immunosuppression", _B)]
)
OBSERVATIONS = pa.schema(
    [("patient_id", _S), ("analyte", _S), ("loinc", _S), ("day", _F), ("time", _S)]
    + [("value", _F), ("unit", _S), ("lln", _F), ("uln", _F)]
)
EVENTS = pa.schema(
    [("patient_id", _S), ("kind", _S), ("day", _F), ("end", _F), ("grade", _I)]
    + [("temperature_c", _F), ("product", _S), ("units", _I), ("drug", _S), ("dose", _F)]
    + [("dose_unit", _S), ("frequency", _S), ("status", _S), ("finding", _S), ("present", _B)]
    + [("cellularity", _S), ("hemophagocytosis", _B)]
)
_COUNT = (("10^9/L", 1.0), ("/uL", 1000.0), ("G/L", 1.0), ("K/uL", 1.0))
# analyte -> (alias, LOINC, ((unit, factor from the canonical unit), ...), (LLN, ULN) canonical)
_ANALYTES: dict[str, tuple[str, str, tuple[tuple[str, float], ...], tuple[float, float]]] = {
    "anc": ("neutrophils", "751-8", _COUNT, (1.8, 7.5)),
    "platelets": ("plt", "777-3", _COUNT, (150.0, 400.0)),
    "hb": ("hgb", "718-7", (("g/dL", 1.0), ("g/L", 10.0), ("mmol/L", 0.6206)), (12.0, 16.0)),
    "wbc": ("leukocytes", "6690-2", _COUNT, (4.0, 10.0)),
    "lymphocytes": ("alc", "731-0", _COUNT, (1.0, 4.0)),
    "crp": ("c-reactive protein", "1988-5", (("mg/dL", 1.0), ("mg/L", 10.0)), (0.0, 0.5)),
    "ferritin": ("ferritin", "2276-4", (("ng/mL", 1.0), ("ug/L", 1.0)), (30.0, 400.0)),
    "ldh": ("ldh", "2532-0", (("U/L", 1.0),), (135.0, 225.0)),
    "creatinine": ("creatinine", "2160-0", (("mg/dL", 1.0), ("umol/L", 88.4)), (0.6, 1.2)),
    "ast": ("ast", "1920-8", (("U/L", 1.0),), (10.0, 35.0)),
    "alt": ("alt", "1742-6", (("U/L", 1.0),), (10.0, 35.0)),
    "fibrinogen": ("fibrinogen", "3255-7", (("mg/dL", 1.0), ("g/L", 0.01)), (200.0, 400.0)),
    "triglycerides": ("tg", "2571-8", (("mg/dL", 1.0), ("mmol/L", 1 / 88.57)), (0.0, 150.0)),
}
_PRODUCTS = (
    ("axi-cel", "CD19", "CD28", "LBCL"),
    ("tisa-cel", "CD19", "4-1BB", "DLBCL"),
    ("liso-cel", "CD19", "4-1BB", "LBCL"),
    ("brexu-cel", "CD19", "CD28", "MCL"),
    ("ide-cel", "BCMA", "4-1BB", "MM"),
    ("cilta-cel", "BCMA", "4-1BB", "MM"),
)
_EPOCH = date(2018, 1, 1)


def _curve(rng: np.random.Generator, days: np.ndarray, knots: list[tuple[float, float]]) -> Any:
    """Log-linear interpolation through (day, level) knots with multiplicative noise."""
    x, y = zip(*knots, strict=True)
    level = np.exp(np.interp(days, x, np.log(y)))
    return level * rng.lognormal(0.0, 0.15, days.shape[0])


def _schedule(rng: np.random.Generator, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Blood-count draw days (fractional; morning draws) and the subset with CRP/ferritin."""
    early = np.arange(0, 22)[rng.random(22) < 0.95]
    mid = np.arange(22, 61)[rng.random(39) < 2.5 / 7]
    weekly = np.arange(63, 181, 7) + rng.integers(-2, 3, 17)
    monthly = np.arange(210, 366, 30) + rng.integers(-5, 6, 6)
    pre = np.array([-7.0, -6.0, -1.0])[rng.random(3) < (1.0, 0.6, 0.7)]
    days = np.concatenate((pre, early, mid, weekly, monthly)).astype(np.float64)
    if rng.random() < 0.3:  # a gap in follow-up (holiday, transfer, missed visits)
        gap = rng.integers(22, 300)
        days = days[(days < gap) | (days > gap + rng.integers(5, 16))]
    twice = days[(days >= 0) & (days <= 14) & (rng.random(days.shape[0]) < 0.1)] + 0.5
    days = np.sort(np.concatenate((days, twice))) + rng.uniform(0.25, 0.45, days.size + twice.size)
    days = days[days < end]
    inflammation = days[(days < 0) | (days < 15) | ((days < 31) & (rng.random(days.size) < 0.3))]
    return days, inflammation


def _patient(rng: np.random.Generator, pid: str, obs: list[dict[str, Any]], ev: list[Any]) -> Any:
    ld = None if rng.random() < 0.2 else float(rng.choice([-5.0, -6.0]))
    infusion = _EPOCH + timedelta(days=int(rng.integers(0, 2000)))
    product, target, costim, diagnosis = _PRODUCTS[int(rng.integers(len(_PRODUCTS)))]
    facts = (pid, float(rng.integers(18, 86)), str(rng.choice(["female", "male"])))
    facts += (round(float(rng.uniform(45, 130)), 1), diagnosis, product, target, costim, "Flu/Cy")
    facts += (ld, infusion, bool(rng.random() < 0.05))

    def event(kind: str, day: float, **fields: Any) -> None:
        ev.append({"patient_id": pid, "kind": kind, "day": round(day, 3), **fields})

    end = 400.0
    death = rng.uniform(10, 365) if rng.random() < 0.06 else None
    progression = rng.uniform(30, 365) if rng.random() < 0.25 else None
    if progression is not None:
        event("disease_status", progression, status=str(rng.choice(["pd", "relapse"])))
        end = progression + 30.0
        if rng.random() < 0.7:
            event("next_therapy", progression + rng.uniform(7, 30))
    if death is not None:
        event("death", death, cause="infection" if death < 100 else "progression")
        end = min(end, death)
    if rng.random() < 0.15:
        lfu = rng.uniform(90, 365)
        event("last_follow_up", lfu)
        end = min(end, lfu)
    for day, status in ((30.0, "cr"), (90.0, "cr")):
        if day < end and rng.random() < 0.5:
            event("disease_status", day + 0.5, status=status)
    days, inflam = _schedule(rng, end)
    shape = rng.choice(3, p=(0.6, 0.25, 0.15))  # quick, intermittent, aplastic
    b = rng.lognormal(np.log(3.0), 0.4)
    t1, rec = rng.uniform(2, 7), rng.uniform(8, 16)
    anc = [(-10, b), (0, b * 0.6), (t1, rng.uniform(0.01, 0.3)), (rec, rng.uniform(0.3, 0.6))]
    if shape == 2:
        aplastic_end = rng.uniform(30, 150)
        anc[-1] = (aplastic_end, rng.uniform(0.05, 0.45))
        anc.append((aplastic_end + rng.uniform(20, 60), rng.uniform(0.8, 2.0)))
    else:
        anc.append((rec + 4, b * rng.uniform(0.5, 1.0)))
    if shape == 1:
        dip = rng.uniform(25, 45)
        anc += [(dip, b * 0.5), (dip + 4, rng.uniform(0.2, 0.9)), (dip + rng.uniform(8, 20), b)]
    anc.append((400, b))
    p0, p_nadir = rng.uniform(120, 320), rng.uniform(5, 80) / (1 + 2 * (shape == 2))
    p_rec = rng.uniform(14, 45) * (1 + 2 * (shape == 2))
    plt_knots = [(-10, p0), (0, p0 * 0.7), (rng.uniform(6, 14), p_nadir), (p_rec, p0 * 0.6)]
    h0 = rng.uniform(9.5, 13.5)
    hb_knots = [(-10, h0), (rng.uniform(10, 20), rng.uniform(6.8, 9.5)), (rng.uniform(60, 120), h0)]
    l0 = rng.uniform(0.5, 1.6)
    lym_knots = [(-10, l0), (1, rng.uniform(0.02, 0.2)), (rng.uniform(90, 365), l0)]
    crs = rng.uniform(1, 8)
    c0, f0 = rng.uniform(0.3, 3.0), rng.uniform(150, 1500)
    series = {
        "anc": (days, _curve(rng, days, [*anc, (401, b)])),
        "platelets": (days, _curve(rng, days, [*plt_knots, (400, p0)])),
        "hb": (days, _curve(rng, days, [*hb_knots, (400, h0)]) ** 0.3 * h0**0.7),
        "lymphocytes": (days, _curve(rng, days, [*lym_knots, (400, l0)])),
        "crp": (inflam, _curve(rng, inflam, [(-10, c0), (crs, c0 * 8), (crs + 14, c0), (60, c0)])),
        "ferritin": (inflam, _curve(rng, inflam, [(-10, f0), (crs + 3, f0 * 4), (60, f0)])),
    }
    series["wbc"] = (days, series["anc"][1] + series["lymphocytes"][1] + rng.uniform(0.1, 0.6))
    series["hb"] = (days, np.minimum(series["hb"][1], 17.0))
    pre = days[days < 0]
    twice_weekly = np.arange(0.3, min(30.0, end), 3.5)
    series["ldh"] = (np.concatenate((pre, twice_weekly)), None)
    series["creatinine"] = (np.concatenate((pre, twice_weekly)), None)
    for name in ("ast", "alt") + (("fibrinogen", "triglycerides") if rng.random() < 0.3 else ()):
        series[name] = (np.sort(rng.choice(days[days < 60], 6 if name < "b" else 3)), None)
    levels = {"ldh": 250, "creatinine": 0.9, "ast": 30, "alt": 30, "fibrinogen": 300}
    style = rng.random()  # site convention: names, aliases or LOINC only
    for name, (when, canonical) in series.items():
        alias, loinc, units, (lln, uln) = _ANALYTES[name]
        if canonical is None:
            canonical = levels.get(name, 150.0) * rng.lognormal(0, 0.3, when.size)
        unit, factor = units[int(rng.integers(len(units)))]
        limits = rng.random() < 0.5
        for k, day in enumerate(when.tolist()):
            as_time = rng.random() < 0.05
            obs.append(
                (name if style < 0.7 else alias if style < 0.9 else None, loinc)
                + (None if as_time else day)
                + ((infusion + timedelta(days=int(np.floor(day)))).isoformat() if as_time else None,)
                + (round(float(canonical[k]) * factor, 3), unit)
                + ((lln * factor, uln * factor) if limits else (None, None))
            )
    nadir_days = days[series["platelets"][1] < 12]
    for day in nadir_days[nadir_days >= 0]:
        event("transfusion", day + 0.2, product="platelets", units=1)
    for day in days[(series["hb"][1] < 7.5) & (days >= 0)]:
        event("transfusion", day + 0.25, product="rbc", units=int(rng.integers(1, 3)))
    gcsf = [rng.uniform(5, 14)] if rng.random() < 0.45 + 0.4 * (shape > 0) else []
    gcsf += [rng.uniform(30, 60)] if shape > 0 and rng.random() < 0.5 else []
    for start in gcsf:
        stop = start + rng.uniform(2, 10)
        event("medication", start, end=round(stop, 3), drug="filgrastim", dose=5.0)
        ev[-1].update(dose_unit="ug/kg", frequency="daily")
    if rng.random() < 0.75:
        event("crs", crs, end=round(crs + rng.uniform(1, 8), 3), grade=int(rng.choice(4) + 1))
        event("fever", crs, temperature_c=round(rng.uniform(38.0, 40.5), 1))
    if rng.random() < 0.3:
        start = crs + rng.uniform(1, 5)
        event("icans", start, end=round(start + rng.uniform(1, 10), 3), grade=int(rng.choice(4) + 1))
    if rng.random() < 0.05:
        event("finding", rng.uniform(1, 30), finding="splenomegaly", present=True)
    if shape == 2 and rng.random() < 0.5:
        event("marrow_biopsy", rng.uniform(28, 60), cellularity="hypocellular")
        ev[-1]["hemophagocytosis"] = bool(rng.random() < 0.2)
    return facts


def generate(folder: Path, patients: int, seed: int, chunk: int = 500) -> dict[str, Any]:
    """Write the cohort into ``folder`` and return its manifest (written last, as the marker)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    counts = {"patients": 0, "observations": 0, "events": 0}
    writers = {
        name: pq.ParquetWriter(folder / f"{name}.parquet", schema)
        for name, schema in (("patients", PATIENTS), ("observations", OBSERVATIONS))
        + (("events", EVENTS),)
    }
    try:
        for first in range(0, patients, chunk):
            facts, events = [], []
            obs_columns: dict[str, list[Any]] = {name: [] for name in OBSERVATIONS.names}
            for i in range(first, min(first + chunk, patients)):
                pid = f"P{i:06d}"
                rows: list[Any] = []
                facts.append(_patient(rng, pid, rows, events))
                obs_columns["patient_id"] += [pid] * len(rows)
                for name, column in zip(OBSERVATIONS.names[1:], zip(*rows, strict=True), strict=True):
                    obs_columns[name] += column
            tables = {
                "patients": pa.Table.from_pylist(
                    [dict(zip(PATIENTS.names, f, strict=True)) for f in facts], PATIENTS
                ),
                "observations": pa.Table.from_pydict(obs_columns, OBSERVATIONS),
                "events": pa.Table.from_pylist(events, EVENTS),
            }
            for name, table in tables.items():
                writers[name].write_table(table)
                counts[name] += table.num_rows
    finally:
        for writer in writers.values():
            writer.close()
    manifest = {"generator_version": VERSION, "seed": seed, **counts}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20230601)
    args = parser.parse_args()
    print(json.dumps(generate(args.folder, args.patients, args.seed)))


if __name__ == "__main__":
    main()
