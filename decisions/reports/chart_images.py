"""Report charts as images at their own addresses: each drawn once per digest and kept, and
served only to someone whose report shows it.

The reports page does not draw: it names each chart by the digest of what it plots
(decisions.reports.charts.Plot) and the browser fetches the images after the page. Drawing
is then done by the chart's own request, once for the same numbers (kept in Django's cache
under the digest, whoever asked), and a browser keeps an image as long as it likes: a new
number is a new digest, so a new address.

Who may have a chart: the page, having counted a report for its user, notes in the cache the
plots it showed that user with those filters. A chart request for one of them is served from
the note; otherwise (the note expired, or the address was never on their page) the report is
counted again for the user and the chart is served only if its digest is the one asked for.
So a digest from another organisation, another user's filters or an edited address is 404,
and the note also covers the figures changing between the page and its images.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache

from decisions.models import User
from decisions.reports import charts
from decisions.reports.charts import Chart, Plot
from decisions.reports.figures import Report, build_report
from decisions.reports.filters import ReportFilters

IMAGE_SECONDS = 24 * 60 * 60  # an image in the server's cache (its browser may keep it longer)
SHOWN_SECONDS = 24 * 60 * 60  # a page's note of the charts it showed


def _image_key(digest: str) -> str:
    return f"isg-report-chart:{digest}"


def _shown_key(user: User, filters: ReportFilters) -> str:
    # Hashed: the filters and ids stay out of the cache's keys.
    shown = repr((user.pk, sorted(filters.to_json().items())))
    return "isg-report-charts-shown:" + hashlib.sha256(shown.encode()).hexdigest()


def chart_svg(plot: Plot) -> str:
    """The chart's SVG: drawn before from the same plot, or drawn now and kept."""
    key = _image_key(plot.digest)
    svg = cache.get(key)
    if svg is None:
        svg = charts.draw(plot)
        cache.set(key, svg, IMAGE_SECONDS)
    return svg


def page_charts(user: User, filters: ReportFilters, report: Report) -> dict[str, Plot]:
    """The report's charts for its page, noted as shown to `user` with these filters (one
    cache read, and one write when they changed)."""
    plots = charts.report_plots(report)
    key = _shown_key(user, filters)
    if cache.get(key) != plots:
        cache.set(key, plots, SHOWN_SECONDS)
    return plots


def shown_plot(user: User, filters: ReportFilters, name: str, digest: str) -> Plot | None:
    """The chart `name` of the user's report with these filters, if its digest is `digest`;
    None if the user's report has no such chart."""
    plot = (cache.get(_shown_key(user, filters)) or {}).get(name)
    if plot is not None and plot.digest == digest:
        return plot
    # Not on the page last shown for these filters: count the report again.
    plot = charts.report_plots(build_report(user, filters)).get(name)
    return plot if plot is not None and plot.digest == digest else None


def report_charts(report: Report) -> dict[str, Chart]:
    """Every chart of a report, drawn (or as drawn before), for the PDF report."""
    return {
        name: charts.drawn(plot, chart_svg(plot))
        for name, plot in charts.report_plots(report).items()
    }
