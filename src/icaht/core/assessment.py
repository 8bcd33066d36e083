"""``assess(course, as_of, profile) -> Assessment``: one patient's hematotoxicity picture as of
one moment, from what was known by then (no look-ahead), with the profile that shaped it.

Composes the graders (CTCAE v5, EHA/EBMT ICAHT, T-ICAHT), the recovery phenotype, transfusion and
G-CSF dependence, the risk scores (CAR-HEMATOTOX, EASIX family, HScore) and data-quality findings.
"Cannot evaluate" is always a result with a reason, never an exception.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from icaht import __version__
from icaht.core.course import Course, Series, day_of
from icaht.core.ctcae import CtcaeTerm, grade_array, grade_value, worst_grade
from icaht.core.easix import easix, m_easix, simplified_easix
from icaht.core.hematotox import car_hematotox
from icaht.core.hscore import hscore
from icaht.core.icaht import IcahtResult, grade_early_icaht, grade_late_icaht
from icaht.core.record import Fever, Finding, MarrowBiopsy, Moment, Transfusion
from icaht.core.recovery import PhenotypeResult, recovery_phenotype
from icaht.core.score import ScoreResult
from icaht.core.support import SupportStatus, gcsf_dependence, transfusion_dependence
from icaht.core.ticaht import grade_early_ticaht, grade_late_ticaht, platelet_recovery_day
from icaht.core.timeline import (
    IcahtWindow,
    JainPhase,
    as_of_cut,
    baseline_value,
    calendar_day,
    follow_up_end,
    icaht_window,
    jain_phase,
)
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.ctcae_criteria import HB_G2_FLOOR_G_PER_DL
from icaht.knowledge.icaht_criteria import (
    ANC_PROFOUND_10E9_PER_L,
    ANC_SEVERE_10E9_PER_L,
    PLT_PROFOUND_10E9_PER_L,
    PLT_SEVERE_10E9_PER_L,
)
from icaht.knowledge.profile import Profile
from icaht.knowledge.timeline_criteria import JAIN_PROLONGED_FIRST_DAY, JAIN_PROLONGED_LAST_DAY

_FROZEN = ConfigDict(frozen=True)


class Measurement(BaseModel):
    model_config = _FROZEN
    day: float
    value: float


class LineageStatus(BaseModel):
    """One blood lineage as of the assessment day."""

    model_config = _FROZEN
    lineage: str
    analyte: Analyte
    unit: str
    latest: Measurement | None
    latest_ctcae: int | None = Field(
        description="CTCAE v5 grade of the latest value; None with a note when not assessable"
    )
    latest_ctcae_note: str | None = None
    nadir: Measurement | None = Field(description="Lowest value from day 0 on")
    worst_ctcae_by_phase: dict[str, int | None] = Field(
        description="Worst certain CTCAE grade per Jain phase; -1 = grade 0 or 1 (no lab LLN, so "
        "grade 1 cannot be assessed); None = no value in that phase"
    )
    days_under: dict[str, int] = Field(
        description="Calendar days from day 0 with an observed value under each threshold"
    )
    days_since_latest: int | None
    stale: bool


class DataQualityFinding(BaseModel):
    model_config = _FROZEN
    code: str
    message: str
    analyte: Analyte | None = None


class Scores(BaseModel):
    model_config = _FROZEN
    car_hematotox: ScoreResult
    easix: ScoreResult
    simplified_easix: ScoreResult
    m_easix: ScoreResult
    hscore: ScoreResult


class Assessment(BaseModel):
    """Everything icaht says about one patient as of one day."""

    model_config = _FROZEN
    patient_id: str
    as_of_day: int
    icaht_version: str
    profile_name: str
    profile_version: str
    jain_phase: JainPhase
    icaht_window: IcahtWindow
    follow_up_end_day: int
    follow_up_end_reason: str
    lineages: list[LineageStatus]
    early_icaht: IcahtResult
    late_icaht: IcahtResult
    early_ticaht: IcahtResult
    late_ticaht: IcahtResult
    platelet_recovery_day: int | None
    phenotype: PhenotypeResult
    platelet_transfusion: SupportStatus
    rbc_transfusion: SupportStatus
    gcsf: SupportStatus
    scores: Scores
    data_quality: list[DataQualityFinding]


# lineage label, analyte, CTCAE term, thresholds counted in days_under (value, strict "<")
_LINEAGES: tuple[tuple[str, Analyte, CtcaeTerm, tuple[tuple[float, bool], ...]], ...] = (
    # ICAHT thresholds are "<=" (clinical-decisions.md, Grading)
    (
        "neutrophils",
        Analyte.ANC,
        CtcaeTerm.NEUTROPHILS,
        ((ANC_SEVERE_10E9_PER_L, False), (ANC_PROFOUND_10E9_PER_L, False)),
    ),
    # T-ICAHT thresholds are "<"
    (
        "platelets",
        Analyte.PLATELETS,
        CtcaeTerm.PLATELETS,
        ((PLT_SEVERE_10E9_PER_L, True), (PLT_PROFOUND_10E9_PER_L, True)),
    ),
    # Hb < 8.0 g/dL: CTCAE v5 anemia grade 3 (Beyar-Katz complete resolution needs Hb > 8)
    ("hemoglobin", Analyte.HB, CtcaeTerm.ANEMIA, ((HB_G2_FLOOR_G_PER_DL, True),)),
    ("white cells", Analyte.WBC, CtcaeTerm.WBC, ()),
    ("lymphocytes", Analyte.LYMPHOCYTES, CtcaeTerm.LYMPHOCYTES, ()),
)
_PHASES: tuple[JainPhase, ...] = ("pre-infusion", "early", "prolonged", "late")
#: First fractional day of the early, prolonged and late Jain phases (calendar day 0, 30, 91).
_PHASE_STARTS = np.array(
    [0.0, JAIN_PROLONGED_FIRST_DAY, JAIN_PROLONGED_LAST_DAY + 1], dtype=np.float64
)
#: The analytes whose pre-infusion baseline feeds a score (CAR-HEMATOTOX, EASIX family).
_BASELINE_ANALYTES: tuple[Analyte, ...] = (
    Analyte.PLATELETS,
    Analyte.ANC,
    Analyte.HB,
    Analyte.CRP,
    Analyte.FERRITIN,
    Analyte.LDH,
    Analyte.CREATININE,
)


def _distinct_sorted(values: NDArray[np.int64]) -> int:
    """Number of distinct values in a sorted array (``np.unique(...).size`` without the sort)."""
    if values.shape[0] == 0:
        return 0
    return 1 + int(np.count_nonzero(values[1:] != values[:-1]))


def _stale_limit(phase: JainPhase, profile: Profile) -> int:
    dq = profile.data_quality
    if phase == "late":
        return dq.stale_days_late
    if phase == "prolonged":
        return dq.stale_days_prolonged
    return dq.stale_days_early


def _lineage(
    label: str,
    analyte: Analyte,
    term: CtcaeTerm,
    thresholds: tuple[tuple[float, bool], ...],
    series: Series,
    as_of_day: int,
    profile: Profile,
) -> LineageStatus:
    unit = ANALYTES[analyte].canonical_unit
    if not len(series):
        return LineageStatus(
            lineage=label,
            analyte=analyte,
            unit=unit,
            latest=None,
            latest_ctcae=None,
            nadir=None,
            worst_ctcae_by_phase=dict.fromkeys(_PHASES),
            days_under={},
            days_since_latest=None,
            stale=True,
        )
    lln_last = float(series.lln[-1])
    latest_grade = grade_value(
        term, float(series.value[-1]), None if np.isnan(lln_last) else lln_last
    )
    codes = grade_array(term, series.value, series.lln)
    calendar = np.floor(series.day).astype(np.int64)
    # The series is sorted by day, so each Jain phase (same bounds as timeline.jain_phase) is one
    # contiguous slice: [start, day 0), [day 0, day 30), [day 30, day 91), [day 91, end).
    bounds = [0, *np.searchsorted(series.day, _PHASE_STARTS, side="left").tolist(), len(series)]
    worst = {
        phase: worst_grade(codes[lo:hi]) if hi > lo else None
        for phase, lo, hi in zip(_PHASES, bounds[:-1], bounds[1:], strict=True)
    }
    first_post = bounds[1]  # first value from day 0 on
    post = series.value[first_post:]
    post_calendar = calendar[first_post:]
    days_under: dict[str, int] = {}
    for threshold, strict in thresholds:
        under = post < threshold if strict else post <= threshold
        key = f"{'<' if strict else '<='}{threshold:g}"
        days_under[key] = _distinct_sorted(post_calendar[under])
    nadir = None
    if post.shape[0]:
        i = int(np.argmin(post))
        nadir = Measurement(day=float(series.day[first_post + i]), value=float(post[i]))
    since = as_of_day - int(calendar[-1])
    return LineageStatus(
        lineage=label,
        analyte=analyte,
        unit=unit,
        latest=Measurement(day=float(series.day[-1]), value=float(series.value[-1])),
        latest_ctcae=latest_grade.grade,
        latest_ctcae_note=latest_grade.note,
        nadir=nadir,
        worst_ctcae_by_phase=worst,
        days_under=days_under,
        days_since_latest=since,
        stale=since > _stale_limit(jain_phase(as_of_day), profile),
    )


def _baseline(course: Course, analyte: Analyte, profile: Profile) -> float | None:
    found = baseline_value(course, analyte, profile.baseline)
    return None if found is None else found[1]


def _recent(course: Course, analyte: Analyte, as_of_day: int, lookback: int) -> float | None:
    """Latest value on calendar days as_of - lookback + 1 .. as_of."""
    window = course.series(analyte).between(float(as_of_day - lookback + 1), float(as_of_day + 1))
    return float(window.value[-1]) if len(window) else None


def _any_known(flags: list[bool | None]) -> bool | None:
    """True if any record says present, False if some say absent and none present, else None."""
    known = [f for f in flags if f is not None]
    return any(known) if known else None


def _scores(course: Course, as_of_day: int, profile: Profile) -> Scores:
    base = {a: _baseline(course, a, profile) for a in _BASELINE_ANALYTES}
    lookback = profile.hscore.lookback_days
    recent = {
        a: _recent(course, a, as_of_day, lookback)
        for a in (
            Analyte.HB,
            Analyte.WBC,
            Analyte.PLATELETS,
            Analyte.FERRITIN,
            Analyte.TRIGLYCERIDES,
            Analyte.FIBRINOGEN,
            Analyte.AST,
        )
    }
    fevers = [
        f.temperature_c
        for f in course.of_kind(Fever)
        if f.temperature_c is not None and day_of(f.start) > as_of_day - lookback
    ]
    findings = [f for f in course.of_kind(Finding) if day_of(f.start) >= 0]
    return Scores(
        car_hematotox=car_hematotox(
            platelets=base[Analyte.PLATELETS],
            anc=base[Analyte.ANC],
            hb=base[Analyte.HB],
            crp_mg_dl=base[Analyte.CRP],
            ferritin=base[Analyte.FERRITIN],
        ),
        easix=easix(
            ldh=base[Analyte.LDH],
            creatinine_mg_dl=base[Analyte.CREATININE],
            platelets=base[Analyte.PLATELETS],
        ),
        simplified_easix=simplified_easix(ldh=base[Analyte.LDH], platelets=base[Analyte.PLATELETS]),
        m_easix=m_easix(
            ldh=base[Analyte.LDH], crp_mg_dl=base[Analyte.CRP], platelets=base[Analyte.PLATELETS]
        ),
        hscore=hscore(
            immunosuppression=course.facts.known_immunosuppression,
            temperature_c=max(fevers) if fevers else None,
            hepatomegaly=_any_known([f.present for f in findings if f.finding == "hepatomegaly"]),
            splenomegaly=_any_known([f.present for f in findings if f.finding == "splenomegaly"]),
            hb=recent[Analyte.HB],
            wbc=recent[Analyte.WBC],
            platelets=recent[Analyte.PLATELETS],
            ferritin=recent[Analyte.FERRITIN],
            triglycerides_mg_dl=recent[Analyte.TRIGLYCERIDES],
            fibrinogen_mg_dl=recent[Analyte.FIBRINOGEN],
            ast=recent[Analyte.AST],
            hemophagocytosis=_any_known([m.hemophagocytosis for m in course.of_kind(MarrowBiopsy)]),
        ),
    )


def _data_quality(lineages: list[LineageStatus], as_of_day: int) -> list[DataQualityFinding]:
    findings = []
    for status in lineages[:3]:  # ANC, platelets, Hb drive the grading
        name = ANALYTES[status.analyte].display
        if status.latest is None:
            findings.append(
                DataQualityFinding(
                    code="no-values",
                    message=f"cannot grade {status.lineage}: no {name} values",
                    analyte=status.analyte,
                )
            )
        elif status.stale and as_of_day >= 0:
            findings.append(
                DataQualityFinding(
                    code="stale",
                    message=f"latest {name} is {status.days_since_latest} days old "
                    f"(day {calendar_day(status.latest.day)})",
                    analyte=status.analyte,
                )
            )
    return findings


def assess(course: Course, as_of: Moment | None, profile: Profile) -> Assessment:
    """Assess a course as of a moment (a day number, date or datetime; None = latest data).

    Only what was known before the end of the as-of day is used (``Course.until``).
    """
    cut = as_of_cut(as_of, course, course.facts.infusion_date)
    known = course.until(cut)
    as_of_day = calendar_day(cut - 1e-9)
    end_day, end_reason = follow_up_end(known, as_of_day)
    anc = known.series(Analyte.ANC)
    plt = known.series(Analyte.PLATELETS)
    lineages = [
        _lineage(label, analyte, term, thresholds, known.series(analyte), as_of_day, profile)
        for label, analyte, term, thresholds in _LINEAGES
    ]
    platelet_transfusion_days = np.array(
        [day_of(t.start) for t in known.of_kind(Transfusion) if t.product == "platelets"],
        dtype=np.float64,
    )
    fend = float(end_day)
    return Assessment(
        patient_id=course.facts.patient_id,
        as_of_day=as_of_day,
        icaht_version=__version__,
        profile_name=profile.name,
        profile_version=profile.version,
        jain_phase=jain_phase(as_of_day),
        icaht_window=icaht_window(as_of_day),
        follow_up_end_day=end_day,
        follow_up_end_reason=end_reason,
        lineages=lineages,
        early_icaht=grade_early_icaht(
            anc.day, anc.value, end_day=fend, end_reason=end_reason, settings=profile.icaht
        ),
        late_icaht=grade_late_icaht(
            anc.day, anc.value, end_day=fend, end_reason=end_reason, settings=profile.icaht
        ),
        early_ticaht=grade_early_ticaht(
            plt.day, plt.value, end_day=fend, end_reason=end_reason, settings=profile.ticaht
        ),
        late_ticaht=grade_late_ticaht(
            plt.day, plt.value, end_day=fend, end_reason=end_reason, settings=profile.ticaht
        ),
        platelet_recovery_day=platelet_recovery_day(
            plt.day, plt.value, platelet_transfusion_days, end_day=fend, settings=profile.ticaht
        ),
        phenotype=recovery_phenotype(
            anc.day,
            anc.value,
            end_day=fend,
            settings=profile.recovery,
            interpolation_max_gap_days=profile.icaht.interpolation_max_gap_days,
        ),
        platelet_transfusion=transfusion_dependence(
            known, as_of_day, "platelets", profile.transfusion
        ),
        rbc_transfusion=transfusion_dependence(known, as_of_day, "rbc", profile.transfusion),
        gcsf=gcsf_dependence(known, as_of_day, profile.gcsf),
        scores=_scores(known, as_of_day, profile),
        data_quality=_data_quality(lineages, as_of_day),
    )
