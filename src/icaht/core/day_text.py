"""How the graders word day-level results: threshold labels, values, and the caveats of gaps,
carried edges and dropped values."""

from __future__ import annotations

from icaht.core.daily import Comparison
from icaht.core.day_grid import DaySeries
from icaht.core.day_runs import runs


def threshold_label(comparison: Comparison, threshold: float) -> str:
    """Key for duration dictionaries, e.g. ``"<=0.5"`` or ``"<20"``."""
    return f"{comparison}{threshold:g}"


def fmt_value(value: float) -> str:
    """A count for messages: up to 3 significant decimals, no trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def gap_caveats(series: DaySeries, analyte: str) -> list[str]:
    """Data-quality caveats for stretches left missing that are longer than the interpolation limit.

    Internal gaps are by construction longer than ``max_gap``; leading and trailing stretches are
    reported only when longer than ``max_gap`` (a day or two without a result is routine).
    """
    out: list[str] = []
    for gap in series.gaps:
        if gap.kind == "internal":
            out.append(
                f"gap of {gap.days} days without {analyte} (day {gap.first_day}-{gap.last_day}) "
                f"not interpolated (limit {series.max_gap} days): incomplete data"
            )
        elif gap.days > series.max_gap:
            where = "before the first" if gap.kind == "leading" else "after the last"
            out.append(
                f"no {analyte} on day {gap.first_day}-{gap.last_day} ({gap.days} days, {where} "
                f"value in the window): incomplete data"
            )
    return out


def carried_caveats(series: DaySeries, analyte: str) -> list[str]:
    """Caveats naming the edge days whose value was carried from the nearest value."""
    if not bool(series.carried.any()):
        return []
    out: list[str] = []
    starts, ends = runs(series.carried)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        leading = a == 0
        source = series.start_day + (b + 1 if leading else a - 1)  # the day carried from
        first, last = series.start_day + a, series.start_day + b
        days = f"day {first}" if first == last else f"day {first}-{last}"
        out.append(
            f"{analyte} of day {source} carried {'back' if leading else 'forward'} to {days} "
            f"(edge carry of the published method, LIANG-ICAHT)"
        )
    return out


def dropped_caveats(
    non_finite: int, after_end: int, analyte: str, end_day: float, end_reason: str
) -> list[str]:
    """Caveats for observations the graders ignored (counts of :class:`Prepared`)."""
    out: list[str] = []
    if non_finite:
        out.append(
            f"{non_finite} {analyte} value(s) with a non-finite value or an invalid day: ignored"
        )
    if after_end:
        out.append(
            f"{after_end} {analyte} value(s) after day {fmt_value(end_day)} ({end_reason}) ignored"
        )
    return out
