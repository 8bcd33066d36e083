"""Render an Assessment for the terminal (rich): a readable table per lineage, the ICAHT grades
with the episodes that set them, scores with their inputs, and data-quality findings."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from icaht import DISCLAIMER
from icaht.core.assessment import Assessment
from icaht.core.course import Course, day_of
from icaht.core.dependence import SupportStatus
from icaht.core.drug_courses import DoseStep
from icaht.core.icaht import IcahtResult
from icaht.core.lineage import LineageStatus, Measurement
from icaht.core.record import Transfusion
from icaht.core.score_result import ScoreResult
from icaht.core.timeline import calendar_day
from icaht.core.tpo_ra_response import TpoRaResponse
from icaht.knowledge.bibliography import cite
from icaht.report.events import event_text
from icaht.report.recommendations import render_recommendations


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _grade_text(result: IcahtResult) -> str:
    if result.grade is None:
        return "-"
    text = f">= {result.grade}" if result.lower_bound else str(result.grade)
    return text + (" (provisional)" if result.provisional else "")


def _ctcae_code(code: int | None) -> str:
    if code is None:
        return "-"
    return "0-1*" if code < 0 else str(code)


def _at(measurement: Measurement) -> str:
    return f"{_num(measurement.value)} (d{calendar_day(measurement.day)})"


def _lineage_row(status: LineageStatus) -> list[str]:
    latest = (
        f"{_num(status.latest.value)} (d{calendar_day(status.latest.day)})"
        if status.latest
        else "none"
    )
    if status.stale and status.latest:
        latest += " stale"
    ctcae = "-" if status.latest_ctcae is None else str(status.latest_ctcae)
    if status.latest_ctcae is None and status.latest is not None:
        ctcae = "0-1*"
    nadir = (
        f"{_num(status.nadir.value)} (d{calendar_day(status.nadir.day)})" if status.nadir else "-"
    )
    worst = " / ".join(
        _ctcae_code(status.worst_ctcae_by_phase.get(p)) for p in ("early", "prolonged", "late")
    )
    under = ", ".join(f"{k}: {v} d" for k, v in status.days_under.items()) or "-"
    return [status.lineage, status.unit, latest, ctcae, nadir, worst, under]


def _lineages(a: Assessment) -> Table:
    table = Table(title="Blood counts (CTCAE v5.0)", title_justify="left", expand=False)
    for header in (
        "Lineage",
        "Unit",
        "Latest (day)",
        "CTCAE",
        "Nadir from d0",
        "Worst early/prol./late",
        "Days under",
    ):
        table.add_column(header)
    for status in a.lineages:
        table.add_row(*_lineage_row(status))
    return table


def _icaht_row(result: IcahtResult) -> list[str]:
    duration = ", ".join(f"{k}: {v} d" for k, v in result.duration_days.items()) or "-"
    episodes = "; ".join(
        f"d{e.start_day}-{e.end_day} {e.comparison}{e.threshold_10e9_per_l:g} "
        f"(nadir {_num(e.nadir_10e9_per_l)} d{e.nadir_day})"
        for e in result.episodes
    )
    notes = [result.reason] if result.reason else []
    notes += result.caveats
    return [
        f"{result.scale} {result.window}",
        f"d{result.window_start_day}-{result.window_end_day}",
        _grade_text(result),
        duration,
        episodes or "-",
        "\n".join(notes) or "-",
    ]


def _icaht(a: Assessment) -> Table:
    table = Table(title="ICAHT (EHA/EBMT 2023) and T-ICAHT", title_justify="left")
    for header in ("Scale", "Window", "Grade", "Duration", "Episodes", "Notes"):
        table.add_column(header, overflow="fold")
    for result in (a.early_icaht, a.late_icaht, a.early_ticaht, a.late_ticaht):
        table.add_row(*_icaht_row(result))
    return table


def _support(status: SupportStatus) -> str:
    last = f"last day {status.last_day}; " if status.last_day is not None else ""
    return f"{status.support}: {status.state} ({last}setting {status.setting})"


def _score_row(score: ScoreResult) -> list[str]:
    if score.computable and score.total is not None:
        value = _num(score.total)
    elif score.minimum is not None and score.maximum is not None:
        value = f"not computable (range {_num(score.minimum)}-{_num(score.maximum)})"
    else:
        value = "not computable"
    items = ", ".join(
        f"{i.name} {_num(i.value)}" + (f"->{i.points}" if i.points is not None else "")
        for i in score.items
        if i.value is not None
    )
    extra = [score.category or "", score.probability or ""]
    missing = ", ".join(score.missing) or (score.reason or "")
    sources = ", ".join(cite(k).short() for k in score.citations)
    return [
        score.name,
        value,
        " ".join(x for x in extra if x) or "-",
        items or "-",
        missing or "-",
        sources,
    ]


def _scores(a: Assessment) -> Table:
    table = Table(title="Risk scores", title_justify="left")
    for header in ("Score", "Value", "Category", "Inputs -> points", "Missing", "Source"):
        table.add_column(header, overflow="fold")
    s = a.scores
    for score in (s.car_hematotox, s.easix, s.simplified_easix, s.m_easix, s.hscore):
        table.add_row(*_score_row(score))
    return table


def _step(step: DoseStep) -> str:
    dose = "dose not recorded"
    if step.dose is not None:
        dose = f"{step.dose:g} {step.dose_unit or ''}".strip()
        if step.normalised_dose is not None and step.normalised_unit != step.dose_unit:
            dose += f" (= {step.normalised_dose:.3g} {step.normalised_unit})"
    end = "ongoing" if step.end_day is None else f"d{step.end_day}"
    return f"d{step.start_day}-{end}: {dose} {step.frequency or ''}".rstrip()


def _treatments(a: Assessment) -> Table | None:
    if not a.treatments.courses:
        return None
    table = Table(title="Treatments tracked", title_justify="left")
    for header in ("Drug", "Class", "From", "To", "Days on", "Dose history"):
        table.add_column(header, overflow="fold")
    for course in a.treatments.courses:
        table.add_row(
            course.drug,
            course.drug_class,
            f"d{course.first_day}",
            "ongoing" if course.active else f"d{course.last_day}",
            str(course.days_on),
            "\n".join(_step(step) for step in course.steps),
        )
    return table


def _tpo_ra_response(response: TpoRaResponse) -> Text:
    text = Text("TPO-RA response (Beyar-Katz 2022): ", style="bold")
    state = "response" if response.response else "no response yet"
    text.append(f"{state}; first dose day {response.first_dose_day}, {response.days_on} days on")
    for lineage in response.lineages:
        met = (
            f"met day {lineage.met_day} ({lineage.days_from_first_dose} d from first dose)"
            if lineage.met_day is not None
            else "not met"
        )
        text.append(f"\n  {lineage.lineage} ({lineage.criterion}): {met}")
    ti = (
        f"day {response.transfusion_independent_day}"
        if response.transfusion_independent_day is not None
        else "not reached"
    )
    text.append(f"\n  transfusion independence: {ti}")
    complete = (
        f"day {response.complete_resolution_day}"
        if response.complete_resolution_day is not None
        else "not reached"
    )
    text.append(f"\n  complete resolution: {complete}")
    for caveat in response.caveats:
        text.append(f"\n  Caveat: {caveat}", style="yellow")
    return text


def _events(console: Console, a: Assessment) -> None:
    """The events known on the as-of day (the assessment's known course), each with its day as
    well as it is known ("~day 40 (+/- 7)", "before day 40"); transfusions on known days as one
    line per product (count and days), since the support lines above already judge dependence."""
    known = a.known_course.events
    if not known:
        return
    console.print(Text("Events", style="bold"))
    given: dict[str, list[int]] = {}
    for event in known:
        if isinstance(event, Transfusion) and event.start_known == "exact":
            given.setdefault(event.product, []).append(calendar_day(day_of(event.start)))
        else:
            console.print(f"  - {event_text(event)}", markup=False, highlight=False)
    for product, days in given.items():
        console.print(
            f"  - Transfusions, {product}: {len(days)} (days {min(days)}-{max(days)})",
            markup=False,
            highlight=False,
        )


def render_assessment(console: Console, course: Course, a: Assessment) -> None:
    """Print one assessment."""
    facts = course.facts
    head = Text()
    head.append(f"Patient {a.patient_id}", style="bold")
    details = [
        x
        for x in (
            facts.diagnosis,
            facts.product,
            f"{facts.age_years:g} y" if facts.age_years else None,
        )
        if x
    ]
    if details:
        head.append("  " + ", ".join(details))
    head.append(
        f"\nAs of day {a.as_of_day}: Jain phase {a.jain_phase}, ICAHT window {a.icaht_window}; "
        f"follow-up for grading to day {a.follow_up_end_day} ({a.follow_up_end_reason})"
    )
    head.append(f"\nProfile {a.profile_name} v{a.profile_version}, icaht {a.icaht_version}")
    console.print(Panel(head, subtitle=DISCLAIMER))
    console.print(_lineages(a))
    console.print("* 0-1: no lab LLN given, so grade 1 cannot be assessed.", style="dim")
    console.print(_icaht(a))
    phenotype = Text(f"Neutrophil recovery phenotype: {a.phenotype.phenotype}", style="bold")
    phenotype.append(f" - {a.phenotype.reason}", style="")
    recovery = (
        f"Platelet recovery (T-ICAHT definition): day {a.platelet_recovery_day}"
        if a.platelet_recovery_day is not None
        else "Platelet recovery (T-ICAHT definition): not reached"
    )
    support = [_support(a.platelet_transfusion), _support(a.rbc_transfusion), _support(a.gcsf)]
    console.print(Group(phenotype, Text(recovery), *(Text(s) for s in support)))
    console.print(_scores(a))
    treatments = _treatments(a)
    if treatments is not None:
        console.print(treatments)
    if a.treatments.tpo_ra_response is not None:
        console.print(_tpo_ra_response(a.treatments.tpo_ra_response))
    _events(console, a)
    render_recommendations(console, a.recommendations, a.not_evaluated)
    if a.data_quality:
        console.print(Text("Data quality", style="bold"))
        for finding in a.data_quality:
            console.print(f"  - {finding.message}")
