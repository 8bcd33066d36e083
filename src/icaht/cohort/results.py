"""The cohort results table: one row per patient, the contract between ``icaht cohort assess``
(which writes it) and ``icaht cohort report`` (which reads it).

:func:`cohort_row` is the one per-patient function every engine calls (the local process pool
and Spark's ``applyInPandas``), so the engines give identical rows. It assesses the patient as of
``as_of_day`` and, for the guidance columns, also evaluates the rules as of day 30 and day 90
(the checkpoints the published management approach is organised around: end of the early ICAHT
window and end of the Jain "prolonged" phase) with ``icaht.core.assessment.recommendation_ids``:
the rule ids ``assess`` would list as of that day, without grading what the rules do not read.
Everything in a row is known by its ``as_of_day`` (no look-ahead).

Default as-of day (``as_of_day=None``): each patient's end of follow-up, that is the calendar day
of the latest observation or event on file (death and last follow-up are events), capped at
:data:`DEFAULT_HORIZON_DAY` (project default: one year, the horizon of the published cohorts).

Columns (types in :data:`RESULTS_SCHEMA`; null = not known or not applicable):

* identity and demographics from the patient facts; ``profile`` = ``name@version``;
* ``as_of_day``; ``follow_up_end_day``/``follow_up_end_reason`` as the Assessment (earliest of
  the as-of day, death, progression or relapse, next therapy, last follow-up); ``death_day``,
  ``progression_day`` (first ``pd``/``relapse`` status), ``last_observation_day`` (latest lab),
  ``crs_max_grade``/``icans_max_grade``: all from what is on file by the as-of day;
* ``car_hematotox`` (total points), ``_risk`` (low/high), ``_missing`` (``;``-joined inputs);
* ``early_icaht``, ``late_icaht``, ``early_ticaht``, ``late_ticaht`` with ``_provisional`` (can
  still change) and ``_lower_bound`` (days without values: the grade is a minimum);
* ``phenotype``: quick, intermittent, aplastic or undetermined;
* ``ctcae_<lineage>_<phase>``: worst CTCAE v5 grade in the Jain phase (early < day 30,
  prolonged 30-90, late > 90); -1 = grade 0 or 1 (no lab LLN to tell them apart), null = no value;
* ``anc_recovery_day``/``anc_nadir``: ``Assessment.anc_recovery`` (ANC > 0.5 x10^9/L after the
  nadir, day 0 to the end of follow-up: :func:`icaht.core.recovery.recovery_after_nadir`);
  ``platelet_recovery_day`` as the Assessment (first of 3 consecutive days >= 20 x10^9/L without
  platelet transfusion for 7 days, T-ICAHT) and ``platelet_nadir`` (``Assessment.platelet_nadir``:
  lowest daily platelet count, day 0 to the end of follow-up);
* ``gcsf_used``, ``rbc_transfusions``, ``platelet_transfusions``: G-CSF ever given, transfusion
  events, by the as-of day;
* ``tpo_ra_*``: the Beyar-Katz response of the Assessment (drugs, first dose day, days on,
  response and its day, lineages met, transfusion independence, days from the first dose to
  each lineage's criterion, complete resolution and its day); all null without a TPO-RA;
* ``recommendations_day30``/``_day90``/``recommendations``: rule ids fired as of day 30, day 90
  and the as-of day (``;``-joined; empty = none; null = the checkpoint is after the as-of day);
  ``not_evaluated``: rules that could not be evaluated on the as-of day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from icaht.core.assessment import Assessment, assess, recommendation_ids
from icaht.core.course import Course, day_of
from icaht.core.patient_facts import PatientFacts
from icaht.core.record import (
    CrsEpisode,
    Death,
    DiseaseStatus,
    IcansEpisode,
    Medication,
    Transfusion,
)
from icaht.core.timeline import calendar_day
from icaht.core.tpo_ra_response import LineageResponse
from icaht.knowledge.drugs import GCSF
from icaht.knowledge.profile import Profile
from icaht.report.rows import ResultRow, assessment_row

#: Project default: the default as-of day is the end of follow-up, at most one year after infusion.
DEFAULT_HORIZON_DAY = 365
#: The guidance checkpoints (day 30: end of the early ICAHT window, ICAHT 2023; day 90: end of the
#: Jain prolonged phase, Jain 2023).
CHECKPOINT_DAYS = (30, 90)

LINEAGE_KEYS = ("neutrophils", "platelets", "hemoglobin", "white_cells", "lymphocytes")
PHASES = ("early", "prolonged", "late")
GRADES = ("early_icaht", "late_icaht", "early_ticaht", "late_ticaht")
_TPO_LINEAGES = ("platelets", "neutrophils", "hemoglobin")

_S, _I, _F, _B = pa.string(), pa.int64(), pa.float64(), pa.bool_()


def _fields() -> list[pa.Field]:
    spec: list[tuple[str, pa.DataType]] = [
        ("patient_id", _S),
        ("age_years", _F),
        ("sex", _S),
        ("diagnosis", _S),
        ("product", _S),
        ("target", _S),
        ("costimulatory_domain", _S),
        ("as_of_day", _I),
        ("follow_up_end_day", _I),
        ("follow_up_end_reason", _S),
        ("death_day", _I),
        ("progression_day", _I),
        ("last_observation_day", _I),
        ("crs_max_grade", _I),
        ("icans_max_grade", _I),
        ("car_hematotox", _I),
        ("car_hematotox_risk", _S),
        ("car_hematotox_missing", _S),
    ]
    for name in GRADES:
        spec += [(name, _I), (f"{name}_provisional", _B), (f"{name}_lower_bound", _B)]
    spec.append(("phenotype", _S))
    spec += [(f"ctcae_{key}_{phase}", _I) for key in LINEAGE_KEYS for phase in PHASES]
    spec += [
        ("anc_recovery_day", _I),
        ("anc_nadir", _F),
        ("platelet_recovery_day", _I),
        ("platelet_nadir", _F),
        ("gcsf_used", _B),
        ("rbc_transfusions", _I),
        ("platelet_transfusions", _I),
        ("tpo_ra_drugs", _S),
        ("tpo_ra_start_day", _I),
        ("tpo_ra_days_on", _I),
        ("tpo_ra_response", _B),
        ("tpo_ra_response_day", _I),
        ("tpo_ra_lineages_met", _S),
        ("tpo_ra_transfusion_independent", _B),
    ]
    spec += [(f"tpo_ra_days_to_{lineage}", _I) for lineage in _TPO_LINEAGES]
    spec += [
        ("tpo_ra_complete_resolution", _B),
        ("tpo_ra_complete_resolution_day", _I),
        ("recommendations_day30", _S),
        ("recommendations_day90", _S),
        ("recommendations", _S),
        ("not_evaluated", _S),
        ("profile", _S),
    ]
    not_null = {"patient_id", "as_of_day", "profile"}
    return [pa.field(name, kind, nullable=name not in not_null) for name, kind in spec]


#: The Arrow schema of ``results.parquet`` (column meanings: docs/cohort.md and the module doc).
RESULTS_SCHEMA = pa.schema(_fields())
COLUMNS: tuple[str, ...] = tuple(RESULTS_SCHEMA.names)


def default_as_of_day(course: Course) -> int:
    """The patient's end of follow-up (latest observation or event day), at most day 365."""
    last = course.last_data_day()
    if last is None:
        return 0
    return min(calendar_day(last), DEFAULT_HORIZON_DAY)


