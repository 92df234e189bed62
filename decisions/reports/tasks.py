"""The background tasks of exports: building a long export's file (and emailing its owner
when it is ready), and deleting files past their retention period.

Finished files are kept through a Django storage backend (decisions.reports.storage: a private
local folder, or S3-compatible object storage shared by every node). They are kept for
settings.ISG_EXPORT_RETENTION_DAYS, then deleted by
`prune_exports` (the task, or `manage.py prune_exports` from a daily timer), each deletion an
audit event.

When a background export is ready its owner gets an email with a link to its page, sent once
the "ready" status has committed. The subject and body carry no personal data (no names,
organisation, filters or case details): those stay behind sign-in. A mail failure is logged
(the export's id and the error type) and never fails the export.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from decisions import access
from decisions.audit import AuditAction, record_event
from decisions.models import Export, ExportKind, ExportStatus
from decisions.reports.documents import (
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
from decisions.reports.storage import export_storage
from decisions.routing import primary_lsn, replica_configured, replica_reads

logger = logging.getLogger(__name__)

# A file built as an aggregate-only report carries this in its name, so a download can tell
# whether the owner may still have what is in it (decisions.reports.exports).
AGGREGATE_MARK = "-aggregate"
# What the export folder holds: files named by an export's id, and their partial versions.
EXPORT_FILE = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}(-aggregate)?\.(csv|pdf|zip)(\.part)?")


def built_aggregate_only(export: Export) -> bool:
    return Path(export.file_name).stem.endswith(AGGREGATE_MARK)


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
    if export.kind == ExportKind.CSV:
        for chunk in report_csv_chunks(owner, filters):
            handle.write(chunk)
        return {}
    if export.kind == ExportKind.PDF:
        handle.write(report_pdf(owner, filters))
        return {}
    check_allowed(owner, filters, export.kind)
    return {"records": write_records_zip(counted_decisions(owner, filters), handle)}


@task()
def build_export(export_id: int) -> str:
    """Build a queued export's file; the status page shows the outcome."""
    updated = Export.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    )
    if not updated:
        return "skipped"
    export = Export.objects.select_related("owner").get(pk=export_id)
    storage = export_storage()
    try:
        filters = _filters_for(export)
        mark = AGGREGATE_MARK if is_aggregate_only(export.owner, filters) else ""
        file_name = f"{export.public_id}{mark}.{EXTENSIONS[ExportKind(export.kind)]}"
        # Built in a private temporary file (memory up to 20 MB), then handed to the storage.
        with tempfile.SpooledTemporaryFile(max_size=20 * 1024 * 1024) as spool:
            # The decisions are read from the standby when there is one and it has replayed
            # what the primary held as this build started (decisions.routing).
            with replica_reads(min_lsn=_primary_position(), wait=REPLICA_WAIT_SECONDS):
                extra = _write(export, filters, spool)
            spool.seek(0)
            file_name = storage.save(file_name, File(spool, name=file_name))
        size = storage.size(file_name)
    except Exception as exc:
        # Log the export id and error type only: messages can quote filter values or data.
        logger.warning("export %s failed: %s", export.public_id, type(exc).__name__)
        _finish(export, ExportStatus.FAILED)
        if not isinstance(exc, ExportRefused):
            raise
        return "refused"
    _finish(export, ExportStatus.READY, file_name=file_name, size=size, **extra)
    return "ready"


# How long a build waits for the standby to catch up before reading from the primary.
REPLICA_WAIT_SECONDS = 5.0


def _primary_position() -> str | None:
    return primary_lsn() if replica_configured() else None


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
    if status == ExportStatus.READY:
        # After the commit: never an email about a file whose "ready" rolled back.
        transaction.on_commit(partial(export_ready_email, export.pk), robust=True)


# ----------------------------------------------------------------- email ----

EXPORT_READY_SUBJECT = "ISG: your report export is ready"


