"""The ``icaht`` command line: assess, replay, grade, rules, profile, score, simulate, validate,
schema; the groups fhir, cohort (their modules) and serve, demo, db, user, token, audit
(:mod:`icaht.cli.service`).

Errors from icaht (bad input, bad profile, database) end a command in one place
(:class:`icaht.cli.common.HandledGroup`): the message without a traceback and without patient
data, exit status 2. Commands import what they use when they run (see :mod:`icaht.cli.common`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from icaht import DISCLAIMER
from icaht.cli.cohort import cohort_app
from icaht.cli.common import (
    DEFAULT_PROFILE,
    AnalyteOption,
    AsOfOption,
    ColumnsOption,
    ProfileOption,
    UnitOption,
    chosen_profile,
    command_group,
    counting_bar,
    err,
    long_table_spec,
    out,
    parse_as_of,
)
from icaht.cli.fhir import fhir_app
from icaht.cli.service import register_service_commands

if TYPE_CHECKING:
    from icaht.knowledge.analytes import Analyte

app = command_group(f"icaht: cytopenias after CAR T-cell therapy. {DISCLAIMER}")
score_app = command_group("Quick risk-score calculations.")
app.add_typer(score_app, name="score")
profile_app = command_group("Institution profiles.")
app.add_typer(profile_app, name="profile")
app.add_typer(fhir_app, name="fhir")
app.add_typer(cohort_app, name="cohort")
register_service_commands(app)

PathArgument = Annotated[
    Path, typer.Argument(help="A record .json, a folder of records, or a tabular set.")
]


@app.command("assess")
def assess_command(
    path: PathArgument,
    as_of: AsOfOption = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """Assess one patient (or each patient of an input) as of a day."""
    from icaht.core.assessment import assess
    from icaht.io.inputs import load_courses

    if output_format not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    chosen = chosen_profile(profile)
    moment = parse_as_of(as_of)
    courses = load_courses(path)
    # The table prints no episode, novelty or tier: only JSON needs the day-by-day trace back.
    traced = output_format == "json"
    for course in courses:
        assessment = assess(course, moment, chosen, episodes=traced)
        if output_format == "json":
            typer.echo(assessment.model_dump_json(indent=2))
        else:
            from icaht.report.console import render_assessment

            render_assessment(out, course, assessment)


@app.command("replay")
def replay_command(
    path: Annotated[Path, typer.Argument(help="A record .json (or an input of several patients).")],
    first: Annotated[int | None, typer.Option("--from", help="First day (default: day 0).")] = None,
    last: Annotated[
        int | None, typer.Option("--to", help="Last day (default: the latest data).")
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """Day by day, the recommendations that appeared, changed and disappeared."""
    from icaht.core.replay import replay
    from icaht.core.timeline import calendar_day
    from icaht.io.inputs import load_courses
    from icaht.report.replay_text import render_replay

    if output_format not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    chosen = chosen_profile(profile)
    for course in load_courses(path):
        latest = course.last_data_day()
        start = 0 if first is None else first
        end = (calendar_day(latest) if latest is not None else 0) if last is None else last
        if end < start:
            raise typer.BadParameter(f"--to {end} is before --from {start}", param_hint="--to")
        result = replay(course, start, end, chosen)
        if output_format == "json":
            typer.echo(result.model_dump_json(indent=2))
        else:
            render_replay(out, result)


@app.command("rules")
def rules_command(
    output_format: Annotated[str, typer.Option("--format", help="md or json")] = "md",
    profile: ProfileOption = DEFAULT_PROFILE,
) -> None:
    """The rule catalogue: what each rule does, what it reads, its settings and sources."""
    from icaht.report.catalogue import catalogue_json, catalogue_markdown

    if output_format not in ("md", "json"):
        raise typer.BadParameter("use md or json", param_hint="--format")
    chosen = chosen_profile(profile)
    text = catalogue_json(chosen) if output_format == "json" else catalogue_markdown(chosen)
    typer.echo(text, nl=False)


@profile_app.command("show")
def profile_show_command(profile: ProfileOption = DEFAULT_PROFILE) -> None:
    """Every setting of a profile with its value and documented source."""
    from icaht.report.catalogue import profile_markdown

    typer.echo(profile_markdown(chosen_profile(profile)))


@app.command("grade")
def grade_command(
    path: PathArgument,
    out_path: Annotated[Path, typer.Option("--out", help="Results CSV, one row per patient.")],
    as_of: AsOfOption = None,
    profile: ProfileOption = DEFAULT_PROFILE,
    grades_only: Annotated[
        bool, typer.Option("--grades-only", help="Only the grades: the rules are not run.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: all cores).")
    ] = None,
    unit: UnitOption = None,
    analyte: AnalyteOption = "anc",
    columns: ColumnsOption = None,
) -> None:
    """Grade every patient of an input and write one row per patient (streamed: memory does not
    grow with the cohort). PATH may be a long table (.csv or .parquet, docs/tabular.md): give
    --unit."""
    import os

    from icaht.cohort.grading import grade

    moment = parse_as_of(as_of)
    with counting_bar() as progress:
        task = progress.add_task("grading", total=None)

        def advance(done: int, expected: int | None) -> None:
            progress.update(task, completed=done, total=expected)

        summary = grade(
            path,
            out_path,
            as_of=moment,
            profile=profile,
            workers=workers or os.cpu_count() or 1,
            grades_only=grades_only,
            long_table=long_table_spec(path, unit, analyte, columns),
            progress=advance,
        )
    if summary.warning:
        err.print(f"[bold yellow]warning:[/] {summary.warning}", highlight=False)
    err.print(f"{summary.patients} patient(s) graded -> {out_path}")


def _value(name: str, value: float | None, unit: str, analyte: Analyte) -> float | None:
    from icaht.core.units import unit_factor
    from icaht.knowledge.analytes import ANALYTES

    if value is None:
        return None
    factor = unit_factor(analyte, unit)
    if factor is None:
        accepted = ", ".join(sorted(ANALYTES[analyte].units))
        raise typer.BadParameter(
            f"unit {unit!r} not accepted; accepted: {accepted}", param_hint=name
        )
    if value < 0 or math.isnan(value):
        raise typer.BadParameter(f"{value} is not a valid value", param_hint=name)
    return value * factor


@score_app.command("hematotox")
def hematotox_command(
    plt: Annotated[float | None, typer.Option(help="Platelets")] = None,
    plt_unit: Annotated[str, typer.Option(help="Platelet unit")] = "10^9/L",
    anc: Annotated[float | None, typer.Option(help="ANC")] = None,
    anc_unit: Annotated[str, typer.Option(help="ANC unit")] = "10^9/L",
    hb: Annotated[float | None, typer.Option(help="Hemoglobin")] = None,
    hb_unit: Annotated[str, typer.Option(help="Hemoglobin unit")] = "g/dL",
    crp: Annotated[float | None, typer.Option(help="CRP")] = None,
    crp_unit: Annotated[str, typer.Option(help="CRP unit")] = "mg/dL",
    ferritin: Annotated[float | None, typer.Option(help="Ferritin")] = None,
    ferritin_unit: Annotated[str, typer.Option(help="Ferritin unit")] = "ng/mL",
) -> None:
    """CAR-HEMATOTOX from pre-lymphodepletion values (Rejeski, Blood 2021)."""
    from icaht.core.hematotox import car_hematotox
    from icaht.knowledge.analytes import Analyte

    result = car_hematotox(
        platelets=_value("--plt", plt, plt_unit, Analyte.PLATELETS),
        anc=_value("--anc", anc, anc_unit, Analyte.ANC),
        hb=_value("--hb", hb, hb_unit, Analyte.HB),
        crp_mg_dl=_value("--crp", crp, crp_unit, Analyte.CRP),
        ferritin=_value("--ferritin", ferritin, ferritin_unit, Analyte.FERRITIN),
    )
    for item in result.items:
        shown = "missing" if item.value is None else f"{item.value:g} {item.unit}"
        points = "-" if item.points is None else str(item.points)
        out.print(f"{item.name:<12} {shown:<22} {points:>2}  {item.band}")
    if result.computable:
        out.print(f"CAR-HEMATOTOX {result.total:g}: {result.category} risk")
    else:
        out.print(
            f"CAR-HEMATOTOX not computable: missing {', '.join(result.missing)}"
            + (
                f" (range {result.minimum:g}-{result.maximum:g})"
                if result.minimum is not None
                else ""
            )
        )
    out.print(DISCLAIMER, style="dim")


@app.command("simulate")
def simulate_command(
    out_dir: Annotated[Path, typer.Option("--out", help="New or empty output folder.")],
    n: Annotated[int, typer.Option("--n", min=0, help="Number of patients.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 1,
    output_format: Annotated[
        str, typer.Option("--format", help="parquet, csv, json or fhir-ndjson")
    ] = "parquet",
    chunk: Annotated[int, typer.Option("--chunk", min=1, help="Patients per chunk.")] = 1000,
) -> None:
    """Write a synthetic cohort (deterministic for a seed; see docs/simulate.md)."""
    from icaht.simulate import available_formats, write_cohort

    if output_format not in available_formats():
        raise typer.BadParameter(f"use {', '.join(available_formats())}", param_hint="--format")
    with counting_bar() as progress:
        task = progress.add_task("simulating", total=n)
        summary = write_cohort(
            out_dir,
            n,
            seed,
            output_format,
            chunk=chunk,
            on_progress=lambda done: progress.update(task, completed=done),
        )
    err.print(
        f"{summary.patients} synthetic patient(s), {summary.observations} observation(s), "
        f"{summary.events} event(s) -> {out_dir} ({output_format})"
    )


@app.command("validate")
def validate_command(path: PathArgument, profile: ProfileOption = DEFAULT_PROFILE) -> None:
    """Check an input (and the profile) and print every problem (exit status 2 if any)."""
    from icaht.errors import InputError
    from icaht.io.inputs import load_courses

    chosen_profile(profile)
    try:
        courses = load_courses(path)
    except InputError as exc:
        for problem in exc.problems:
            out.print(f"- {problem}", highlight=False, soft_wrap=True)
        err.print(f"[bold red]{len(exc.problems)} problem(s)[/]; nothing would be loaded")
        raise typer.Exit(2) from None
    observations = sum(len(s) for c in courses for s in c.labs.values())
    events = sum(len(c.events) for c in courses)
    out.print(f"OK: {len(courses)} patient(s), {observations} observation(s), {events} event(s)")


@app.command("schema")
def schema_command(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the JSON Schema files.")
    ] = Path("schemas"),
) -> None:
    """Write the JSON Schemas of PatientRecord and Assessment."""
    from icaht.schemas import SCHEMAS, schema_text

    out_dir.mkdir(parents=True, exist_ok=True)
    for name in SCHEMAS:
        (out_dir / name).write_text(schema_text(name), encoding="utf-8")
        out.print(f"wrote {out_dir / name}")


def main() -> None:
    """Console-script entry point."""
    app()
