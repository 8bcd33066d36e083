"""Recommendations for the terminal: grouped by category, each with the facts that triggered it,
caveats, the profile settings used and its citations; rules that could not be evaluated name the
data they need."""

from __future__ import annotations

from itertools import groupby

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from icaht.core.guidance import NotEvaluated, Recommendation
from icaht.core.rule import CATEGORIES

_STRENGTH_STYLE = {"alert": "bold red", "source recommends": "bold", "consider": "bold cyan"}


def fact_text(rec: Recommendation) -> str:
    """The triggering facts on one line: ``label value (day n)``."""
    return "; ".join(
        f"{f.label} {f.value}" + (f" (day {f.day})" if f.day is not None else "") for f in rec.facts
    )


def recommendation_text(rec: Recommendation) -> Text:
    """One recommendation: strength and title, action, facts, caveats, settings, evidence."""
    text = Text()
    text.append(f"[{rec.strength}] ", style=_STRENGTH_STYLE[rec.strength])
    text.append(rec.title, style="bold")
    text.append(f"  ({rec.rule_id})", style="dim")
    text.append(f"\n  {rec.action}")
    if rec.facts:
        text.append("\n  Because: ", style="italic")
        text.append(fact_text(rec))
    for caveat in rec.caveats:
        text.append(f"\n  Caveat: {caveat}", style="yellow")
    if rec.settings:
        shown = ", ".join(
            f"{s.name}={s.value}" + (" (project default)" if s.project_default else "")
            for s in rec.settings
        )
        text.append(f"\n  Settings: {shown}", style="dim")
    sources = "; ".join(
        f"{c.label}, {c.where}" + (f", doi:{c.doi}" if c.doi else "") for c in rec.citations
    )
    text.append(f"\n  Evidence: {sources}", style="dim")
    return text


def render_recommendations(
    console: Console, recommendations: list[Recommendation], not_evaluated: list[NotEvaluated]
) -> None:
    """Print recommendations grouped by category (catalogue order), then what was not evaluated."""
    if not recommendations:
        console.print(Text("Recommendations: none fired as of this day.", style="bold"))
    order = {category: i for i, category in enumerate(CATEGORIES)}
    ordered = sorted(recommendations, key=lambda r: order[r.category])
    for category, group in groupby(ordered, key=lambda r: r.category):
        items = [recommendation_text(r) for r in group]
        console.print(Panel(Group(*items), title=f"Consider - {category}", title_align="left"))
    if not_evaluated:
        console.print(Text("Cannot evaluate (data needed)", style="bold"))
        for item in not_evaluated:
            console.print(
                f"- {item.title} ({item.rule_id}): needs {', '.join(item.missing)}",
                highlight=False,
                soft_wrap=True,
            )
