"""A second factor with django-otp: an authenticator app (TOTP), passkeys (decisions.accounts.
passkeys, django-otp-webauthn) and one-use recovery codes.

Set up at the first sign-in (enrol), asked for at every sign-in (verify); an administrator
can reset it (the person sets it up again at their next sign-in). Each of these is an audit
event in the same transaction as the change. ISG_MFA_REQUIRED switches it on (the default).
"""

from __future__ import annotations

import base64
import io
from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from decisions.accounts.notices import Change, security_notice
from decisions.audit import AuditAction, record_event
from decisions.models import User

APP_DEVICE = "Authenticator app"
RECOVERY_DEVICE = "Recovery codes"


def required() -> bool:
    return bool(settings.ISG_MFA_REQUIRED)


def is_enrolled(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def has_app(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def has_passkey(user: User) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def passkey_count(user: User) -> int:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).count()


def pending_device(user: User) -> TOTPDevice:
    """The app being set up (unconfirmed); the same one until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=APP_DEVICE, confirmed=False)


def secret_text(device: TOTPDevice) -> str:
    """The key to type into an app, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The key as a QR code: an SVG drawn here, shown as an <img> (no inline script or style)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def new_recovery_codes(user: User) -> list[str]:
    """A new set of one-use recovery codes; any earlier ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE)
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.ISG_MFA_RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def _clean(token: str) -> str:
    return "".join(token.split()).lower()


def mfa_enrol(*, request: HttpRequest, user: User, device: TOTPDevice, token: str) -> list[str]:
    """Confirm the app with a code from it; returns new recovery codes ([] if the code is wrong).

    The session counts as verified at once: the person has just proved both factors.
    """
    if not device.verify_token(_clean(token)):
        return []
    with transaction.atomic():
        device.confirmed = True
        device.save()
        codes = new_recovery_codes(user)
        record_event(AuditAction.MFA_ENROLLED, actor=user, obj=user)
        record_event(
            AuditAction.RECOVERY_CODES_CREATED, actor=user, obj=user, details={"count": len(codes)}
        )
        security_notice(user=user, change=Change.APP_ADDED)
    otp_login(request, device)
    return codes


def app_add(*, user: User, device: TOTPDevice, token: str) -> bool:
    """An authenticator app for someone whose second factor so far is a passkey (from "Sign-in
    and security", after a recent password). Their recovery codes stay as they are. False if
    the code is wrong."""
    if not device.verify_token(_clean(token)):
        return False
    with transaction.atomic():
        device.confirmed = True
        device.save()
        record_event(
            AuditAction.MFA_ENROLLED, actor=user, obj=user, details={"added_to": "passkeys"}
        )
        security_notice(user=user, change=Change.APP_ADDED)
    return True


def mfa_verify(*, request: HttpRequest, user: User, token: str) -> bool:
    """A code from the app, or a recovery code (each works once). Either way, an event."""
    device = match_token(user, _clean(token))
    if device is None:
        record_event(AuditAction.MFA_FAILED, actor=user, obj=user)
        return False
    kind = "recovery_code" if isinstance(device, StaticDevice) else "app"
    left = device.token_set.count() if isinstance(device, StaticDevice) else None
    record_event(
        AuditAction.MFA_VERIFIED,
        actor=user,
        obj=user,
        details={"method": kind, **({"recovery_codes_left": left} if left is not None else {})},
    )
    otp_login(request, device)
    return True


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def recovery_codes_replace(*, user: User) -> list[str]:
    """The person asked for new recovery codes: the old ones stop working, the new ones are
    returned to be shown once. One event, with how many unused codes were replaced."""
    with transaction.atomic():
        left = recovery_codes_left(user)
        codes = new_recovery_codes(user)
        record_event(
            AuditAction.RECOVERY_CODES_REPLACED,
            actor=user,
            obj=user,
            details={"count": len(codes), "unused_codes_replaced": left},
        )
        security_notice(user=user, change=Change.RECOVERY_CODES_REPLACED)
    return codes


def mfa_reset(*, actor: User, user: User) -> int:
    """Remove a person's app, passkeys and recovery codes: they set up a second factor again
    at their next sign-in."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        removed += StaticDevice.objects.filter(user=user).delete()[0]
        passkeys = WebAuthnCredential.objects.filter(user=user).delete()[1]
        removed += passkeys.get(WebAuthnCredential._meta.label, 0)
        record_event(
            AuditAction.MFA_RESET,
            actor=actor,
            obj=user,
            details={
                "email": user.email,
                "passkeys_removed": passkeys.get(WebAuthnCredential._meta.label, 0),
            },
        )
        security_notice(user=user, change=Change.MFA_RESET)
    return removed
