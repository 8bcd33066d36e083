"""The printable patient summary as a PDF (fpdf2, core fonts: text is folded to Latin-1).

Same content as the print view: identifiers (when the record has them), when and by whom it was
printed, the act-now items and the grade tables on the first page, then a small chart of ANC and
platelets (log scale) with the days that set the ICAHT and T-ICAHT grades shaded, data quality,
scores, recommendations by tier with facts and sources, treatments and transfusions per week,
and the disclaimer on every page. CTCAE grades read as on the screen (:func:`ctcae_cell`); no
raw field or setting names.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.fonts import FontFace

from icaht import DISCLAIMER
from icaht.core.assessment import Assessment
from icaht.core.course import Course
from icaht.core.guidance import Recommendation
from icaht.core.timeline import calendar_day
from icaht.knowledge.analytes import Analyte
from icaht.knowledge.icaht_criteria import ANC_SEVERE_10E9_PER_L, PLT_PROFOUND_10E9_PER_L
from icaht.service.dashboard.cells import ctcae_cell, field_label, fmt, icaht_cell
from icaht.service.dashboard.chart.shading import GradedRun, graded_runs
from icaht.service.dashboard.counts import TransfusionWeek
from icaht.service.dashboard.looks import by_tier

_FOLD = {
    "≥": ">=",
    "≤": "<=",
    "–": "-",
    "—": "-",
    "→": "->",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "…": "...",
    "⚠": "!",
    "✓": "ok",
    "✗": "x",
    "·": "-",
}


def latin1(text: object) -> str:
    """Text the PDF core fonts can show (common symbols spelled out, the rest replaced)."""
    out = str(text)
    for a, b in _FOLD.items():
        out = out.replace(a, b)
    return out.encode("latin-1", "replace").decode("latin-1")


class _Summary(FPDF):
    def __init__(self, title: str, demo: bool) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._title = title
        self._demo = demo
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(14, 14, 14)

    def header(self) -> None:
        self.set_font("helvetica", "B", 9)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, latin1(self._title), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.ln(1)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font("helvetica", "", 7.5)
        self.set_text_color(90, 90, 90)
        demo = " Demo mode: demonstration data." if self._demo else ""
        self.cell(0, 4, latin1(f"{DISCLAIMER}{demo}  Page {self.page_no()}"), align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("helvetica", "B", 11)
        self.cell(0, 6, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(200, 205, 212)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1)
        self.set_font("helvetica", "", 8.5)

    def para(self, text: str, bold: bool = False, size: float = 8.5) -> None:
        self.set_font("helvetica", "B" if bold else "", size)
        self.multi_cell(0, 4.2, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("helvetica", "", 8.5)

    def grid(self, headers: list[str], rows: list[list[str]], widths: list[float]) -> None:
        self.set_font("helvetica", "", 8)
        with super().table(
            col_widths=tuple(widths),
            text_align="LEFT",
            line_height=4,
            borders_layout="HORIZONTAL_LINES",
            headings_style=FontFace(emphasis="BOLD", fill_color=(240, 244, 248)),
        ) as table:
            head = table.row()
            for h in headers:
                head.cell(latin1(h))
            for values in rows:
                row = table.row()
                for v in values:
                    row.cell(latin1(v))
        self.set_font("helvetica", "", 8.5)


#: The chart's ANC (blue) and platelet (orange) colours (chart.palette), as RGB.
_ANC_RGB, _PLT_RGB = (0, 114, 178), (213, 94, 0)


def _shade(
    pdf: _Summary,
    runs: list[GradedRun],
    px: Callable[[float], float],
    days: tuple[float, float],
    band: tuple[float, float],
) -> None:
    """The days that set the ICAHT (blue) and T-ICAHT (orange) grades, translucent, within the
    chart's ``days`` (first, last) and vertical ``band`` (top, height)."""
    first, last = days
    with pdf.local_context(fill_opacity=0.15):
        for run in runs:
            pdf.set_fill_color(*(_ANC_RGB if run.scale == "ICAHT" else _PLT_RGB))
            start, end = max(float(run.start), first), min(float(run.end + 1), last)
            if end > start:
                pdf.rect(px(start), band[0], px(end) - px(start), band[1], style="F")


