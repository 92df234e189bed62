"""Passkeys in a real browser: Chromium's virtual authenticator (the DevTools protocol's
WebAuthn domain: CTAP2, resident keys, user verification) stands in for a phone or a
security key; everything else is real: django-otp-webauthn's JavaScript (a static file,
under the app's strict CSP), its ceremonies, the signatures and their checks.

- a person sets up a passkey at their first sign-in (instead of an authenticator app), gets
  recovery codes, signs out, and signs in again with their password and the passkey;
- the same passkey, presented for another person's sign-in (a real signature from the real
  authenticator), is refused, and that person is still asked for a second factor;
- without JavaScript, the set-up page says so and offers the authenticator app.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import Page

from decisions.models import AuditEvent
from tests.e2e.browser import goto, navigate, screenshot
from tests.e2e.journeys import sign_in

pytestmark = pytest.mark.e2e

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def add_authenticator(page: Page, credentials: list[dict[str, Any]] = ()) -> tuple[Any, str]:
    """A virtual authenticator for this page, holding `credentials` (exported earlier)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    authenticator_id = authenticator["authenticatorId"]
    for credential in credentials:
        cdp.send(
            "WebAuthn.addCredential",
            {"authenticatorId": authenticator_id, "credential": credential},
        )
    return cdp, authenticator_id


def sign_out(page: Page) -> None:
    navigate(page, page.get_by_role("button", name="Sign out").first.click)


def passkey_first_sign_in_then_sign_in_with_it(page: Page, email: str) -> dict[str, Any]:
    cdp, authenticator_id = add_authenticator(page)
    seen: dict[str, Any] = {}

    sign_in(page, email)
    seen["setup_heading"] = page.get_by_role("heading", level=1).inner_text()
    screenshot(page, "passkey-set-up")
    # The library's script put the button in place (JavaScript on); it adds the passkey and
    # js/passkeys.js goes on to the recovery codes.
    navigate(page, page.get_by_role("button", name="Add a passkey").click)
    seen["added_heading"] = page.locator(".govuk-panel__title").inner_text()
    seen["codes"] = page.locator(".isg-recovery-codes li").count()
    navigate(page, page.get_by_role("button", name="I have saved my codes: continue").click)
    seen["after_setup"] = page.url
    seen["credentials"] = cdp.send(
        "WebAuthn.getCredentials", {"authenticatorId": authenticator_id}
    )["credentials"]
    sign_out(page)

    sign_in(page, email)
    seen["verify_heading"] = page.get_by_role("heading", level=1).inner_text()
    navigate(page, page.get_by_role("button", name="Use your passkey").click)
    seen["after_passkey"] = page.url
    seen["home_heading"] = page.get_by_role("heading", level=1).first.inner_text()
    goto(page, "/accounts/security/")
    seen["security_page"] = page.locator("main").inner_text()
    screenshot(page, "passkey-sign-in-and-security")
    # Name it, then replace the recovery codes (each page checked as every page is).
    navigate(page, page.get_by_role("link", name="Rename Passkey 1").click)
    page.get_by_label("Name your passkey").fill("Work laptop")
    navigate(page, page.get_by_role("button", name="Save").click)
    seen["renamed"] = page.locator("table").inner_text()
    navigate(page, page.get_by_role("link", name="Create new recovery codes").click)
    navigate(page, page.get_by_role("button", name="Create new recovery codes").click)
    seen["new_codes"] = page.locator(".isg-recovery-codes li").count()
    return seen


def set_up_page_without_javascript(page: Page, email: str) -> dict[str, Any]:
    sign_in(page, email)
    return {
        "heading": page.get_by_role("heading", level=1).inner_text(),
        "main": page.locator("main").inner_text(),
        "passkey_button": page.get_by_role("button", name="Add a passkey").count(),
    }


GET_ASSERTION = """async ({credentialId}) => {
  const b64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const bytes = (text) => Uint8Array.from(
    atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const begin = await fetch("/accounts/passkeys/authentication/begin/", {
    method: "POST", credentials: "same-origin",
    headers: {"X-CSRFToken": csrf, "Accept": "application/json"},
  });
  const options = await begin.json();
  const credential = await navigator.credentials.get({publicKey: {
    challenge: bytes(options.challenge), rpId: options.rpId, userVerification: "preferred",
    allowCredentials: [{type: "public-key", id: bytes(credentialId)}],
  }});
  const r = credential.response;
  return {csrf, begin: begin.status, assertion: {
    id: credential.id, rawId: b64(credential.rawId), type: credential.type,
    clientExtensionResults: {},
    response: {authenticatorData: b64(r.authenticatorData),
               clientDataJSON: b64(r.clientDataJSON), signature: b64(r.signature),
               userHandle: r.userHandle ? b64(r.userHandle) : undefined},
  }};
}"""


