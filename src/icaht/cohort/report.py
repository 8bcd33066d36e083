"""``icaht cohort report``: one self-contained HTML file plus every table as CSV.

The HTML works offline: plotly.js is inlined from the installed ``plotly`` package (no CDN, no
external stylesheet), and all text that comes from the data (product names, diagnoses, file
names) is escaped by Jinja2's autoescaping. Files are written whole or not at all: the tables
go to ``<dir>.partial`` and the HTML to ``<file>.partial`` first, then are renamed.
"""

from __future__ import annotations

import csv
import html
import math
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import pandas as pd
import plotly.graph_objects as go
import plotly.offline
import pyarrow as pa
import pyarrow.parquet as pq
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from icaht import DISCLAIMER, __version__
from icaht.cohort import (
    aalen_johansen,
    descriptive,
    recovery,
    results_contract,
    strata,
    tabulation,
    tpo_ra_table,
)
from icaht.errors import IcahtError, InputError, Problem
from icaht.knowledge.bibliography import BIBLIOGRAPHY, Reference

TEMPLATES: Final = Path(__file__).resolve().parent / "report_templates"
#: plotly figure options: no logo link, no external resources
PLOT_CONFIG: Final = {"displaylogo": False, "responsive": True}
PLOT_HEIGHT_PX: Final = 380
#: a qualitative palette (Okabe-Ito, colour-blind safe) for strata
PALETTE: Final = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
#: the sources cited in the methods section, keys of ``icaht.knowledge.bibliography``
CITED_KEYS: Final = ("CTCAE", "JAIN", "ICAHT", "LIANG-ICAHT", "T-ICAHT", "HT", "LEE", "BK")


@dataclass(frozen=True, slots=True)
class ReportTable:
    """One table: rendered in the HTML (``columns``: column -> heading) and written as CSV."""

    key: str
    title: str
    description: str
    frame: pd.DataFrame
    columns: Mapping[str, str]
    group_by: str | None = None
    shown: pd.DataFrame | None = None  # what the HTML shows, when it differs from the CSV

    @property
    def rows(self) -> list[dict[str, object]]:
        frame = self.frame if self.shown is None else self.shown
        return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]

    @property
    def filename(self) -> str:
        return f"{self.key}.csv"


@dataclass(slots=True)
class CohortReport:
    """Everything the HTML shows, computed from one results table."""

    title: str
    source: str
    n_patients: int
    tables: dict[str, ReportTable] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)  # key -> plotly HTML div
    rejected: int | None = None  # patients listed in the assess errors file, if found
    errors_file: str | None = None


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


# --- building ---------------------------------------------------------------------------------

Step = Callable[[str], None]