def _chart(pdf: _Summary, course: Course, a: Assessment) -> None:
    """ANC and platelets on one log axis (0.01-1000 x10^9/L), day on x, the days that set the
    ICAHT and T-ICAHT grades shaded (:func:`icaht.service.dashboard.chart.shading.graded_runs`)."""
    as_of_day = a.as_of_day
    x0, y0, w, h = pdf.l_margin + 10, pdf.get_y() + 2, pdf.w - pdf.l_margin - pdf.r_margin - 12, 45
    days = [float(s.day[0]) for s in course.labs.values() if len(s)]
    first = min([-7.0, *days])
    last = float(as_of_day + 1)
    span = max(last - first, 1.0)
    lo, hi = math.log10(0.01), math.log10(1000.0)

    def px(day: float) -> float:
        return x0 + (day - first) / span * w

    def py(value: float) -> float:
        v = min(max(value, 0.01), 1000.0)
        return y0 + h - (math.log10(v) - lo) / (hi - lo) * h

    pdf.set_draw_color(180, 186, 194)
    pdf.rect(x0, y0, w, h)
    runs = graded_runs(a)
    if runs:
        _shade(pdf, runs, px, (first, last), (y0, h))
    pdf.set_font("helvetica", "", 6.5)
    for tick in (0.01, 0.1, 1, 10, 100, 1000):
        pdf.text(x0 - 9, py(tick) + 1, f"{tick:g}")
    for value, colour in ((ANC_SEVERE_10E9_PER_L, _ANC_RGB), (PLT_PROFOUND_10E9_PER_L, _PLT_RGB)):
        pdf.set_draw_color(*colour)
        pdf.set_dash_pattern(dash=1, gap=1)
        pdf.line(x0, py(value), x0 + w, py(value))
    pdf.set_dash_pattern()
    for analyte, colour, label in (
        (Analyte.ANC, _ANC_RGB, "ANC"),
        (Analyte.PLATELETS, _PLT_RGB, "Platelets"),
    ):
        series = course.series(analyte)
        pdf.set_draw_color(*colour)
        points = [
            (px(float(d)), py(float(v))) for d, v in zip(series.day, series.value, strict=True)
        ]
        for (xa, ya), (xb, yb) in itertools.pairwise(points):
            pdf.line(xa, ya, xb, yb)
        pdf.set_text_color(*colour)
        pdf.text(x0 + 2 + (0 if analyte == Analyte.ANC else 14), y0 + 4, label)
    pdf.set_text_color(0, 0, 0)
    for day in range(0, int(last) + 1, max(7, int(span // 8) // 7 * 7 or 7)):
        pdf.text(px(day) - 2, y0 + h + 3.5, str(day))
    pdf.set_y(y0 + h + 6)
    pdf.set_font("helvetica", "", 7)
    pdf.cell(
        0,
        4,
        latin1("Day after infusion. x10^9/L, log scale; dotted: ANC 0.5 and platelets 20."),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if runs:
        shaded = "Shaded: the days that set the ICAHT (blue) and T-ICAHT (orange) grades."
        pdf.cell(0, 4, shaded, new_x="LMARGIN", new_y="NEXT")


def _recommendation(pdf: _Summary, rec: Recommendation) -> None:
    """One card: title, strength, action, facts and sources."""
    pdf.para(f"[{rec.category}] {rec.title} ({rec.strength})", bold=True)
    pdf.para(rec.action)
    facts_text = "; ".join(
        f"{f.label}: {f.value}" + (f" (day {f.day})" if f.day is not None else "")
        for f in rec.facts
    )
    if facts_text:
        pdf.para(f"Facts: {facts_text}", size=7.5)
    sources = "; ".join(
        f"{c.label}, {c.where}" + (f", doi:{c.doi}" if c.doi else "") for c in rec.citations
    )
    pdf.para(f"Sources: {sources}", size=7.5)
    pdf.ln(1)


def summary_pdf(
    course: Course,
    a: Assessment,
    weeks: list[TransfusionWeek],
    *,
    printed_by: str,
    demo: bool,
) -> bytes:
    """The summary of an assessment (``course`` is the course known on the as-of day)."""
    facts = course.facts
    pdf = _Summary(f"icaht summary - {facts.patient_id} - as of day {a.as_of_day}", demo)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.cell(0, 8, latin1(f"Cytopenia summary: {facts.patient_id}"), new_x="LMARGIN", new_y="NEXT")
    pdf.para(DISCLAIMER, bold=True)
    printed = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    pdf.para(
        f"As of day {a.as_of_day} after infusion ({a.jain_phase} phase, ICAHT {a.icaht_window} "
        f"window). Product {facts.product or '-'}; diagnosis {facts.diagnosis or '-'}; age "
        f"{fmt(facts.age_years)}; sex {facts.sex}. Profile {a.profile_name} {a.profile_version}; "
        f"icaht {a.icaht_version}. Printed {printed} UTC by {printed_by}."
    )
    if facts.name or facts.mrn or facts.birth_date:
        pdf.para(
            f"Name {facts.name or '-'}; MRN {facts.mrn or '-'}; born {facts.birth_date or '-'}",
            bold=True,
        )
    tiers = by_tier(a.recommendations, {})
    acts = next((recs for tier, recs in tiers if tier == "act now"), [])
    pdf.heading("Act now")
    if not acts:
        pdf.para("Nothing to act on now.")
    for rec in acts:
        pdf.para(f"{rec.title} (since day {rec.episode.began_day}): {rec.action}")
    pdf.heading("Blood counts (CTCAE v5.0)")
    rows = []
    for s in a.lineages:
        latest = (
            f"{fmt(s.latest.value)} {s.unit} (day {calendar_day(s.latest.day)})"
            + (" stale" if s.stale else "")
            if s.latest
            else "no value"
        )
        grade = ctcae_cell(s.latest_ctcae, s.latest_ctcae_note, s.latest is not None).text
        nadir = f"{fmt(s.nadir.value)} (day {calendar_day(s.nadir.day)})" if s.nadir else "-"
        under = "; ".join(f"{k}: {v} d" for k, v in s.days_under.items()) or "-"
        rows.append([s.lineage, latest, grade, nadir, under])
    pdf.grid(["Lineage", "Latest", "CTCAE", "Nadir", "Days under"], rows, [25, 50, 15, 35, 57])
    pdf.heading("ICAHT and T-ICAHT")
    rows = []
    for r in (a.early_icaht, a.late_icaht, a.early_ticaht, a.late_ticaht):
        episodes = "; ".join(
            f"d{e.start_day}-{e.end_day} {e.comparison}{e.threshold_10e9_per_l:g} "
            f"(nadir {fmt(e.nadir_10e9_per_l)} d{e.nadir_day})"
            for e in r.episodes
        )
        notes = " ".join([r.reason or "", *r.caveats]).strip()
        rows.append([f"{r.scale} {r.window}", icaht_cell(r).text, episodes or "-", notes or "-"])
    pdf.grid(["Scale", "Grade", "Episodes", "Notes"], rows, [28, 18, 62, 74])
    pdf.heading("Timeline")
    _chart(pdf, course, a)
    if a.data_quality:
        pdf.heading("Data quality")
        for f in a.data_quality:
            pdf.para(f"- {f.message}")
    pdf.para(f"Recovery phenotype: {a.phenotype.phenotype} - {a.phenotype.reason}")
    for support in (a.platelet_transfusion, a.rbc_transfusion, a.gcsf):
        pdf.para(f"{support.support}: {support.state}")
    pdf.heading("Risk scores")
    rows = []
    for sc in (
        a.scores.car_hematotox,
        a.scores.easix,
        a.scores.simplified_easix,
        a.scores.m_easix,
        a.scores.hscore,
    ):
        result = (
            f"{fmt(sc.total)} {sc.category or ''} {sc.probability or ''}".strip()
            if sc.computable
            else "not computable"
        )
        inputs = ", ".join(
            f"{field_label(i.name)} {fmt(i.value)}"
            + (f"->{i.points}" if i.points is not None else "")
            for i in sc.items
            if i.value is not None
        )
        missing = ", ".join(field_label(m) for m in sc.missing)
        rows.append([sc.name, result, inputs or "-", missing or "-"])
    pdf.grid(["Score", "Result", "Inputs", "Missing"], rows, [30, 32, 80, 40])
    pdf.heading(f"Recommendations as of day {a.as_of_day}")
    if not a.recommendations:
        pdf.para("No recommendation fires.")
    for tier, recs in tiers:
        pdf.para(f"{tier.capitalize()} ({len(recs)})", bold=True, size=9.5)
        for rec in recs:
            _recommendation(pdf, rec)
    if a.not_evaluated:
        pdf.para(
            "Cannot evaluate: "
            + "; ".join(f"{n.title} (needs {', '.join(n.missing)})" for n in a.not_evaluated),
            size=7.5,
        )
    pdf.heading("Treatments")
    if not a.treatments.courses:
        pdf.para("No tracked treatment (G-CSF, TPO-RA, erythropoietin).")
    for c in a.treatments.courses:
        steps = "; ".join(
            f"d{s.start_day}-{'ongoing' if s.end_day is None else s.end_day} "
            f"{fmt(s.dose) if s.dose is not None else ''} {s.dose_unit or ''} {s.frequency or ''}"
            for s in c.steps
        )
        pdf.para(f"{c.drug} ({c.drug_class}), {c.days_on} day(s) on: {steps}")
    resp = a.treatments.tpo_ra_response
    if resp is not None:
        pdf.para(
            f"TPO-RA response (Beyar-Katz): {'yes' if resp.response else 'not (yet)'}"
            + (f" on day {resp.response_day}" if resp.response_day is not None else "")
            + (f"; lineages {', '.join(resp.lineages_met)}" if resp.lineages_met else "")
        )
    if weeks:
        pdf.grid(
            ["Week", "Days", "RBC units", "Platelet units"],
            [
                [
                    str(w.week),
                    f"{w.first_day}-{w.last_day}",
                    str(w.rbc_units),
                    str(w.platelet_units),
                ]
                for w in weeks
            ],
            [20, 30, 30, 30],
        )
    return bytes(pdf.output())
