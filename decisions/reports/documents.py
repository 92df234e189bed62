"""The documents a report export produces: a CSV of the decisions, a PDF management report
and a zip of record PDFs. They write nothing to the database: decisions.reports.exports starts
exports (and records them); decisions.reports.tasks builds the long ones in the background.

The CSV streams: rows are read from a server-side cursor in chunks and written one line at a
time, so memory stays flat at any size. It is UTF-8 with a byte-order mark (Excel), dates are
ISO 8601, and a cell that a spreadsheet would run as a formula is defused with a quote
(decisions.spreadsheets).
"""

from __future__ import annotations

import base64
import contextlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import URLFetcherResponse

from decisions import pdf
from decisions.models import Decision, ExportKind, User
from decisions.reports import charts
from decisions.reports.fields import REPORTED, Labels, answer, answer_steps
from decisions.reports.figures import approved_at, build_report, describe_duration
from decisions.reports.filters import ReportFilters, is_aggregate_only
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


def iso_utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


@dataclass(frozen=True)
class Column:
    header: str
    source: str  # the values() key the cell comes from
    label_of: str = ""  # label the value with this field's choices
    personal: bool = False  # left out of aggregate-only (partnership) exports


COLUMNS = (
    Column("Reference", "reference"),
    Column("Version", "version"),
    Column("Case reference", "case_reference", personal=True),
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
    Column("Submitted at (UTC)", "submitted_at"),
    Column("Decided by", "created_by__email", personal=True),
    Column("Needs approval", "needs_approval"),
    Column("Approved at (UTC)", "approved_at"),
)


def csv_columns(aggregate_only: bool) -> list[Column]:
    return [c for c in COLUMNS if not (aggregate_only and c.personal)]


def _cell(column: Column, value: Any, labels: Labels) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if column.source in ("a_purpose_categories", "a_lawful_reason") and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)  # a checkbox answer arrives as its JSON text
    if column.label_of:
        return labels(column.label_of, value)
    return str(value)


def csv_rows(decisions: QuerySet[Decision], *, aggregate_only: bool) -> Iterator[list[str]]:
    """The header, then one row per decision, fetched CHUNK_ROWS at a time."""
    columns = csv_columns(aggregate_only)
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


def csv_chunks(decisions: QuerySet[Decision], *, aggregate_only: bool) -> Iterator[bytes]:
    """The CSV as UTF-8 bytes (with a BOM, for Excel), in chunks of many lines."""
    buffer = ["\ufeff"]
    for line in csv_lines(csv_rows(decisions, aggregate_only=aggregate_only)):
        buffer.append(line)
        if len(buffer) >= 200:
            yield "".join(buffer).encode("utf-8")
            buffer = []
    yield "".join(buffer).encode("utf-8")


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
        "charts": charts.report_charts(report),
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
            archive.writestr(name, pdf.render_record(decision, record))
            included.append(f"{decision.reference} v{decision.version}")
    return included
