"""What a recommendation rule reads: the course as known on the as-of day, the graded results of
the assessment, the tracked treatments and the profile, with small shared queries.

Rules never see data after the as-of day: ``course`` is already cut (``Course.until``).
Each derived result (lineage status, ICAHT and T-ICAHT grades, phenotype, dependence, scores,
treatments) is computed from the cut course on first use and then kept, so evaluating the rules
alone pays only for what they read; :func:`icaht.core.assessment.assess` reads them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import numpy as np

from icaht.core.course import Course, Series, day_of
from icaht.core.dependence import (
    SupportStatus,
    gcsf_dependence,
    stream_complete,
    transfusion_dependence,
)
from icaht.core.icaht import IcahtResult
from icaht.core.lineage import (
    LINEAGES,
    LineageSpec,
    LineageStatus,
    Measurement,
    lineage_status,
)
from icaht.core.marrow import MarrowReview, review_marrow
from icaht.core.neutrophil_icaht import grade_early_icaht, grade_late_icaht
from icaht.core.outcome import Fact
from icaht.core.patient_facts import Stream
from icaht.core.record import (
    CrsEpisode,
    Death,
    DiseaseStatus,
    IcansEpisode,
    Infection,
    MarrowBiopsy,
    Medication,
    Moment,
    Transfusion,
)
from icaht.core.recovery import PhenotypeResult, recovery_phenotype
from icaht.core.score_panel import Scores, score_panel
from icaht.core.severity import (
    Refractory,
    SevereLineage,
    gcsf_refractory,
    persistent_severe_neutropenia,
    severe_lineages,
)
from icaht.core.ticaht import grade_early_ticaht, grade_late_ticaht, platelet_recovery_day
from icaht.core.timeline import JainPhase, as_of_cut, calendar_day, follow_up_end, jain_phase
from icaht.core.treatment import Treatments, track_treatments
from icaht.knowledge.analytes import ANALYTES, Analyte
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L
from icaht.knowledge.profile import Profile

#: Disease states that mean relapse or progression (record.DiseaseStatus).
RELAPSE_STATES = frozenset({"pd", "relapse"})
_LINEAGE_SPECS = {spec[1]: spec for spec in LINEAGES}
Episode = TypeVar("Episode", CrsEpisode, IcansEpisode)


@dataclass(frozen=True)
class RuleContext:
    """One patient as of one day, for the rules (and the assessment built from it).

    ``course`` is the course as known on the as-of day; the derived results are computed from it
    on first use (``cached_property``) and depend on nothing else, so the order in which rules
    read them cannot change them.
    """

    course: Course
    as_of_day: int
    profile: Profile
    _lineages: dict[Analyte, LineageStatus] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def as_of(cls, course: Course, as_of: Moment | None, profile: Profile) -> RuleContext:
        """The context of ``course`` as of a moment (a day number, date or datetime; None =
        latest data): only what was known before the end of the as-of day (``Course.until``)."""
        cut = as_of_cut(as_of, course, course.facts.infusion_date)
        return cls(course.until(cut), calendar_day(cut - 1e-9), profile)

    # -- derived results (computed on first use) ----------------------------------------------
    @cached_property
    def follow_up_end(self) -> tuple[int, str]:
        """End of usable follow-up (calendar day, reason): :func:`timeline.follow_up_end`."""
        return follow_up_end(self.course, self.as_of_day)

    def lineage(self, analyte: Analyte) -> LineageStatus | None:
        """The status of one lineage of :data:`lineage.LINEAGES` (None for another analyte)."""
        spec = _LINEAGE_SPECS.get(analyte)
        return None if spec is None else self._lineage(spec)

    @cached_property
    def lineages(self) -> dict[Analyte, LineageStatus]:
        """Every lineage's status, in :data:`lineage.LINEAGES` order."""
        return {spec[1]: self._lineage(spec) for spec in LINEAGES}

    def _lineage(self, spec: LineageSpec) -> LineageStatus:
        label, analyte, term, thresholds = spec
        status = self._lineages.get(analyte)
        if status is None:
            series = self.course.series(analyte)
            rbc = None  # RBC transfusions: CTCAE anemia grade 3 "transfusion indicated"
            if analyte is Analyte.HB:
                transfusions = self.course.of_kind(Transfusion)
                rbc = np.array([day_of(t.start) for t in transfusions if t.product == "rbc"])
            status = lineage_status(
                label,
                analyte,
                term,
                thresholds,
                series,
                self.as_of_day,
                self.profile,
                rbc,
            )
            self._lineages[analyte] = status
        return status

    @cached_property
    def early_icaht(self) -> IcahtResult:
        anc = self.course.series(Analyte.ANC)
        end, reason = self.follow_up_end
        return grade_early_icaht(
            anc.day, anc.value, end_day=float(end), end_reason=reason, settings=self.profile.icaht
        )

    @cached_property
    def late_icaht(self) -> IcahtResult:
        anc = self.course.series(Analyte.ANC)
        end, reason = self.follow_up_end
        return grade_late_icaht(
            anc.day, anc.value, end_day=float(end), end_reason=reason, settings=self.profile.icaht
        )

    @cached_property
    def early_ticaht(self) -> IcahtResult:
        plt = self.course.series(Analyte.PLATELETS)
        end, reason = self.follow_up_end
        return grade_early_ticaht(
            plt.day, plt.value, end_day=float(end), end_reason=reason, settings=self.profile.ticaht
        )

    @cached_property
    def late_ticaht(self) -> IcahtResult:
        plt = self.course.series(Analyte.PLATELETS)
        end, reason = self.follow_up_end
        return grade_late_ticaht(
            plt.day,
            plt.value,
            end_day=float(end),
            end_reason=reason,
            settings=self.profile.ticaht,
            late_rule=self.profile.icaht.late_rule,  # one rule for both (docs/decisions.md)
        )

    @cached_property
    def platelet_recovery_day(self) -> int | None:
        plt = self.course.series(Analyte.PLATELETS)
        transfused = np.array(
            [day_of(t.start) for t in self.course.of_kind(Transfusion) if t.product == "platelets"],
            dtype=np.float64,
        )
        return platelet_recovery_day(
            plt.day,
            plt.value,
            transfused,
            end_day=float(self.follow_up_end[0]),
            settings=self.profile.ticaht,
        )

    @cached_property
    def phenotype(self) -> PhenotypeResult:
        anc = self.course.series(Analyte.ANC)
        return recovery_phenotype(
            anc.day,
            anc.value,
            end_day=float(self.follow_up_end[0]),
            settings=self.profile.recovery,
            interpolation_max_gap_days=self.profile.icaht.interpolation_max_gap_days,
        )

    @cached_property
    def platelet_transfusion(self) -> SupportStatus:
        return transfusion_dependence(
            self.course, self.as_of_day, "platelets", self.profile.transfusion
        )

    @cached_property
    def rbc_transfusion(self) -> SupportStatus:
        return transfusion_dependence(self.course, self.as_of_day, "rbc", self.profile.transfusion)

    @cached_property
    def gcsf(self) -> SupportStatus:
        return gcsf_dependence(
            self.course, self.as_of_day, self.profile.gcsf, self.profile.severity
        )

    @cached_property
    def death_day(self) -> int | None:
        """Calendar day of a death recorded on or before the as-of day (after it, no
        recommendation fires)."""
        deaths = self.course.of_kind(Death)
        return calendar_day(day_of(deaths[0].start)) if deaths else None

    @cached_property
    def severe_lineages(self) -> tuple[SevereLineage, ...]:
        """Lineages meeting a severity term today, with the day each began
        (:func:`icaht.core.severity.severe_lineages`)."""
        return severe_lineages(self.course, self.as_of_day, self.profile)

    @cached_property
    def persistent_severe_neutropenia(self) -> bool:
        return persistent_severe_neutropenia(self.course, self.as_of_day, self.profile)

    @cached_property
    def gcsf_refractory(self) -> Refractory | None:
        """The current daily G-CSF run when it is refractory (severity terms)."""
        return gcsf_refractory(self.course, self.as_of_day, self.profile)

    def stream_complete(self, stream: Stream) -> bool:
        """Whether the record declares a data stream complete (absence then means none)."""
        return stream_complete(self.course, stream)

    @cached_property
    def marrow_review(self) -> MarrowReview:
        """The latest marrow since infusion and whether it answers the marrow triggers
        (:func:`icaht.core.marrow.review_marrow`)."""
        return review_marrow(self)

    def marrow_on_file(self) -> MarrowBiopsy | None:
        """The marrow since infusion that answers every marrow trigger today
        (docs/decisions.md, Marrow): within ``marrow.valid_days`` trailing days, or older
        while the picture improves; None when there is none or new facts arose since it."""
        return self.marrow_review.on_file

    @cached_property
    def scores(self) -> Scores:
        return score_panel(self.course, self.as_of_day, self.profile)

    @cached_property
    def treatments(self) -> Treatments:
        return track_treatments(self.course, self.as_of_day, self.profile)

    # -- time ---------------------------------------------------------------------------------
    @property
    def phase(self) -> JainPhase:
        """Jain phase of the as-of day."""
        return jain_phase(self.as_of_day)

    # -- laboratory values --------------------------------------------------------------------
    def series(self, analyte: Analyte) -> Series:
        """All values of an analyte known on the as-of day."""
        return self.course.series(analyte)

    def window(self, analyte: Analyte, first_day: int, last_day: int) -> Series:
        """Values on calendar days first_day..last_day (inclusive)."""
        return self.course.series(analyte).between(float(first_day), float(last_day + 1))

    def latest(self, analyte: Analyte, max_age_days: int | None = None) -> Measurement | None:
        """The latest value, or None when there is none (or it is older than ``max_age_days``)."""
        series = self.course.series(analyte)
        if not len(series):
            return None
        day = float(series.day[-1])
        if max_age_days is not None and self.as_of_day - calendar_day(day) > max_age_days:
            return None
        return Measurement(day=day, value=float(series.value[-1]))

    def stale_days(self) -> int:
        """How old a blood count may be in the current Jain phase (profile ``data_quality``)."""
        dq = self.profile.data_quality
        if self.phase == "late":
            return dq.stale_days_late
        if self.phase == "prolonged":
            return dq.stale_days_prolonged
        return dq.stale_days_early

    def current(self, analyte: Analyte) -> Measurement | None:
        """The latest value if it is not stale for the current phase."""
        return self.latest(analyte, self.stale_days())

    def recovery_day(self, after_day: int | None = None) -> int | None:
        """Day ANC recovery was reached: the last of ``prophylaxis.recovery_consecutive_values``
        consecutive values on different days with ANC > 0.5 x10^9/L (CIBMTR engraftment, as in
        docs/decisions.md), counting values on or after ``after_day`` (default: day 0)."""
        need = self.profile.prophylaxis.recovery_consecutive_values
        start = 0 if after_day is None else after_day
        anc = self.window(Analyte.ANC, start, self.as_of_day)
        calendar: list[int] = np.floor(anc.day).astype(np.int64).tolist()
        run = 0
        last_day: int | None = None
        for cal, value in zip(calendar, anc.value.tolist(), strict=True):
            if value > ANC_SEVERE_10E9_PER_L:
                if cal != last_day:
                    run += 1
                if run >= need:
                    return cal
            else:
                run = 0
            last_day = cal
        return None

    # -- events -------------------------------------------------------------------------------
    def medications(self, drugs: frozenset[str]) -> list[Medication]:
        """Medication segments of the given drugs started by the as-of day."""
        return [m for m in self.course.of_kind(Medication) if m.drug in drugs]

    def active_medications(self, drugs: frozenset[str]) -> list[Medication]:
        """Segments of the given drugs still running on the as-of day (open or ending today or
        later)."""
        return [
            m
            for m in self.medications(drugs)
            if m.end is None or calendar_day(day_of(m.end)) >= self.as_of_day
        ]

    def crs_active(self) -> CrsEpisode | None:
        """The CRS episode active on the as-of day, if any (:meth:`episode_last_day`)."""
        return self._active_episode(CrsEpisode)

    def icans_active(self) -> IcansEpisode | None:
        """The ICANS episode active on the as-of day, if any (:meth:`episode_last_day`)."""
        return self._active_episode(IcansEpisode)

    def episode_last_day(self, episode: CrsEpisode | IcansEpisode) -> int:
        """The last calendar day a CRS or ICANS episode counts as active: its end day, or, with
        no end date recorded, at most ``data_quality.open_episode_active_days`` after its start
        (docs/decisions.md, G-CSF: an episode with no end date is not active forever)."""
        if episode.end is not None:
            return calendar_day(day_of(episode.end))
        limit = self.profile.data_quality.open_episode_active_days
        return calendar_day(day_of(episode.start)) + limit

    def _active_episode(self, kind: type[Episode]) -> Episode | None:
        for episode in reversed(self.course.of_kind(kind)):
            if self.episode_last_day(episode) >= self.as_of_day:
                return episode
        return None

    def severe_infection_active(self) -> Infection | None:
        """An active severe or life-threatening infection on the as-of day, if any."""
        for inf in reversed(self.course.of_kind(Infection)):
            open_ = inf.end is None or calendar_day(day_of(inf.end)) >= self.as_of_day
            if open_ and inf.severity in ("severe", "life-threatening"):
                return inf
        return None

    def marrows_after(self, day: int = 0) -> list[MarrowBiopsy]:
        """Marrow biopsies on or after calendar ``day`` (default: from infusion), in time order."""
        return [
            m for m in self.course.of_kind(MarrowBiopsy) if calendar_day(day_of(m.start)) >= day
        ]

    def relapse(self) -> DiseaseStatus | None:
        """The first recorded relapse or progression from infusion on, if any."""
        for status in self.course.of_kind(DiseaseStatus):
            if status.status in RELAPSE_STATES and day_of(status.start) >= 0:
                return status
        return None

    # -- patient ------------------------------------------------------------------------------
    def is_child(self) -> bool | None:
        """Younger than ``patient_groups.child_max_age_years``; None when age is unknown."""
        age = self.course.facts.age_years
        return None if age is None else age < self.profile.patient_groups.child_max_age_years

    def is_infant(self) -> bool | None:
        """Younger than ``patient_groups.infant_max_age_years``; None when age is unknown."""
        age = self.course.facts.age_years
        return None if age is None else age < self.profile.patient_groups.infant_max_age_years


# -- facts -------------------------------------------------------------------------------------
def lab_fact(analyte: Analyte, measurement: Measurement, label: str | None = None) -> Fact:
    """A fact for a laboratory value, in its canonical unit."""
    info = ANALYTES[analyte]
    return Fact(
        label=label or info.display,
        value=f"{measurement.value:g} {info.canonical_unit}",
        day=calendar_day(measurement.day),
    )


def event_fact(label: str, value: str, day: float) -> Fact:
    """A fact for an event on a (fractional) day."""
    return Fact(label=label, value=value, day=calendar_day(day))


def fact(label: str, value: object, day: int | None = None) -> Fact:
    """A fact without a lab unit (a status, a count, a setting)."""
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return Fact(label=label, value=shown, day=day)
