"""Which ISG account a provider's person is: their (issuer, subject), bound at the first
single sign-on; each binding and each removal an audit event.

An email address identifies nobody for long: a provider can give a leaver's address to a
newcomer. OpenID Connect's stable identifier is the pair (`iss`, `sub`) (OIDC Core 5.7), so
after the first sign-in the account is found by it, and an address that now belongs to a
different subject is refused rather than let into the account.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from decisions.accounts.notices import Change, security_notice
from decisions.audit import AuditAction, record_event
from decisions.models import IdentityProvider, SsoIdentity, User


class BoundToAnother(Exception):
    """The account is already bound to a different subject at this issuer."""


def bound_account(provider: IdentityProvider, subject: str) -> User | None:
    identity = (
        SsoIdentity.objects.filter(issuer=provider.issuer, subject=subject)
        .select_related("user__organisation")
        .first()
    )
    return identity.user if identity else None


def identity_bind(*, provider: IdentityProvider, user: User, subject: str) -> None:
    """Bind the account found by its email address to this subject, unless it is bound to
    another one already (BoundToAnother). Safe against two first sign-ins at once: the unique
    constraints decide, and the loser is checked again."""
    try:
        with transaction.atomic():
            if SsoIdentity.objects.filter(user=user, issuer=provider.issuer).exists():
                raise BoundToAnother()
            identity = SsoIdentity.objects.create(
                user=user, issuer=provider.issuer, subject=subject
            )
            record_event(
                AuditAction.SSO_IDENTITY_BOUND,
                actor=user,
                obj=user,
                details={
                    "email": user.email,
                    "provider": str(provider.public_id),
                    "issuer": identity.issuer,
                    "subject": subject,
                },
            )
    except IntegrityError as exc:
        if bound_account(provider, subject) != user:
            raise BoundToAnother() from exc


def identity_remove(*, actor: User, identity: SsoIdentity) -> None:
    """An administrator unbinds an account: its next single sign-on binds it again, to the
    subject that then comes with its email address."""
    with transaction.atomic():
        user = identity.user
        details = {"email": user.email, "issuer": identity.issuer, "subject": identity.subject}
        identity.delete()
        record_event(AuditAction.SSO_IDENTITY_REMOVED, actor=actor, obj=user, details=details)
        security_notice(user=user, change=Change.SSO_UNLINKED)
