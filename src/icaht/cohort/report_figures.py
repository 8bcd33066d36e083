"""The cohort report's figures: plotly divs (plotly.js itself is inlined once by the report) of
the cumulative incidence curves and the ICAHT and T-ICAHT grade distributions.
"""

from __future__ import annotations

import html
import math
from typing import Final

import pandas as pd
import plotly.graph_objects as go

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
