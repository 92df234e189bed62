"""Starting report exports: built while the manager waits, or queued for the background.

Small exports are built at once; long ones (over BACKGROUND_SECONDS by the cost model below,
measured with `make bench`) become an Export row and a background task (django-tasks,
database backend: `manage.py db_worker`, decisions.reports.tasks). Starting an export is a
write: it records a "report.exported" or "report.export_requested" audit event carrying the
filters, in the same transaction as the Export row and its queued task.

A finished background export is downloaded later, so its owner's access is checked again then,
as it is now (export_refusal): someone who moved organisation, stopped running reports, or may
now see only aggregates of what the file holds in full, gets nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.db import transaction
from django.db.models import QuerySet

from decisions import access
from decisions.audit import AuditAction, record_event
from decisions.models import Export, ExportKind, User
from decisions.reports.documents import (
    CONTENT_TYPES,
    EXTENSIONS,
    ExportRefused,
    check_allowed,
    report_csv_chunks,
    report_pdf,
    write_records_zip,
)
from decisions.reports.filters import (
    InvalidFilters,
    ReportFilters,
    counted_decisions,
    filters_from_json,
    is_aggregate_only,
)
from decisions.reports.tasks import build_export, built_aggregate_only

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
FIGURES_STEM = "isg-report-figures"  # the CSV of an aggregate-only report


def _name(kind: str, period: str, aggregate_only: bool) -> str:
    kind = ExportKind(kind)
    stem = FIGURES_STEM if aggregate_only and kind == ExportKind.CSV else STEMS[kind]
    return f"{stem}-{period}.{EXTENSIONS[kind]}"


def download_name(kind: str, filters: ReportFilters, *, aggregate_only: bool = False) -> str:
    """A file name with the period only: no organisation, reference or name."""
    return _name(kind, f"{filters.date_from}-to-{filters.date_to}", aggregate_only)


def stored_download_name(export: Export) -> str:
    period = f"{export.filters.get('date_from')}-to-{export.filters.get('date_to')}"
    return _name(export.kind, period, built_aggregate_only(export))


@dataclass
class Download:
    """An export built now: its file name, content type and body."""

    filename: str
    content_type: str
    chunks: Iterable[bytes]


def _details(kind: str, filters: ReportFilters, count: int, **extra: Any) -> dict[str, Any]:
    return {"kind": str(kind), "filters": filters.to_json(), "decisions": count, **extra}


def listed_exports(user: User) -> QuerySet[Export]:
    """The user's exports made in their current organisation (older ones are refused)."""
    return access.visible_exports(user).filter(organisation_id=user.organisation_id)


def export_refusal(export: Export, user: User) -> str:
    """Why `user` may not have this export now ("" if they may), asked again at each look.

    The owner's role, organisation and the export's filters are checked as they are today, and
    a file built in full is refused to someone who may now see only its aggregates.
    """
    if export.owner_id != user.pk:
        return "not_owner"
    if not access.may_run_reports(user):
        return "role"
    if user.organisation_id != export.organisation_id:
        return "organisation_changed"
    try:
        filters = filters_from_json(user, export.filters)
        check_allowed(user, filters, export.kind)
    except (InvalidFilters, ExportRefused):
        return "filters_not_allowed"
    built_in_full = bool(export.file_name) and not built_aggregate_only(export)
    if built_in_full and is_aggregate_only(user, filters):
        return "aggregate_only"
    return ""


def export_start(*, user: User, filters: ReportFilters, kind: str) -> Download | Export:
    """Start an export: built now (a Download), or queued in the background (an Export)."""
    check_allowed(user, filters, kind)
    decisions = counted_decisions(user, filters)
    count = decisions.count()
    if runs_in_background(kind, count):
        return export_queue(user=user, filters=filters, kind=kind, count=count)
    aggregate_only = is_aggregate_only(user, filters)
    name = download_name(kind, filters, aggregate_only=aggregate_only)
    if kind == ExportKind.CSV:
        chunks = report_csv_chunks(user, filters)
        _record_export(user, kind, filters, count, aggregate_only=aggregate_only)
        return Download(name, CONTENT_TYPES[ExportKind.CSV], chunks)
    if kind == ExportKind.PDF:
        content = report_pdf(user, filters)
        _record_export(user, kind, filters, count, aggregate_only=aggregate_only)
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
        AuditAction.REPORT_EXPORTED,
        actor=user,
        details=_details(kind, filters, count, mode="download", **extra),
    )


@transaction.atomic
def export_queue(*, user: User, filters: ReportFilters, kind: str, count: int) -> Export:
    """Queue a long export: its row, its task and its audit event commit together."""
    check_allowed(user, filters, kind)
    export = Export.objects.create(
        owner=user,
        organisation=user.organisation,
        kind=kind,
        filters=filters.to_json(),
        decision_count=count,
    )
    record_event(
        AuditAction.REPORT_EXPORT_REQUESTED,
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
        AuditAction.REPORT_EXPORT_DOWNLOADED,
        actor=user,
        obj=export,
        details={
            "kind": export.kind,
            "filters": export.filters,
            "decisions": export.decision_count,
        },
    )
