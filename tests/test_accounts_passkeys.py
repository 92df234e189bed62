"""Passkeys (django-otp-webauthn) and recovery codes on the server: who may start a ceremony,
what is refused and audited, the "Sign-in and security" pages, an administrator's reset.

The ceremonies themselves, with a real authenticator's signatures, are proven in the browser:
tests/e2e/test_passkeys.py (Chromium's virtual authenticator).
"""

from __future__ import annotations

import base64
import re
import secrets
import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential
from hypothesis import given
from hypothesis import strategies as st

from decisions.accounts import mfa, passkeys, sessions
from decisions.models import AuditEvent, Role
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.fuzzing import FUZZ, nasty_text, send

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests/factories.py
BEGIN_AUTH = "otp_webauthn:credential-authentication-begin"
COMPLETE_AUTH = "otp_webauthn:credential-authentication-complete"
BEGIN_REGISTER = "otp_webauthn:credential-registration-begin"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def a_passkey(user, name: str = "Passkey 1") -> WebAuthnCredential:
    """A stored passkey (its public key is never used here: these tests stop before a
    signature is checked, or do not need one)."""
    return WebAuthnCredential.objects.create(
        user=user,
        name=name,
        confirmed=True,
        credential_id=secrets.token_bytes(32),
        public_key=secrets.token_bytes(77),
        aaguid="00000000-0000-0000-0000-000000000000",
    )


