"""The second factor (django-otp): set up at the first sign-in, asked at each, reset by an
administrator. On here with the `settings` fixture (the test settings switch it off)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from decisions.models import AuditEvent
from tests.conftest import client_for

PASSWORD = "correct horse battery staple"  # tests/factories.py


@pytest.fixture(autouse=True)
def mfa_on(settings):
    settings.ISG_MFA_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # a wrong code does not delay the next in these tests
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    cache.clear()


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def sign_in(user, next_url: str = "/decisions/") -> Client:
    client = Client()
    response = client.post(
        reverse("login") + f"?next={next_url}", {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


@pytest.fixture
def app(practitioner) -> TOTPDevice:
    return TOTPDevice.objects.create(user=practitioner, name="Authenticator app", confirmed=True)


# ---- setting it up --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_first_sign_in_goes_to_setting_up_an_app(practitioner):
    client = sign_in(practitioner)
    response = client.get("/decisions/")
    assert response["Location"] == reverse("mfa_setup") + "?next=%2Fdecisions%2F"


@pytest.mark.django_db
def test_the_set_up_page_shows_the_key_as_text_and_as_a_qr_code(practitioner):
    page = sign_in(practitioner).get(reverse("mfa_setup")).content.decode()
    device = TOTPDevice.objects.get(user=practitioner)
    assert 'src="data:image/svg+xml;base64,' in page
    assert device.config_url  # what the QR code holds
    assert "<script>" not in page
    key = page.split('class="isg-secret-key">')[1].split("<")[0]
    assert len(key.replace(" ", "")) == 32


@pytest.mark.django_db
def test_a_code_from_the_app_confirms_it_and_shows_recovery_codes_once(practitioner):
    client = sign_in(practitioner)
    client.get(reverse("mfa_setup"))
    device = TOTPDevice.objects.get(user=practitioner)
    response = client.post(reverse("mfa_setup"), {"code": code_for(device), "next": "/decisions/"})
    device.refresh_from_db()
    assert device.confirmed
    codes = StaticToken.objects.filter(device__user=practitioner).values_list("token", flat=True)
    assert len(codes) == 10
    assert all(code in response.content.decode() for code in codes)
    assert client.get("/decisions/").status_code == 200
    assert events("user.mfa_enrolled")[0].actor == practitioner
    assert events("user.recovery_codes_created")[0].details == {"count": 10}


@pytest.mark.django_db
def test_a_wrong_code_when_setting_up_gets_the_error_summary(practitioner):
    client = sign_in(practitioner)
    client.get(reverse("mfa_setup"))
    response = client.post(reverse("mfa_setup"), {"code": "000000"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert "The code is not right" in page
    assert not TOTPDevice.objects.get(user=practitioner).confirmed


@pytest.mark.django_db
def test_an_empty_code_gets_the_error_summary(practitioner):
    client = sign_in(practitioner)
    response = client.post(reverse("mfa_setup"), {})
    assert response.status_code == 400
    assert "Enter the security code" in response.content.decode()


@pytest.mark.django_db
def test_the_same_key_is_offered_until_it_is_confirmed(practitioner):
    client = sign_in(practitioner)
    first = client.get(reverse("mfa_setup")).content
    second = client.get(reverse("mfa_setup")).content
    assert first.split(b"isg-secret-key")[1][:60] == second.split(b"isg-secret-key")[1][:60]
    assert TOTPDevice.objects.filter(user=practitioner).count() == 1


# ---- at each sign-in ------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_sign_in_asks_for_a_code(practitioner, app):
    client = sign_in(practitioner)
    assert client.get("/decisions/")["Location"] == reverse("mfa_verify") + "?next=%2Fdecisions%2F"


@pytest.mark.django_db
def test_a_code_from_the_app_lets_them_in_and_is_audited(practitioner, app):
    client = sign_in(practitioner)
    response = client.post(reverse("mfa_verify"), {"code": code_for(app), "next": "/decisions/"})
    assert response["Location"] == "/decisions/"
    assert client.get("/decisions/").status_code == 200
    [event] = events("auth.mfa_verified")
    assert (event.actor, event.details) == (practitioner, {"method": "app"})


@pytest.mark.django_db
def test_a_wrong_code_is_refused_and_audited(practitioner, app):
    client = sign_in(practitioner)
    response = client.post(reverse("mfa_verify"), {"code": "000000"})
    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()
    assert events("auth.mfa_failed")
    assert client.get("/decisions/").status_code == 302


@pytest.mark.django_db
def test_a_recovery_code_works_once(practitioner, app):
    recovery = StaticDevice.objects.create(user=practitioner, name="Recovery codes")
    recovery.token_set.create(token="abcd2345")
    client = sign_in(practitioner)
    assert client.post(reverse("mfa_verify"), {"code": "ABCD 2345"}).status_code == 302
    assert events("auth.mfa_verified")[0].details == {
        "method": "recovery_code",
        "recovery_codes_left": 0,
    }
    again = sign_in(practitioner)
    assert again.post(reverse("mfa_verify"), {"code": "abcd2345"}).status_code == 400


@pytest.mark.django_db
def test_five_wrong_codes_sign_out(practitioner, app):
    client = sign_in(practitioner)
    for _ in range(4):
        client.post(reverse("mfa_verify"), {"code": "000000"})
    response = client.post(reverse("mfa_verify"), {"code": "000000"})
    assert response["Location"] == reverse("login") + "?signed_out=mfa"
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_signing_out_is_allowed_before_the_code(practitioner, app):
    client = sign_in(practitioner)
    client.post(reverse("logout"))
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_switched_off_nobody_is_asked(practitioner, settings):
    settings.ISG_MFA_REQUIRED = False
    assert sign_in(practitioner).get("/decisions/").status_code == 200


@pytest.mark.django_db
def test_a_script_asking_before_the_code_is_told_a_code_is_needed(practitioner, app):
    client = sign_in(practitioner)
    response = client.get(reverse("my_decisions"), HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json()["reason"] == "mfa"


# ---- reset by an administrator --------------------------------------------------------------


@pytest.fixture
def as_verified_admin(admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="Authenticator app", confirmed=True)
    client = client_for(admin_user)
    response = client.post(reverse("mfa_verify"), {"code": code_for(device)})
    assert response.status_code == 302
    return client


@pytest.mark.django_db
def test_an_administrator_resets_someones_app_and_it_is_audited(
    as_verified_admin, admin_user, practitioner, app
):
    response = as_verified_admin.post(reverse("admin_user_mfa_reset", args=[practitioner.pk]))
    assert response["Location"] == reverse("admin_user", args=[practitioner.pk])
    assert not TOTPDevice.objects.filter(user=practitioner).exists()
    [event] = events("user.mfa_reset")
    assert event.actor == admin_user
    assert sign_in(practitioner).get("/decisions/")["Location"].startswith(reverse("mfa_setup"))


@pytest.mark.django_db
def test_an_administrator_cannot_reset_their_own_app(as_verified_admin, admin_user):
    response = as_verified_admin.post(reverse("admin_user_mfa_reset", args=[admin_user.pk]))
    assert response.status_code == 400
    assert TOTPDevice.objects.filter(user=admin_user).exists()


@pytest.mark.django_db
def test_the_person_page_says_whether_an_app_is_set_up(as_verified_admin, practitioner, app):
    page = as_verified_admin.get(reverse("admin_user", args=[practitioner.pk])).content.decode()
    assert "Authenticator app" in page
    assert reverse("admin_user_mfa_reset", args=[practitioner.pk]) in page
