"""A deterministic cohort of grading cases: simulated patients' ANC and platelet series, full and
thinned (gaps longer than the interpolation limit), with exact-threshold values and same-day
repeats, graded as of several days and censored by events, under the default and varied settings.

The expected results (``data/grading_expected.json.gz``) were recorded with the four window
graders as they were before the columnar kernel replaced them (commit fe09bf3), so the kernel is
held to the same output on every case. Re-record (``ICAHT_RECORD_GRADING=1``) only for an
intended change of grading, and read the diff.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from icaht.core.icaht import IcahtResult
from icaht.knowledge.profile.grading import IcahtSettings, LateRule, TicahtSettings
from icaht.simulate.patient import simulate_patient

SEED = 20261201
PATIENTS = 300
EXPECTED = Path(__file__).parent / "data" / "grading_expected.json.gz"
AS_OF_DAYS = (0, 3, 12, 30, 45.5, 100, 400)
EVENT_REASONS = ("death", "progression", "next therapy", "last follow-up")
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Case:
    """One patient's two series graded with one end of follow-up and one settings variant."""

    key: str
    anc_days: FloatArray
    anc: FloatArray
    plt_days: FloatArray
    plt: FloatArray
    end_day: float
    end_reason: str
    icaht: IcahtSettings
    ticaht: TicahtSettings
    late_rule: LateRule


def _settings(i: int) -> tuple[IcahtSettings, TicahtSettings]:
    """The default settings for most patients, varied counting rules for the others."""
    variant = i % 5
    if variant == 1:
        return IcahtSettings(duration_method="cumulative"), TicahtSettings(
            duration_method="longest_run"
        )
    if variant == 2:
        return IcahtSettings(late_rule="second_lowest", carry_edges_days=0), TicahtSettings(
            late_window_end_day=180
        )
    if variant == 3:
        return IcahtSettings(
            interpolation_max_gap_days=3,
            join_gap_days=1,
            early_grade4_onset_max_day=0,
            late_window_end_day=365,
            carry_edges_days=2,
        ), TicahtSettings(late_window_end_day=365)
    return IcahtSettings(), TicahtSettings()


def _perturb(
    rng: np.random.Generator, days: FloatArray, values: FloatArray, thin: bool
) -> tuple[FloatArray, FloatArray]:
    """Thin the series (long gaps), set a few values to the thresholds, repeat a few days."""
    keep = rng.random(days.size) < (0.3 if thin else 1.0)
    d, v = days[keep].copy(), values[keep].copy()
    if v.size:
        hit = rng.random(v.size) < 0.05
        v[hit] = rng.choice(np.array([0.1, 0.5, 1.0, 1.5, 20.0, 50.0, 100.0]), int(hit.sum()))
        rep = rng.random(v.size) < 0.05
        d = np.concatenate((d, np.floor(d[rep]) + 0.9))
        v = np.concatenate((v, v[rep] * rng.uniform(0.5, 1.5, int(rep.sum()))))
        order = np.argsort(d, kind="stable")
        d, v = d[order], v[order]
    return d, v


def cases() -> Iterator[Case]:
    """Every case, in a fixed order."""
    for i in range(PATIENTS):
        p = simulate_patient(SEED, i)
        rng = np.random.default_rng(i)
        icaht, ticaht = _settings(i)
        late_rule: LateRule = "second_lowest" if i % 5 == 2 else "lowest_confirmed"
        anc_m, plt_m = p.code == 0, p.code == 1
        ends = [(float(d), "as-of") for d in AS_OF_DAYS]
        ends.append((float(np.round(rng.uniform(0, 120), 2)), str(rng.choice(EVENT_REASONS))))
        for thin in (False, True):
            ad, av = _perturb(rng, p.day[anc_m], p.value[anc_m], thin)
            pd_, pv = _perturb(rng, p.day[plt_m], p.value[plt_m], thin)
            for end_day, reason in ends:
                key = f"{i}:{'thin' if thin else 'full'}:{end_day:g}:{reason}"
                yield Case(key, ad, av, pd_, pv, end_day, reason, icaht, ticaht, late_rule)


def summary(result: IcahtResult) -> dict[str, Any]:
    """The fields compared one by one, and a digest of the whole result (caveats, episodes)."""
    dump = result.model_dump_json()
    return {
        "grade": result.grade,
        "provisional": result.provisional,
        "lower_bound": result.lower_bound,
        "end": result.window_end_day,
        "durations": result.duration_days,
        "digest": hashlib.sha256(dump.encode()).hexdigest()[:16],
    }


def load_expected() -> dict[str, list[dict[str, Any]]]:
    """The recorded summaries by case key (early ICAHT, late ICAHT, early/late T-ICAHT)."""
    with gzip.open(EXPECTED, "rt", encoding="utf-8") as f:
        data: dict[str, list[dict[str, Any]]] = json.load(f)
    return data


def save_expected(data: dict[str, list[dict[str, Any]]]) -> None:
    """Write the recorded summaries (deterministic gzip: no timestamp)."""
    EXPECTED.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    with EXPECTED.open("wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as g:
        g.write(raw)
