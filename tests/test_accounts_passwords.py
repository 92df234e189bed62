"""Changing and resetting a password: GOV.UK pages, no enumeration, every change an audit event."""

from __future__ import annotations

import re
import smtplib

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from decisions.models import AuditEvent, User
from tests.conftest import client_for

PASSWORD = "correct horse battery staple"  # tests/factories.py
NEW = "a much longer new passphrase"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


@pytest.fixture(autouse=True)
def without_second_factor(settings):
    # The second factor has its own tests (test_accounts_mfa.py); these sign in with a password.
    settings.ISG_MFA_REQUIRED = False


IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def reset_email_at_once(settings):
    # The reset email is a background task (decisions.accounts.tasks); these tests run it at
    # once. The tests of the background itself use the database backend and the real worker.
    settings.TASKS = IMMEDIATE


@pytest.fixture(autouse=True)
def no_cached_counts():
    # Audit events for failed sign-ins are throttled in the cache, which outlives a test.
    cache.clear()


def change(client: Client, old: str = PASSWORD, new: str = NEW, again: str | None = None):
    return client.post(
        reverse("password_change"),
        {"old_password": old, "new_password1": new, "new_password2": again or new},
    )


# ---- changing -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_header_offers_signed_in_users_a_password_change(as_practitioner):
    page = as_practitioner.get(reverse("home"), follow=True).content.decode()
    assert "Change your password" in page