def _first_day(days: Iterable[float]) -> int | None:
    found = [calendar_day(d) for d in days]
    return min(found) if found else None


def _max_grade(grades: Iterable[int | None]) -> int | None:
    found = [g for g in grades if g is not None]
    return max(found) if found else None


def _last_observation_day(course: Course) -> int | None:
    days = [calendar_day(float(s.day[-1])) for s in course.labs.values() if len(s)]
    return max(days) if days else None


def _rule_ids(assessment: Assessment) -> str:
    return ";".join(r.rule_id for r in assessment.recommendations)


def _car_hematotox_total(total: float | None) -> int | None:
    return None if total is None else round(total)


def cohort_row(course: Course, as_of_day: int | None, profile: Profile) -> ResultRow:
    """One results row for one patient (columns: :data:`RESULTS_SCHEMA`): the
    :func:`icaht.report.rows.assessment_row` of the assessment as of the day, with the cohort's
    own columns (demographics, events, recovery, support, TPO-RA response, checkpoints).

    ``as_of_day`` None means the patient's default (:func:`default_as_of_day`). Pure: the same
    course, day and profile always give the same row.
    """
    day = default_as_of_day(course) if as_of_day is None else as_of_day
    main = assess(course, day, profile, episodes=False)
    row = assessment_row(main)
    row.update(_patient_columns(course.facts))
    row.update(_event_columns(main.known_course))
    row["car_hematotox"] = _car_hematotox_total(main.scores.car_hematotox.total)
    row["anc_recovery_day"], row["anc_nadir"] = main.anc_recovery
    row["platelet_nadir"] = main.platelet_nadir
    _tpo_ra_columns(main, row)
    at = {
        c: _rule_ids(main) if c == day else ";".join(recommendation_ids(course, c, profile))
        for c in CHECKPOINT_DAYS
        if c <= day
    }
    row["recommendations_day30"] = at.get(30)
    row["recommendations_day90"] = at.get(90)
    return row


