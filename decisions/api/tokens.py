"""Organisation API tokens: created (shown once) and revoked by administrators, looked up by
their SHA-256 on every call.

A token is 256 random bits, so a fast hash is enough: nobody can guess one to test against a
stolen hash, and a slow password hash (PBKDF2's 0.2 s) would be paid on every API call.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from decisions.audit import AuditAction, record_event
from decisions.models import ApiScope, ApiToken, Organisation, User

TOKEN_PREFIX = "isg_"  # noqa: S105 - a label, not a secret
PREFIX_SHOWN = len(TOKEN_PREFIX) + 8
MAX_NAME = 80


class TokenRefused(Exception):
    """A token change the rules do not allow; the message is for the administrator."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def token_create(
    *, actor: User, organisation: Organisation, name: str, scopes: list[str]
) -> NewToken:
    name = name.strip()
    if not name:
        raise TokenRefused("Enter a name for the token")
    if not scopes or set(scopes) - set(ApiScope.values):
        raise TokenRefused("Select what the token may do")
    if not organisation.is_active:
        raise TokenRefused(f"{organisation.name} is deactivated: reactivate it first")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            organisation=organisation,
            name=name[:MAX_NAME],
            prefix=secret[:PREFIX_SHOWN],
            token_hash=digest(secret),
            scopes=sorted(scopes),
            created_by=actor,
        )
        record_event(
            AuditAction.API_TOKEN_CREATED,
            actor=actor,
            obj=token,
            details={
                "token": token.name,
                "prefix": token.prefix,
                "scopes": token.scopes,
                "organisation": organisation.pk,
            },
        )
    return NewToken(token=token, secret=secret)


def token_revoke(*, actor: User, token: ApiToken) -> None:
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            raise TokenRefused("This token has already been revoked")
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        record_event(
            AuditAction.API_TOKEN_REVOKED,
            actor=actor,
            obj=locked,
            details={"token": locked.name, "prefix": locked.prefix},
        )
    token.revoked_at, token.revoked_by = locked.revoked_at, actor


def token_for(secret: str) -> ApiToken | None:
    """The active token of an active organisation with this secret, else None; marks it used."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.select_related("organisation")
        .filter(token_hash=digest(secret), revoked_at__isnull=True, organisation__is_active=True)
        .first()
    )
    if token is not None:
        token.last_used_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=token.last_used_at)
    return token


def record_api_event(
    action: AuditAction, *, token: ApiToken, obj: object = None, details: dict | None = None
) -> None:
    """An API call's audit event: no signed-in person, the token's name and organisation.

    Call inside the transaction of what the call does."""
    record_event(
        action,
        actor=None,
        actor_email=f"API token: {token.name}",
        organisation=token.organisation,
        obj=obj,
        details={"token": token.name, "token_id": token.pk, **(details or {})},
    )
