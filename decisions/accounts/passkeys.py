"""Passkeys (WebAuthn) as a second factor, through django-otp-webauthn.

A passkey is a django-otp device (`WebAuthnCredential`), so `is_verified()`, the
second-factor gate (MFARequiredMiddleware) and an administrator's reset treat it like the
authenticator app. It is never a first factor: the password always comes first
(OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN is off). The ceremonies are the library's JSON views,
wrapped in decisions.accounts.passkey_views so that each enrolment, use and refusal is an
audit event; renaming and removing are here. Events name a passkey by its id, never by the
name its owner gave it.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential

from decisions.accounts import mfa
from decisions.accounts.notices import Change, security_notice
from decisions.audit import AuditAction, record_event
from decisions.models import User

NAME_MAX_LENGTH = 64  # django-otp's Device.name


class PasskeyHelper(WebAuthnHelper):
    """The library's helper; a new passkey gets a name its owner can change ("Passkey 2")."""

    def create_credential(self, user, response, parsed_credential, original_data):  # type: ignore[no-untyped-def]
        device = super().create_credential(user, response, parsed_credential, original_data)
        device.name = f"Passkey {WebAuthnCredential.objects.filter(user=user).count() + 1}"
        return device


def passkeys_of(user: User) -> QuerySet[WebAuthnCredential]:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at", "pk")


def can_remove(user: User, passkey: WebAuthnCredential) -> bool:
    """Only while another second factor is left (another passkey or the app): removing the
    last would let anyone with the password set up a new one at the next sign-in."""
    others = passkeys_of(user).exclude(pk=passkey.pk).exists()
    return others or TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def passkey_added(*, user: User, passkey: WebAuthnCredential, first: bool) -> list[str]:
    """Record a new passkey (call inside its transaction). The first second factor of an
    account also gets recovery codes, returned to be shown once."""
    record_event(
        AuditAction.PASSKEY_ADDED,
        actor=user,
        obj=user,
        details={"passkey": passkey.pk, "first_second_factor": first},
    )
    security_notice(user=user, change=Change.PASSKEY_ADDED)
    if not first:
        return []
    # An app being set up but never confirmed (its key was shown) is dropped.
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    codes = mfa.new_recovery_codes(user)
    record_event(
        AuditAction.RECOVERY_CODES_CREATED, actor=user, obj=user, details={"count": len(codes)}
    )
    return codes


def passkey_rename(*, user: User, passkey: WebAuthnCredential, name: str) -> None:
    with transaction.atomic():
        passkey.name = name
        passkey.save(update_fields=["name"])
        record_event(
            AuditAction.PASSKEY_RENAMED, actor=user, obj=user, details={"passkey": passkey.pk}
        )


def passkey_remove(*, user: User, passkey: WebAuthnCredential) -> None:
    """The owner removes one of their passkeys (see can_remove)."""
    with transaction.atomic():
        passkey_id = passkey.pk
        passkey.delete()
        record_event(
            AuditAction.PASSKEY_REMOVED,
            actor=user,
            obj=user,
            details={"passkey": passkey_id, "passkeys_left": passkeys_of(user).count()},
        )
        security_notice(user=user, change=Change.PASSKEY_REMOVED)


def passkey_used(*, user: User, passkey: WebAuthnCredential) -> None:
    record_event(
        AuditAction.MFA_VERIFIED,
        actor=user,
        obj=user,
        details={"method": "passkey", "passkey": passkey.pk},
    )


def passkey_refused(*, user: User, reason: str) -> None:
    """A passkey that is not this person's, removed, or whose signature did not verify."""
    record_event(
        AuditAction.MFA_FAILED,
        actor=user,
        obj=user,
        details={"method": "passkey", "reason": reason},
    )
