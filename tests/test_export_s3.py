"""Exports in S3-compatible object storage (issue 13): with ISG_EXPORTS_S3_BUCKET set, the
settings name django-storages' S3Storage, and an export built by the background worker lands
in the bucket under its id only, is streamed to its owner by the download view (after its
checks), is refused to anyone else, and is deleted by the prune with its audit event; a bucket
that does not answer gives the manager a clear message, never a 500.

The storage is the real S3Storage over boto3, talking HTTP to moto's S3 server in another
process on loopback (tests/s3server.py), configured by running isg/settings.py with the
environment an operator would set. Nothing is mocked."""

from __future__ import annotations

import logging
import runpy
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.management.commands import db_worker

from decisions.models import AuditEvent, Export, ExportStatus, Role
from decisions.reports import exports, storage, tasks
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.s3server import REGION, S3Server, free_port

pytestmark = pytest.mark.django_db

SETTINGS_FILE = Path(django_settings.BASE_DIR) / "isg" / "settings.py"
FAILED_PAGE = "This export could not be prepared."


@pytest.fixture(scope="module")
def s3_server():
    server = S3Server()
    yield server
    server.stop()


def exports_storage_from_settings(monkeypatch, **env: str) -> dict:
    """STORAGES["exports"] as isg/settings.py makes it from this environment."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))["STORAGES"]["exports"]


@pytest.fixture
def aws_environment(monkeypatch, tmp_path):
    """Credentials in the standard AWS variables, and no profile or config file of this
    machine's that could supply others."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def use_bucket(settings, monkeypatch, tmp_path, aws_environment):
    """Point ISG's exports at a bucket through the settings an operator would set; the local
    exports folder is made unusable, so a file written there would fail loudly."""

    def configure(endpoint_url: str, bucket: str) -> None:
        settings.STORAGES = {
            **settings.STORAGES,
            "exports": exports_storage_from_settings(
                monkeypatch,
                ISG_EXPORTS_S3_BUCKET=bucket,
                ISG_EXPORTS_S3_ENDPOINT_URL=endpoint_url,
                ISG_EXPORTS_S3_REGION=REGION,
                ISG_EXPORTS_S3_SSE="AES256",
                ISG_EXPORTS_S3_CONNECT_TIMEOUT="2",
                ISG_EXPORTS_S3_ATTEMPTS="2",
            ),
        }
        blocked = tmp_path / "not-a-folder"
        blocked.write_text("a file where the exports folder would be")
        settings.ISG_EXPORTS_DIR = blocked

    return configure


@pytest.fixture
def bucket(s3_server, use_bucket) -> str:
    name = s3_server.bucket(f"isg-exports-{uuid.uuid4().hex[:12]}")
    use_bucket(s3_server.endpoint_url, name)
    return name


