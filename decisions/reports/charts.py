"""Report charts: what each chart plots (a Plot: labels and numbers only) and drawing it with
matplotlib as SVG, for the reports page and the PDF report.

Each chart is a new matplotlib.figure.Figure on the SVG canvas, never pyplot, so requests in
different threads share no global figure state. Charts carry no case data, only counts and
rates, and each one sits beside a table of the same numbers for screen-reader users.

A Plot is everything a drawing depends on, so its digest (with this module's source and
matplotlib's version) names the image: decisions.reports.chart_images keeps images by it and
the reports page links to each chart by it.

Margins are worked out here from the widths of the labels rather than by matplotlib's
constrained layout, which draws the whole figure an extra time to measure it: that was over
half of a chart's drawing time. tests/test_report_charts.py checks that no text is cut off.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

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
WIDTH = 6.4  # inches; every chart is as wide as the page's two-thirds column
DPI = 100
TICK_SIZE, LABEL_SIZE, NOTE_SIZE = 9, 9, 8  # points: tick labels, axis labels, bar values
MONTH_LABEL_ANGLE = 45  # month names slant when there are more than six
SLANT_AFTER = 6

DATA_URI_PREFIX = "data:image/svg+xml;base64,"

DESCRIPTIONS = {
    "bars": "Bar chart: {title}. The numbers are in the table next to it.",
    "months": "Column chart: decisions made each month. The numbers are in the table next to it.",
    "rates": (
        "Line chart: the percentage of each month's decisions shared with consent, "
        "shared without consent, where you can share, and not shared. The numbers are in the "
        "table next to it."
    ),
}
RATE_SERIES = (  # (legend name, colour, marker): the columns after a rates row's label
    ("Shared with consent", GREEN, "o"),
    ("Shared without consent", ORANGE, "s"),
    ("You can share", BLUE, "D"),
    ("Not shared", RED, "^"),
)

# What a drawing depends on besides its plot: this module and matplotlib.
_DRAWING = hashlib.sha256(Path(__file__).read_bytes() + matplotlib.__version__.encode()).hexdigest()


@dataclass(frozen=True)
class Plot:
    """What one chart shows, and nothing else: per row a label and the numbers drawn.

    bars: (label, count or None if hidden, the words its table shows); months: (label, count
    or None); rates: (label, and the four outcomes' percentages or None).
    """

    name: str  # the page's name for the chart: "outcomes", "months", ...
    kind: str  # "bars", "months" or "rates"
    title: str
    rows: tuple[tuple, ...]
    colour: str = BLUE

    @property
    def digest(self) -> str:
        plotted = (_DRAWING, self.name, self.kind, self.title, self.rows, self.colour)
        return hashlib.sha256(repr(plotted).encode()).hexdigest()

    @property
    def description(self) -> str:
        """The <img> alt text: what the chart shows; the table next to it has the numbers."""
        return DESCRIPTIONS[self.kind].format(title=self.title.lower())

    @property
    def height(self) -> float:
        """Inches. A bar chart grows with its bars and the lines of their labels."""
        if self.kind == "bars":
            lines = sum(label.count("\n") + 1 for label, *_ in self.rows)
            return 0.25 * max(lines, 4) + 0.2 * len(self.rows) + 0.9
        return 3.0 if self.kind == "months" else 3.2

    @property
    def pixels(self) -> tuple[int, int]:
        """The image's size in CSS pixels (the SVG's points at 96 to the inch)."""
        return round(WIDTH * 96), round(self.height * 96)


@dataclass(frozen=True)
class Chart:
    """A drawn chart, for the PDF report (which embeds it as a data: URI)."""

    title: str
    description: str
    svg: str

    @property
    def data_uri(self) -> str:
        return DATA_URI_PREFIX + base64.b64encode(self.svg.encode()).decode("ascii")


# ---------------------------------------------------------------- the plots ----


def bars_plot(name: str, title: str, rows: Sequence[Count], colour: str = BLUE) -> Plot:
    # Wrapped, so long category names leave the bars room.
    plotted = tuple((textwrap.fill(r.label, LABEL_WIDTH), r.plotted, r.shown) for r in rows)
    return Plot(name=name, kind="bars", title=title, rows=plotted, colour=colour)


def months_plot(months: Sequence[Month]) -> Plot:
    rows = tuple((m.label, m.total.plotted) for m in months)
    return Plot(name="months", kind="months", title="Decisions by month", rows=rows)


def rates_plot(months: Sequence[Month]) -> Plot:
    rows = tuple(
        (m.label, m.with_consent.percent, m.without_consent.percent, m.can_share.percent,
         m.do_not_share.percent)
        for m in months
    )  # fmt: skip
    return Plot(name="rates", kind="rates", title="Consent rate over time", rows=rows)


def report_plots(report: Report) -> dict[str, Plot]:
    """Every chart of a report, by the name the templates use."""
    return {
        "months": months_plot(report.months),
        "rates": rates_plot(report.months),
        "outcomes": bars_plot("outcomes", "Decisions by outcome", report.by_outcome),
        "lawful_reasons": bars_plot(
            "lawful_reasons",
            "Lawful reasons to share without consent",
            report.lawful_reasons,
            ORANGE,
        ),
        "gdpr_bases": bars_plot("gdpr_bases", "UK GDPR Article 6 basis", report.gdpr_bases, GREY),
        "purposes": bars_plot("purposes", "Purposes", report.purposes, GREEN),
    }


# ------------------------------------------------------------- measuring text ----

TICK = (3.5 + 3.5) / 72  # a tick mark and the gap to its label (matplotlib's defaults)
LABEL_PAD = 4 / 72  # between tick labels and the axis label
EDGE = 0.08  # the figure's own border
ALLOWANCE = 1.05  # a browser's font may be a little wider than the one measured here
SLANT = math.radians(MONTH_LABEL_ANGLE)


@lru_cache(maxsize=2048)
def _width(text: str, size: float) -> float:
    """Inches the widest line of `text` takes at `size` points, as matplotlib measures it."""
    font = FontProperties(family="sans-serif", size=size)
    widest = max(
        text_to_path.get_text_width_height_descent(line, font, ismath=False)[0]
        for line in text.split("\n")
    )
    return ALLOWANCE * widest / 72


def _line(size: float, lines: int = 1) -> float:
    """Inches of `lines` lines of text at `size` points (matplotlib's 1.2 line spacing, and
    room for descenders)."""
    return size * (1.2 * lines + 0.1) / 72


def _frame(figure: Figure, *, left: float, bottom: float, right: float, top: float) -> None:
    """Place the axes with these margins, in inches."""
    width, height = figure.get_size_inches()
    figure.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
    )


def _top(values: Sequence[float]) -> float:
    """The end of a count axis: 5% past the largest count (as matplotlib would), or 1 when
    every count is 0 (matplotlib would centre 0, and the bars would start mid-chart)."""
    return 1.05 * max(values, default=0.0) or 1.0


def _counts(axis: Axis) -> None:
    """Whole numbers, thousands separated, at five or so round steps."""
    axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10], integer=True))
    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _value_labels(axis: Axis) -> list[str]:
    """The tick labels the value axis will show (thousands separated)."""
    low, high = axis.get_view_interval()
    ticks = [t for t in axis.get_major_locator()() if low - 1e-9 <= t <= high + 1e-9]
    return [f"{t:,.0f}" for t in ticks] or ["0"]


# ---------------------------------------------------------------- drawing ----


def _figure(plot: Plot) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH, plot.height), dpi=DPI)
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(colors=TEXT, labelsize=TICK_SIZE)
    return figure, axes


def _month_axis(axes: Axes, labels: list[str]) -> float:
    """Month names along the bottom, slanted when there are many; the bottom margin."""
    slanted = len(labels) > SLANT_AFTER
    axes.set_xticks(
        range(len(labels)),
        labels=labels,
        rotation=MONTH_LABEL_ANGLE if slanted else 0,
        ha="right" if slanted else "center",
    )
    if not slanted:
        return EDGE + TICK + _line(TICK_SIZE)
    widest = max(_width(label, TICK_SIZE) for label in labels)
    return EDGE + TICK + widest * math.sin(SLANT) + _line(TICK_SIZE) * math.cos(SLANT)


def _value_axis(axes: Axes, label: str, *, percent: bool = False) -> float:
    """Counts (or percentages) up the side, labelled; the left margin."""
    axis = axes.yaxis
    if percent:
        axes.set_ylim(0, 100)
    else:
        _counts(axis)
    axes.set_ylabel(label, color=TEXT, fontsize=LABEL_SIZE)
    widest = max(_width(text, TICK_SIZE) for text in _value_labels(axis))
    return EDGE + _line(LABEL_SIZE) + LABEL_PAD + widest + TICK


def _draw_bars(plot: Plot) -> Figure:
    """Horizontal bars, one per category; hidden counts ("fewer than 5", "not shown") are not
    drawn but labelled as their table shows them."""
    figure, axes = _figure(plot)
    labels = [label for label, _, _ in plot.rows]
    values = [0.0 if value is None else value for _, value, _ in plot.rows]
    notes = [shown if value is None else f"{value:,.0f}" for _, value, shown in plot.rows]
    positions = range(len(plot.rows))
    axes.barh(positions, values, color=plot.colour)
    axes.set_xlim(0, _top(values))
    axes.set_yticks(list(positions), labels=labels)
    axes.invert_yaxis()
    _counts(axes.xaxis)
    axes.set_xlabel("Decisions", color=TEXT, fontsize=LABEL_SIZE)
    for position, value, note in zip(positions, values, notes, strict=True):
        axes.annotate(
            note,
            (value, position),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=NOTE_SIZE,
            color=TEXT,
        )
    widest_note = max((_width(note, NOTE_SIZE) for note in notes), default=0.0)
    widest_tick = max(_width(text, TICK_SIZE) for text in _value_labels(axes.xaxis))
    _frame(
        figure,
        left=EDGE + max((_width(label, TICK_SIZE) for label in labels), default=0.0) + TICK,
        bottom=EDGE + _line(TICK_SIZE) + TICK + _line(LABEL_SIZE) + LABEL_PAD,
        # A bar's value is written past its end; the longest bar leaves 5% of the axis.
        right=EDGE + max(widest_note + 3 / 72, widest_tick / 2),
        top=EDGE,
    )
    return figure


def _draw_months(plot: Plot) -> Figure:
    """Decisions per month, as columns."""
    figure, axes = _figure(plot)
    values = [0.0 if value is None else value for _, value in plot.rows]
    axes.bar(range(len(values)), values, color=BLUE)
    axes.set_ylim(0, _top(values))
    bottom = _month_axis(axes, [label for label, _ in plot.rows])
    left = _value_axis(axes, "Decisions")
    _frame(figure, left=left, bottom=bottom, right=EDGE + 0.1, top=EDGE + _line(TICK_SIZE) / 2)
    return figure


def _draw_rates(plot: Plot) -> Figure:
    """Each outcome as a percentage of each month's decisions, one line per outcome."""
    figure, axes = _figure(plot)
    positions = list(range(len(plot.rows)))
    for column, (name, colour, marker) in enumerate(RATE_SERIES, start=1):
        values = [math.nan if row[column] is None else row[column] for row in plot.rows]
        axes.plot(positions, values, label=name, color=colour, marker=marker, linewidth=2)
    bottom = _month_axis(axes, [row[0] for row in plot.rows])
    left = _value_axis(axes, "% of the month's decisions", percent=True)
    axes.legend(fontsize=NOTE_SIZE, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    # The legend sits right of the axes: its gap, handles and padding are 4.1 of its ems.
    widest = max(_width(name, NOTE_SIZE) for name, _, _ in RATE_SERIES)
    right = EDGE + 4.1 * NOTE_SIZE / 72 + widest
    _frame(figure, left=left, bottom=bottom, right=right, top=EDGE + _line(TICK_SIZE) / 2)
    return figure


DRAWERS = {"bars": _draw_bars, "months": _draw_months, "rates": _draw_rates}


def figure_for(plot: Plot) -> Figure:
    """The matplotlib figure of a plot, not yet drawn (tests measure its text)."""
    return DRAWERS[plot.kind](plot)


def draw(plot: Plot) -> str:
    """The chart as SVG text."""
    figure = figure_for(plot)
    FigureCanvasSVG(figure)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def drawn(plot: Plot, svg: str | None = None) -> Chart:
    return Chart(title=plot.title, description=plot.description, svg=svg or draw(plot))


# The drawings on their own, from report figures (tests, and anything without a cache).


def bar_chart(title: str, rows: Sequence[Count], *, colour: str = BLUE) -> Chart:
    return drawn(bars_plot("bars", title, rows, colour))


def monthly_chart(months: Sequence[Month]) -> Chart:
    return drawn(months_plot(months))


def rate_chart(months: Sequence[Month]) -> Chart:
    return drawn(rates_plot(months))
