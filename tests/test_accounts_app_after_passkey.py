"""Someone who set up only a passkey adds an authenticator app from "Sign-in and security"
(after a recent password, with their second factor given), audited and emailed."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from decisions.accounts import mfa
from decisions.accounts.notices import SUBJECT
from decisions.models import AuditEvent
from tests.conftest import client_for
from tests.test_accounts_passkeys import a_passkey, an_app

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests/factories.py
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def quick(settings):
    settings.ISG_MFA_REQUIRED = False
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.TASKS = IMMEDIATE


@pytest.fixture
def passkey_only(practitioner):
    """A person whose first second factor was a passkey (so they have recovery codes too)."""
    a_passkey(practitioner)
    mfa.new_recovery_codes(practitioner)
    return practitioner


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def enrolled_events(user) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="user.mfa_enrolled", object_id=str(user.pk)))


def test_sign_in_and_security_offers_an_app_to_someone_with_only_a_passkey(passkey_only):
    page = client_for(passkey_only).get(reverse("account_security")).content.decode()
    assert reverse("app_add") in page


def test_sign_in_and_security_offers_no_second_app(practitioner):
    an_app(practitioner)
    client = client_for(practitioner)
    assert reverse("app_add") not in client.get(reverse("account_security")).content.decode()
    assert client.get(reverse("app_add"))["Location"] == reverse("account_security")


def test_the_page_shows_the_key_as_text_and_as_a_qr_code(passkey_only):
    response = client_for(passkey_only).get(reverse("app_add"))
    assert response.status_code == 200
    device = TOTPDevice.objects.get(user=passkey_only, confirmed=False)
    assert mfa.secret_text(device) in response.content.decode()
    assert 'src="data:image/svg+xml;base64,' in response.content.decode()


def test_a_code_from_the_app_sets_it_up_audited_and_emailed(
    passkey_only, django_capture_on_commit_callbacks
):
    client = client_for(passkey_only)
    client.get(reverse("app_add"))
    device = TOTPDevice.objects.get(user=passkey_only)
    codes_before = set(StaticToken.objects.values_list("token", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("app_add"), {"code": code_for(device)})
    assert response["Location"] == reverse("account_security")
    assert "Your authenticator app is set up" in client.get(response["Location"]).content.decode()
    device.refresh_from_db()
    assert device.confirmed and mfa.has_app(passkey_only) and mfa.has_passkey(passkey_only)
    [event] = enrolled_events(passkey_only)
    assert event.actor == passkey_only and event.details == {"added_to": "passkeys"}
    # The recovery codes they have keep working: none are replaced.
    assert set(StaticToken.objects.values_list("token", flat=True)) == codes_before
    [message] = mail.outbox
    assert message.to == [passkey_only.email] and message.subject == SUBJECT
    assert "An authenticator app was set up" in message.body


def test_a_wrong_code_gets_the_error_summary(passkey_only):
    client = client_for(passkey_only)
    client.get(reverse("app_add"))
    response = client.post(reverse("app_add"), {"code": "000000"})
    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()
    assert "The code is not right" in response.content.decode()
    assert not mfa.has_app(passkey_only)
    assert not enrolled_events(passkey_only)


def test_an_empty_or_silly_code_gets_the_error_summary(passkey_only):
    client = client_for(passkey_only)
    for code in ("", "x" * 5000, "12\x00456"):
        response = client.post(reverse("app_add"), {"code": code})
        assert response.status_code == 400
        assert "govuk-error-summary" in response.content.decode()


def test_it_needs_a_recent_password(passkey_only):
    client = client_for(passkey_only)
    session = client.session
    session["isg_authenticated_at"] -= 16 * 60
    session.save()
    response = client.get(reverse("app_add"))
    assert response["Location"].startswith(reverse("confirm_password"))
    assert not TOTPDevice.objects.filter(user=passkey_only).exists()


def test_it_needs_the_second_factor_first(passkey_only, settings):
    """A password alone (the passkey not yet given) cannot add an app."""
    settings.ISG_MFA_REQUIRED = True
    client = Client()
    client.post(reverse("login"), {"username": passkey_only.email, "password": PASSWORD})
    response = client.get(reverse("app_add"))
    assert response["Location"].startswith(reverse("mfa_verify"))
    assert not TOTPDevice.objects.filter(user=passkey_only).exists()


def test_someone_without_any_second_factor_sets_one_up_at_sign_in_instead(practitioner):
    response = client_for(practitioner).get(reverse("app_add"))
    assert response["Location"] == reverse("account_security")


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("app_add"))
    assert response["Location"].startswith(reverse("login"))


def test_the_new_app_signs_them_in(passkey_only, settings):
    client = client_for(passkey_only)
    client.get(reverse("app_add"))
    device = TOTPDevice.objects.get(user=passkey_only)
    client.post(reverse("app_add"), {"code": code_for(device)})
    settings.ISG_MFA_REQUIRED = True
    fresh = Client()
    fresh.post(reverse("login"), {"username": passkey_only.email, "password": PASSWORD})
    device.refresh_from_db()
    device.last_t = -1  # a new 30-second step, as at a later sign-in
    device.save()
    response = fresh.post(reverse("mfa_verify"), {"code": code_for(device), "next": "/decisions/"})
    assert response["Location"] == "/decisions/"