def build_report(
    df: pd.DataFrame,
    *,
    source: str,
    title: str = "CAR-T hematotoxicity cohort report",
    step: Step | None = None,
) -> CohortReport:
    """Compute every table and figure from a prepared results table (``read_results``)."""

    def advance(what: str) -> None:
        if step is not None:
            step(what)

    report = CohortReport(title=title, source=source, n_patients=len(df))
    tables = report.tables
    tables["cohort"] = ReportTable(
        "cohort",
        "Cohort",
        "Patients, demographics, products and diseases. Category percentages are of all "
        "patients; medians use the patients with a value (n with data).",
        descriptive.cohort_characteristics(df),
        {
            "category": "Category",
            "display": "n (%) or median (range)",
            "n_with_data": "n with data",
        },
        group_by="characteristic",
    )
    advance("cohort table")
    incidence = descriptive.cytopenia_incidence(df)
    cyt_shown, cyt_columns = cytopenia_shown(incidence)
    tables["cytopenia_incidence"] = ReportTable(
        "cytopenia_incidence",
        "Incidence of cytopenia by lineage, phase and CTCAE grade",
        "Worst CTCAE v5.0 grade per phase (Jain phases: early day < 30, prolonged day 30-90, "
        "late day > 90). Cytopenia is counted at three thresholds: any grade (>= 1), "
        "grade >= 3 and grade 4. The denominator is the patients with a value in that phase. "
        "Grade 1 needs the laboratory's lower limit of normal, so 'any grade' counts only what "
        "could be graded; anemia grade 4 is clinical and never assigned from values alone.",
        incidence,
        cyt_columns,
        group_by="lineage",
        shown=cyt_shown,
    )
    advance("cytopenia incidence")
    grades = descriptive.icaht_distributions(df)
    icaht_view, icaht_columns = icaht_shown(grades)
    tables["icaht_grades"] = ReportTable(
        "icaht_grades",
        "ICAHT and T-ICAHT grades",
        "Early (day 0-30) and late (after day 30) neutrophil ICAHT (EHA/EBMT 2023) and "
        "platelet T-ICAHT grades. Percentages are of the patients graded. 'Provisional' grades "
        "rest on a single value; 'lower bound' grades could still rise with more follow-up.",
        grades,
        icaht_columns,
        shown=icaht_view,
    )
    report.figures["icaht_grades"] = icaht_figure(tables["icaht_grades"].frame)
    advance("ICAHT grades")
    tables["phenotypes"] = ReportTable(
        "phenotypes",
        "Neutrophil recovery phenotype",
        "Quick, intermittent (second dip below ANC 1.0 after day +21) and aplastic "
        "(ANC < 0.5 for >= 14 days) recovery (Rejeski, Blood 2021); 'undetermined' until "
        "enough data.",
        descriptive.phenotype_mix(df),
        {
            "phenotype": "Phenotype",
            "display": "n / all (%)",
            "percent_of_determined": "% of determined",
        },
    )
    advance("phenotypes")
    tables["recovery_days"] = ReportTable(
        "recovery_days",
        "Days to neutrophil and platelet recovery",
        "Day after infusion of recovery among the patients who recovered: ANC > 0.5 x10^9/L "
        "after a nadir <= 0.5 (ICAHT); platelets >= 20 x10^9/L on 3 consecutive days with no "
        "platelet transfusion for 7 days (T-ICAHT). Patients whose count never fell to the "
        "threshold had nothing to recover from; patients at risk who did not recover are "
        "counted, not imputed. The cumulative incidence below accounts for them and for "
        "competing death and progression.",
        recovery.recovery_times(df),
        {
            "lineage": "Lineage",
            "n_with_data": "n with data",
            "n_never_below": "never below threshold",
            "n_at_risk": "at risk",
            "n_recovered": "recovered",
            "n_not_recovered": "not recovered",
            "display": "median day (range)",
        },
    )
    advance("recovery days")
    ci_tables: list[pd.DataFrame] = []
    ci_curves: list[pd.DataFrame] = []
    for lineage in ("neutrophils", "platelets"):
        for by in strata.STRATIFICATIONS:
            table, curve = recovery.cumulative_incidence(df, lineage, by)
            ci_tables.append(table)
            ci_curves.append(curve)
            report.figures[f"ci_{lineage}_{by}"] = cumulative_incidence_figure(
                curve,
                f"{results_contract.LINEAGE_LABELS[lineage]}: {strata.STRATIFICATION_LABELS[by]}",
            )
            advance(f"cumulative incidence: {lineage}, {by}")
    ci_table = tabulation.frame([r for table in ci_tables for r in _records(table)])
    ci_view, ci_columns = cumulative_incidence_shown(ci_table)
    tables["cumulative_incidence"] = ReportTable(
        "cumulative_incidence",
        "Cumulative incidence of recovery (competing risks)",
        "Aalen-Johansen estimate of the cumulative incidence of recovery, with death and "
        "progression before recovery as competing events and censoring at the end of "
        "follow-up (never after the assessment day); 95% confidence interval in brackets. "
        "'Beyond follow-up' where no patient of the stratum was followed that long. Patients "
        "without values of the lineage, whose count never fell to the recovery threshold, or "
        "without a follow-up end are excluded and counted.",
        ci_table,
        ci_columns,
        group_by="outcome",
        shown=ci_view,
    )
    tables["cumulative_incidence_curves"] = ReportTable(
        "cumulative_incidence_curves",
        "Cumulative incidence curves (plot data)",
        "The plotted step functions, one point per day with an event.",
        tabulation.frame(
            [r for curve in ci_curves for r in _records(curve)], recovery.CURVE_COLUMNS
        ),
        {},
    )
    tables["tpo_ra"] = ReportTable(
        "tpo_ra",
        "Thrombopoietin receptor agonists (TPO-RA)",
        "In the form of Beyar-Katz et al. (Ann Hematol 2022). Response = transfusion "
        "independence plus ANC > 0.5 and/or platelets > 20 x10^9/L on 3 consecutive values on "
        "different days; complete resolution = ANC > 0.5 and platelets > 20 x10^9/L and "
        "Hb > 8 g/dL. Days to resolution are from the first dose. The last column shows the "
        "published single-centre cohort (93 DLBCL patients) for comparison.",
        tpo_ra_table.tpo_ra_table(df),
        {
            "item": "Item",
            "category": "",
            "display": "This cohort",
            "n_with_data": "n with data",
            "beyar_katz_2022": "Beyar-Katz 2022",
        },
    )
    advance("TPO-RA table")
    tables["data_completeness"] = ReportTable(
        "data_completeness",
        "Data completeness",
        "Patients with a value for the key columns. Missing values are left out of each "
        "statistic's denominator, never counted as zero or normal.",
        descriptive.data_completeness(df),
        {
            "column": "Column",
            "n_with_data": "n with data",
            "n_missing": "missing",
            "percent_with_data": "% with data",
        },
    )
    advance("data completeness")
    return report


