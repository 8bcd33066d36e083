"""Per-call cost of each step of ``assess`` on the benchmark cohort (no profiler overhead).

Each step is timed on its own over the first ``--patients`` courses of the cohort that
``benchmarks/grading.py`` generates (as of day 365, default profile); ``--repeat`` passes, the
median pass reported as microseconds per call and per patient. A measurement for finding hot
spots, not a test. Run: ``.venv/bin/python benchmarks/components.py [--patients 2000]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading import AS_OF_DAY, cohort_folder

from icaht.core import assessment as am
from icaht.core.course import Course, day_of
from icaht.core.ctcae import CtcaeTerm, grade_array, grade_value
from icaht.core.ctcae_worst import worst_grade
from icaht.core.dependence import gcsf_dependence, transfusion_dependence
from icaht.core.easix import easix, m_easix, simplified_easix
from icaht.core.hematotox import car_hematotox
from icaht.core.hscore import hscore
from icaht.core.neutrophil_icaht import grade_early_icaht, grade_late_icaht
from icaht.core.record import Transfusion
from icaht.core.recovery import recovery_phenotype
from icaht.core.ticaht import grade_early_ticaht, grade_late_ticaht, platelet_recovery_day
from icaht.core.timeline import as_of_cut, follow_up_end
from icaht.io.tabular import load_tabular
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.profile import load_profile

Step = Callable[[int], object]


def _time(step: Step, n: int, repeat: int) -> float:
    """Median seconds of one pass calling ``step(i)`` for i in 0..n-1."""
    passes = []
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(n):
            step(i)
        passes.append(time.perf_counter() - start)
    return statistics.median(passes)


def measure(patients: int, seed: int, count: int, repeat: int) -> list[tuple[str, float, float]]:
    """(step, microseconds per call, calls per patient) for every step of ``assess``."""
    profile = load_profile()
    courses: list[Course] = load_tabular(cohort_folder(patients, seed))[:count]
    n = len(courses)
    cuts = [as_of_cut(AS_OF_DAY, c, c.facts.infusion_date) for c in courses]
    known = [c.until(cut) for c, cut in zip(courses, cuts, strict=True)]
    ends = [follow_up_end(k, AS_OF_DAY) for k in known]
    anc = [k.series(Analyte.ANC) for k in known]
    plt = [k.series(Analyte.PLATELETS) for k in known]
    tx = [
        np.array(
            [day_of(t.start) for t in k.of_kind(Transfusion) if t.product == "platelets"],
            dtype=np.float64,
        )
        for k in known
    ]
    lineages = [
        [am._lineage(*spec, k.series(spec[1]), AS_OF_DAY, profile) for spec in am._LINEAGES]
        for k in known
    ]
    base = [{a: am._baseline(k, a, profile) for a in am._BASELINE_ANALYTES} for k in known]
    ic, ti, rec = profile.icaht, profile.ticaht, profile.recovery
    gap = ic.interpolation_max_gap_days
    hb_series = [k.series(Analyte.HB) for k in known]
    steps: list[tuple[str, float, Step]] = [
        ("assess (total)", 1, lambda i: am.assess(courses[i], AS_OF_DAY, profile)),
        ("Course.until", 1, lambda i: courses[i].until(cuts[i])),
        ("timeline.follow_up_end", 1, lambda i: follow_up_end(known[i], AS_OF_DAY)),
        (
            "assessment._lineage (5 lineages)",
            5,
            lambda i: [
                am._lineage(*s, known[i].series(s[1]), AS_OF_DAY, profile) for s in am._LINEAGES
            ],
        ),
        (
            "  ctcae.grade_array (Hb)",
            1,
            lambda i: grade_array(CtcaeTerm.ANEMIA, hb_series[i].value, hb_series[i].lln),
        ),
        ("  ctcae.grade_value", 1, lambda i: grade_value(CtcaeTerm.ANEMIA, 9.5, 12.0)),
        ("  ctcae.worst_grade (array of 60)", 1, lambda i: worst_grade(np.zeros(60, np.int8))),
        (
            "icaht.grade_early_icaht",
            1,
            lambda i: grade_early_icaht(
                anc[i].day,
                anc[i].value,
                end_day=float(ends[i][0]),
                end_reason=ends[i][1],
                settings=ic,
            ),
        ),
        (
            "icaht.grade_late_icaht",
            1,
            lambda i: grade_late_icaht(
                anc[i].day,
                anc[i].value,
                end_day=float(ends[i][0]),
                end_reason=ends[i][1],
                settings=ic,
            ),
        ),
        (
            "ticaht.grade_early_ticaht",
            1,
            lambda i: grade_early_ticaht(
                plt[i].day,
                plt[i].value,
                end_day=float(ends[i][0]),
                end_reason=ends[i][1],
                settings=ti,
            ),
        ),
        (
            "ticaht.grade_late_ticaht",
            1,
            lambda i: grade_late_ticaht(
                plt[i].day,
                plt[i].value,
                end_day=float(ends[i][0]),
                end_reason=ends[i][1],
                settings=ti,
            ),
        ),
        (
            "ticaht.platelet_recovery_day",
            1,
            lambda i: platelet_recovery_day(
                plt[i].day, plt[i].value, tx[i], end_day=float(ends[i][0]), settings=ti
            ),
        ),
        (
            "recovery.recovery_phenotype",
            1,
            lambda i: recovery_phenotype(
                anc[i].day,
                anc[i].value,
                end_day=float(ends[i][0]),
                settings=rec,
                interpolation_max_gap_days=gap,
            ),
        ),
        (
            "support.transfusion_dependence (x2)",
            2,
            lambda i: [
                transfusion_dependence(known[i], AS_OF_DAY, p, profile.transfusion)
                for p in ("platelets", "rbc")
            ],
        ),
        (
            "support.gcsf_dependence",
            1,
            lambda i: gcsf_dependence(known[i], AS_OF_DAY, profile.gcsf),
        ),
        ("assessment._scores (all five)", 1, lambda i: am._scores(known[i], AS_OF_DAY, profile)),
        (
            "  baselines (7 analytes)",
            7,
            lambda i: [am._baseline(known[i], a, profile) for a in am._BASELINE_ANALYTES],
        ),
        (
            "  hematotox.car_hematotox",
            1,
            lambda i: car_hematotox(
                platelets=base[i][Analyte.PLATELETS],
                anc=base[i][Analyte.ANC],
                hb=base[i][Analyte.HB],
                crp_mg_dl=base[i][Analyte.CRP],
                ferritin=base[i][Analyte.FERRITIN],
            ),
        ),
        (
            "  easix.easix",
            1,
            lambda i: easix(
                ldh=base[i][Analyte.LDH],
                creatinine_mg_dl=base[i][Analyte.CREATININE],
                platelets=base[i][Analyte.PLATELETS],
            ),
        ),
        (
            "  easix.simplified_easix",
            1,
            lambda i: simplified_easix(
                ldh=base[i][Analyte.LDH], platelets=base[i][Analyte.PLATELETS]
            ),
        ),
        (
            "  easix.m_easix",
            1,
            lambda i: m_easix(
                ldh=base[i][Analyte.LDH],
                crp_mg_dl=base[i][Analyte.CRP],
                platelets=base[i][Analyte.PLATELETS],
            ),
        ),
        ("  hscore.hscore (no recent values)", 1, lambda i: hscore()),
        (
            "  hscore.hscore (all items)",
            1,
            lambda i: hscore(
                immunosuppression=False,
                temperature_c=39.0,
                hepatomegaly=False,
                splenomegaly=True,
                hb=8.0,
                wbc=1.0,
                platelets=40.0,
                ferritin=3000.0,
                triglycerides_mg_dl=200.0,
                fibrinogen_mg_dl=300.0,
                ast=40.0,
                hemophagocytosis=None,
            ),
        ),
        ("assessment._data_quality", 1, lambda i: am._data_quality(lineages[i], AS_OF_DAY)),
    ]
    rows = []
    for name, per_patient, step in steps:
        step(0)  # warm up
        seconds = _time(step, n, repeat)
        rows.append((name, 1e6 * seconds / (n * per_patient), per_patient))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=10_000, help="cohort size (generated)")
    parser.add_argument("--seed", type=int, default=20230601, help="cohort seed")
    parser.add_argument("--count", type=int, default=2000, help="courses timed")
    parser.add_argument("--repeat", type=int, default=3, help="passes (median reported)")
    args = parser.parse_args()
    rows = measure(args.patients, args.seed, args.count, args.repeat)
    total = rows[0][1]
    print(f"{'step':44} {'us/call':>9} {'calls':>5} {'us/patient':>10} {'% assess':>8}")
    for name, per_call, calls in rows:
        per_patient = per_call * calls
        share = 100 * per_patient / total
        print(f"{name:44} {per_call:9.1f} {calls:5g} {per_patient:10.1f} {share:7.1f}%")


if __name__ == "__main__":
    main()
