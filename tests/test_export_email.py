"""The email a background export's owner gets when it is ready (decisions.reports.tasks):
sent once the "ready" status has committed, with a link and no personal data, and never able
to fail the export."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import replace

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.urls import reverse

from decisions.models import Export, ExportKind, ExportStatus, Role
from decisions.reports import exports, storage, tasks
from tests.reports_data import PERIOD, fixed_set

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
BASE = "https://isg.example.org"


@pytest.fixture(autouse=True)
def export_files(settings, tmp_path):
    settings.ISG_EXPORTS_DIR = tmp_path / "exports"
    settings.TASKS = IMMEDIATE
    settings.ISG_BASE_URL = BASE


@pytest.fixture
def decisions(org, other_org, practitioner, lead):
    return fixed_set(org, other_org, practitioner, lead)


@pytest.fixture
def own(manager):
    return replace(PERIOD, organisation=manager.organisation)


@pytest.fixture
def long_exports(monkeypatch):
    monkeypatch.setattr(exports, "BACKGROUND_SECONDS", -1)


def start(manager, own, kind=ExportKind.CSV) -> Export:
    export = exports.export_start(user=manager, filters=own, kind=kind)
    export.refresh_from_db()
    return export


def test_a_ready_export_emails_its_owner_a_link_once_committed(
    decisions, manager, own, long_exports, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        export = start(manager, own)
    assert export.status == ExportStatus.READY
    [message] = mail.outbox
    assert message.to == [manager.email]
    assert message.subject == "ISG: your report export is ready"
    assert f"{BASE}{reverse('report_export', args=[export.public_id])}" in message.body


def test_nothing_is_sent_before_the_ready_status_commits(
    decisions, manager, own, long_exports, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        start(manager, own)
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_the_email_carries_no_personal_data(
    decisions, manager, own, long_exports, practitioner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        start(manager, own)
    [message] = mail.outbox
    for text in (message.subject, message.body):
        for private in (
            "CASE-123",
            practitioner.email,
            manager.email,
            manager.organisation.name,
            manager.full_name,
            decisions[1].reference,
            "Leicestershire Police",
        ):
            assert private not in text


def test_the_worker_sends_the_email_after_its_task_commits(
    decisions, manager, own, long_exports, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = DATABASE
    export = start(manager, own)
    assert export.status == ExportStatus.QUEUED and mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.build_export.call(export.pk) == "ready"
    assert len(mail.outbox) == 1


def test_an_export_built_at_once_sends_no_email(
    decisions, manager, own, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = exports.export_start(user=manager, filters=own, kind=ExportKind.CSV)
    assert isinstance(result, exports.Download)
    assert mail.outbox == []


def test_a_failed_export_sends_no_email(
    decisions, manager, own, long_exports, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = DATABASE
    export = start(manager, own)
    type(manager).objects.filter(pk=manager.pk).update(role=Role.PRACTITIONER)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.build_export.call(export.pk) == "refused"
    assert mail.outbox == []


def test_a_mail_failure_does_not_fail_the_export(
    decisions, manager, own, long_exports, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def refuse(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({manager.email: (550, b"no such user")})

    monkeypatch.setattr(EmailMessage, "send", refuse)
    with (
        caplog.at_level(logging.WARNING, logger=tasks.logger.name),
        django_capture_on_commit_callbacks(execute=True),
    ):
        export = start(manager, own)
    assert export.status == ExportStatus.READY and storage.export_path(export).is_file()
    [line] = [r.getMessage() for r in caplog.records if r.name == tasks.logger.name]
    assert line == f"export {export.pk}: ready email not sent: SMTPRecipientsRefused"
    assert manager.email not in caplog.text


def test_an_owner_who_can_no_longer_run_reports_is_not_emailed(
    decisions, manager, own, long_exports, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        start(manager, own)
    type(manager).objects.filter(pk=manager.pk).update(role=Role.PRACTITIONER)
    for callback in callbacks:
        callback()
    assert mail.outbox == []


def test_the_email_function_sends_nothing_for_an_export_not_ready(
    decisions, manager, own, long_exports
):
    export = start(manager, own)
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.DELETED)
    assert tasks.export_ready_email(export.pk) == 0
    assert tasks.export_ready_email(10**9) == 0  # no such export: logged, not raised
    assert mail.outbox == []
