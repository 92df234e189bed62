"""Report charts drawn by matplotlib as SVG, for the reports page and the PDF report.

Each chart is a new matplotlib.figure.Figure on the SVG canvas, never pyplot, so requests in
different threads share no global figure state. Charts carry no case data, only counts and
rates, and each one sits beside a table of the same numbers for screen-reader users.

Drawing is most of a report page's time (about 0.1 s a chart), and the same numbers always
draw the same SVG, so each chart is kept in Django's cache under a digest of what it plots
(and of this module and matplotlib's version): the page draws only charts whose numbers
changed since they were last drawn.

The page shows a chart as <img src="data:image/svg+xml;base64,..."> because matplotlib's SVG
uses style attributes, which the page's Content-Security-Policy forbids inline but allows
inside an image. The PDF embeds the same data URI (WeasyPrint draws the SVG as vectors).
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from django.core.cache import cache
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from decisions.reports.figures import Month, Report
from decisions.reports.suppression import Figure as Count

# Set once at import; identical for every chart. Text stays text (smaller, selectable) and
# ids are stable, so the same figures always give the same SVG.
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["svg.hashsalt"] = "isg-report"
matplotlib.rcParams["font.family"] = "sans-serif"
matplotlib.rcParams["font.sans-serif"] = ["Liberation Sans", "Arial", "DejaVu Sans"]

# GOV.UK palette colours, chosen to be told apart with common colour-vision deficiencies.
BLUE, ORANGE, GREEN, RED, GREY = "#1d70b8", "#f47738", "#00703c", "#d4351c", "#505a5f"
TEXT = "#0b0c0c"
LABEL_WIDTH = 30  # characters per line of a bar label


DATA_URI_PREFIX = "data:image/svg+xml;base64,"


@dataclass(frozen=True)
class Chart:
    title: str
    description: str  # the <img> alt text: what the chart shows; the table has the numbers
    svg: str

    @property
    def data_uri(self) -> str:
        encoded = base64.b64encode(self.svg.encode()).decode("ascii")
        return DATA_URI_PREFIX + encoded


def _figure(width: float, height: float) -> tuple[Figure, object]:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(colors=TEXT, labelsize=9)
    return figure, axes


def _svg(figure: Figure) -> str:
    FigureCanvasSVG(figure)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def _value(x: float | None) -> float:
    return math.nan if x is None else x


def bar_chart(title: str, rows: Sequence[Count], *, colour: str = BLUE) -> Chart:
    """Horizontal bars, one per category; hidden counts ("fewer than 5", "not shown") are not
    drawn."""
    # Wrapped, so long category names leave the bars room.
    labels = [textwrap.fill(row.label, LABEL_WIDTH) for row in rows]
    lines = sum(label.count("\n") + 1 for label in labels)
    values = [_value(row.plotted) for row in rows]
    figure, axes = _figure(6.4, 0.25 * max(lines, 4) + 0.2 * len(rows) + 0.9)
    positions = range(len(rows))
    axes.barh(positions, [0 if math.isnan(v) else v for v in values], color=colour)
    axes.set_yticks(list(positions), labels=labels)
    axes.invert_yaxis()
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlabel("Decisions", color=TEXT, fontsize=9)
    for position, value, row in zip(positions, values, rows, strict=True):
        # A hidden count is labelled as its table shows it: "fewer than 5" or "not shown".
        text = row.shown if math.isnan(value) else f"{value:,.0f}"
        axes.annotate(
            text,
            (0 if math.isnan(value) else value, position),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color=TEXT,
        )
    description = f"Bar chart: {title.lower()}. The numbers are in the table next to it."
    return Chart(title=title, description=description, svg=_svg(figure))


def monthly_chart(months: Sequence[Month]) -> Chart:
    """Decisions per month, as columns."""
    labels = [m.label for m in months]
    values = [_value(m.total.plotted) for m in months]
    figure, axes = _figure(6.4, 3.0)
    axes.bar(range(len(months)), [0 if math.isnan(v) else v for v in values], color=BLUE)
    axes.set_xticks(
        range(len(months)),
        labels=labels,
        rotation=45 if len(months) > 6 else 0,
        ha="right" if len(months) > 6 else "center",
    )
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_ylabel("Decisions", color=TEXT, fontsize=9)
    title = "Decisions by month"
    description = (
        "Column chart: decisions made each month. The numbers are in the table next to it."
    )
    return Chart(title=title, description=description, svg=_svg(figure))


def rate_chart(months: Sequence[Month]) -> Chart:
    """Each outcome (shared with consent, without consent, could be shared, not shared) as a
    percentage of each month's decisions."""
    labels = [m.label for m in months]
    figure, axes = _figure(6.4, 3.2)
    series = (
        ("Shared with consent", [m.with_consent.percent for m in months], GREEN, "o"),
        ("Shared without consent", [m.without_consent.percent for m in months], ORANGE, "s"),
        ("You can share", [m.can_share.percent for m in months], BLUE, "D"),
        ("Not shared", [m.do_not_share.percent for m in months], RED, "^"),
    )
    positions = list(range(len(months)))
    for name, values, colour, marker in series:
        axes.plot(
            positions,
            [_value(v) for v in values],
            label=name,
            color=colour,
            marker=marker,
            linewidth=2,
        )
    axes.set_xticks(
        positions,
        labels=labels,
        rotation=45 if len(months) > 6 else 0,
        ha="right" if len(months) > 6 else "center",
    )
    axes.set_ylim(0, 100)
    axes.set_ylabel("% of the month's decisions", color=TEXT, fontsize=9)
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    title = "Consent rate over time"
    description = (
        "Line chart: the percentage of each month's decisions shared with consent, "
        "shared without consent, where you can share, and not shared. The numbers are in the "
        "table next to it."
    )
    return Chart(title=title, description=description, svg=_svg(figure))


