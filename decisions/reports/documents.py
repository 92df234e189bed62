"""The documents a report export produces: a CSV of the decisions (or of the report's figures),
a PDF management report and a zip of record PDFs. They write nothing to the database but the
record PDFs they render (stored once, as a download would: decisions.pdf.record_pdf_bytes):
decisions.reports.exports starts exports (and records them); decisions.reports.tasks builds the
long ones in the background.

An aggregate-only report (a partnership manager's, beyond their own organisation) exports
aggregates only, in every format: its CSV is the report's figures, suppressed exactly as the
page shows them, never one row per decision; the PDF shows the same figures; records are
refused.

The CSV of decisions streams: rows are read from a server-side cursor in chunks and written
one line at a time, so memory stays flat at any size. Every CSV is UTF-8 with a byte-order
mark (Excel), dates are ISO 8601, times are ISO 8601 in UK time with their offset from UTC
(2026-07-01T13:05:00+01:00: exact, and what the manager's clock said), and a cell that a
spreadsheet would run as a formula is defused with a quote (decisions.spreadsheets).
"""

from __future__ import annotations

import base64
import contextlib
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import URLFetcherResponse

from decisions import pdf
from decisions.models import Decision, ExportKind, User
from decisions.reports import chart_images, charts
from decisions.reports.fields import REPORTED, Labels, answer, answer_steps
from decisions.reports.figures import Report, approved_at, build_report, describe_duration
from decisions.reports.filters import ReportFilters, counted_decisions, is_aggregate_only
from decisions.reports.suppression import Figure
from decisions.spreadsheets import csv_lines, defuse

__all__ = ["defuse"]  # re-exported: what the CSV does to a formula-like cell

CONTENT_TYPES = {
    ExportKind.CSV: "text/csv; charset=utf-8",
    ExportKind.PDF: "application/pdf",
    ExportKind.RECORDS: "application/zip",
}
EXTENSIONS = {ExportKind.CSV: "csv", ExportKind.PDF: "pdf", ExportKind.RECORDS: "zip"}
CHUNK_ROWS = 2000


class ExportRefused(Exception):
    """An export that must not happen, with a message fit to show the manager."""


# ------------------------------------------------------------------- CSV ----


UK = ZoneInfo("Europe/London")


def iso_uk(value: datetime | None) -> str:
    """A moment as ISO 8601 in UK time with its offset: 2026-07-01T13:05:00+01:00 (BST) or
    2026-12-01T13:05:00+00:00 (GMT). The offset makes it exact, whatever the season."""
    return value.astimezone(UK).isoformat(timespec="seconds") if value else ""


@dataclass(frozen=True)
class Column:
    header: str
    source: str  # the values() key the cell comes from
    label_of: str = ""  # label the value with this field's choices


COLUMNS = (
    Column("Reference", "reference"),
    Column("Version", "version"),
    Column("Case reference", "case_reference"),
    Column("Organisation", "organisation__name"),
    Column("Status", "status", "status"),
    Column("Outcome", "outcome", "outcome"),
    Column("Direction", "a_direction", "direction"),
    Column("Concern level", "a_concern_level", "concern_level"),
    Column("Purposes", "a_purpose_categories", "purpose_categories"),
    Column("Lawful reasons", "a_lawful_reason", "lawful_reason"),
    Column("UK GDPR Article 6 basis", "a_gdpr_article6", "gdpr_article6"),
    Column(
        "Special category condition", "a_special_category_condition", "special_category_condition"
    ),
    Column("Consent", "a_consent", "consent"),
    Column("Recipient organisation", "a_recipient_org"),
    Column("Method", "a_method", "method"),
    Column("Share date", "a_share_date"),
    Column("Submitted at (UK time)", "submitted_at"),
    Column("Decided by", "created_by__email"),
    Column("Needs sign-off by a safeguarding lead", "needs_approval"),
    Column("Signed off at (UK time)", "approved_at"),
)


def _cell(column: Column, value: Any, labels: Labels) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_uk(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if column.source in ("a_purpose_categories", "a_lawful_reason") and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)  # a checkbox answer arrives as its JSON text
    if column.label_of:
        return labels(column.label_of, value)
    return str(value)


def csv_rows(decisions: QuerySet[Decision]) -> Iterator[list[str]]:
    """The header, then one row per decision, fetched CHUNK_ROWS at a time."""
    columns = COLUMNS
    labels = Labels()
    yield [c.header for c in columns]
    steps = answer_steps()
    rows = (
        decisions.annotate(
            approved_at=approved_at(),
            **{f"a_{name}": answer(name, steps) for name in REPORTED},
        )
        .order_by("submitted_at", "reference", "version")
        .values_list(*(c.source for c in columns))
    )
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        yield [_cell(c, v, labels) for c, v in zip(columns, row, strict=True)]


def _encoded(lines: Iterable[str]) -> Iterator[bytes]:
    """CSV lines as UTF-8 bytes (with a BOM, for Excel), in chunks of many lines."""
    buffer = ["\ufeff"]
    for line in lines:
        buffer.append(line)
        if len(buffer) >= 200:
            yield "".join(buffer).encode("utf-8")
            buffer = []
    yield "".join(buffer).encode("utf-8")


def csv_chunks(decisions: QuerySet[Decision], *, aggregate_only: bool = False) -> Iterator[bytes]:
    """The CSV of decisions, one row each. Never for an aggregate-only report: a caller that
    passes the report's aggregate_only gets a refusal, not rows (see report_csv_chunks)."""
    if aggregate_only:
        raise ExportRefused("An aggregate-only report exports its figures, not decisions.")
    return _encoded(csv_lines(csv_rows(decisions)))


