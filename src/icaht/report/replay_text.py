"""A replay for the terminal: day by day, the recommendations that appeared (+), changed (~) and
disappeared (-)."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from icaht import DISCLAIMER
from icaht.core.replay import Replay
from icaht.report.recommendations import fact_text


def render_replay(console: Console, replay: Replay) -> None:
    """Print the days with a change."""
    console.print(
        Text(
            f"Replay of {replay.patient_id}, days {replay.first_day} to {replay.last_day}, "
            f"profile {replay.profile_name} v{replay.profile_version}",
            style="bold",
        )
    )
    console.print(DISCLAIMER, style="dim")
    if not replay.days:
        console.print("No recommendation fired in this range.")
    for day in replay.days:
        console.print(Text(f"\nDay {day.day}", style="bold"))
        for sign, items in (("+", day.appeared), ("~", day.changed)):
            for rec in items:
                line = Text(f"  {sign} [{rec.strength}] {rec.title} ({rec.rule_id})")
                line.append(f"\n      {rec.action}")
                if rec.facts:
                    line.append(f"\n      Because: {fact_text(rec)}", style="italic")
                console.print(line, highlight=False)
        for gone in day.disappeared:
            console.print(f"  - {gone.title} ({gone.rule_id})", highlight=False)
