"""``icaht cohort report``: one self-contained HTML file plus every table as CSV.

The HTML works offline: plotly.js is inlined from the installed ``plotly`` package (no CDN, no
external stylesheet), and all text that comes from the data (product names, diagnoses, file
names) is escaped by Jinja2's autoescaping. Files are written whole or not at all
(:mod:`icaht.atomic`): the tables go to ``<dir>.partial`` and the HTML to ``<file>.partial``
first, then are renamed (the tables first, then the HTML). What the report shows is computed
in :mod:`icaht.cohort.report_content`.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import pandas as pd
import plotly.offline
import pyarrow as pa
import pyarrow.parquet as pq
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from icaht import DISCLAIMER, __version__
from icaht.atomic import atomic_dir, atomic_text
from icaht.cohort import (
    aalen_johansen,
    recovery,
    results_contract,
    strata,
    tabulation,
)
from icaht.cohort.report_content import CohortReport, build_report
from icaht.errors import IcahtError, InputError, Problem
from icaht.knowledge.bibliography import BIBLIOGRAPHY, Reference

TEMPLATES: Final = Path(__file__).resolve().parent / "report_templates"
#: the sources cited in the methods section, keys of ``icaht.knowledge.bibliography``
CITED_KEYS: Final = ("CTCAE", "JAIN", "ICAHT", "LIANG-ICAHT", "T-ICAHT", "HT", "LEE", "BK")


# --- reading ----------------------------------------------------------------------------------


def read_results(path: Path) -> pd.DataFrame:
    """Read a results table (Parquet, or CSV) and check it against the contract.

    Raises :class:`InputError` naming the file for an unreadable file, a missing column or a
    bad value (with its row and field).
    """
    source = str(path)
    if not path.is_file():
        raise InputError([Problem(source, "results file not found")])
    try:
        if path.suffix.lower() == ".csv":
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            table = pq.read_table(path)
            raw = table.to_pandas(types_mapper=_object_types)
    except (OSError, ValueError, pa.ArrowException, pd.errors.ParserError) as exc:
        raise InputError([Problem(source, f"cannot read the results table: {exc}")]) from exc
    return results_contract.prepare_results(raw, source)


def _object_types(arrow_type: pa.DataType) -> object:
    """Keep nullable integers and flags exact when reading Parquet (no float round trip)."""
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def count_rejected(errors_path: Path) -> int | None:
    """Number of distinct patients in an ``errors.csv`` of ``icaht cohort assess`` (if any)."""
    if not errors_path.is_file():
        return None
    with errors_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        ids = {row.get("patient_id") or f"row {i}" for i, row in enumerate(reader)}
    return len(ids)


# --- rendering --------------------------------------------------------------------------------


def _cell(value: object) -> str:
    """A table cell: missing as "-", whole numbers without decimals."""
    if value is None or value is pd.NA:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return tabulation.format_number(value)
    return str(value)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = _cell
    return env


def _references() -> list[Reference]:
    return [BIBLIOGRAPHY[k] for k in CITED_KEYS] + list(aalen_johansen.METHOD_REFERENCES)


def render_html(
    report: CohortReport, *, tables_href: str = "report_tables", generated: str | None = None
) -> str:
    """The report as one HTML document (plotly.js inlined, data text escaped)."""
    template = _environment().get_template("report.html")
    stamp = generated or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return template.render(
        report=report,
        disclaimer=DISCLAIMER,
        version=__version__,
        generated=stamp,
        tables_href=tables_href.rstrip("/"),
        figures={k: Markup(v) for k, v in report.figures.items()},
        plotly_js=Markup(_inline_script(plotly.offline.get_plotlyjs())),
        references=_references(),
        ci_days=recovery.CUMULATIVE_INCIDENCE_DAYS,
        stratifications=[(by, strata.STRATIFICATION_LABELS[by]) for by in strata.STRATIFICATIONS],
    )


def _inline_script(js: str) -> str:
    """Make a script safe to inline: ``</script`` inside it would end the element early."""
    return js.replace("</script", "<\\/script")


# --- writing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrittenReport:
    html: Path
    tables_dir: Path
    tables: tuple[Path, ...]
    n_patients: int
    rejected: int | None


def _write_files(report: CohortReport, html: str, out: Path, tables_dir: Path) -> None:
    """The tables folder and the HTML file, each renamed into place only when both are written
    (the folder's rename comes first, as the contexts close in reverse order)."""
    with atomic_text(out) as page, atomic_dir(tables_dir) as staging:
        for table in report.tables.values():
            table.frame.to_csv(staging / table.filename, index=False)
        page.write(html)


def write_report(
    results: Path,
    out: Path,
    *,
    tables_dir: Path | None = None,
    errors: Path | None = None,
    title: str = "CAR-T hematotoxicity cohort report",
    progress: bool = False,
    generated: str | None = None,
) -> WrittenReport:
    """Read ``results``, compute the statistics, write ``out`` (HTML) and the CSV tables.

    ``tables_dir`` defaults to ``<out stem>_tables`` beside the report; ``errors`` to the
    ``errors.csv`` beside the results (its rejected patients are named in the report).
    Nothing is written when reading or computing fails.
    """
    tables_dir = tables_dir or out.with_name(f"{out.stem}_tables")
    errors = errors or results.with_name("errors.csv")
    console = Console(stderr=True)
    steps = 9 + 2 * len(strata.STRATIFICATIONS)
    with Progress(
        TextColumn("[bold]cohort report[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("reading results", total=steps)
        df = read_results(results)
        bar.advance(task)

        def step(what: str) -> None:
            bar.update(task, advance=1, description=what)

        report = build_report(df, source=results.name, title=title, step=step)
        report.rejected = count_rejected(errors)
        report.errors_file = errors.name if report.rejected is not None else None
        href = Path(os.path.relpath(tables_dir.resolve(), out.resolve().parent)).as_posix()
        text = render_html(report, tables_href=href, generated=generated)
        bar.update(task, advance=1, description="writing")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            _write_files(report, text, out, tables_dir)
        except OSError as exc:
            raise IcahtError(f"cannot write the report to {out}: {exc}") from exc
        bar.advance(task)
    return WrittenReport(
        html=out,
        tables_dir=tables_dir,
        tables=tuple(tables_dir / t.filename for t in report.tables.values()),
        n_patients=report.n_patients,
        rejected=report.rejected,
    )