# ------------------------------------------------------ CSV of figures ----

PARTNERSHIP_NOTE = (
    'Totals only: counts from 1 to 4 are shown as "fewer than 5", and a count that would let '
    'one be worked out is "not shown". No case references or names.'
)


def _count(figure: Figure) -> str:
    """A count as the page shows it, but without a thousands comma, so it stays a number."""
    return figure.shown if figure.hidden else str(figure.count)


def figures_rows(report: Report) -> Iterator[list[str]]:
    """Every figure of the report, as the page shows it: (section, figure, value)."""
    yield ["Section", "Figure", "Value"]
    yield ["About", "Marking", "OFFICIAL-SENSITIVE"]
    yield ["About", "Generated at (UK time)", iso_uk(report.generated_at)]
    if report.aggregate_only:
        yield ["About", "Partnership figures", PARTNERSHIP_NOTE]
    for name, value in report.filters.described():
        yield ["Filters", name, value]
    yield ["Summary", "Decisions", _count(report.total)]
    lists = (
        ("Decisions by outcome", report.by_outcome),
        ("Lawful reasons to share without consent", report.lawful_reasons),
        ("UK GDPR Article 6 basis", report.gdpr_bases),
        ("Purposes", report.purposes),
        ("Recipient organisations", report.recipients),
    )
    for section, figures in lists:
        for figure in figures:
            yield [section, figure.label, _count(figure)]
    for month in report.months:
        yield ["Decisions by month", month.label, _count(month.total)]
    for month in report.months:
        for label, rate in (
            ("Shared with consent", month.with_consent),
            ("Shared without consent", month.without_consent),
            ("You can share", month.can_share),
            ("Not shared", month.do_not_share),
        ):
            yield ["Share of each month's decisions", f"{month.label}: {label}", rate.shown]
    turnaround = report.turnaround
    for label, value in (
        ("Requests from other organisations", _count(report.requests)),
        ("Requests refused", _count(report.requests_refused)),
        ("Decisions signed off by a safeguarding lead", _count(turnaround.approved)),
        ("Sign-off time, median", describe_duration(turnaround.median)),
        ("Sign-off time, 90th percentile", describe_duration(turnaround.p90)),
        ("Decisions returned at sign-off", _count(report.returned)),
        ("Amendments", _count(report.amendments)),
    ):
        yield ["Requests and sign-off", label, value]


def figures_csv_chunks(report: Report) -> Iterator[bytes]:
    return _encoded(csv_lines(figures_rows(report)))


def report_csv_chunks(user: User, filters: ReportFilters) -> Iterator[bytes]:
    """The CSV this user's export gives: one row per decision, or, for an aggregate-only
    report, its figures (counted now; the rows of decisions stream as they are sent)."""
    if is_aggregate_only(user, filters):
        return figures_csv_chunks(build_report(user, filters))
    return csv_chunks(counted_decisions(user, filters))


def check_allowed(user: User, filters: ReportFilters, kind: str) -> None:
    if kind == ExportKind.RECORDS and is_aggregate_only(user, filters):
        raise ExportRefused(
            "Decision records name people and cases, so they can only be exported for your "
            "own organisation. Choose your organisation, or export the CSV or PDF report."
        )


# ------------------------------------------------------------ PDF report ----


class ReportFetcher(pdf.StaticOnlyFetcher):
    """The record fetcher (static files only), plus the report's own charts as data: URIs.

    Charts go in as <img> rather than inline <svg>: WeasyPrint reads an inline SVG's style
    attributes as HTML CSS and logs a warning for every one.
    """

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.startswith(charts.DATA_URI_PREFIX):
            svg = base64.b64decode(url[len(charts.DATA_URI_PREFIX) :], validate=True)
            return URLFetcherResponse(url, svg, {"Content-Type": "image/svg+xml"})
        return super().fetch(url, headers)


def report_pdf(user: User, filters: ReportFilters) -> bytes:
    report = build_report(user, filters)
    context = {
        "report": report,
        "charts": chart_images.report_charts(report),  # drawn here (the export task) if new
        "filters": filters.described(),
        "turnaround_median": describe_duration(report.turnaround.median),
        "turnaround_p90": describe_duration(report.turnaround.p90),
        "requested_by": user,
        "generated_at": timezone.now(),
        "static_base": pdf.static_base(),
        "pdf_title": "Information-sharing decisions report",
    }
    html = render_to_string("pdf/report.html", context)
    document = HTML(string=html, base_url=pdf.PDF_BASE_URL, url_fetcher=ReportFetcher())
    return document.write_pdf()


# ------------------------------------------------------- records zip ----


def write_records_zip(decisions: QuerySet[Decision], target: IO[bytes]) -> list[str]:
    """Write each decision's latest record PDF into a zip; returns the references included."""
    included: list[str] = []
    ordered = decisions.select_related("organisation", "created_by", "pack", "amends").order_by(
        "reference", "version"
    )
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for decision in ordered.iterator(chunk_size=200):
            record = decision.latest_record()
            if record is None:
                continue
            name = f"{decision.reference}-v{decision.version}.pdf"
            archive.writestr(name, pdf.record_pdf_bytes(decision, record))  # stored once
            included.append(f"{decision.reference} v{decision.version}")
    return included
