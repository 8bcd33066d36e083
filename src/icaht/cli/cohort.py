"""``icaht cohort``: batch assessment of a cohort (``assess``) and its report. The engines
(process pool, Spark) and the report's pandas and plotly load only when a command runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from icaht import NOT_A_MEDICAL_DEVICE
from icaht.cli.common import (
    DEFAULT_PROFILE,
    EXIT_INPUT,
    AnalyteOption,
    ColumnsOption,
    ProfileOption,
    UnitOption,
    command_group,
    long_table_spec,
)
from icaht.cli.common import err as _err

if TYPE_CHECKING:
    from icaht.cohort.local import RunSummary

#: Exit status when some patients (or rows) were rejected and listed in errors.csv.
EXIT_REJECTED = 3

__all__ = ["EXIT_INPUT", "EXIT_REJECTED", "cohort_app"]

cohort_app = command_group(
    f"Cohorts: assess every patient into a results table; report on it. {NOT_A_MEDICAL_DEVICE}"
)


def _report(summary: RunSummary) -> None:
    if summary.warning:
        _err.print(f"[bold yellow]warning:[/] {summary.warning}", highlight=False)
    _err.print(
        f"{summary.assessed:,} patient(s) assessed -> {summary.out} "
        f"({summary.engine}, {summary.seconds:.1f} s; {summary.strategy})",
        highlight=False,
        soft_wrap=True,
    )
    if summary.complete:
        return
    parts = []
    if summary.rejected:
        parts.append(f"{summary.rejected:,} patient(s) rejected")
    if summary.orphan_rows:
        parts.append(
            f"{summary.orphan_rows:,} row(s) or line(s) that belong to no patient left out"
        )
    _err.print(
        f"[bold yellow]{'; '.join(parts)}[/]: {summary.problems:,} problem(s) listed in "
        f"{summary.errors_path}",
        highlight=False,
        soft_wrap=True,
    )


@cohort_app.command("assess", epilog=NOT_A_MEDICAL_DEVICE)
def assess_command(
    input_path: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="A tabular set (Parquet or CSV), a long table (.csv or .parquet; give --unit), "
            "a folder of JSON records, or a folder of FHIR NDJSON files.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Results Parquet file, one row per patient.")],
    as_of_day: Annotated[
        int | None,
        typer.Option(
            "--as-of",
            help="Assess every patient as of this day after infusion (a day number: cohort "
            "rows carry days). Default: each patient's latest data, at most day 365.",
        ),
    ] = None,
    engine: Annotated[str, typer.Option(help="local (process pool) or spark.")] = "local",
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes (local) or cores (spark); default: all."),
    ] = None,
    profile: ProfileOption = DEFAULT_PROFILE,
    unit: UnitOption = None,
    analyte: AnalyteOption = "anc",
    columns: ColumnsOption = None,
) -> None:
    """Assess every patient of INPUT into one results row per patient (grades, phenotype,
    recovery days, scores, TPO-RA response, rule ids fired as of day 30, day 90 and the as-of
    day). Rejected patients and their reasons go to errors.csv next to the results (exit status 3
    when there are any). INPUT may be a long table (docs/tabular.md), read as `icaht grade` reads
    it."""
    if engine not in ("local", "spark"):
        raise typer.BadParameter("use local or spark", param_hint="--engine")
    if out.suffix != ".parquet":
        raise typer.BadParameter("the results file must end in .parquet", param_hint="--out")
    long_table = long_table_spec(input_path, unit, analyte, columns)
    if engine == "spark":
        from icaht.cohort.spark import run_spark

        summary = run_spark(
            input_path,
            out,
            as_of_day=as_of_day,
            profile=profile,
            cores=workers,
            console=_err,
            long_table=long_table,
        )
    else:
        from icaht.cohort.local import run_local

        summary = run_local(
            input_path,
            out,
            as_of_day=as_of_day,
            profile=profile,
            workers=workers,
            console=_err,
            long_table=long_table,
        )
    _report(summary)
    if not summary.complete:
        raise typer.Exit(EXIT_REJECTED)


@cohort_app.command("report", epilog=NOT_A_MEDICAL_DEVICE)
def report_command(
    results: Annotated[
        Path, typer.Argument(metavar="RESULTS", help="Results table of `icaht cohort assess`.")
    ],
    out: Annotated[Path, typer.Option("--out", help="The HTML report (one self-contained file).")],
    tables_dir: Annotated[
        Path | None,
        typer.Option("--tables-dir", help="Folder for the CSV tables; default: <out>_tables."),
    ] = None,
    title: Annotated[
        str, typer.Option("--title", help="Report title.")
    ] = "CAR-T hematotoxicity cohort report",
) -> None:
    """Cohort statistics as one offline HTML report, every table also as CSV."""
    from icaht.cohort.report import write_report

    written = write_report(results, out, tables_dir=tables_dir, title=title, progress=True)
    _err.print(
        f"{written.n_patients:,} patient(s) -> {written.html}; "
        f"{len(written.tables)} table(s) in {written.tables_dir}",
        highlight=False,
        soft_wrap=True,
    )
    if written.rejected:
        _err.print(
            f"[bold yellow]note:[/] {written.rejected:,} patient(s) rejected by assess "
            "are not in the report (errors.csv)",
            highlight=False,
        )