def anothers_passkey_is_refused(
    page: Page, email: str, credentials: list[dict[str, Any]]
) -> dict[str, Any]:
    """Signed in with this person's password, present someone else's passkey (a genuine
    assertion from the authenticator that holds it) as the second factor."""
    add_authenticator(page, credentials)
    sign_in(page, email)
    seen: dict[str, Any] = {"verify_heading": page.get_by_role("heading", level=1).inner_text()}
    credential_id = (
        base64.urlsafe_b64encode(base64.b64decode(credentials[0]["credentialId"]))
        .decode()
        .rstrip("=")
    )
    got = page.evaluate(GET_ASSERTION, {"credentialId": credential_id})
    seen["begin"] = got["begin"]
    # Posted outside the page, as an attacker's script would (and so the expected refusal is
    # not counted as a failed request of the page).
    response = page.request.post(
        "/accounts/passkeys/authentication/complete/",
        data=got["assertion"],
        headers={"X-CSRFToken": got["csrf"], "Content-Type": "application/json"},
    )
    seen["complete"] = response.status
    seen["detail"] = response.json()
    goto(page, "/")
    seen["after"] = page.url
    seen["after_heading"] = page.get_by_role("heading", level=1).inner_text()
    return seen


def test_a_passkey_set_up_at_first_sign_in_signs_in_and_is_refused_for_another(
    browser, practitioner, colleague, settings, live_server
):
    settings.ISG_MFA_REQUIRED = True
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")  # the RP ID is "localhost"

    seen = browser.run(passkey_first_sign_in_then_sign_in_with_it, practitioner.email)

    assert seen["setup_heading"] == "Set up an authenticator app"
    assert seen["added_heading"] == "Passkey added"
    assert seen["codes"] == 10
    assert seen["verify_heading"] == "Enter your security code"
    assert seen["after_passkey"] == live_server.url + "/decisions/"  # a practitioner's home
    assert "Passkey 1" in seen["security_page"]
    assert "You have 10 unused recovery codes" in seen["security_page"]
    assert "Work laptop" in seen["renamed"]
    assert seen["new_codes"] == 10
    [passkey] = WebAuthnCredential.objects.filter(user=practitioner)
    assert passkey.confirmed and passkey.sign_count >= 1 and passkey.last_used_at
    assert not TOTPDevice.objects.filter(user=practitioner).exists()  # the app never confirmed
    actions = list(
        AuditEvent.objects.filter(actor=practitioner)
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert "user.passkey_added" in actions
    assert "user.passkey_renamed" in actions and "user.recovery_codes_replaced" in actions
    assert "user.recovery_codes_created" in actions
    used = AuditEvent.objects.get(actor=practitioner, action="auth.mfa_verified")
    assert used.details == {"method": "passkey", "passkey": passkey.pk}

    # The colleague has an authenticator app; the practitioner's passkey is not theirs.
    TOTPDevice.objects.create(user=colleague, name="Authenticator app", confirmed=True)
    refused = browser.run(anothers_passkey_is_refused, colleague.email, seen["credentials"])

    assert refused["verify_heading"] == "Enter your security code"
    assert refused["begin"] == 200
    assert refused["complete"] == 403
    assert refused["detail"]["code"] == "credential_user_mismatch"
    assert refused["after"].startswith(live_server.url + "/accounts/security-code/")
    assert refused["after_heading"] == "Enter your security code"
    failed = AuditEvent.objects.get(actor=colleague, action="auth.mfa_failed")
    assert failed.details == {"method": "passkey", "reason": "credential_user_mismatch"}
    assert not AuditEvent.objects.filter(actor=colleague, action="auth.mfa_verified").exists()


def test_without_javascript_the_set_up_page_offers_the_app(browser, practitioner, settings):
    settings.ISG_MFA_REQUIRED = True
    seen = browser.run(set_up_page_without_javascript, practitioner.email, javascript=False)
    assert seen["heading"] == "Set up an authenticator app"
    assert "Adding a passkey needs JavaScript" in seen["main"]
    assert seen["passkey_button"] == 0
