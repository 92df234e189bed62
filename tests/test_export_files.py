"""Export files (decisions.reports.tasks): private to ISG (0600 files in a 0700 folder), deleted
after ISG_EXPORT_RETENTION_DAYS by `prune_exports` with an audit event each, and failures
logged without their data."""

from __future__ import annotations

import io
import os
import stat
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from decisions.models import AuditEvent, Export, ExportKind, ExportStatus
from decisions.reports import exports, storage, tasks
from tests.reports_data import PERIOD, fixed_set

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def export_files(settings, tmp_path):
    """Finished exports go to a temporary folder; tasks run at once unless a test says not."""
    settings.ISG_EXPORTS_DIR = tmp_path / "exports"
    settings.TASKS = IMMEDIATE
    return settings.ISG_EXPORTS_DIR


@pytest.fixture
def decisions(org, other_org, practitioner, lead):
    return fixed_set(org, other_org, practitioner, lead)


@pytest.fixture
def own(manager):
    return replace(PERIOD, organisation=manager.organisation)


@pytest.fixture
def long_exports(monkeypatch):
    """Every export counts as long, so small test data goes through the background path."""
    monkeypatch.setattr(exports, "BACKGROUND_SECONDS", -1)


# ---- Export files are private ------------------------------------------------------------


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_an_export_file_is_readable_by_its_owner_only(decisions, manager, own, long_exports):
    old = os.umask(0o022)  # a typical server umask, which would make files world-readable
    try:
        export = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    finally:
        os.umask(old)
    export.refresh_from_db()
    assert mode(storage.export_path(export)) == 0o600
    assert mode(storage.exports_dir()) == 0o700


def test_an_existing_exports_folder_is_made_private(
    decisions, manager, own, long_exports, export_files
):
    export_files.mkdir(mode=0o755)
    export_files.chmod(0o755)
    exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    assert mode(export_files) == 0o700


def test_a_link_planted_at_the_partial_files_name_is_not_followed(tmp_path, export_files):
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched")
    export_files.mkdir()
    planted = export_files / "x.part"
    planted.symlink_to(target)
    with storage.create_private(planted) as handle:
        handle.write(b"export")
    assert target.read_text() == "untouched"
    assert not planted.is_symlink() and mode(planted) == 0o600


# ---- Retention: files deleted after ISG_EXPORT_RETENTION_DAYS ----------------------------


@pytest.fixture
def finished(decisions, manager, own, long_exports):
    """A ready background export; finished(days_ago) dates it."""
    export = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)

    def dated(days_ago: float) -> Export:
        at = timezone.now() - timedelta(days=days_ago)
        Export.objects.filter(pk=export.pk).update(finished_at=at)
        export.refresh_from_db()
        return export

    return dated


def test_a_file_older_than_the_retention_period_is_deleted(finished, settings):
    assert settings.ISG_EXPORT_RETENTION_DAYS == 7
    export = finished(days_ago=8)
    path = storage.export_path(export)
    assert tasks.exports_prune() == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.DELETED
    assert not path.exists()


def test_a_file_within_the_retention_period_is_kept(finished):
    export = finished(days_ago=6)
    assert tasks.exports_prune() == 0
    assert storage.export_path(export).is_file()
    assert Export.objects.get(pk=export.pk).status == ExportStatus.READY


def test_the_retention_period_is_a_setting(finished, settings):
    settings.ISG_EXPORT_RETENTION_DAYS = 1
    finished(days_ago=2)
    assert tasks.exports_prune() == 1


def test_each_deletion_is_an_audit_event(finished):
    export = finished(days_ago=30)
    tasks.exports_prune()
    event = AuditEvent.objects.get(action="report.export_deleted")
    assert event.object_id == str(export.public_id)
    assert event.organisation_id == export.organisation_id
    assert event.details["retention_days"] == 7 and event.details["file_found"] is True


def test_a_second_prune_deletes_nothing_more(finished):
    finished(days_ago=30)
    tasks.exports_prune()
    assert tasks.exports_prune() == 0
    assert AuditEvent.objects.filter(action="report.export_deleted").count() == 1


def test_a_file_that_cannot_be_deleted_leaves_its_export_ready(finished, monkeypatch):
    export = finished(days_ago=30)

    def refuse(self, name):
        raise PermissionError("read-only")

    monkeypatch.setattr(storage.PrivateFileSystemStorage, "delete", refuse)
    assert tasks.exports_prune() == 0
    assert Export.objects.get(pk=export.pk).status == ExportStatus.READY
    assert not AuditEvent.objects.filter(action="report.export_deleted").exists()


def test_old_partial_files_are_deleted_and_other_files_left_alone(export_files):
    export_files.mkdir()
    partial = export_files / f"{uuid.uuid4()}.csv.part"
    other = export_files / "README.txt"
    for path in (partial, other):
        path.write_text("x")
        old = (timezone.now() - timedelta(days=30)).timestamp()
        os.utime(path, (old, old))
    tasks.exports_prune()
    assert not partial.exists() and other.exists()


def test_the_prune_command_deletes_old_files(finished):
    finished(days_ago=8)
    out = io.StringIO()
    call_command("prune_exports", stdout=out)
    assert "Deleted 1 export file(s) older than 7 days" in out.getvalue()


def test_the_prune_task_can_run_on_the_worker(finished):
    finished(days_ago=8)
    assert tasks.prune_exports.enqueue().return_value == 1


def test_a_failed_export_logs_its_id_and_error_type_only(
    decisions, manager, own, settings, long_exports, monkeypatch, caplog
):
    settings.TASKS = DATABASE
    export = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)

    def broken(owner, filters):
        raise ValueError("CASE-123 leaked into a message")

    monkeypatch.setattr(tasks, "report_csv_chunks", broken)
    with pytest.raises(ValueError):
        tasks.build_export.call(export.pk)
    [line] = [r.getMessage() for r in caplog.records if r.name == tasks.logger.name]
    assert line == f"export {export.public_id} failed: ValueError"
    assert not list(storage.exports_dir().glob("*.part"))