@pytest.fixture(autouse=True)
def background(settings, monkeypatch):
    """Every export is queued for the database worker, as in production."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(exports, "BACKGROUND_SECONDS", -1)
    # The worker closes connections it thinks stale; here that would be the test's transaction.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def build(manager) -> Export:
    """Ask for a CSV export and run the background worker until the queue is empty."""
    response = client_for(manager).post(reverse("report_export_start"), {"kind": "csv"})
    assert response.status_code == 302
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    return Export.objects.get(owner=manager)


def download(user, export: Export):
    return client_for(user).get(reverse("report_export_download", args=[export.public_id]))


def status_page(user, export: Export) -> str:
    response = client_for(user).get(reverse("report_export", args=[export.public_id]))
    assert response.status_code == 200
    return response.content.decode()


# ---- settings ------------------------------------------------------------------------------


def test_the_settings_name_s3_storage_with_credentials_left_to_boto3(monkeypatch):
    exports_storage = exports_storage_from_settings(
        monkeypatch,
        ISG_EXPORTS_S3_BUCKET="isg-exports",
        ISG_EXPORTS_S3_ENDPOINT_URL="https://objects.example.org",
        ISG_EXPORTS_S3_REGION="eu-west-2",
        ISG_EXPORTS_S3_SSE="aws:kms",
        ISG_EXPORTS_S3_KMS_KEY_ID="alias/isg-exports",
        ISG_EXPORTS_S3_ADDRESSING_STYLE="path",
    )
    options = exports_storage["OPTIONS"]
    assert exports_storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert options["bucket_name"] == "isg-exports"
    assert options["endpoint_url"] == "https://objects.example.org"
    assert options["region_name"] == "eu-west-2"
    assert options["location"] == "exports"
    assert options["default_acl"] is None
    assert options["object_parameters"] == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/isg-exports",
    }
    assert options["client_config"].s3 == {"addressing_style": "path"}
    assert not {"access_key", "secret_key", "security_token"} & set(options)


def test_without_a_bucket_exports_stay_in_the_local_folder(monkeypatch):
    monkeypatch.delenv("ISG_EXPORTS_S3_BUCKET", raising=False)
    monkeypatch.delenv("ISG_EXPORTS_STORAGE", raising=False)
    assert "exports" not in runpy.run_path(str(SETTINGS_FILE))["STORAGES"]


def test_a_bucket_and_another_storage_together_are_refused(monkeypatch):
    monkeypatch.setenv("ISG_EXPORTS_STORAGE", "django.core.files.storage.InMemoryStorage")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        exports_storage_from_settings(monkeypatch, ISG_EXPORTS_S3_BUCKET="isg-exports")


# ---- built, kept, downloaded -----------------------------------------------------------------


def test_an_export_built_by_the_worker_lands_in_the_bucket_under_its_id_only(
    manager, made, bucket, s3_server
):
    export = build(manager)
    assert export.status == ExportStatus.READY
    key = f"exports/{export.public_id}.csv"
    assert s3_server.keys(bucket) == [key]  # no personal data in the key: the export's id
    head = s3_server.client.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == export.size > 0
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"] == {}
    grants = s3_server.client.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert [g["Grantee"]["Type"] for g in grants] == ["CanonicalUser"]  # the owner, no group


def test_its_owner_downloads_the_same_bytes_through_the_view(manager, made, bucket, s3_server):
    export = build(manager)
    stored = s3_server.client.get_object(Bucket=bucket, Key=f"exports/{export.public_id}.csv")
    response = download(manager, export)
    assert response.status_code == 200  # streamed by ISG, not a redirect to the bucket
    body = b"".join(response.streaming_content)  # read to the end: the test client closes it
    assert body == stored["Body"].read()
    assert all(d.reference in body.decode("utf-8-sig") for d in made)
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(action="report.export_downloaded").count() == 1


def test_another_organisations_manager_gets_404(manager, made, bucket, other_org):
    export = build(manager)
    stranger = UserFactory(organisation=other_org, role=Role.MANAGER)
    assert download(stranger, export).status_code == 404
    assert not AuditEvent.objects.filter(action="report.export_downloaded").exists()


def test_another_manager_of_the_same_organisation_gets_404(manager, made, bucket, org):
    export = build(manager)
    colleague = UserFactory(organisation=org, role=Role.MANAGER)
    assert download(colleague, export).status_code == 404


def test_the_wrong_role_is_refused(manager, practitioner, made, bucket):
    export = build(manager)
    assert download(practitioner, export).status_code == 403
    assert not AuditEvent.objects.filter(action="report.export_downloaded").exists()


# ---- retention -----------------------------------------------------------------------------


def test_pruning_deletes_the_object_with_its_audit_event(manager, made, bucket, s3_server):
    export = build(manager)
    Export.objects.filter(pk=export.pk).update(finished_at=timezone.now() - timedelta(days=30))
    assert tasks.exports_prune() == 1
    assert s3_server.keys(bucket) == []
    assert Export.objects.get(pk=export.pk).status == ExportStatus.DELETED
    event = AuditEvent.objects.get(action="report.export_deleted")
    assert event.details["file_found"] is True
    assert event.details["retention_days"] == 7


def test_old_leftover_objects_are_pruned_and_others_left(manager, made, bucket, s3_server):
    export = build(manager)
    leftover = f"exports/{uuid.uuid4()}.csv.part"
    unrelated = "exports/README.txt"
    for key in (leftover, unrelated):
        s3_server.client.put_object(Bucket=bucket, Key=key, Body=b"x")
    # A prune a month from now: the leftover is old; the export (dated then) is not.
    later = timezone.now() + timedelta(days=30)
    Export.objects.filter(pk=export.pk).update(finished_at=later)
    assert tasks.exports_prune(now=later) == 0
    assert s3_server.keys(bucket) == sorted([f"exports/{export.public_id}.csv", unrelated])


# ---- a bucket that does not answer ----------------------------------------------------------


def test_an_unreachable_bucket_fails_the_export_with_a_clear_message(
    manager, made, use_bucket, caplog
):
    use_bucket(f"http://127.0.0.1:{free_port()}", "isg-exports")  # nothing listens there
    with caplog.at_level(logging.WARNING, logger=tasks.logger.name):
        export = build(manager)
    assert export.status == ExportStatus.FAILED
    assert FAILED_PAGE in status_page(manager, export)
    [line] = [r.getMessage() for r in caplog.records if r.name == tasks.logger.name]
    assert line.startswith(f"export {export.public_id} failed: ")
    assert "127.0.0.1" not in line and "isg-exports" not in line


@pytest.fixture
def stopped_later(use_bucket):
    """A bucket on a server of its own, which the test stops."""
    server = S3Server()
    try:
        use_bucket(server.endpoint_url, server.bucket("isg-exports"))
        yield server
    finally:
        server.stop()


def test_a_download_when_the_bucket_stops_answering_says_so_not_500(
    manager, made, stopped_later, caplog
):
    export = build(manager)
    assert export.status == ExportStatus.READY
    stopped_later.stop()
    url = reverse("report_export_download", args=[export.public_id])
    with caplog.at_level(logging.WARNING, logger=storage.logger.name):
        response = client_for(manager).get(url, follow=True)
    assert response.redirect_chain == [(reverse("report_export", args=[export.public_id]), 302)]
    assert response.status_code == 200
    assert "could not fetch this export&#x27;s file just now" in response.content.decode()
    assert not AuditEvent.objects.filter(action="report.export_downloaded").exists()
    [line] = [r.getMessage() for r in caplog.records if r.name == storage.logger.name]
    assert line.startswith(f"export {export.public_id}: file not readable: ")


def test_a_prune_when_the_bucket_stops_answering_keeps_the_export_for_the_next(
    manager, made, stopped_later
):
    export = build(manager)
    Export.objects.filter(pk=export.pk).update(finished_at=timezone.now() - timedelta(days=30))
    stopped_later.stop()
    assert tasks.exports_prune() == 0
    assert Export.objects.get(pk=export.pk).status == ExportStatus.READY
    assert not AuditEvent.objects.filter(action="report.export_deleted").exists()
