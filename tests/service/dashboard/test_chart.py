"""The patient timeline's figure JSON (issue 16, chart): shaded ICAHT/T-ICAHT episodes from the
grading result, transfusion markers that never hide each other, non-overlapping dose labels and
the all-lineage day hover."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from icaht.core.assessment import Assessment, assess
from icaht.core.course import Course, course_from_record
from icaht.core.patient_record import PatientRecord
from icaht.knowledge.profile import load_profile
from icaht.service.dashboard.chart import timeline_figure
from icaht.service.dashboard.chart.lanes import LABEL_CHAR_PX, LABEL_PLOT_PX, label_rows
from icaht.service.dashboard.pdf import summary_pdf

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
Figure = dict[str, Any]


def _record(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return loaded


def _figure(record: dict[str, Any], as_of: int | None = None) -> tuple[Figure, Assessment]:
    course = course_from_record(PatientRecord.model_validate(record))
    a = assess(course, None if as_of is None else float(as_of), load_profile())
    known: Course = course.until(float(a.as_of_day + 1))
    return timeline_figure(known, a), a


def _trace(figure: Figure, name: str) -> dict[str, Any]:
    found = [t for t in figure["data"] if t["name"] == name]
    assert len(found) == 1, [t["name"] for t in figure["data"]]
    return found[0]


@pytest.fixture(scope="module")
def case1() -> tuple[Figure, Assessment]:
    return _figure(_record("jain-case1"))


def test_episodes_that_set_the_grade_are_shaded_on_their_panel(
    case1: tuple[Figure, Assessment],
) -> None:
    figure, a = case1
    shaded = [s for s in figure["layout"]["shapes"] if s.get("legendgroup")]
    for result, axis in (
        (a.early_icaht, "y domain"),
        (a.late_icaht, "y domain"),
        (a.early_ticaht, "y2 domain"),
        (a.late_ticaht, "y2 domain"),
    ):
        assert result.grade
        assert result.episodes
        label = f"{result.window} {result.scale} grade {result.grade}"
        mine = [s for s in shaded if s["legendgroup"].startswith(label)]
        assert [(s["x0"], s["x1"]) for s in mine] == [
            (ep.start_day, ep.end_day + 1) for ep in result.episodes
        ]
        assert {s["yref"] for s in mine} == {axis}
        # one legend entry per grade, naming the grade and the days
        legend = [s["name"] for s in mine if s["showlegend"]]
        assert len(legend) == 1
        assert all(f"{ep.start_day}" in legend[0] for ep in result.episodes)
    early = a.early_icaht.episodes[0]
    assert f"ANC ≤0.5, day {early.start_day}-{early.end_day} ({early.days} days)" in " ".join(
        _trace(figure, "All lineages")["hovertext"]
    )


def test_no_shading_without_a_grade() -> None:
    figure, a = _figure(_record("jain-case1"), as_of=-1)
    assert not a.early_icaht.grade
    assert not [s for s in figure["layout"]["shapes"] if s.get("legendgroup")]


def _points(trace: dict[str, Any]) -> set[tuple[float, float]]:
    return set(zip(trace["x"], trace["y"], strict=True))


def test_transfusions_on_one_day_never_hide_each_other() -> None:
    record = _record("baur")
    day = 40
    record["events"] += [
        {"kind": "transfusion", "start": day, "product": product}
        for product in ("rbc", "platelets", "plasma")
    ]
    figure, _ = _figure(record)
    rbc, platelets = _trace(figure, "RBC transfusion"), _trace(figure, "Platelet transfusion")
    assert {p for p in _points(rbc) if p[0] == day} != {
        p for p in _points(platelets) if p[0] == day
    }
    names = ("RBC transfusion", "Platelet transfusion", "Plasma transfusion")
    traces = [_trace(figure, name) for name in names]
    on_day = [{(x, y) for x, y in _points(t) if x == day} for t in traces]
    assert all(len(points) == 1 for points in on_day)
    assert len(set.union(*on_day)) == len(names)  # three distinct marker positions
    assert len({t["marker"]["symbol"] for t in traces}) == len(names)
    lanes = figure["layout"]["yaxis5"]["ticktext"]
    assert all(name in lanes for name in names)


def test_fever_and_infection_on_one_day_are_apart() -> None:
    record = _record("baur")
    record["events"] += [
        {"kind": "fever", "start": 50, "temperature_c": 38.9},
        {"kind": "infection", "start": 50, "severity": "moderate"},
    ]
    figure, _ = _figure(record)
    fever = {y for x, y in _points(_trace(figure, "Fever")) if x == 50}
    infection = {y for x, y in _points(_trace(figure, "Infection")) if x == 50}
    assert fever
    assert infection
    assert not fever & infection


def _label_boxes(
    figure: Figure, lane: str, plot_px: int = LABEL_PLOT_PX[0]
) -> list[tuple[float, float, float]]:
    """(row y, first day, last day) of each dose label of a drug lane on a plot ``plot_px``
    wide."""
    labels = _trace(figure, f"{lane} doses ({plot_px} px)")
    assert labels["meta"] == {"label_plot_px": plot_px}
    assert labels["visible"] == (plot_px == LABEL_PLOT_PX[0])  # the wide set until JS picks
    x0, x1 = figure["layout"]["xaxis"]["range"]
    return [
        (y, x, x + len(text) * LABEL_CHAR_PX / plot_px * (x1 - x0))
        for x, y, text in zip(labels["x"], labels["y"], labels["text"], strict=True)
    ]


def _overlaps(boxes: list[tuple[float, float, float]]) -> list[tuple[Any, Any]]:
    return [
        (a, b)
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[0] == b[0] and a[1] < b[2] and b[1] < a[2]
    ]


def test_weekly_romiplostim_steps_alternate_rows_without_overlap() -> None:
    figure, _ = _figure(_record("baur"))
    boxes = _label_boxes(figure, "Romiplostim")
    assert len(boxes) == len(_trace(figure, "Romiplostim dose steps")["x"]) == 9
    assert len({y for y, _, _ in boxes}) == 2  # above and below the band
    assert _overlaps(boxes) == []
    printed = _label_boxes(figure, "Romiplostim", LABEL_PLOT_PX[-1])
    assert 0 < len(printed) < len(boxes)  # a narrow (printed) plot has room for fewer
    assert _overlaps(printed) == []
    # the lane names the drug: the labels do not repeat it
    assert (
        _trace(figure, f"Romiplostim doses ({LABEL_PLOT_PX[0]} px)")["text"][0] == "1 ug/kg weekly"
    )


def test_eltrombopag_titration_every_few_days_drops_crowded_labels_to_the_hover() -> None:
    record = _record("jain-case1")
    record["events"] = [e for e in record["events"] if e.get("drug") != "eltrombopag"]
    doses = (25, 50, 75, 100, 150, 125, 100, 75)
    record["events"] += [
        {
            "kind": "medication",
            "start": 60 + 3 * i,
            "end": 62 + 3 * i,
            "drug": "eltrombopag",
            "dose": dose,
            "dose_unit": "mg",
            "frequency": "daily",
        }
        for i, dose in enumerate(doses)
    ]
    figure, _ = _figure(record)
    boxes = _label_boxes(figure, "Eltrombopag")
    assert _overlaps(boxes) == []
    assert _overlaps(_label_boxes(figure, "Eltrombopag", LABEL_PLOT_PX[-1])) == []
    steps = _trace(figure, "Eltrombopag dose steps")
    assert len(steps["x"]) == len(doses)  # every step keeps its hover
    assert len(boxes) < len(doses)
    assert all(f"{dose} mg daily" in " ".join(steps["hovertext"]) for dose in doses)


def test_label_rows_fall_back_to_the_hover() -> None:
    # 100 days on a plot 100 characters wide: "abcde" blocks its row for 5 days
    wide = round(100 * LABEL_CHAR_PX)
    assert label_rows([0, 1, 2, 6, 7], ["abcde"] * 5, 100, wide) == [0, 1, None, 0, 1]
    # on a plot half as wide it blocks its row for 10 days
    assert label_rows([0, 1, 2, 6, 7], ["abcde"] * 5, 100, wide // 2) == [0, 1, None, None, None]


def test_day_hover_lists_every_lineage_with_its_ctcae_grade(
    case1: tuple[Figure, Assessment],
) -> None:
    figure, _ = case1
    layout = figure["layout"]
    assert layout["hovermode"] == "x unified"
    assert layout["hoversubplots"] == "axis"
    hover = _trace(figure, "All lineages")
    text = hover["hovertext"][hover["x"].index(20)]
    assert text.startswith("<b>Counts on day 20</b>")
    for lineage in ("ANC 0.81 10^9/L · CTCAE G3", "Platelets 25 10^9/L", "Hemoglobin 7.8 g/dL"):
        assert lineage in text
    # the lab lines themselves do not repeat their values in the unified box
    assert _trace(figure, "ANC")["hoverinfo"] == "skip"


def _pdf(as_of: int | None) -> bytes:
    course = course_from_record(PatientRecord.model_validate(_record("jain-case1")))
    a = assess(course, None if as_of is None else float(as_of), load_profile())
    return summary_pdf(course.until(float(a.as_of_day + 1)), a, [], printed_by="t", demo=False)


def test_the_pdf_chart_shades_the_grade_episodes_too() -> None:
    shade = b"/ca 0.15"  # the translucent fill of the shaded days
    assert shade in _pdf(None)
    assert shade not in _pdf(-1)  # no grade yet, nothing shaded