def _patient_columns(facts: PatientFacts) -> ResultRow:
    """Identity and demographics."""
    domain = facts.costimulatory_domain
    return {
        "patient_id": facts.patient_id,
        "age_years": facts.age_years,
        "sex": facts.sex.value,
        "diagnosis": facts.diagnosis,
        "product": facts.product,
        "target": facts.target,
        "costimulatory_domain": None if domain is None else domain.value,
    }


def _event_columns(known: Course) -> ResultRow:
    """What is on file by the as-of day: death, progression, latest lab, CRS/ICANS grades,
    G-CSF and transfusions."""
    transfusions = known.of_kind(Transfusion)
    return {
        "death_day": _first_day(day_of(e.start) for e in known.of_kind(Death)),
        "progression_day": _first_day(
            day_of(e.start) for e in known.of_kind(DiseaseStatus) if e.status in ("pd", "relapse")
        ),
        "last_observation_day": _last_observation_day(known),
        "crs_max_grade": _max_grade(e.grade for e in known.of_kind(CrsEpisode)),
        "icans_max_grade": _max_grade(e.grade for e in known.of_kind(IcansEpisode)),
        "gcsf_used": any(m.drug in GCSF for m in known.of_kind(Medication)),
        "rbc_transfusions": sum(1 for t in transfusions if t.product == "rbc"),
        "platelet_transfusions": sum(1 for t in transfusions if t.product == "platelets"),
    }


def _tpo_ra_columns(main: Assessment, row: ResultRow) -> None:
    tpo = main.treatments.tpo_ra_response
    if tpo is None:
        row.update(
            dict.fromkeys(
                (
                    "tpo_ra_drugs",
                    "tpo_ra_start_day",
                    "tpo_ra_days_on",
                    "tpo_ra_response",
                    "tpo_ra_response_day",
                    "tpo_ra_lineages_met",
                    "tpo_ra_transfusion_independent",
                    *(f"tpo_ra_days_to_{lineage}" for lineage in _TPO_LINEAGES),
                    "tpo_ra_complete_resolution",
                    "tpo_ra_complete_resolution_day",
                )
            )
        )
        return
    by_lineage: dict[str, LineageResponse] = {r.lineage: r for r in tpo.lineages}
    row["tpo_ra_drugs"] = ";".join(tpo.drugs) or None
    row["tpo_ra_start_day"] = tpo.first_dose_day
    row["tpo_ra_days_on"] = tpo.days_on
    row["tpo_ra_response"] = tpo.response
    row["tpo_ra_response_day"] = tpo.response_day
    row["tpo_ra_lineages_met"] = ";".join(tpo.lineages_met)
    row["tpo_ra_transfusion_independent"] = tpo.transfusion_independent
    for lineage in _TPO_LINEAGES:
        met = by_lineage.get(lineage)
        row[f"tpo_ra_days_to_{lineage}"] = None if met is None else met.days_from_first_dose
    row["tpo_ra_complete_resolution"] = tpo.complete_resolution
    row["tpo_ra_complete_resolution_day"] = tpo.complete_resolution_day


def rows_table(rows: Sequence[ResultRow]) -> pa.Table:
    """Rows as an Arrow table with :data:`RESULTS_SCHEMA` (column order and types fixed)."""
    return pa.Table.from_pylist(list(rows), schema=RESULTS_SCHEMA)


class ResultsWriter:
    """Write result tables to ``path`` atomically: into ``path.partial``, renamed on success.

    Use as a context manager; on an exception the partial file is removed and ``path`` is left
    untouched.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> ResultsWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(self.partial, RESULTS_SCHEMA)
        return self

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            raise RuntimeError("ResultsWriter used outside its context")
        if table.num_rows:
            self._writer.write_table(table.cast(RESULTS_SCHEMA))
            self.rows += table.num_rows

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        if kind is None:
            self.partial.replace(self.path)
        else:
            self.partial.unlink(missing_ok=True)
