"""Deterministic benchmark cohort as a tabular set (patients/observations/events Parquet), written
in chunks of patients. A fixture for ``benchmarks/grading.py``, not the clinical simulator: it
exercises every grading path (quick/intermittent/aplastic ANC, platelet and Hb dips, mixed units,
aliases and LOINC-only rows, ISO dates, transfusions, G-CSF, CRS/ICANS, death/progression)."""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

VERSION = 2


_TYPES = {"s": pa.string(), "f": pa.float64(), "i": pa.int64(), "b": pa.bool_(), "d": pa.date32()}


def _schema(spec: str) -> pa.Schema:
    return pa.schema([(name, _TYPES[t]) for name, t in (w.split(":") for w in spec.split())])


PATIENTS = _schema(
    "patient_id:s age_years:f sex:s weight_kg:f diagnosis:s product:s target:s "
    "costimulatory_domain:s ld_regimen:s ld_start:f infusion_date:d known_immunosuppression:b"
)
OBSERVATIONS = _schema("patient_id:s analyte:s loinc:s day:f time:s value:f unit:s lln:f uln:f")
EVENTS = _schema(
    "patient_id:s kind:s day:f end:f grade:i temperature_c:f product:s units:i drug:s dose:f "
    "dose_unit:s frequency:s status:s finding:s present:b cellularity:s hemophagocytosis:b"
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
_PRODUCT_TEXT = (
    "axi-cel CD19 CD28 LBCL;tisa-cel CD19 4-1BB DLBCL;liso-cel CD19 4-1BB LBCL;"
    "brexu-cel CD19 CD28 MCL;ide-cel BCMA 4-1BB MM;cilta-cel BCMA 4-1BB MM"
)
_PRODUCTS = [p.split() for p in _PRODUCT_TEXT.split(";")]  # product, target, costim, diagnosis
_EPOCH = date(2018, 1, 1)
FloatArray = NDArray[np.float64]
Knots = list[tuple[float, float]]


def _curve(rng: np.random.Generator, t: FloatArray, knots: Knots, sd: float = 0.15) -> FloatArray:
    """Log-linear interpolation through (day, level) knots with multiplicative noise."""
    x, y = zip(*knots, strict=True)
    level: FloatArray = np.exp(np.interp(t, x, np.log(y)))
    return level * rng.lognormal(0.0, sd, t.shape[0])


def _schedule(rng: np.random.Generator, end: float) -> tuple[FloatArray, FloatArray]:
    """Blood-count draw days (fractional: morning draws) and the subset with CRP/ferritin."""
    early = np.arange(0, 22)[rng.random(22) < 0.95]
    mid = np.arange(22, 61)[rng.random(39) < 3 / 7]
    weekly = np.arange(63, 181, 7) + rng.integers(-2, 3, 17)
    monthly = np.arange(210, 366, 30) + rng.integers(-5, 6, 6)
    pre = np.array([-7.0, -6.0, -1.0])[rng.random(3) < (1.0, 0.6, 0.7)]
    days = np.concatenate((pre, early, mid, weekly, monthly)).astype(np.float64)
    if rng.random() < 0.3:  # a gap in follow-up (holiday, transfer, missed visits)
        gap = rng.integers(22, 300)
        days = days[(days < gap) | (days > gap + rng.integers(5, 16))]
    twice = days[(days >= 0) & (days <= 14) & (rng.random(days.shape[0]) < 0.15)] + 0.5
    days = np.sort(np.concatenate((days, twice))) + rng.uniform(0.25, 0.45, days.size + twice.size)
    days = days[days < end]
    inflammation = days[(days < 15) | ((days < 31) & (rng.random(days.size) < 0.5))]
    return days, inflammation


def _anc_knots(rng: np.random.Generator, shape: int, b: float) -> Knots:
    """Neutrophil course: 0 quick, 1 intermittent (second dip after day 21), 2 aplastic."""
    t1, rec = rng.uniform(2, 7), rng.uniform(8, 16)
    knots = [(-10.0, b), (0.0, b * 0.6), (t1, rng.uniform(0.01, 0.3))]
    if shape == 2:
        a = rng.uniform(30, 150)  # end of the aplasia
        knots += [(a, rng.uniform(0.05, 0.45)), (a + rng.uniform(20, 60), rng.uniform(0.8, 2.0))]
    else:
        knots += [(rec, rng.uniform(0.3, 0.6)), (rec + 4, b * rng.uniform(0.5, 1.0))]
    if shape == 1:
        dip = rng.uniform(25, 45)
        knots += [(dip, b * 0.5), (dip + 4, rng.uniform(0.2, 0.9)), (dip + rng.uniform(8, 20), b)]
    return [*knots, (400.0, b)]


def _patient(
    rng: np.random.Generator, pid: str, obs: dict[str, list[Any]], ev: list[dict[str, Any]]
) -> dict[str, Any]:
    ld = None if rng.random() < 0.2 else float(rng.choice([-5.0, -6.0]))
    infusion = _EPOCH + timedelta(days=int(rng.integers(0, 2000)))
    product, target, costim, diagnosis = _PRODUCTS[int(rng.integers(len(_PRODUCTS)))]
    sex, age = str(rng.choice(["female", "male"])), float(rng.integers(18, 86))
    facts: tuple[Any, ...] = (pid, age, sex, round(float(rng.uniform(45, 130)), 1), diagnosis)
    facts += (product, target, costim, "Flu/Cy", ld, infusion, bool(rng.random() < 0.05))
    death = float(rng.uniform(10, 365)) if rng.random() < 0.06 else None
    style = rng.random()  # site convention: analyte names, aliases, or LOINC codes only

    def rows(name: str, when: FloatArray, canonical: FloatArray) -> None:  # site unit; LLN/ULN
        alias, loinc, units, (lln, uln) = _ANALYTES[name]
        unit, factor = units[int(rng.integers(len(units)))]
        limits = rng.random() < 0.5
        n, ts = when.size, (rng.random(when.size) < 0.05).tolist()  # ts: ISO date, not day
        obs["patient_id"] += [pid] * n
        obs["analyte"] += [name if style < 0.7 else alias if style < 0.9 else None] * n
        obs["loinc"] += [loinc if style >= 0.6 else None] * n
        obs["day"] += [None if t else d for t, d in zip(ts, when.round(4).tolist(), strict=True)]
        obs["time"] += [
            (infusion + timedelta(days=int(d))).isoformat() if t else None
            for t, d in zip(ts, np.floor(when).tolist(), strict=True)
        ]
        obs["value"] += np.round(canonical * factor, 3).tolist()
        obs["unit"] += [unit] * n
        obs["lln"] += [lln * factor if limits else None] * n
        obs["uln"] += [uln * factor if limits else None] * n

    def event(kind: str, day: float, **fields: Any) -> None:
        if death is None or day <= death:
            ev.append({"patient_id": pid, "kind": kind, "day": round(float(day), 3), **fields})

    end = 400.0
    if rng.random() < 0.25:
        progression = rng.uniform(30, 365)
        event("disease_status", progression, status=str(rng.choice(["pd", "relapse"])))
        end = progression + 30.0
        if rng.random() < 0.7:
            event("next_therapy", progression + rng.uniform(7, 30))
    if death is not None:
        event("death", death)
        end = min(end, death)
    if rng.random() < 0.15:
        lfu = rng.uniform(90, 365)
        event("last_follow_up", lfu)
        end = min(end, lfu)
    for day in [d for d in (30.5, 90.5)[: int(rng.integers(3))] if d < end]:  # responses
        event("disease_status", day, status="cr")
    days, inflam = _schedule(rng, end)
    shape = int(rng.choice(3, p=(0.6, 0.25, 0.15)))
    b = float(rng.lognormal(np.log(3.0), 0.4))
    p0, p_nadir = rng.uniform(120, 320), rng.uniform(5, 80) / (1 + 2 * (shape == 2))
    p_rec = rng.uniform(14, 45) * (1 + 2 * (shape == 2))
    plt = [(-10, p0), (0, p0 * 0.7), (rng.uniform(6, 14), p_nadir), (p_rec, p0 * 0.6), (400, p0)]
    h0, l0 = rng.uniform(9.5, 13.5), rng.uniform(0.5, 1.6)
    hb = [(-10, h0), (rng.uniform(10, 20), rng.uniform(6.8, 9.5)), (rng.uniform(60, 120), h0)]
    lym = [(-10, l0), (1, rng.uniform(0.02, 0.2)), (rng.uniform(90, 365), l0), (400, l0)]
    crs = rng.uniform(1, 8)
    c0, f0 = rng.uniform(0.3, 3.0), rng.uniform(150, 1500)
    series = {
        "anc": (days, _curve(rng, days, _anc_knots(rng, shape, b))),
        "platelets": (days, _curve(rng, days, plt)),
        "hb": (days, np.minimum(_curve(rng, days, [*hb, (400, h0)], 0.04), 17.0)),
        "lymphocytes": (days, _curve(rng, days, lym)),
        "crp": (inflam, _curve(rng, inflam, [(-10, c0), (crs, c0 * 8), (crs + 14, c0), (60, c0)])),
        "ferritin": (inflam, _curve(rng, inflam, [(-10, f0), (crs + 3, f0 * 4), (60, f0)])),
    }
    series["wbc"] = (days, series["anc"][1] + series["lymphocytes"][1] + rng.uniform(0.1, 0.6))
    chemistry = np.concatenate((days[days < 0], np.arange(0.3, min(30.0, end), 3.5)))
    pool = days[days < 60]  # liver tests and (for some) HLH work-up in the first two months
    extra = ("ast", "alt") + (("fibrinogen", "triglycerides") if rng.random() < 0.3 else ())
    levels = {"ldh": 250.0, "creatinine": 0.9, "ast": 30.0, "alt": 30.0, "fibrinogen": 300.0}
    for name in ("ldh", "creatinine", *(extra if pool.size else ())):
        when = chemistry if name in ("ldh", "creatinine") else np.sort(rng.choice(pool, 8))
        series[name] = (when, levels.get(name, 150.0) * rng.lognormal(0, 0.3, when.size))
    for name, (when, values) in series.items():
        rows(name, when, values)
    platelets, hemoglobin = series["platelets"][1], series["hb"][1]
    for day in days[(platelets < 12) & (days >= 0)]:
        event("transfusion", day + 0.2, product="platelets", units=1)
    for day in days[(hemoglobin < 7.5) & (days >= 0)]:
        event("transfusion", day + 0.25, product="rbc", units=int(rng.integers(1, 3)))
    gcsf = [rng.uniform(5, 14)] if rng.random() < 0.45 + 0.4 * (shape > 0) else []
    gcsf += [rng.uniform(30, 60)] if shape > 0 and rng.random() < 0.5 else []
    for start in gcsf:
        stop = round(start + rng.uniform(2, 10), 3)
        filgrastim = {"drug": "filgrastim", "dose": 5.0, "dose_unit": "ug/kg", "frequency": "daily"}
        event("medication", start, end=stop, **filgrastim)
    if rng.random() < 0.75:
        event("crs", crs, end=round(crs + rng.uniform(1, 8), 3), grade=int(rng.choice(4) + 1))
        event("fever", crs, temperature_c=round(rng.uniform(38.0, 40.5), 1))
    if rng.random() < 0.3:
        start = crs + rng.uniform(1, 5)
        stop = round(start + rng.uniform(1, 10), 3)
        event("icans", start, end=stop, grade=int(rng.choice(4) + 1))
    if rng.random() < 0.05:
        event("finding", rng.uniform(1, 30), finding="splenomegaly", present=True)
    if shape == 2 and rng.random() < 0.5:
        biopsy = {"cellularity": "hypocellular", "hemophagocytosis": bool(rng.random() < 0.2)}
        event("marrow_biopsy", rng.uniform(28, 60), **biopsy)
    return dict(zip(PATIENTS.names, facts, strict=True))


def generate(folder: Path, patients: int, seed: int, chunk: int = 500) -> dict[str, Any]:
    """Write the cohort into ``folder`` and return its manifest (written last, as the marker)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    counts = {"patients": 0, "observations": 0, "events": 0}
    schemas = {"patients": PATIENTS, "observations": OBSERVATIONS, "events": EVENTS}
    writers = {name: pq.ParquetWriter(folder / f"{name}.parquet", s) for name, s in schemas.items()}
    try:
        for first in range(0, patients, chunk):
            facts: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            obs_columns: dict[str, list[Any]] = {name: [] for name in OBSERVATIONS.names}
            for i in range(first, min(first + chunk, patients)):
                facts.append(_patient(rng, f"P{i:06d}", obs_columns, events))
            for name, table in (
                ("patients", pa.Table.from_pylist(facts, PATIENTS)),
                ("observations", pa.Table.from_pydict(obs_columns, OBSERVATIONS)),
                ("events", pa.Table.from_pylist(events, EVENTS)),
            ):
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
