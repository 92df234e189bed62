"""Report exports: a CSV of the decisions, a PDF management report, a zip of record PDFs.

Small exports are built while the manager waits; long ones (over BACKGROUND_SECONDS by the
cost model below, measured with `make bench`) become an Export row and a background task
(django-tasks, database backend: `manage.py db_worker`). Starting an export is a write: it
records a "report.exported" or "report.export_requested" audit event carrying the filters, in
the same transaction as the Export row and its queued task.

The CSV streams: rows are read from a server-side cursor in chunks and written one line at a
time, so memory stays flat at any size. It is UTF-8 with a byte-order mark (Excel), dates are
ISO 8601, and a cell that a spreadsheet would run as a formula is defused with a quote.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task
from weasyprint import HTML
from weasyprint.urls import URLFetcherResponse

from decisions import charts, pdf
from decisions.audit import record_event
from decisions.models import Decision, Export, ExportKind, ExportStatus, Role, User
from decisions.reports import (
    ANSWER_STEPS,
    Labels,
    ReportFilters,
    answer,
    approved_at,
    build_report,
    counted_decisions,
    describe_duration,
    form_data,
    is_aggregate_only,
)

logger = logging.getLogger(__name__)

# An export estimated to take longer than this runs in the background instead: past a few
# seconds a page with no progress looks broken, and a sync web worker should never be held
# near its timeout (gunicorn's default is 30 s).
BACKGROUND_SECONDS = 5.0
# Estimated seconds = fixed + per decision, from `make bench` (100,000 decisions, SQLite and
# PostgreSQL): CSV 23-27 us a row; the PDF report ~1.2 s plus its database aggregation,
# ~30 us a decision; a record PDF 0.23 s each. Rounded up a little for slower servers.
COST = {
    ExportKind.CSV: (0.05, 0.000030),
    ExportKind.PDF: (1.2, 0.000030),
    ExportKind.RECORDS: (0.1, 0.25),
}
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

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: str) -> str:
    """Stop a spreadsheet running a cell as a formula (OWASP "CSV injection")."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


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
        return defuse(labels(column.label_of, value))
    return defuse(str(value))


def csv_rows(decisions: QuerySet[Decision], *, aggregate_only: bool) -> Iterator[list[str]]:
    """The header, then one row per decision, fetched CHUNK_ROWS at a time."""
    columns = csv_columns(aggregate_only)
    labels = Labels()
    yield [c.header for c in columns]
    rows = (
        decisions.annotate(
            approved_at=approved_at(),
            **{f"a_{name}": answer(name) for name in ANSWER_STEPS},
        )
        .order_by("submitted_at", "reference", "version")
        .values_list(*(c.source for c in columns))
    )
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        yield [_cell(c, v, labels) for c, v in zip(columns, row, strict=True)]


