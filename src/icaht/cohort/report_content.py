"""What the cohort report shows: every table (with its title, description and column headings)
and figure, computed from a prepared results table (:func:`icaht.cohort.report.read_results`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from icaht.cohort import (
    descriptive,
    recovery,
    results_contract,
    strata,
    tabulation,
    tpo_ra_table,
)
from icaht.cohort.report_figures import cumulative_incidence_figure, icaht_figure
from icaht.cohort.report_views import (
    cumulative_incidence_shown,
    cytopenia_shown,
    frame_records,
    icaht_shown,
)


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
        return frame_records(self.frame if self.shown is None else self.shown)

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
    ci_table = tabulation.frame([r for table in ci_tables for r in frame_records(table)])
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
            [r for curve in ci_curves for r in frame_records(curve)], recovery.CURVE_COLUMNS
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
