"""An email to the person whenever a way of signing in to their account changes (ASVS 2.2.3,
2.5.5): queued when the change commits, sent by the background worker, a subject that names
nobody, a body that says what changed, when, and what to do if it was not them."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tasks_db.models import DBTaskResult

from decisions.accounts import mfa, notices, passkeys, services
from decisions.accounts.notices import Change
from decisions.models import Role, SsoIdentity
from decisions.sso import identities
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.test_accounts_passkeys import a_passkey, an_app

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests/factories.py
NEW = "a much longer new passphrase"
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def emails_at_once(settings):
    settings.ISG_MFA_REQUIRED = False
    settings.TASKS = IMMEDIATE
    settings.ISG_BASE_URL = "https://isg.example.org"


def only_notice(user, change: Change):
    """The one email sent, to `user`, about `change`."""
    [message] = mail.outbox
    assert message.to == [user.email]
    assert message.subject == notices.SUBJECT
    assert change.label.split(". ")[0] in message.body.replace("\n", " ")
    return message


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_a_password_change_emails_the_person(practitioner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(practitioner).post(
            reverse("password_change"),
            {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        )
    assert response.status_code == 302
    only_notice(practitioner, Change.PASSWORD_CHANGED)


def test_a_password_reset_emails_the_person(practitioner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.password_reset(user=practitioner, new_password=NEW)
    only_notice(practitioner, Change.PASSWORD_RESET)


def test_a_first_password_from_an_invitation_sends_no_notice(
    org, django_capture_on_commit_callbacks
):
    invited = UserFactory(organisation=org, email="new@example.org")
    invited.set_unusable_password()
    invited.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.password_reset(user=invited, new_password=NEW)
    assert mail.outbox == []


def test_setting_up_an_app_emails_the_person(practitioner, django_capture_on_commit_callbacks):
    client = client_for(practitioner)
    client.get(reverse("mfa_setup"))
    device = TOTPDevice.objects.get(user=practitioner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_setup"), {"code": code_for(device)})
    assert response.status_code == 200  # the recovery codes page
    only_notice(practitioner, Change.APP_ADDED)


def test_adding_a_passkey_emails_the_person(practitioner, django_capture_on_commit_callbacks):
    # The ceremony itself needs a real authenticator (tests/e2e/test_passkeys.py); its
    # service, which the ceremony's view calls in its transaction, is what sends the email.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        passkeys.passkey_added(user=practitioner, passkey=a_passkey(practitioner), first=True)
    only_notice(practitioner, Change.PASSKEY_ADDED)


def test_removing_a_passkey_emails_the_person(practitioner, django_capture_on_commit_callbacks):
    an_app(practitioner)
    passkey = a_passkey(practitioner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(practitioner).post(reverse("passkey_remove", args=[passkey.pk]))
    assert response.status_code == 302
    only_notice(practitioner, Change.PASSKEY_REMOVED)


def test_new_recovery_codes_email_the_person(practitioner, django_capture_on_commit_callbacks):
    an_app(practitioner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(practitioner).post(reverse("recovery_codes_new"))
    assert response.status_code == 200
    only_notice(practitioner, Change.RECOVERY_CODES_REPLACED)


def test_an_administrators_reset_emails_the_person_not_the_administrator(
    practitioner, admin_user, django_capture_on_commit_callbacks
):
    an_app(practitioner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_user).post(
            reverse("admin_user_mfa_reset", args=[practitioner.pk])
        )
    assert response.status_code == 302
    message = only_notice(practitioner, Change.MFA_RESET)
    assert "An administrator reset" in message.body


def test_unlinking_the_organisations_account_emails_the_person(
    practitioner, admin_user, django_capture_on_commit_callbacks
):
    identity = SsoIdentity.objects.create(
        user=practitioner, issuer="https://idp.example.org", subject="s-1"
    )
    with django_capture_on_commit_callbacks(execute=True):
        identities.identity_remove(actor=admin_user, identity=identity)
    only_notice(practitioner, Change.SSO_UNLINKED)


def test_the_email_says_what_when_and_what_to_do_and_its_subject_names_nobody(
    practitioner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.password_change(user=practitioner, new_password=NEW)
    message = only_notice(practitioner, Change.PASSWORD_CHANGED)
    assert "(UK time)" in message.body and "When: " in message.body
    assert "If this was you, you do not need to do anything." in message.body
    assert "Tell your organisation's ISG administrator straight away" in message.body
    assert "https://isg.example.org/accounts/password/reset/" in message.body
    for personal in (practitioner.email, practitioner.full_name):
        assert personal not in message.subject


def test_a_change_that_rolls_back_sends_nothing(practitioner, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.password_change(user=practitioner, new_password=NEW)
        raise RuntimeError("the change fails after it")
    assert mail.outbox == []


def test_a_change_by_someone_else_is_told_to_its_owner_only(
    org, admin_user, django_capture_on_commit_callbacks
):
    lead = UserFactory(organisation=org, role=Role.LEAD, email="lead2@example.org")
    an_app(lead)
    with django_capture_on_commit_callbacks(execute=True):
        services.user_mfa_reset(actor=admin_user, user=lead)
    assert [m.to for m in mail.outbox] == [[lead.email]]


@pytest.mark.django_db(transaction=True)
def test_the_email_is_sent_by_the_background_worker(practitioner, settings):
    settings.TASKS = DATABASE
    mfa.recovery_codes_replace(user=practitioner)
    assert mail.outbox == []  # nothing sent in the request
    task = DBTaskResult.objects.get(task_path="decisions.accounts.notices.send_security_notice")
    user_id, change, _at = task.args_kwargs["args"]
    assert (user_id, change) == (practitioner.pk, "recovery_codes_replaced")
    assert practitioner.email not in str(task.args_kwargs)
    call_command("db_worker", batch=True, no_startup_delay=True, interval=0)
    only_notice(practitioner, Change.RECOVERY_CODES_REPLACED)
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
