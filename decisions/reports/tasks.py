"""The background task that builds a long export's file, and where finished files are kept."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from decisions import access
from decisions.audit import AuditAction, record_event
from decisions.models import Export, ExportKind, ExportStatus
from decisions.reports.documents import (
    EXTENSIONS,
    ExportRefused,
    check_allowed,
    csv_chunks,
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

logger = logging.getLogger(__name__)


def exports_dir() -> Path:
    """Where finished exports are kept: outside static and media URLs, never served directly."""
    return Path(settings.ISG_EXPORTS_DIR)


def export_path(export: Export) -> Path:
    return exports_dir() / export.file_name


def _filters_for(export: Export) -> ReportFilters:
    """The stored filters, validated again as the owner: their access may have changed."""
    owner = export.owner
    if not access.may_run_reports(owner):
        raise ExportRefused("The person who asked for this export can no longer run reports.")
    try:
        return filters_from_json(owner, export.filters)
    except InvalidFilters as exc:
        raise ExportRefused("The filters of this export are no longer valid.") from exc


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
    check_allowed(owner, filters, export.kind)
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
    record_event(
        AuditAction.REPORT_EXPORT_FINISHED, actor=export.owner, obj=export, details=details
    )