# What a drawing depends on besides its numbers: this module and matplotlib.
_DRAWING = hashlib.sha256(Path(__file__).read_bytes() + matplotlib.__version__.encode()).hexdigest()
CHART_CACHE_SECONDS = 24 * 60 * 60


def _kept(kind: str, plotted: object, draw: Callable[[], Chart]) -> Chart:
    """The chart drawn before from the same numbers, or drawn now and kept."""
    digest = hashlib.sha256(repr((_DRAWING, kind, plotted)).encode()).hexdigest()
    key = f"isg-report-chart:{digest}"
    chart = cache.get(key)
    if chart is None:
        chart = draw()
        cache.set(key, chart, CHART_CACHE_SECONDS)
    return chart


def _bars(title: str, rows: Sequence[Count], colour: str = BLUE) -> Chart:
    plotted = (title, colour, [(r.label, r.plotted, r.shown) for r in rows])
    return _kept("bars", plotted, lambda: bar_chart(title, rows, colour=colour))


def report_charts(report: Report) -> dict[str, Chart]:
    """Every chart of a report, by the name the templates use."""
    months = report.months
    totals = [(m.label, m.total.plotted) for m in months]
    rates = [
        (m.label, m.with_consent.percent, m.without_consent.percent, m.can_share.percent,
         m.do_not_share.percent)
        for m in months
    ]  # fmt: skip
    return {
        "months": _kept("months", totals, lambda: monthly_chart(months)),
        "rates": _kept("rates", rates, lambda: rate_chart(months)),
        "outcomes": _bars("Decisions by outcome", report.by_outcome),
        "lawful_reasons": _bars(
            "Lawful reasons to share without consent", report.lawful_reasons, ORANGE
        ),
        "gdpr_bases": _bars("UK GDPR Article 6 basis", report.gdpr_bases, GREY),
        "purposes": _bars("Purposes", report.purposes, GREEN),
    }