class _Line:
    """A file-like object whose write() hands back the line csv.writer wrote."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(decisions: QuerySet[Decision], *, aggregate_only: bool) -> Iterator[bytes]:
    """The CSV as UTF-8 bytes (with a BOM, for Excel), in chunks of many lines."""
    writer = csv.writer(_Line())
    buffer = ["\ufeff"]
    for row in csv_rows(decisions, aggregate_only=aggregate_only):
        buffer.append(writer.writerow(row))
        if len(buffer) >= 200:
            yield "".join(buffer).encode("utf-8")
            buffer = []
    yield "".join(buffer).encode("utf-8")


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


# ------------------------------------------------------ starting exports ----


def estimate_seconds(kind: str, count: int) -> float:
    fixed, per_decision = COST[ExportKind(kind)]
    return fixed + per_decision * count


def runs_in_background(kind: str, count: int) -> bool:
    return estimate_seconds(kind, count) > BACKGROUND_SECONDS


STEMS = {
    ExportKind.CSV: "isg-decisions",
    ExportKind.PDF: "isg-report",
    ExportKind.RECORDS: "isg-decision-records",
}


def download_name(kind: str, filters: ReportFilters) -> str:
    """A file name with the period only: no organisation, reference or name."""
    kind = ExportKind(kind)
    return f"{STEMS[kind]}-{filters.date_from}-to-{filters.date_to}.{EXTENSIONS[kind]}"


def stored_download_name(export: Export) -> str:
    kind = ExportKind(export.kind)
    period = f"{export.filters.get('date_from')}-to-{export.filters.get('date_to')}"
    return f"{STEMS[kind]}-{period}.{EXTENSIONS[kind]}"


@dataclass
class Download:
    """An export built now: its file name, content type and body."""

    filename: str
    content_type: str
    chunks: Iterable[bytes]


def _check_allowed(user: User, filters: ReportFilters, kind: str) -> None:
    if kind == ExportKind.RECORDS and is_aggregate_only(user, filters):
        raise ExportRefused(
            "Decision records name people and cases, so they can only be exported for your "
            "own organisation. Choose your organisation, or export the CSV or PDF report."
        )


def _details(kind: str, filters: ReportFilters, count: int, **extra: Any) -> dict[str, Any]:
    return {"kind": str(kind), "filters": filters.to_json(), "decisions": count, **extra}


def export_start(*, user: User, filters: ReportFilters, kind: str) -> Download | Export:
    """Start an export: built now (a Download), or queued in the background (an Export)."""
    _check_allowed(user, filters, kind)
    decisions = counted_decisions(user, filters)
    count = decisions.count()
    if runs_in_background(kind, count):
        return export_queue(user=user, filters=filters, kind=kind, count=count)
    aggregate_only = is_aggregate_only(user, filters)
    name = download_name(kind, filters)
    if kind == ExportKind.CSV:
        _record_export(user, kind, filters, count)
        return Download(
            name,
            CONTENT_TYPES[ExportKind.CSV],
            csv_chunks(decisions, aggregate_only=aggregate_only),
        )
    if kind == ExportKind.PDF:
        content = report_pdf(user, filters)
        _record_export(user, kind, filters, count)
        return Download(name, CONTENT_TYPES[ExportKind.PDF], [content])
    # In memory up to 20 MB, then on disk; closed by _file_chunks once sent.
    spool = tempfile.SpooledTemporaryFile(max_size=20 * 1024 * 1024)  # noqa: SIM115
    try:
        included = write_records_zip(decisions, spool)
    except BaseException:
        spool.close()
        raise
    _record_export(user, kind, filters, count, records=included)
    spool.seek(0)
    return Download(name, CONTENT_TYPES[ExportKind.RECORDS], _file_chunks(spool))


def _file_chunks(handle: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(size):
            yield chunk


@transaction.atomic
def _record_export(user: User, kind: str, filters: ReportFilters, count: int, **extra: Any) -> None:
    record_event(
        "report.exported",
        actor=user,
        details=_details(kind, filters, count, mode="download", **extra),
    )


@transaction.atomic
def export_queue(*, user: User, filters: ReportFilters, kind: str, count: int) -> Export:
    """Queue a long export: its row, its task and its audit event commit together."""
    _check_allowed(user, filters, kind)
    export = Export.objects.create(
        owner=user,
        organisation=user.organisation,
        kind=kind,
        filters=filters.to_json(),
        decision_count=count,
    )
    record_event(
        "report.export_requested",
        actor=user,
        obj=export,
        details=_details(kind, filters, count, mode="background"),
    )
    result = build_export.enqueue(export.pk)
    Export.objects.filter(pk=export.pk).update(task_id=str(result.id)[:64])
    export.refresh_from_db()
    return export


@transaction.atomic
def export_downloaded(*, export: Export, user: User) -> None:
    record_event(
        "report.export_downloaded",
        actor=user,
        obj=export,
        details={
            "kind": export.kind,
            "filters": export.filters,
            "decisions": export.decision_count,
        },
    )


# ---------------------------------------------------- background task ----


def exports_dir() -> Path:
    """Where finished exports are kept: outside static and media URLs, never served directly."""
    return Path(settings.ISG_EXPORTS_DIR)


def export_path(export: Export) -> Path:
    return exports_dir() / export.file_name


def _filters_for(export: Export) -> ReportFilters:
    """The stored filters, validated again as the owner: their access may have changed."""
    from decisions.forms_reports import ReportFilterForm

    owner = export.owner
    if not owner.is_active or owner.role not in (Role.MANAGER, Role.ADMIN):
        raise ExportRefused("The person who asked for this export can no longer run reports.")
    form = ReportFilterForm(owner, form_data(export.filters))
    if not form.is_valid():
        raise ExportRefused("The filters of this export are no longer valid.")
    return form.filters()


def _write(export: Export, filters: ReportFilters, handle: IO[bytes]) -> dict[str, Any]:
    owner = export.owner
    decisions = counted_decisions(owner, filters)
    if export.kind == ExportKind.CSV:
        for chunk in csv_chunks(decisions, aggregate_only=is_aggregate_only(owner, filters)):
            handle.write(chunk)
        return {}
    if export.kind == ExportKind.PDF:
        handle.write(report_pdf(owner, filters))
        return {}
    _check_allowed(owner, filters, export.kind)
    return {"records": write_records_zip(decisions, handle)}


@task()
def build_export(export_id: int) -> str:
    """Build a queued export's file; the status page shows the outcome."""
    updated = Export.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    )
    if not updated:
        return "skipped"
    export = Export.objects.select_related("owner").get(pk=export_id)
    file_name = f"{export.public_id}.{EXTENSIONS[ExportKind(export.kind)]}"
    folder = exports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{file_name}.part"
    try:
        filters = _filters_for(export)
        with partial.open("wb") as handle:
            extra = _write(export, filters, handle)
        os.replace(partial, folder / file_name)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        # Log the export id and error type only: messages can quote filter values or data.
        logger.warning("export %s failed: %s", export.public_id, type(exc).__name__)
        _finish(export, ExportStatus.FAILED)
        if not isinstance(exc, ExportRefused):
            raise
        return "refused"
    _finish(
        export,
        ExportStatus.READY,
        file_name=file_name,
        size=(folder / file_name).stat().st_size,
        **extra,
    )
    return "ready"


@transaction.atomic
def _finish(
    export: Export,
    status: str,
    *,
    file_name: str = "",
    size: int = 0,
    records: list[str] | None = None,
) -> None:
    Export.objects.filter(pk=export.pk).update(
        status=status, file_name=file_name, size=size, finished_at=timezone.now()
    )
    details = {"kind": export.kind, "status": status}
    if records is not None:
        details["records"] = records
    record_event("report.export_finished", actor=export.owner, obj=export, details=details)


def visible_exports(user: User) -> QuerySet[Export]:
    """A user's own exports; nobody sees another person's."""
    return Export.objects.filter(owner=user)