def export_ready_email(export_id: int) -> int:
    """Tell the owner of a ready export where to download it; returns the emails sent.

    Only while the export is still ready and its owner may still run reports in the
    organisation it was made in (the download checks everything again). Never raises: a mail
    failure is logged, without the address or the message, and the export stays ready.
    """
    try:
        export = Export.objects.select_related("owner").get(pk=export_id)
        owner = export.owner
        if (
            export.status != ExportStatus.READY
            or not access.may_run_reports(owner)
            or owner.organisation_id != export.organisation_id
            or not owner.email
        ):
            return 0
        path = reverse("report_export", args=[export.public_id])
        context = {
            "kind": export.get_kind_display(),
            "link": getattr(settings, "ISG_BASE_URL", "").rstrip("/") + path,
            "retention_days": settings.ISG_EXPORT_RETENTION_DAYS,
        }
        body = render_to_string("reports/email/export_ready.txt", context)
        sent = EmailMessage(EXPORT_READY_SUBJECT, body, to=[owner.email]).send()
    except Exception as exc:
        logger.warning("export %s: ready email not sent: %s", export_id, type(exc).__name__)
        return 0
    logger.info("export %s: ready email sent", export.public_id)
    return sent


# ------------------------------------------------------------- retention ----


def retention_cutoff(now: datetime | None = None) -> datetime:
    """Files made before this are past their retention period."""
    return (now or timezone.now()) - timedelta(days=settings.ISG_EXPORT_RETENTION_DAYS)


@task()
def prune_exports() -> int:
    """Delete export files past their retention period; returns how many exports were."""
    return exports_prune()


def exports_prune(*, now: datetime | None = None) -> int:
    cutoff = retention_cutoff(now)
    expired = Export.objects.filter(status=ExportStatus.READY, finished_at__lt=cutoff)
    deleted = 0
    for export_id in expired.values_list("pk", flat=True):
        try:
            deleted += _delete(export_id)
        except Exception as exc:
            # One file that cannot go (permissions, a busy disk, a bucket that does not answer:
            # botocore's errors are not OSErrors) must not keep the rest; its row and event
            # rolled back, so the next prune tries it again.
            logger.warning("could not delete export %s: %s", export_id, type(exc).__name__)
    leftovers = _delete_leftovers(cutoff)
    if deleted or leftovers:
        logger.info("pruned %d export files and %d leftover files", deleted, leftovers)
    return deleted


@transaction.atomic
def _delete(export_id: int) -> int:
    """Delete one export's file: its row says "deleted" and an audit event says when and why."""
    export = (
        Export.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .filter(pk=export_id, status=ExportStatus.READY)
        .first()
    )
    if export is None:
        return 0  # a prune running beside this one got there first
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.DELETED)
    storage = export_storage()
    found = bool(export.file_name) and storage.exists(export.file_name)
    record_event(
        AuditAction.REPORT_EXPORT_DELETED,
        actor=None,
        organisation=export.organisation,
        obj=export,
        details={
            "kind": export.kind,
            "owner": export.owner_id,
            "finished_at": export.finished_at,
            "retention_days": settings.ISG_EXPORT_RETENTION_DAYS,
            "file_found": found,
        },
    )
    # Last: if the file cannot be deleted, the row and its event roll back and the next
    # prune tries again; a file is never left behind a row that says it is gone.
    if found:
        storage.delete(export.file_name)
    return 1


def _delete_leftovers(cutoff: datetime) -> int:
    """Old files no ready export owns: partial files of a stopped worker, earlier deletions."""
    storage = export_storage()
    try:
        _folders, files = storage.listdir("")
    except (FileNotFoundError, NotImplementedError):
        return 0  # no folder yet, or a storage that cannot list (its own lifecycle rules)
    except Exception as exc:
        # A storage that does not answer now: the leftovers wait for the next prune.
        logger.warning("could not list the export files: %s", type(exc).__name__)
        return 0
    kept = set(Export.objects.filter(status=ExportStatus.READY).values_list("file_name", flat=True))
    removed = 0
    for name in files:
        if not EXPORT_FILE.fullmatch(name) or name in kept:
            continue
        try:
            if storage.get_modified_time(name) < cutoff:
                storage.delete(name)
                removed += 1
        except Exception as exc:  # one file the storage will not give: the rest still go
            logger.warning("could not prune a leftover export file: %s", type(exc).__name__)
    return removed