# --- wide views of long tables (the CSV keeps the long, tidy form) ----------------------------


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _wide(
    frame: pd.DataFrame, keys: tuple[str, ...], keep: tuple[str, ...], spread: str, value: str
) -> pd.DataFrame:
    """One row per ``keys``; ``keep`` columns from its first row; ``spread`` values as columns."""
    rows: dict[tuple[object, ...], dict[str, object]] = {}
    for record in _records(frame):
        key = tuple(record[k] for k in keys)
        row = rows.setdefault(key, {k: record[k] for k in (*keys, *keep)})
        row[f"{spread}:{record[spread]}"] = record[value]
    return pd.DataFrame(list(rows.values()))


def cytopenia_shown(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    shown = _wide(frame, ("lineage", "phase"), ("n_with_data",), "min_grade", "display")
    columns = {"phase": "Phase", "n_with_data": "n with data"}
    for definition, grade in descriptive.CYTOPENIA_THRESHOLDS:
        columns[f"min_grade:{grade}"] = f"CTCAE {definition}"
    return shown, columns


def icaht_shown(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    graded = frame[frame["grade"] != "not graded"]
    shown = _wide(graded, ("measure",), ("n_with_data",), "grade", "display")
    records = _records(frame)
    for flag in ("n_provisional", "n_lower_bound"):
        shown[flag] = [
            sum(int(str(r[flag])) for r in records if r["measure"] == m) for m in shown["measure"]
        ]
    shown["not_graded"] = pd.Series(
        [
            next(r["n"] for r in records if r["measure"] == m and r["grade"] == "not graded")
            for m in shown["measure"]
        ],
        dtype=object,
    )
    columns = {"measure": "Measure", "n_with_data": "graded"}
    columns |= {f"grade:{g}": f"grade {g}" for g in range(5)}
    columns |= {
        "not_graded": "not graded",
        "n_provisional": "provisional",
        "n_lower_bound": "lower bound",
    }
    return shown, columns


def cumulative_incidence_shown(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    counts = (
        "n",
        "n_recovered",
        "n_death_before_recovery",
        "n_progression_before_recovery",
        "n_censored",
        "n_excluded",
    )
    shown = _wide(frame, ("outcome", "stratification", "stratum"), counts, "day", "display")
    columns = {
        "stratification": "Stratified by",
        "stratum": "Stratum",
        "n": "n",
        "n_recovered": "recovered",
        "n_death_before_recovery": "death first",
        "n_progression_before_recovery": "progression first",
        "n_censored": "censored",
        "n_excluded": "excluded",
    }
    columns |= {f"day:{d}": f"day {d}" for d in recovery.CUMULATIVE_INCIDENCE_DAYS}
    return shown, columns


# --- figures ----------------------------------------------------------------------------------


def _figure_html(fig: go.Figure) -> str:
    fig.update_layout(
        height=PLOT_HEIGHT_PX,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        template="plotly_white",
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    text: str = fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG)
    return text


def _label(text: str) -> str:
    """Plotly renders a subset of HTML in labels: pass data text as entities, shown as typed."""
    return html.escape(text, quote=True)


def cumulative_incidence_figure(curve: pd.DataFrame, title: str) -> str:
    """Step curves of cumulative incidence (%) by day, one per stratum; 95% band for one."""
    fig = go.Figure()
    stratum_names = list(dict.fromkeys(curve["stratum"].tolist()))
    for i, stratum in enumerate(stratum_names):
        points = curve[curve["stratum"] == stratum]
        points = points[points["cumulative_incidence"].notna()]
        color = PALETTE[i % len(PALETTE)]
        n = int(points["n"].iloc[0]) if len(points) else 0
        name = _label(f"{stratum} (n={n})")
        x = points["day"].tolist()
        if len(stratum_names) == 1:
            upper = (100 * points["ci_upper"]).tolist()
            lower = (100 * points["ci_lower"]).tolist()
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=upper,
                    mode="lines",
                    line={"width": 0, "shape": "hv"},
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=lower,
                    mode="lines",
                    line={"width": 0, "shape": "hv"},
                    fill="tonexty",
                    fillcolor="rgba(0,114,178,0.15)",
                    name="95% CI",
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=(100 * points["cumulative_incidence"]).tolist(),
                mode="lines",
                line={"shape": "hv", "color": color, "width": 2},
                name=name,
                hovertemplate="day %{x}: %{y:.1f}%<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        title={"text": _label(title)},
        xaxis={"title": {"text": "Days after infusion"}, "rangemode": "tozero"},
        yaxis={"title": {"text": "Cumulative incidence of recovery (%)"}, "range": [0, 100]},
        legend={"orientation": "h", "y": -0.25},
    )
    return _figure_html(fig)


def icaht_figure(grades: pd.DataFrame) -> str:
    """Grouped bars: percent of graded patients per grade, one group per ICAHT measure."""
    fig = go.Figure()
    graded = grades[grades["grade"] != "not graded"]
    for i, measure in enumerate(dict.fromkeys(graded["measure"].tolist())):
        rows = graded[graded["measure"] == measure]
        fig.add_trace(
            go.Bar(
                x=[f"grade {g}" for g in rows["grade"]],
                y=[0.0 if v is None or math.isnan(v) else v for v in rows["percent"].tolist()],
                name=_label(f"{measure} (n={int(rows['n_with_data'].iloc[0])})"),
                marker={"color": PALETTE[i % len(PALETTE)]},
            )
        )
    fig.update_layout(
        barmode="group",
        title={"text": "ICAHT and T-ICAHT grade distributions (% of graded)"},
        yaxis={"title": {"text": "% of patients graded"}},
        legend={"orientation": "h", "y": -0.25},
    )
    return _figure_html(fig)


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


def _replace_dir(partial: Path, final: Path) -> None:
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    partial.rename(final)
    if old.exists():
        shutil.rmtree(old)


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
            partial_dir = tables_dir.with_name(tables_dir.name + ".partial")
            if partial_dir.exists():
                shutil.rmtree(partial_dir)
            partial_dir.mkdir(parents=True)
            for table in report.tables.values():
                table.frame.to_csv(partial_dir / table.filename, index=False)
            partial_html = out.with_name(out.name + ".partial")
            partial_html.write_text(text, encoding="utf-8")
            _replace_dir(partial_dir, tables_dir)
            partial_html.replace(out)
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