def an_app(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def assertion_for(passkey: WebAuthnCredential) -> dict:
    """What a browser posts after signing with `passkey` (the signature is not reached)."""
    dummy = b64url(b"\x00" * 37)
    return {
        "id": b64url(bytes(passkey.credential_id)),
        "rawId": b64url(bytes(passkey.credential_id)),
        "type": "public-key",
        "clientExtensionResults": {},
        "response": {"authenticatorData": dummy, "clientDataJSON": dummy, "signature": dummy},
    }


def signed_in_with_password(user, settings) -> Client:
    settings.ISG_MFA_REQUIRED = True
    client = Client()
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def present(client: Client, passkey: WebAuthnCredential):
    assert client.post(reverse(BEGIN_AUTH), HTTP_ACCEPT="application/json").status_code == 200
    return client.post(
        reverse(COMPLETE_AUTH), assertion_for(passkey), content_type="application/json"
    )


# ---- the pages that offer passkeys: strict CSP ----------------------------------------------


SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


def scripts(page: str) -> list[tuple[str, str]]:
    return SCRIPT.findall(page)


def test_the_set_up_page_offers_a_passkey_with_no_inline_script(practitioner, settings):
    client = signed_in_with_password(practitioner, settings)
    response = client.get(reverse("mfa_setup"))
    page = response.content.decode()
    assert "Or use a passkey instead" in page
    assert 'id="passkey-register-button"' in page  # in the <template> the script shows
    assert "Adding a passkey needs JavaScript" in page  # what shows without it
    found = scripts(page)
    assert any("otp_webauthn_register.js" in attributes for attributes, _ in found)
    assert any("js/passkeys.js" in attributes for attributes, _ in found)
    for attributes, body in found:
        # Every script is a file, or data (type="application/json"), never inline code.
        assert 'src="' in attributes or 'type="application/json"' in attributes, attributes
        assert not body.strip() or 'type="application/json"' in attributes
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_the_security_code_page_offers_the_passkey_only_to_someone_with_one(
    practitioner, colleague, settings
):
    an_app(practitioner)
    an_app(colleague)
    a_passkey(colleague)
    without = signed_in_with_password(practitioner, settings).get(reverse("mfa_verify"))
    with_one = signed_in_with_password(colleague, settings).get(reverse("mfa_verify"))
    assert "Use your passkey" not in without.content.decode()
    page = with_one.content.decode()
    assert "Use your passkey" in page and "otp_webauthn_auth.js" in page
    assert 'id="otp_webauthn_config" type="application/json"' in page


# ---- the ceremonies: who may start them -----------------------------------------------------


def test_nobody_signed_out_may_start_a_ceremony(client):
    # Passkeys are a second factor only (OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN is off).
    for name in (BEGIN_AUTH, BEGIN_REGISTER):
        response = client.post(reverse(name), HTTP_ACCEPT="application/json")
        assert response.status_code in {401, 403}, name
        assert "otp_webauthn_authentication_state" not in client.session


def test_adding_a_passkey_needs_the_second_factor_when_there_is_one(practitioner, settings):
    an_app(practitioner)
    client = signed_in_with_password(practitioner, settings)
    response = client.post(reverse(BEGIN_REGISTER), HTTP_ACCEPT="application/json")
    assert response.status_code in {401, 403}
    assert "otp_webauthn_register_state" not in client.session


def test_a_first_passkey_may_be_added_straight_after_the_password(practitioner, settings):
    client = signed_in_with_password(practitioner, settings)
    response = client.post(reverse(BEGIN_REGISTER), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    options = response.json()
    assert options["rp"] == {"id": "localhost", "name": "ISG"}
    assert options["user"]["name"] == practitioner.email


def test_adding_another_passkey_needs_a_recent_password(practitioner, settings):
    app = an_app(practitioner)
    client = signed_in_with_password(practitioner, settings)
    code = f"{totp(app.bin_key, app.step, app.t0, app.digits, app.drift):06d}"
    assert client.post(reverse("mfa_verify"), {"code": code}).status_code == 302
    assert client.post(reverse(BEGIN_REGISTER), HTTP_ACCEPT="application/json").status_code == 200
    session = client.session
    session[sessions.AUTHENTICATED_AT] = time.time() - 3600
    session.save()
    response = client.post(reverse(BEGIN_REGISTER), HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"


def test_anothers_passkey_is_refused_and_audited(practitioner, colleague, settings):
    an_app(practitioner)
    a_passkey(practitioner)
    theirs = a_passkey(colleague)
    client = signed_in_with_password(practitioner, settings)

    response = present(client, theirs)

    assert response.status_code == 403
    assert response.json()["code"] == "credential_user_mismatch"
    [failed] = events("auth.mfa_failed")
    assert failed.actor == practitioner
    assert failed.details == {"method": "passkey", "reason": "credential_user_mismatch"}
    assert not events("auth.mfa_verified")
    # Still only the second-factor pages.
    assert client.get("/decisions/")["Location"].startswith(reverse("mfa_verify"))


def test_a_removed_passkey_is_refused(practitioner, settings):
    an_app(practitioner)
    a_passkey(practitioner, "Kept")
    removed = a_passkey(practitioner, "Removed")
    client = signed_in_with_password(practitioner, settings)
    removed_copy = WebAuthnCredential(credential_id=bytes(removed.credential_id))
    passkeys.passkey_remove(user=practitioner, passkey=removed)

    response = present(client, removed_copy)

    assert response.status_code == 404
    [failed] = events("auth.mfa_failed")
    assert failed.details == {"method": "passkey", "reason": "credential_not_found"}


def test_five_refused_passkeys_sign_the_person_out(practitioner, colleague, settings):
    an_app(practitioner)
    theirs = a_passkey(colleague)
    client = signed_in_with_password(practitioner, settings)
    for _ in range(4):
        assert present(client, theirs).status_code == 403
    last = present(client, theirs)
    assert (last.status_code, last.json()["code"]) == (401, "signed_out")
    assert "_auth_user_id" not in client.session
    assert len(events("auth.mfa_failed")) == 5


# ---- Sign-in and security: the person's own passkeys ----------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_only_their_own_passkeys(role, org, outsider):
    person = UserFactory(organisation=org, role=role)
    an_app(person)
    a_passkey(person, "My laptop")
    a_passkey(outsider, "Not mine")
    page = client_for(person).get(reverse("account_security")).content.decode()
    assert "My laptop" in page and "Not mine" not in page
    assert "You have 0 unused recovery codes" in page


def test_the_security_page_needs_sign_in(client):
    response = client.get(reverse("account_security"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["passkey_rename", "passkey_remove"])
def test_someone_elses_passkey_is_not_found(name, practitioner, colleague, outsider):
    for owner in (colleague, outsider):  # the same organisation, or another
        theirs = a_passkey(owner)
        client = client_for(practitioner)
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
        assert client.post(reverse(name, args=[theirs.pk]), {"name": "x"}).status_code == 404
        assert WebAuthnCredential.objects.filter(pk=theirs.pk, name="Passkey 1").exists()
    assert not events("user.passkey_renamed") and not events("user.passkey_removed")


def test_renaming_a_passkey_is_audited_without_its_name(practitioner):
    passkey = a_passkey(practitioner)
    client = client_for(practitioner)
    response = client.post(
        reverse("passkey_rename", args=[passkey.pk]), {"name": "  Work   laptop "}
    )
    assert response["Location"] == reverse("account_security")
    passkey.refresh_from_db()
    assert passkey.name == "Work laptop"
    [event] = events("user.passkey_renamed")
    assert event.details == {"passkey": passkey.pk}


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "tab\x0bbed"])
def test_a_bad_name_gets_the_error_summary(name, practitioner):
    passkey = a_passkey(practitioner)
    response = client_for(practitioner).post(
        reverse("passkey_rename", args=[passkey.pk]), {"name": name}
    )
    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()
    passkey.refresh_from_db()
    assert passkey.name == "Passkey 1"


def test_the_only_second_factor_cannot_be_removed(practitioner):
    only = a_passkey(practitioner)
    client = client_for(practitioner)
    page = client.get(reverse("passkey_remove", args=[only.pk])).content.decode()
    assert "You cannot remove your only passkey" in page
    assert client.post(reverse("passkey_remove", args=[only.pk])).status_code == 400
    assert WebAuthnCredential.objects.filter(pk=only.pk).exists()


def test_removing_a_passkey_is_audited(practitioner):
    an_app(practitioner)
    passkey = a_passkey(practitioner)
    response = client_for(practitioner).post(reverse("passkey_remove", args=[passkey.pk]))
    assert response["Location"] == reverse("account_security")
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    [event] = events("user.passkey_removed")
    assert (event.actor, event.details) == (
        practitioner,
        {"passkey": passkey.pk, "passkeys_left": 0},
    )


def test_the_security_pages_ask_for_the_password_again_when_it_is_old(practitioner):
    passkey = a_passkey(practitioner)
    client = client_for(practitioner)
    session = client.session
    session[sessions.AUTHENTICATED_AT] = time.time() - 3600
    session.save()
    for url in (
        reverse("account_security"),
        reverse("passkey_rename", args=[passkey.pk]),
        reverse("passkey_remove", args=[passkey.pk]),
        reverse("recovery_codes_new"),
    ):
        assert client.get(url)["Location"].startswith(reverse("confirm_password")), url


# ---- recovery codes -------------------------------------------------------------------------


def test_new_recovery_codes_replace_the_old_ones_are_shown_once_and_audited(practitioner):
    an_app(practitioner)
    old = mfa.new_recovery_codes(practitioner)
    StaticToken.objects.filter(token=old[0]).delete()  # one used
    client = client_for(practitioner)

    security = client.get(reverse("account_security")).content.decode()
    assert "You have 9 unused recovery codes" in security
    confirm = client.get(reverse("recovery_codes_new")).content.decode()
    assert "You have 9 unused recovery codes" in confirm
    response = client.post(reverse("recovery_codes_new"))

    page = response.content.decode()
    new = list(
        StaticToken.objects.filter(device__user=practitioner).values_list("token", flat=True)
    )
    assert len(new) == 10 and not set(new) & set(old)
    assert all(code in page for code in new)
    assert "no-store" in response["Cache-Control"]
    [event] = events("user.recovery_codes_replaced")
    assert event.details == {"count": 10, "unused_codes_replaced": 9}
    assert (
        "You have 10 unused recovery codes"
        in client.get(reverse("account_security")).content.decode()
    )
    assert not any(code in client.get(reverse("account_security")).content.decode() for code in new)


def test_an_old_recovery_code_stops_working(practitioner, settings):
    an_app(practitioner)
    old = mfa.new_recovery_codes(practitioner)
    client_for(practitioner).post(reverse("recovery_codes_new"))
    client = signed_in_with_password(practitioner, settings)
    response = client.post(reverse("mfa_verify"), {"code": old[0]})
    assert response.status_code == 400
    assert "The code is not right" in response.content.decode()


def test_recovery_codes_need_a_second_factor_first(practitioner):
    response = client_for(practitioner).post(reverse("recovery_codes_new"))
    assert response["Location"] == reverse("account_security")
    assert not StaticToken.objects.exists() and not events("user.recovery_codes_replaced")


def test_the_codes_after_a_first_passkey_are_shown_once(practitioner):
    client = client_for(practitioner)
    session = client.session
    session["isg_new_recovery_codes"] = ["abcd1234", "efgh5678"]
    session.save()
    url = reverse("mfa_passkey_added") + "?next=/decisions/"
    first = client.get(url)
    assert first.status_code == 200 and "abcd1234" in first.content.decode()
    assert "Passkey added" in first.content.decode()
    again = client.get(url)
    assert again.status_code == 302 and again["Location"] == "/decisions/"


# ---- an administrator's reset ---------------------------------------------------------------


def test_an_administrators_reset_removes_passkeys_too(admin_user, practitioner):
    an_app(practitioner)
    a_passkey(practitioner)
    a_passkey(practitioner, "Second")
    mfa.new_recovery_codes(practitioner)
    device = an_app(admin_user)
    client = client_for(admin_user)
    step = device.step
    code = f"{totp(device.bin_key, step, device.t0, device.digits, device.drift):06d}"
    client.post(reverse("mfa_verify"), {"code": code})

    page = client.get(reverse("admin_user", args=[practitioner.pk])).content.decode()
    assert "Set up: an authenticator app and 2 passkeys" in page

    response = client.post(reverse("admin_user_mfa_reset", args=[practitioner.pk]))

    assert response.status_code == 302
    assert not WebAuthnCredential.objects.filter(user=practitioner).exists()
    assert not mfa.is_enrolled(practitioner)
    [event] = events("user.mfa_reset")
    assert event.details["passkeys_removed"] == 2


# ---- generated input ------------------------------------------------------------------------


def test_the_passkey_forms_and_ceremonies_survive_generated_input(practitioner, colleague):
    an_app(practitioner)
    passkey = a_passkey(practitioner)
    a_passkey(practitioner, "Second")
    theirs = a_passkey(colleague)
    rename = reverse("passkey_rename", args=[passkey.pk])

    @FUZZ
    @given(name=nasty_text, other=st.dictionaries(st.text(max_size=20), nasty_text, max_size=4))
    def post(name: str, other: dict) -> None:
        # Signed in afresh: five refused ceremonies sign a session out (tested above).
        client = client_for(practitioner)
        before = AuditEvent.objects.count()
        status = send(client, "post", rename, {"name": name, **other})
        assert status in {302, 400}
        passkey.refresh_from_db()
        assert (AuditEvent.objects.count() - before) == (1 if status == 302 else 0)
        for url in (
            reverse(COMPLETE_AUTH),
            reverse("otp_webauthn:credential-registration-complete"),
        ):
            assert send(client, "post", url, other) < 500
        assert send(client, "post", reverse("passkey_remove", args=[theirs.pk]), other) == 404

    post()
    assert WebAuthnCredential.objects.filter(pk=theirs.pk).exists()
