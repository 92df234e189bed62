"""Export files through a Django storage backend (decisions.reports.storage.export_storage), so
any web node or worker can build, serve and prune them: the private local folder by default,
and any other storage (S3-compatible object storage through django-storages in production)
when settings.STORAGES["exports"] names one. The other storage here is Django's own
InMemoryStorage, which has no local paths at all: if any code path used one, it would fail."""

from __future__ import annotations

import csv
import io
import os
import stat
from datetime import timedelta

import pytest
from django.core.files.storage import InMemoryStorage, storages
from django.urls import reverse
from django.utils import timezone

from decisions.models import AuditEvent, Export, ExportStatus
from decisions.reports import exports, storage, tasks
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def background(settings, monkeypatch, tmp_path):
    """Every export is built in the background, at once; the local folder is in tmp_path."""
    settings.TASKS = IMMEDIATE
    settings.ISG_EXPORTS_DIR = tmp_path / "exports"
    monkeypatch.setattr(exports, "BACKGROUND_SECONDS", -1)


@pytest.fixture
def object_storage(settings, tmp_path):
    """Exports in a storage without local paths; the local folder made unusable, so a path
    assumption anywhere would fail loudly rather than quietly write to disk."""
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the exports folder would be")
    settings.ISG_EXPORTS_DIR = blocked
    storage = storages["exports"]
    assert isinstance(storage, InMemoryStorage)
    return storage


def build(manager) -> Export:
    response = client_for(manager).post(reverse("report_export_start"), {"kind": "csv"})
    assert response.status_code == 302
    export = Export.objects.get(owner=manager)
    assert export.status == ExportStatus.READY
    return export


def download(manager, export: Export) -> list[dict]:
    response = client_for(manager).get(reverse("report_export_download", args=[export.public_id]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_by_default_exports_are_private_files_in_the_local_folder(manager, made, settings):
    local = storage.export_storage()
    assert isinstance(local, storage.PrivateFileSystemStorage)
    export = build(manager)
    path = settings.ISG_EXPORTS_DIR / export.file_name
    assert path.is_file() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert export.size == path.stat().st_size > 0
    rows = download(manager, export)
    assert sorted(r["Reference"] for r in rows) == sorted(d.reference for d in made)


def test_exports_in_another_storage_are_built_served_and_pruned_without_a_local_path(
    manager, made, object_storage, settings
):
    export = build(manager)
    assert object_storage.exists(export.file_name)
    assert export.size == object_storage.size(export.file_name) > 0
    assert isinstance(storage.export_path(export), storage.StoredFile)
    # Served by the download page from the storage, to its owner.
    rows = download(manager, export)
    assert sorted(r["Reference"] for r in rows) == sorted(d.reference for d in made)
    # The status page, too.
    page = client_for(manager).get(reverse("report_export", args=[export.public_id]))
    assert page.status_code == 200
    # Pruned from the storage after the retention period, with its audit event.
    Export.objects.filter(pk=export.pk).update(finished_at=timezone.now() - timedelta(days=30))
    assert tasks.exports_prune() == 1
    assert not object_storage.exists(export.file_name)
    event = AuditEvent.objects.get(action="report.export_deleted")
    assert event.details["file_found"] is True
    # Nothing was ever written to the local file system.
    assert settings.ISG_EXPORTS_DIR.read_text().startswith("a file where")


def test_old_leftover_files_in_another_storage_are_pruned_and_others_left(
    manager, made, object_storage
):
    export = build(manager)
    leftover = "0b1c2d3e-0000-4000-8000-000000000000.csv"
    unrelated = "README.txt"
    for name in (leftover, unrelated):
        object_storage.save(name, io.BytesIO(b"x"))
    # A prune a month from now: the leftover is old; the export (dated then) is not.
    later = timezone.now() + timedelta(days=30)
    Export.objects.filter(pk=export.pk).update(finished_at=later)
    assert tasks.exports_prune(now=later) == 0
    assert not object_storage.exists(leftover)
    assert object_storage.exists(unrelated)
    assert object_storage.exists(export.file_name)  # still within its retention period


def test_a_storage_that_fails_marks_the_export_failed_and_logs_no_data(
    manager, made, object_storage, monkeypatch, caplog
):
    def broken(self, name, content):
        raise OSError("bucket unreachable: CASE-123")

    monkeypatch.setattr(InMemoryStorage, "_save", broken)
    response = client_for(manager).post(reverse("report_export_start"), {"kind": "csv"})
    assert response.status_code == 302
    export = Export.objects.get(owner=manager)
    assert export.status == ExportStatus.FAILED
    [line] = [r.getMessage() for r in caplog.records if r.name == tasks.logger.name]
    assert line == f"export {export.public_id} failed: OSError"
