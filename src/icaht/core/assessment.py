"""``assess(course, as_of, profile) -> Assessment``: one patient's hematotoxicity picture as of
one moment, from what was known by then (no look-ahead), with the profile that shaped it.

Composes the graders (CTCAE v5, EHA/EBMT ICAHT, T-ICAHT), the recovery phenotype, transfusion and
G-CSF dependence, the risk scores (CAR-HEMATOTOX, EASIX family, HScore), the tracked treatments,
the recommendations of the rule catalogue and data-quality findings.
"Cannot evaluate" is always a result with a reason, never an exception.

The assessment also keeps the course as known on the as-of day (:attr:`Assessment.known_course`,
not part of its data: not serialised, not in its JSON Schema, not compared), so presenters show
the events, charts and tallies the assessment was computed from instead of cutting the course
again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from pydantic import BaseModel, PrivateAttr

from icaht import __version__
from icaht.core.checklist import ChecklistItem, checklist
from icaht.core.course import Course
from icaht.core.dependence import SupportStatus
from icaht.core.frozen import FROZEN
from icaht.core.guidance import NotEvaluated, Recommendation, evaluate_rules, fired_rule_ids
from icaht.core.icaht import IcahtResult
from icaht.core.lineage import LineageStatus
from icaht.core.record import Moment
from icaht.core.recovery import (
    ANC_RECOVERY_THRESHOLD_10E9_PER_L,
    PhenotypeResult,
    recovery_after_nadir,
)
from icaht.core.rule_context import RuleContext
from icaht.core.score_panel import Scores
from icaht.core.timeline import IcahtWindow, JainPhase, calendar_day, icaht_window, jain_phase
from icaht.core.treatment import Treatments
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.profile import Profile


class DataQualityFinding(BaseModel):
    model_config = FROZEN
    code: str
    message: str
    analyte: Analyte | None = None


@dataclass(frozen=True, eq=False)
class _Known:
    """The course an assessment was computed from (None when the assessment was read back from
    JSON). An input, not a result: every holder equals every other, so two assessments compare by
    their fields only."""

    course: Course | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Known)

    __hash__ = object.__hash__


class Assessment(BaseModel):
    """Everything icaht says about one patient as of one day."""

    model_config = FROZEN
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
    treatments: Treatments
    recommendations: list[Recommendation]
    checklist: list[ChecklistItem]
    not_evaluated: list[NotEvaluated]
    data_quality: list[DataQualityFinding]
    _known: _Known = PrivateAttr(default_factory=_Known)

    @property
    def known_course(self) -> Course:
        """The course as known on the as-of day (``Course.until`` the end of the as-of day, or the
        as-of time): what this assessment was computed from. Only on an assessment made by
        :func:`assess`; ValueError on one read back from JSON."""
        course = self._known.course
        if course is None:
            raise ValueError("this assessment was not made by assess(): its course is not kept")
        return course

    @cached_property
    def anc_recovery(self) -> tuple[int | None, float | None]:
        """(ANC recovery day, ANC nadir) from day 0 to the end of follow-up: the first day with ANC
        > 0.5 x10^9/L after the nadir (:func:`icaht.core.recovery.recovery_after_nadir`)."""
        return recovery_after_nadir(
            self.known_course.series(Analyte.ANC),
            self.follow_up_end_day,
            ANC_RECOVERY_THRESHOLD_10E9_PER_L,
        )

    @cached_property
    def platelet_nadir(self) -> float | None:
        """The lowest daily platelet count from day 0 to the end of follow-up."""
        series = self.known_course.series(Analyte.PLATELETS)
        return recovery_after_nadir(series, self.follow_up_end_day, 0.0)[1]


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


def assess(
    course: Course,
    as_of: Moment | None,
    profile: Profile,
    day_before: Sequence[Recommendation] | None = None,
    episodes: bool = True,
) -> Assessment:
    """Assess a course as of a moment (a day number, date or datetime; None = latest data).

    Only what was known before the end of the as-of day is used (``Course.until``). A caller
    that assessed the day before the as-of day (a day-by-day replay) passes its recommendations
    as ``day_before``: the episodes continue them instead of being traced back again
    (:func:`icaht.core.guidance.evaluate_rules`); bulk rows that need no episodes pass
    ``episodes=False``.
    """
    context = RuleContext.as_of(course, as_of, profile)
    recommendations, not_evaluated = evaluate_rules(
        context, day_before=day_before, episodes=episodes
    )
    as_of_day = context.as_of_day
    end_day, end_reason = context.follow_up_end
    lineages = list(context.lineages.values())
    assessment = Assessment(
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
        early_icaht=context.early_icaht,
        late_icaht=context.late_icaht,
        early_ticaht=context.early_ticaht,
        late_ticaht=context.late_ticaht,
        platelet_recovery_day=context.platelet_recovery_day,
        phenotype=context.phenotype,
        platelet_transfusion=context.platelet_transfusion,
        rbc_transfusion=context.rbc_transfusion,
        gcsf=context.gcsf,
        scores=context.scores,
        treatments=context.treatments,
        recommendations=recommendations,
        checklist=checklist(context, recommendations),
        not_evaluated=not_evaluated,
        data_quality=_data_quality(lineages, as_of_day),
    )
    assessment._known = _Known(context.course)
    return assessment


def recommendation_ids(course: Course, as_of: Moment | None, profile: Profile) -> list[str]:
    """The ``rule_id`` of each recommendation ``assess(course, as_of, profile)`` lists, in its
    order, computing only what the rules read (no grading the rules do not use, no models)."""
    return fired_rule_ids(RuleContext.as_of(course, as_of, profile))
