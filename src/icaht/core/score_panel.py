"""The score panel of an assessment: CAR-HEMATOTOX and the EASIX family from the pre-infusion
baseline, and the HScore from recent values (as of the assessment day).

References: Rejeski et al., Blood 2021 (CAR-HEMATOTOX); Pennisi et al., Blood Adv 2021 (EASIX
family); Fardet et al., Arthritis Rheumatol 2014 (HScore); baseline selection per
docs/decisions.md (Timeline).
"""

from __future__ import annotations

from pydantic import BaseModel

from icaht.core.course import Course, day_of
from icaht.core.easix import easix, m_easix, simplified_easix
from icaht.core.frozen import FROZEN
from icaht.core.hematotox import car_hematotox
from icaht.core.hscore import hscore
from icaht.core.record import Fever, Finding, MarrowBiopsy
from icaht.core.score_result import ScoreResult
from icaht.core.timeline import baseline_value
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.profile import Profile


class Scores(BaseModel):
    model_config = FROZEN
    car_hematotox: ScoreResult
    easix: ScoreResult
    simplified_easix: ScoreResult
    m_easix: ScoreResult
    hscore: ScoreResult


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


def score_panel(course: Course, as_of_day: int, profile: Profile) -> Scores:
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
