"""TPO receptor agonist use and response in a cohort, in the form of Beyar-Katz (Ann Hematol
2022), with the published values of that cohort beside (:mod:`icaht.knowledge.published_cohorts`).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from icaht.cohort.tabulation import (
    FloatArray,
    finite_values,
    flag_count,
    format_fraction,
    format_median_range,
    frame,
    pct,
    split_list,
    summary,
)
from icaht.knowledge.published_cohorts import BK_PUBLISHED

NOT_REPORTED: Final = "not reported"

TPO_RA_LINEAGE_COLUMNS: Final = (
    ("hemoglobin", "tpo_ra_days_to_hemoglobin", "days_to_hemoglobin"),
    ("platelets", "tpo_ra_days_to_platelets", "days_to_platelets"),
    ("neutrophils", "tpo_ra_days_to_neutrophils", "days_to_neutrophils"),
)


def _tpo_row(
    item: str,
    *,
    category: str = "",
    n: int | None = None,
    denominator: int | None = None,
    values: FloatArray | None = None,
    published: str = NOT_REPORTED,
) -> dict[str, object]:
    median = low = high = None
    n_with: int | None = denominator
    display = ""
    if values is not None:
        median, low, high = summary(values)
        n_with = int(values.size)
        display = format_median_range(median, low, high)
    elif n is not None and denominator is not None:
        display = format_fraction(n, denominator)
    return {
        "item": item,
        "category": category,
        "n": n,
        "denominator": denominator,
        "percent": None if n is None or denominator is None else pct(n, denominator),
        "median": median,
        "min": low,
        "max": high,
        "n_with_data": n_with,
        "display": display,
        "beyar_katz_2022": published,
    }


def tpo_ra_table(df: pd.DataFrame) -> pd.DataFrame:
    """TPO receptor agonist use and response in the form of Beyar-Katz (Ann Hematol 2022).

    Treated = a TPO-RA drug or start day on record. Response = transfusion independence plus
    ANC > 0.5 and/or platelets > 20 x10^9/L on 3 consecutive values; complete resolution =
    ANC > 0.5 and platelets > 20 x10^9/L and Hb > 8 g/dL (Beyar-Katz 2022, as assessed).
    Days to resolution per lineage are from the first dose. The published values of the
    Beyar-Katz cohort are shown beside for comparison.
    """
    n_total = len(df)
    drugs = df["tpo_ra_drugs"].tolist()
    treated_mask = (
        np.array([bool(split_list(d)) for d in drugs], dtype=bool)
        | df["tpo_ra_start_day"].notna().to_numpy()
    )
    treated = df[treated_mask]
    n_treated = len(treated)
    rows = [
        _tpo_row("Patients in the cohort", n=n_total, published=BK_PUBLISHED["cohort"]),
        _tpo_row(
            "Treated with a TPO-RA",
            n=n_treated,
            denominator=n_total,
            published=BK_PUBLISHED["treated"],
        ),
    ]
    rows[0]["display"] = str(n_total)
    product_counts = treated["product"].map(lambda p: p or "not recorded").value_counts()
    for product in sorted(product_counts.index, key=lambda k: (-int(product_counts[k]), k)):
        rows.append(
            _tpo_row(
                "Product (treated)",
                category=str(product),
                n=int(product_counts[product]),
                denominator=n_treated,
            )
        )
    agent_counts: dict[str, int] = {}
    for d in treated["tpo_ra_drugs"].tolist():
        agent = " + ".join(sorted(set(split_list(d)))) or "not recorded"
        agent_counts[agent] = agent_counts.get(agent, 0) + 1
    for agent in sorted(agent_counts, key=lambda k: (-agent_counts[k], k)):
        rows.append(
            _tpo_row(
                "Agent",
                category=agent,
                n=agent_counts[agent],
                denominator=n_treated,
                published=BK_PUBLISHED.get(f"agent:{agent}", NOT_REPORTED),
            )
        )
    rows.append(
        _tpo_row(
            "Days from infusion to first TPO-RA dose, median (range)",
            values=finite_values(treated["tpo_ra_start_day"]),
            published=BK_PUBLISHED["start_day"],
        )
    )
    rows.append(
        _tpo_row("Days on TPO-RA, median (range)", values=finite_values(treated["tpo_ra_days_on"]))
    )
    n_gcsf, n_gcsf_data = flag_count(treated["gcsf_used"])
    rows.append(
        _tpo_row(
            "G-CSF used (any time up to the assessment day)",
            n=n_gcsf,
            denominator=n_gcsf_data,
            published=BK_PUBLISHED["gcsf"],
        )
    )
    n_resp, n_resp_data = flag_count(treated["tpo_ra_response"])
    rows.append(
        _tpo_row(
            "Response (transfusion independence plus ANC > 0.5 and/or platelets > 20)",
            n=n_resp,
            denominator=n_resp_data,
            published=BK_PUBLISHED["response"],
        )
    )
    met = [set(split_list(v)) for v in treated["tpo_ra_lineages_met"].tolist()]
    for lineage in ("neutrophils", "platelets", "hemoglobin"):
        rows.append(
            _tpo_row(
                "Lineage criterion met",
                category=lineage,
                n=sum(1 for m in met if lineage in m),
                denominator=n_treated,
            )
        )
    response_days = finite_values(treated["tpo_ra_response_day"] - treated["tpo_ra_start_day"])
    rows.append(_tpo_row("Days from first dose to response, median (range)", values=response_days))
    n_ti, n_ti_data = flag_count(treated["tpo_ra_transfusion_independent"])
    rows.append(_tpo_row("Transfusion independence", n=n_ti, denominator=n_ti_data))
    for lineage, column, key in TPO_RA_LINEAGE_COLUMNS:
        rows.append(
            _tpo_row(
                "Days from first dose to resolution, median (range)",
                category=lineage,
                values=finite_values(treated[column]),
                published=BK_PUBLISHED[key],
            )
        )
    n_cr, n_cr_data = flag_count(treated["tpo_ra_complete_resolution"])
    rows.append(
        _tpo_row(
            "Complete resolution (ANC > 0.5 and platelets > 20 x10^9/L and Hb > 8 g/dL)",
            n=n_cr,
            denominator=n_cr_data,
            published=BK_PUBLISHED["complete_resolution"],
        )
    )
    return frame(rows)
