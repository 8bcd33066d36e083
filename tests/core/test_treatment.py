"""Treatment tracking (icaht.core.treatment): courses, dose steps, dose normalisation and the
TPO-RA response per Beyar-Katz.

Sources: BK abstract (seed 002; response = transfusion independence plus ANC > 0.5 and/or platelets
> 20 x10^9/L on 3 consecutive values on different days; complete resolution adds Hb > 8 g/dL, all
strict ">"); docs/decisions.md ("TPO-RA response": the lineages that met it are named);
docs/evidence.md 7 (romiplostim in ug/kg of actual body weight; eltrombopag choline 36 mg ~
olamine 50 mg); profile ``transfusion`` windows (14 days platelets, 28 days RBC). Transfusion
independence is reached on D = max(first dose + 1, last platelet transfusion + 14, last RBC
transfusion + 28), when D is on or before the as-of day.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.utils.rule_helpers import SEED, record

from icaht.core.course import Course, course_from_record
from icaht.core.tpo_ra_response import LineageResponse, TpoRaResponse
from icaht.core.treatment import Treatments, track_treatments
from icaht.io.records import load_course

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def med(drug: str, start: float, end: float | None = None, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "medication", "drug": drug, "start": start, **fields}
    if end is not None:
        event["end"] = end
    return event


def transfusion(day: float, product: str = "platelets") -> dict[str, Any]:
    return {"kind": "transfusion", "start": day, "product": product}


def track(
    events: list[dict[str, Any]],
    day: int,
    labs: list[tuple[str, float, float]] | None = None,
    patient: dict[str, Any] | None = None,
) -> Treatments:
    rec = record(patient=patient, labs=labs or [], events=events)
    return _tracked(course_from_record(rec), day)


def _tracked(course: Course, day: int) -> Treatments:
    """The treatments as tracked for an assessment as of ``day`` (the course known by then)."""
    return track_treatments(course.until(day + 1.0), day, SEED)


def response_of(
    events: list[dict[str, Any]], day: int, labs: list[tuple[str, float, float]]
) -> TpoRaResponse:
    response = track(events, day, labs).tpo_ra_response
    assert response is not None
    return response


def lineage(response: TpoRaResponse, name: str) -> LineageResponse:
    return next(r for r in response.lineages if r.lineage == name)


# --- courses and steps ---------------------------------------------------------------------------


def test_courses_group_segments_by_drug_with_one_step_per_segment() -> None:
    """G-CSF, TPO-RA and ESA courses are tracked; other drugs are not."""
    t = track(
        [
            med("filgrastim", 10, 14, dose=5, dose_unit="ug/kg", frequency="daily"),
            med("eltrombopag", 40, 53, dose=50, dose_unit="mg", frequency="daily"),
            med("eltrombopag", 54, dose=75, dose_unit="mg", frequency="daily"),
            med("epoetin alfa", 30, 60),
            med("tocilizumab", 3, 3),
        ],
        day=70,
    )
    by_drug = {c.drug: c for c in t.courses}
    assert set(by_drug) == {"filgrastim", "eltrombopag", "epoetin alfa"}
    assert {c.drug: c.drug_class for c in t.courses} == {
        "filgrastim": "G-CSF",
        "eltrombopag": "TPO-RA",
        "epoetin alfa": "ESA",
    }
    elt = by_drug["eltrombopag"]
    assert [(s.start_day, s.end_day, s.dose) for s in elt.steps] == [(40, 53, 50), (54, None, 75)]
    assert (elt.first_day, elt.last_day, elt.active, elt.days_on) == (40, None, True, 31)
    gcsf = by_drug["filgrastim"]
    assert (gcsf.last_day, gcsf.active, gcsf.days_on) == (14, False, 5)
    assert by_drug["epoetin alfa"].steps[0].normalised_dose is None


@pytest.mark.parametrize(("end", "active"), [(69, False), (70, True), (75, True)])
def test_active_means_open_or_ending_on_or_after_the_as_of_day(end: int, active: bool) -> None:
    """A segment ending on the as-of day still counts as running; one ending the day before not."""
    (course,) = track([med("romiplostim", 60, end, dose=1, dose_unit="ug/kg")], day=70).courses
    assert course.active is active


def test_as_of_day_hides_later_segments_and_opens_running_ones() -> None:
    """Only what is known by the as-of day: a later segment is unseen, a running one has no end."""
    events = [
        med("eltrombopag", 40, 60, dose=50, dose_unit="mg", frequency="daily"),
        med("eltrombopag", 61, 80, dose=75, dose_unit="mg", frequency="daily"),
    ]
    (course,) = track(events, day=50).courses
    assert [(s.start_day, s.end_day) for s in course.steps] == [(40, None)]
    assert (course.last_day, course.days_on) == (None, 11)
    assert track(events, day=39).courses == []


# --- dose normalisation --------------------------------------------------------------------------


def test_romiplostim_in_ug_kg_is_kept() -> None:
    """Romiplostim ug/kg as given (label dosing in ug/kg)."""
    (course,) = track([med("romiplostim", 60, dose=3, dose_unit="ug/kg")], day=61).courses
    step = course.steps[0]
    assert (step.normalised_dose, step.normalised_unit, step.note) == (3, "ug/kg", None)


def test_romiplostim_in_ug_is_converted_with_the_weight() -> None:
    """BAUR L202-203: 60 ug = 1 ug/kg at 60 kg; the conversion is noted."""
    (course,) = track(
        [med("romiplostim", 60, dose=60, dose_unit="ug")], day=61, patient={"weight_kg": 60}
    ).courses
    step = course.steps[0]
    assert step.normalised_dose == pytest.approx(1.0)
    assert step.normalised_unit == "ug/kg"
    assert step.note is not None
    assert "60 kg" in step.note


def test_romiplostim_in_ug_without_weight_is_not_normalised() -> None:
    """BK gave 125 ug flat: without a weight there is no ug/kg, and a note says why."""
    (course,) = track([med("romiplostim", 60, dose=125, dose_unit="mcg")], day=61).courses
    step = course.steps[0]
    assert step.normalised_dose is None
    assert step.note is not None
    assert "weight" in step.note


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"dose": 50, "dose_unit": "mg", "frequency": "daily"}, 50.0),
        ({"dose": 25, "dose_unit": "mg", "frequency": "twice daily"}, 50.0),
        ({"dose": 75, "dose_unit": "mg"}, 75.0),  # no frequency: once daily (label), noted
        ({"dose": 50, "dose_unit": "mg", "frequency": "weekly"}, None),
        ({"dose": 50, "dose_unit": "ug", "frequency": "daily"}, None),
    ],
)
def test_eltrombopag_in_mg_per_day(fields: dict[str, Any], expected: float | None) -> None:
    """Eltrombopag is dosed in mg once daily (docs/evidence.md 7)."""
    (course,) = track([med("eltrombopag", 40, **fields)], day=41).courses
    assert course.steps[0].normalised_dose == expected
    assert course.steps[0].normalised_unit == "mg/day"


def test_eltrombopag_choline_keeps_its_mg_and_is_flagged() -> None:
    """Choline salt: 36 mg ~ 50 mg olamine (docs/evidence.md 7); the mg are not converted."""
    (course,) = track(
        [
            med(
                "eltrombopag",
                40,
                dose=36,
                dose_unit="mg",
                frequency="daily",
                product="Eltrombopag Choline",
            )
        ],
        day=41,
    ).courses
    step = course.steps[0]
    assert step.normalised_dose == 36
    assert step.note is not None
    assert "choline" in step.note
    assert "36 mg" in step.note


@pytest.mark.parametrize(
    ("fields", "weight", "expected"),
    [
        ({"dose": 5, "dose_unit": "ug/kg", "frequency": "daily"}, None, 5.0),
        ({"dose": 300, "dose_unit": "ug", "frequency": "daily"}, 60, 5.0),
        ({"dose": 300, "dose_unit": "ug", "frequency": "daily"}, None, None),
        ({"dose": 300, "dose_unit": "ug", "frequency": "3 times weekly"}, 60, None),
    ],
)
def test_gcsf_in_ug_kg_day_when_possible(
    fields: dict[str, Any], weight: float | None, expected: float | None
) -> None:
    """Filgrastim 5 ug/kg/day (label, docs/evidence.md 7); None when it cannot be derived."""
    patient = {} if weight is None else {"weight_kg": weight}
    (course,) = track([med("filgrastim", 10, **fields)], day=11, patient=patient).courses
    assert course.steps[0].normalised_dose == expected


# --- transfusion independence --------------------------------------------------------------------

ELTROMBOPAG_FROM_40 = med("eltrombopag", 40, dose=75, dose_unit="mg", frequency="daily")


def test_no_tpo_ra_no_response() -> None:
    assert track([med("filgrastim", 10, 20)], day=30).tpo_ra_response is None


@pytest.mark.parametrize(("day", "independent"), [(53, False), (54, True), (60, True)])
def test_transfusion_independence_after_the_platelet_window(day: int, independent: bool) -> None:
    """Last platelet transfusion day 40 (the first dose day): the 14-day window holds it through
    day 53, so independence is reached on day 54."""
    r = response_of([ELTROMBOPAG_FROM_40, transfusion(35), transfusion(40)], day, labs=[])
    assert r.transfusion_independent is independent
    assert r.transfusion_independent_day == (54 if independent else None)


def test_transfusion_independence_waits_for_the_rbc_window() -> None:
    """An RBC transfusion on day 45 keeps the 28-day RBC window busy through day 72."""
    events = [ELTROMBOPAG_FROM_40, transfusion(40), transfusion(45, "rbc")]
    assert response_of(events, 72, labs=[]).transfusion_independent_day is None
    assert response_of(events, 73, labs=[]).transfusion_independent_day == 73


def test_a_later_transfusion_moves_independence() -> None:
    """Independence must hold from its day up to the as-of day: a transfusion on day 60 after an
    independent spell moves the day to 74."""
    events = [ELTROMBOPAG_FROM_40, transfusion(40), transfusion(60)]
    assert response_of(events, 59, labs=[]).transfusion_independent_day == 54
    assert response_of(events, 70, labs=[]).transfusion_independent_day is None
    assert response_of(events, 74, labs=[]).transfusion_independent_day == 74


def test_without_transfusions_independence_is_the_day_after_the_first_dose() -> None:
    """Evaluated from the day after the first dose; a caveat says it reflects no change."""
    r = response_of([ELTROMBOPAG_FROM_40], 41, labs=[])
    assert r.transfusion_independent_day == 41
    assert any("no platelet or RBC transfusion" in c for c in r.caveats)


# --- lineages, response and complete resolution --------------------------------------------------


def pre_dose_counts() -> list[tuple[str, float, float]]:
    """Severe cytopenia before the first dose (days 36, 38, 40)."""
    return [
        (name, float(day), value)
        for day in (36, 38, 40)
        for name, value in (("anc", 0.2), ("platelets", 10.0), ("hb", 7.0))
    ]


def test_response_names_the_lineages_and_their_days() -> None:
    """BK: platelets > 20 on 3 values (days 45, 47, 49 -> met day 49, 9 days from the first dose);
    TI day 54 -> response day 54; ANC stays <= 0.5 so only platelets met it."""
    labs = [
        *pre_dose_counts(),
        *[("platelets", float(d), 25.0) for d in (45, 47, 49)],
        *[("anc", float(d), 0.5) for d in (45, 47, 49)],  # 0.5 is not > 0.5
    ]
    r = response_of([ELTROMBOPAG_FROM_40, transfusion(40)], 60, labs)
    assert r.response is True
    assert r.response_day == 54
    assert r.lineages_met == ["platelets"]
    assert (lineage(r, "platelets").met_day, lineage(r, "platelets").days_from_first_dose) == (
        49,
        9,
    )
    assert lineage(r, "neutrophils").met_day is None
    assert r.days_on == 21
    assert r.first_dose_day == 40
    assert r.drugs == ["eltrombopag"]


def test_threshold_values_do_not_count_and_restart_the_run() -> None:
    """Strict '>': platelets exactly 20 break the run (BK 'platelets > 20,000/uL')."""
    labs = [
        *pre_dose_counts(),
        *[
            ("platelets", float(d), v)
            for d, v in ((45, 25), (46, 25), (47, 20), (48, 25), (49, 25))
        ],
    ]
    r = response_of([ELTROMBOPAG_FROM_40], 60, labs)
    assert lineage(r, "platelets").met_day is None


def test_values_on_the_same_day_count_once() -> None:
    """'Three consecutive values on different days': two values on one day are one."""
    labs = [
        *pre_dose_counts(),
        ("platelets", 45.0, 25),
        ("platelets", 45.5, 26),
        ("platelets", 46.0, 27),
    ]
    r = response_of([ELTROMBOPAG_FROM_40], 60, labs)
    assert lineage(r, "platelets").met_day is None
    r = response_of([ELTROMBOPAG_FROM_40], 60, [*labs, ("platelets", 47.0, 28)])
    assert lineage(r, "platelets").met_day == 47


def test_values_on_the_first_dose_day_are_pre_dose() -> None:
    """Runs count values after the first dose day only."""
    labs = [*pre_dose_counts()[:-3], *[("platelets", float(d), 25.0) for d in (40, 41, 42)]]
    r = response_of([ELTROMBOPAG_FROM_40], 60, labs)
    assert lineage(r, "platelets").met_day is None


def test_no_response_without_transfusion_independence() -> None:
    """A lineage met while still transfused is not a response."""
    labs = [*pre_dose_counts(), *[("platelets", float(d), 25.0) for d in (45, 47, 49)]]
    r = response_of([ELTROMBOPAG_FROM_40, transfusion(48)], 60, labs)
    assert r.lineages_met == ["platelets"]
    assert r.response is False
    assert r.response_day is None


@pytest.mark.parametrize(
    ("anc", "hb", "complete"), [(0.6, 8.1, True), (0.5, 8.1, False), (0.6, 8.0, False)]
)
def test_complete_resolution_needs_all_three_strictly_above(
    anc: float, hb: float, complete: bool
) -> None:
    """BK: complete resolution = ANC > 0.5 AND platelets > 20 AND Hb > 8 g/dL (strict; ANC 0.5 and
    Hb 8.0 do not qualify). Its day is the latest of the response and the three lineages."""
    labs = [
        *pre_dose_counts(),
        *[
            (name, float(d), v)
            for d in (45, 47, 49)
            for name, v in (("platelets", 25.0), ("anc", anc))
        ],
        *[("hb", float(d), hb) for d in (50, 52, 56)],
    ]
    r = response_of([ELTROMBOPAG_FROM_40, transfusion(40)], 60, labs)
    assert r.response is True
    assert r.complete_resolution is complete
    assert r.complete_resolution_day == (56 if complete else None)


def test_a_response_after_the_as_of_day_is_not_seen() -> None:
    """As-of awareness: the third platelet value (day 49) is unknown on day 48; TI before 54."""
    labs = [*pre_dose_counts(), *[("platelets", float(d), 25.0) for d in (45, 47, 49)]]
    events = [ELTROMBOPAG_FROM_40, transfusion(40)]
    assert lineage(response_of(events, 48, labs), "platelets").met_day is None
    assert response_of(events, 53, labs).response is False
    assert response_of(events, 54, labs).response_day == 54


def test_a_lineage_already_above_before_the_first_dose_is_marked() -> None:
    """ANC > 0.5 on the 3 values up to the first dose: nothing to resolve (caveat, flag)."""
    labs = [
        *[("anc", float(d), 1.0) for d in (36, 38, 40, 45, 47, 49)],
        *[("platelets", float(d), 10.0) for d in (36, 38, 40)],
    ]
    r = response_of([ELTROMBOPAG_FROM_40, transfusion(40)], 60, labs)
    assert lineage(r, "neutrophils").met_before_first_dose is True
    assert lineage(r, "platelets").met_before_first_dose is False
    assert any(c.startswith("neutrophils already met") for c in r.caveats)


# --- seed case -----------------------------------------------------------------------------------


def test_scaldaferri_transfusion_independence_about_40_days_into_eltrombopag() -> None:
    """SCAL L20-22: eltrombopag 50 mg/day from June 2022 (day 330 in the example), transfusion
    independence 40 days later (about day 370). Last platelet transfusion day 357 (+14) and last
    RBC day 343 (+28) give day 371, 41 days into therapy; platelets > 20 on days 364, 371, 378."""
    course = load_course(EXAMPLES / "scaldaferri.json")
    before = _tracked(course, 370).tpo_ra_response
    assert before is not None
    assert before.transfusion_independent is False
    r = _tracked(course, 400).tpo_ra_response
    assert r is not None
    assert r.first_dose_day == 330
    assert r.transfusion_independent_day == 371
    assert r.transfusion_independent_day - r.first_dose_day == 41
    assert lineage(r, "platelets").met_day == 378
    assert r.response_day == 371
    (elt,) = [c for c in _tracked(course, 400).courses if c.drug == "eltrombopag"]
    assert elt.steps[0].normalised_dose == 50
    assert elt.active


# --- platelet response and partial response (docs/decisions.md, "A TPO-RA course is one
# state machine": partial = platelet transfusions in the last 14 days at most half of the 14 days
# before the first dose, or platelets at least doubled from the pre-treatment median) -----------


@pytest.mark.parametrize(("day", "judged"), [(53, False), (54, True)])
def test_partial_response_waits_until_the_windows_do_not_overlap(day: int, judged: bool) -> None:
    """The latest 14-day window is judged only once it starts after the first dose day (40): on
    day 53 it still holds the first dose day."""
    events = [ELTROMBOPAG_FROM_40, transfusion(33), transfusion(40)]
    p = response_of(events, day, labs=[]).partial
    assert p.transfusions_before == 2
    assert (p.transfusions_recent is not None) is judged
    assert p.by_transfusions is judged


@pytest.mark.parametrize(("recent", "partial"), [(2, False), (1, True)])
def test_partial_response_by_transfusions_at_most_half(recent: int, partial: bool) -> None:
    """3 platelet transfusions in days 27-40 (up to the first dose day); 2 in the last 14 days is
    not at most half (1.5), 1 is."""
    before = [transfusion(30), transfusion(35), transfusion(40)]
    after = [transfusion(d) for d in (60, 66)[:recent]]
    p = response_of([ELTROMBOPAG_FROM_40, *before, *after], 70, labs=[]).partial
    assert (p.transfusions_before, p.transfusions_recent) == (3, recent)
    assert p.by_transfusions is partial
    assert p.met is partial


def test_no_partial_response_by_transfusions_without_transfusions_before() -> None:
    """None before the first dose: 'at most half of none' would say nothing."""
    p = response_of([ELTROMBOPAG_FROM_40], 70, labs=[]).partial
    assert p.transfusions_before == 0
    assert p.by_transfusions is False


@pytest.mark.parametrize(("recent", "partial"), [(19.0, False), (20.0, True)])
def test_partial_response_by_platelets_doubled(recent: float, partial: bool) -> None:
    """Pre-treatment median 10 (days 36, 38, 40); the median of the last 14 days must be >= 20."""
    labs = [
        ("platelets", 36.0, 8.0),
        ("platelets", 38.0, 10.0),
        ("platelets", 40.0, 12.0),
        ("platelets", 60.0, recent),
        ("platelets", 65.0, recent),
    ]
    p = response_of([ELTROMBOPAG_FROM_40], 66, labs=labs).partial
    assert p.median_before == 10.0
    assert p.median_recent == recent
    assert p.by_platelets is partial


def test_platelet_response_is_the_treated_lineage_only() -> None:
    """Issue 15 finding 4: a neutrophil response (ANC > 0.5 on 3 values, no transfusions) is the
    Beyar-Katz response, but not a response of the platelets, which stay at 15."""
    labs = [
        *[("anc", float(d), 0.2) for d in (36, 38, 40)],
        *[("platelets", float(d), 15.0) for d in (36, 38, 40, 45, 47, 49)],
        *[("anc", float(d), 1.0) for d in (45, 47, 49)],
    ]
    r = response_of([ELTROMBOPAG_FROM_40], 60, labs=labs)
    assert r.response is True
    assert r.lineages_met == ["neutrophils"]
    assert r.platelet_response_day is None
    assert r.partial.met is False


def test_platelet_response_day_is_the_later_of_independence_and_the_platelet_criterion() -> None:
    """Platelets > 20 on days 45, 47, 49 (met day 49); last platelet transfusion day 40 (TI 54)."""
    labs = [
        *[("platelets", float(d), 10.0) for d in (36, 38, 40)],
        *[("platelets", float(d), 25.0) for d in (45, 47, 49)],
    ]
    r = response_of([ELTROMBOPAG_FROM_40, transfusion(40)], 60, labs=labs)
    assert r.platelet_response_day == 54


def test_scaldaferri_partial_response_at_transfusion_independence() -> None:
    """SCAL L22: independence 40 days into eltrombopag 50 mg (day 330 here): the one platelet
    transfusion of days 317-330 against none in days 358-371 is a partial response on day 371,
    before the platelet criterion of Beyar-Katz (day 378)."""
    course = load_course(EXAMPLES / "scaldaferri.json")
    before = _tracked(course, 370).tpo_ra_response
    assert before is not None
    assert before.partial.met is False
    r = _tracked(course, 371).tpo_ra_response
    assert r is not None
    assert r.partial.by_transfusions is True
    assert (r.partial.transfusions_before, r.partial.transfusions_recent) == (1, 0)
    later = _tracked(course, 378).tpo_ra_response
    assert later is not None
    assert later.platelet_response_day == 378