@pytest.mark.django_db
def test_changing_the_password_needs_sign_in(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_password_change_is_saved_and_audited_once_with_the_user_as_actor(practitioner):
    client = client_for(practitioner)
    response = change(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    practitioner.refresh_from_db()
    assert practitioner.check_password(NEW)
    [event] = events("user.password_changed")
    assert event.actor == practitioner
    assert NEW not in str(event.details)


@pytest.mark.django_db
def test_after_a_change_this_session_stays_and_others_end(practitioner):
    here, elsewhere = client_for(practitioner), client_for(practitioner)
    change(here)
    assert here.get(reverse("password_change")).status_code == 200
    assert elsewhere.get(reverse("password_change")).status_code == 302


@pytest.mark.django_db
def test_a_wrong_current_password_is_shown_in_the_error_summary(practitioner):
    response = change(client_for(practitioner), old="not it")
    assert response.status_code == 400
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert "Your current password is not correct" in page
    assert "<title>Error:" in page
    assert not events("user.password_changed")


@pytest.mark.django_db
def test_a_new_password_under_12_characters_is_refused(practitioner):
    response = change(client_for(practitioner), new="short pass1")
    assert response.status_code == 400
    assert "at least 12 characters" in response.content.decode()


@pytest.mark.django_db
def test_new_passwords_that_do_not_match_are_refused(practitioner):
    response = change(client_for(practitioner), again="something else entirely")
    assert "The passwords do not match" in response.content.decode()


@pytest.mark.django_db
def test_an_empty_form_gets_an_error_for_every_field(practitioner):
    response = client_for(practitioner).post(reverse("password_change"), {})
    page = response.content.decode()
    assert response.status_code == 400
    for message in ("Enter your current password", "Enter a new password"):
        assert message in page


# ---- resetting ------------------------------------------------------------------------------


def reset_link(message) -> str:
    return re.search(r"http\S+/accounts/password/reset/\S+/\S+/", message.body).group(0)


@pytest.mark.django_db
def test_the_reset_page_sends_a_link_built_from_the_configured_address(practitioner, settings):
    settings.ISG_BASE_URL = "https://isg.example.org"
    response = Client().post(reverse("password_reset"), {"email": practitioner.email})
    assert response["Location"] == reverse("password_reset_done")
    [message] = mail.outbox
    assert message.to == [practitioner.email]
    assert reset_link(message).startswith("https://isg.example.org/accounts/password/reset/")


@pytest.mark.django_db
def test_the_reset_email_subject_has_no_personal_data(practitioner):
    Client().post(reverse("password_reset"), {"email": practitioner.email})
    [message] = mail.outbox
    assert message.subject == "ISG: reset your password"
    assert practitioner.email not in message.subject
    assert practitioner.full_name not in message.subject


@pytest.mark.django_db
def test_an_unknown_address_gets_the_same_page_and_no_email(practitioner):
    known = Client().post(reverse("password_reset"), {"email": practitioner.email}, follow=True)
    unknown = Client().post(reverse("password_reset"), {"email": "no@example.net"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain
    assert known.content == unknown.content
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_reset_request_is_audited_without_keeping_an_unknown_address(practitioner):
    Client().post(reverse("password_reset"), {"email": practitioner.email})
    Client().post(reverse("password_reset"), {"email": "stranger@example.net"})
    known, unknown = events("user.password_reset_requested")
    assert (known.actor_email, known.details) == (practitioner.email, {"link_sent": True})
    assert (unknown.actor_email, unknown.details) == ("unknown", {"link_sent": False})
    assert "stranger" not in str(unknown.details)


@pytest.mark.django_db
def test_a_badly_formed_address_gets_the_error_summary(client):
    response = client.post(reverse("password_reset"), {"email": "not an address"})
    assert response.status_code == 400
    assert "Enter an email address in the correct format" in response.content.decode()


@pytest.mark.django_db
def test_the_reset_link_sets_a_new_password_and_is_audited(practitioner):
    client = Client()
    client.post(reverse("password_reset"), {"email": practitioner.email})
    form_page = client.get(reset_link(mail.outbox[0]), follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}
    )
    assert response["Location"] == reverse("password_reset_complete")
    practitioner.refresh_from_db()
    assert practitioner.check_password(NEW)
    [event] = events("user.password_reset")
    assert event.actor == practitioner
    assert event.details == {"first_password": False}
    assert not events("user.password_changed")


@pytest.mark.django_db
def test_a_reset_link_works_only_once(practitioner):
    client = Client()
    client.post(reverse("password_reset"), {"email": practitioner.email})
    link = reset_link(mail.outbox[0])
    page = client.get(link, follow=True)
    client.post(page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    again = Client().get(link, follow=True)
    assert "This link does not work" in again.content.decode()


@pytest.mark.django_db
def test_a_weak_password_from_a_reset_link_gets_the_error_summary(practitioner):
    client = Client()
    client.post(reverse("password_reset"), {"email": practitioner.email})
    page = client.get(reset_link(mail.outbox[0]), follow=True)
    response = client.post(
        page.redirect_chain[-1][0], {"new_password1": "12345678", "new_password2": "12345678"}
    )
    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()


@pytest.mark.django_db
def test_a_reset_ends_a_sign_in_lockout_of_the_account(practitioner):
    client = Client()
    for _ in range(5):
        client.post(reverse("login"), {"username": practitioner.email, "password": "wrong"})
    client.post(reverse("password_reset"), {"email": practitioner.email})
    page = client.get(reset_link(mail.outbox[0]), follow=True)
    client.post(page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert not AccessAttempt.objects.filter(username=practitioner.email).exists()
    signed_in = client.post(reverse("login"), {"username": practitioner.email, "password": NEW})
    assert signed_in.status_code == 302


# ---- outside the pages ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_password_set_from_a_shell_is_a_system_event(practitioner):
    practitioner.set_password(NEW)
    practitioner.save()
    [event] = events("user.password_changed")
    assert (event.actor, event.actor_email) == (None, "system")
    assert NEW not in str(event.details)


@pytest.mark.django_db
def test_a_stronger_hash_on_sign_in_is_not_a_password_change(practitioner, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    Client().post(reverse("login"), {"username": practitioner.email, "password": PASSWORD})
    assert User.objects.get(pk=practitioner.pk).password.startswith("pbkdf2_")
    assert not events("user.password_changed")


# ---- the reset email, in the background ----------------------------------------------------


def run_worker() -> None:
    """The real worker (`manage.py db_worker`), until the queue is empty."""
    call_command("db_worker", batch=True, no_startup_delay=True, interval=0)


@pytest.mark.django_db(transaction=True)
def test_a_reset_request_does_the_same_work_for_known_and_unknown_addresses(practitioner, settings):
    settings.TASKS = DATABASE
    settings.ISG_BASE_URL = "https://isg.example.org"
    # The organisation's audit chain exists, as it does once anyone there has done anything
    # (an organisation's very first event also creates its chain's head row).
    Client().post(reverse("login"), {"username": practitioner.email, "password": PASSWORD})
    with CaptureQueriesContext(connection) as known_queries:
        known = Client().post(reverse("password_reset"), {"email": practitioner.email})
    with CaptureQueriesContext(connection) as unknown_queries:
        unknown = Client().post(reverse("password_reset"), {"email": "nobody@example.net"})
    # The same answer, and the same statements in the request: no email is sent in it.
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("password_reset_done")
    assert [q["sql"].split()[0] for q in known_queries] == [
        q["sql"].split()[0] for q in unknown_queries
    ]
    assert mail.outbox == []
    queued = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [r.task_path for r in queued] == ["decisions.accounts.tasks.send_password_reset"] * 2
    assert [r.args_kwargs["args"] for r in queued] == [[practitioner.pk], [None]]
    assert "nobody" not in str([r.args_kwargs for r in queued])

    run_worker()

    [message] = mail.outbox  # the known address only
    assert message.to == [practitioner.email]
    assert message.subject == "ISG: reset your password"
    assert reset_link(message).startswith("https://isg.example.org/accounts/password/reset/")
    assert {r.status for r in DBTaskResult.objects.all()} == {"SUCCESSFUL"}
    known_event, unknown_event = events("user.password_reset_requested")
    assert (known_event.actor_email, known_event.details) == (
        practitioner.email,
        {"link_sent": True},
    )
    assert (unknown_event.actor_email, unknown_event.details) == ("unknown", {"link_sent": False})
    assert "nobody" not in str(unknown_event.details) + unknown_event.actor_email


@pytest.mark.django_db
def test_the_reset_task_sends_nothing_to_a_deactivated_account(practitioner):
    from decisions.accounts.tasks import send_password_reset

    practitioner.is_active = False
    practitioner.save()
    assert send_password_reset.call(practitioner.pk) is False
    assert send_password_reset.call(None) is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_reset_mail_failure_is_logged_without_the_address(practitioner, monkeypatch, caplog):
    from decisions.accounts.tasks import send_password_reset

    def refuse(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({practitioner.email: (550, b"no such user")})

    monkeypatch.setattr(EmailMessage, "send", refuse)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send_password_reset.call(practitioner.pk)
    [line] = [r.getMessage() for r in caplog.records if r.name == "decisions.accounts.tasks"]
    assert line == f"user {practitioner.pk}: password reset email not sent: SMTPRecipientsRefused"
