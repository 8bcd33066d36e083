"""Rule contracts that check themselves (issue 19 item 2): every rule of the catalogue is run
against a recording profile and a recording context, and the settings and inputs it reads must
equal the ones it declares (``@rule(inputs=..., settings=...)``), so the settings page and the
card show every setting that changes a result, and nothing else.

What counts as read (docs/architecture.md, Recommendations):

- a setting is read when the rule, or a query it calls (a :class:`RuleContext` method, a shared
  query of :mod:`icaht.core.rules.queries`, a severity term), reads it from the profile. A
  derived input (:data:`icaht.core.rule.DERIVED_INPUTS`, e.g. ``early_icaht``) is read as that
  name: the settings and raw data it is computed from are its own contract, checked below;
- an input is an analyte (``ctx.series``, ``ctx.current`` and the like), an event kind
  (``course.of_kind``), a patient fact (``course.facts``) or a derived input.

The rules run over the seed cases and a simulated cohort on many days, and over targeted records
(``data/contract_scenarios.json``) on the days their branches need, with both shipped profiles
(some scenarios change a setting, as a user may, to open a branch), each rule on a fresh context
so that results another rule computed first are not hidden from the recording. Declared and read
are equal for every rule: no exception list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from tests.utils.rule_helpers import daily, record

from icaht.core.course import Course, course_from_record
from icaht.core.observation import Observation
from icaht.core.patient_record import PatientRecord
from icaht.core.rule import DERIVED_INPUTS, Rule
from icaht.core.rule_context import RuleContext
from icaht.core.rules import CATALOGUE
from icaht.knowledge.profile import Profile, load_profile, shipped_profiles
from icaht.simulate.writers import simulate_records

EXAMPLES = Path(__file__).parents[3] / "examples"
SIMULATED = 60
DAYS = (-3, 0, 3, 8, 14, 21, 28, 35, 45, 60, 75, 90, 100, 120, 150, 180, 220, 300, 400)


class Log:
    """What one rule read: settings and inputs, with derived inputs read as one name."""

    def __init__(self) -> None:
        self.settings: set[str] = set()
        self.inputs: set[str] = set()
        self.depth = 0  # > 0 while a derived input is computed
        self.quiet = False  # True while the score panel is computed (see _Scores)

    @contextmanager
    def derived(self, name: str | None) -> Iterator[None]:
        """While a derived input is computed: its reads are not the rule's own (None: the name
        is logged later, by what the rule reads of the result)."""
        if self.depth == 0 and name is not None:
            self.inputs.add(name)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def setting(self, name: str) -> None:
        if not self.quiet:
            self.settings.add(name)

    def input(self, name: str) -> None:
        if self.depth == 0:
            self.inputs.add(name)


class _Section:
    """A profile section that logs every setting read from it."""

    def __init__(self, section: Any, name: str, log: Log) -> None:
        self._section, self._name, self._log = section, name, log

    def __getattr__(self, name: str) -> Any:
        self._log.setting(f"{self._name}.{name}")
        return getattr(self._section, name)


class _Profile:
    """A profile whose sections log the settings read from them."""

    def __init__(self, profile: Profile, log: Log) -> None:
        self._profile, self._log = profile, log

    def __getattr__(self, name: str) -> Any:
        return _Section(getattr(self._profile, name), name, self._log)


class _Facts:
    def __init__(self, facts: Any, log: Log) -> None:
        self._facts, self._log = facts, log

    def __getattr__(self, name: str) -> Any:
        self._log.input(f"patient.{name}")
        return getattr(self._facts, name)


class _Course:
    """A course that logs the analytes, event kinds and patient facts read from it."""

    def __init__(self, course: Course, log: Log) -> None:
        self._course, self._log = course, log
        self.facts = _Facts(course.facts, log)
        self.cut = course.cut

    def series(self, analyte: Any) -> Any:
        self._log.input(analyte.value)
        return self._course.series(analyte)

    def of_kind(self, kind: Any) -> Any:
        self._log.input(kind.model_fields["kind"].default)
        return self._course.of_kind(kind)

    @property
    def ld_start_day(self) -> float | None:
        self._log.input("patient.ld_start")
        return self._course.ld_start_day

    def __getattr__(self, name: str) -> Any:
        if self._log.depth == 0:
            raise AssertionError(f"a rule read course.{name}: read it by kind or analyte")
        return getattr(self._course, name)


#: Context attributes that are derived inputs, by input name (DERIVED_INPUTS).
_DERIVED_ATTRIBUTES = {
    "phase": "jain_phase",
    "early_icaht": "early_icaht",
    "late_icaht": "late_icaht",
    "early_ticaht": "early_ticaht",
    "late_ticaht": "late_ticaht",
    "platelet_recovery_day": "platelet_recovery",
    "phenotype": "phenotype",
    "platelet_transfusion": "platelet_transfusion",
    "rbc_transfusion": "rbc_transfusion",
    "gcsf": "gcsf_dependence",
    "treatments": "treatments",
}
_SCORES = {"car_hematotox": "car_hematotox", "hscore": "hscore"}
#: The settings each score of the panel reads (the panel computes them all at once, so the
#: recording cannot tell them apart; ``test_score_settings_are_the_panels`` checks the union).
_SCORE_SETTINGS = {"car_hematotox": {"baseline.lookback_days"}, "hscore": {"hscore.lookback_days"}}


class _Scores:
    """The score panel: reading one score reads that input and its settings."""

    def __init__(self, scores: Any, log: Log) -> None:
        self._scores, self._log = scores, log

    def __getattr__(self, name: str) -> Any:
        self._log.input(_SCORES.get(name, f"score {name}"))
        self._log.settings |= _SCORE_SETTINGS.get(name, set())
        return getattr(self._scores, name)


class _Treatments:
    def __init__(self, treatments: Any, log: Log) -> None:
        self._treatments, self._log = treatments, log

    def __getattr__(self, name: str) -> Any:
        if name == "tpo_ra_response":
            self._log.input("tpo_ra_response")
        else:
            self._log.input("treatments")
        return getattr(self._treatments, name)


class RecordingContext(RuleContext):
    """A rule context that logs derived inputs as their names."""

    log: Log

    def __getattribute__(self, name: str) -> Any:
        derived = _DERIVED_ATTRIBUTES.get(name)
        log: Log = object.__getattribute__(self, "log")
        if name == "scores":
            log.quiet = True
            with log.derived(None):
                scores = super().__getattribute__(name)
            log.quiet = False
            return _Scores(scores, log)
        if name == "treatments":
            with log.derived(None):
                treatments = super().__getattribute__(name)
            return _Treatments(treatments, log)
        if derived is None:
            return super().__getattribute__(name)
        with log.derived(derived):
            return super().__getattribute__(name)


def recording(course: Course, as_of_day: int, profile: Profile) -> RecordingContext:
    """A fresh recording context (nothing computed yet) of a course cut at the as-of day."""
    log = Log()
    cut = RuleContext.as_of(course, float(as_of_day), profile).course
    context = RecordingContext(_Course(cut, log), as_of_day, _Profile(profile, log))  # type: ignore[arg-type]
    object.__setattr__(context, "log", log)
    return context


def _courses() -> list[Course]:
    records = [
        PatientRecord.model_validate_json(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))
    ]
    records += list(simulate_records(SIMULATED, 19))
    return [course_from_record(r) for r in records]


_SCENARIOS = Path(__file__).with_name("data") / "contract_scenarios.json"


def _changed(profile: Profile, changes: dict[str, dict[str, Any]]) -> Profile:
    """The profile with settings changed as a user may change them (validated)."""
    data = profile.model_dump()
    for section, values in changes.items():
        data[section] |= values
    return Profile.model_validate(data)


def _scenarios(profiles: list[Profile]) -> list[tuple[Course, tuple[int, ...], list[Profile]]]:
    """The targeted records, each with its days and profiles: ``labs`` as (analyte, day, value)
    and ``daily`` as (analyte, first, last, value) in canonical units
    (tests/utils/rule_helpers.py), ``observations`` as written in a record (with a ULN), and
    ``profile`` as settings changed in each shipped profile (branches a setting opens)."""
    out = []
    for scenario in json.loads(_SCENARIOS.read_text(encoding="utf-8")):
        labs = [(name, float(day), float(value)) for name, day, value in scenario.get("labs", [])]
        for name, first, last, value in scenario.get("daily", []):
            labs += daily(name, first, last, value)
        rec = record(patient=scenario.get("patient"), labs=labs, events=scenario.get("events", []))
        written = [Observation.model_validate(o) for o in scenario.get("observations", [])]
        rec = rec.model_copy(update={"observations": [*rec.observations, *written]})
        changes = scenario.get("profile", {})
        changed = [_changed(p, changes) for p in profiles]
        out.append((course_from_record(rec), tuple(scenario["days"]), changed))
    return out


@cache
def observed() -> dict[str, tuple[set[str], set[str]]]:
    """Per rule id: (settings read, inputs read) over every course, day and profile."""
    out: dict[str, tuple[set[str], set[str]]] = {r.id: (set(), set()) for r in CATALOGUE}
    profiles = [load_profile(name) for name in shipped_profiles()]
    runs = [(course, DAYS, profiles) for course in _courses()] + _scenarios(profiles)
    for course, days, run_profiles in runs:
        for profile in run_profiles:
            for day in days:
                for rule in CATALOGUE:
                    context = recording(course, day, profile)
                    rule.evaluate(context)
                    settings, inputs = out[rule.id]
                    settings |= context.log.settings
                    inputs |= context.log.inputs
    return out


def _undeclared(rule: Rule) -> list[str]:
    settings, inputs = observed()[rule.id]
    return [
        f"{rule.id}: reads setting {n} undeclared" for n in sorted(settings - set(rule.settings))
    ] + [f"{rule.id}: reads input {n} undeclared" for n in sorted(inputs - set(rule.inputs))]


def _unread(rule: Rule) -> list[str]:
    settings, inputs = observed()[rule.id]
    return [
        f"{rule.id}: declares setting {n} never read" for n in sorted(set(rule.settings) - settings)
    ] + [f"{rule.id}: declares input {n} never read" for n in sorted(set(rule.inputs) - inputs)]


def test_every_rule_declares_what_it_reads() -> None:
    """A setting or input a rule reads is declared (else the settings page would hide a setting
    that changes its result)."""
    found = sorted(p for rule in CATALOGUE for p in _undeclared(rule))
    assert found == [], "\n".join(found)


def test_every_declaration_is_read() -> None:
    """A setting or input a rule declares is read on some path the scenarios walk (else the card
    would show a setting that changes nothing)."""
    found = sorted(p for rule in CATALOGUE for p in _unread(rule))
    assert found == [], "\n".join(found)


def test_score_settings_are_the_panels() -> None:
    """The settings the recording attributes to each score are all the panel reads."""
    log = Log()
    profile = _Profile(load_profile("seed-2023"), log)
    for course in _courses()[:8]:
        _ = RuleContext(course, 0, profile).scores  # type: ignore[arg-type]
    assert log.settings == set().union(*_SCORE_SETTINGS.values())


def test_derived_inputs_are_all_named() -> None:
    assert set(_DERIVED_ATTRIBUTES.values()) | set(_SCORES.values()) | {"tpo_ra_response"} == set(
        DERIVED_INPUTS
    )
