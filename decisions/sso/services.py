"""Every write about single sign-on: one transaction with its audit event.

A provider created, changed, switched on or off (by an administrator); a role set from a
group claim at sign-in; and the events of signing in, being refused and signing out. No
event holds a token or a claim beyond the `amr`/`acr` values and the email address of an
account that exists.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from decisions.audit import AuditAction, record_event, throttled
from decisions.audit.receivers import recorded_by_caller
from decisions.models import IdentityProvider, Organisation, Role, User

# What an administrator sets; every one of them is safe to show in the audit log (the secret
# itself is never here, only the name of its environment variable).
FIELDS = (
    "name",
    "issuer",
    "client_id",
    "client_secret_env",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "scopes",
    "email_domains",
    "group_claim",
    "role_mapping",
)


class ProviderChangeRefused(Exception):
    """A provider change the rules do not allow; the message is for the administrator."""


def _check_domains(provider: IdentityProvider) -> None:
    """No email domain is served by two organisations: the domain decides where people go."""
    others = IdentityProvider.objects.exclude(pk=provider.pk).select_related("organisation")
    for other in others:
        shared = sorted(set(other.domains) & set(provider.domains))
        if shared:
            raise ProviderChangeRefused(
                f"{', '.join(shared)} is already served by {other.organisation.name}'s provider"
            )


def provider_save(
    *, actor: User, organisation: Organisation, values: dict[str, Any]
) -> IdentityProvider:
    """Set up an organisation's provider, or change it; returns it."""
    with transaction.atomic():
        provider = (
            IdentityProvider.objects.select_for_update().filter(organisation=organisation).first()
        )
        creating = provider is None
        if provider is None:
            provider = IdentityProvider(organisation=organisation)
        changes = {
            name: [getattr(provider, name), values[name]]
            for name in FIELDS
            if name in values and getattr(provider, name) != values[name]
        }
        for name, value in values.items():
            setattr(provider, name, value)
        _check_domains(provider)
        if not creating and not changes:
            return provider
        provider.save()
        record_event(
            AuditAction.SSO_PROVIDER_CREATED if creating else AuditAction.SSO_PROVIDER_CHANGED,
            actor=actor,
            obj=organisation,
            details={
                "provider": str(provider.public_id),
                **(
                    {"settings": {n: getattr(provider, n) for n in FIELDS}}
                    if creating
                    else {"changes": changes}
                ),
            },
        )
    return provider


def provider_set_enabled(*, actor: User, provider: IdentityProvider, enabled: bool) -> None:
    if provider.is_enabled == enabled:
        return
    with transaction.atomic():
        provider.is_enabled = enabled
        if enabled:
            _check_domains(provider)
        provider.save(update_fields=["is_enabled", "updated_at"])
        record_event(
            AuditAction.SSO_PROVIDER_ENABLED if enabled else AuditAction.SSO_PROVIDER_DISABLED,
            actor=actor,
            obj=provider.organisation,
            details={"provider": str(provider.public_id)},
        )


def sso_role_apply(*, provider: IdentityProvider, user: User, role: str) -> None:
    """The role the organisation's groups give; an administrator's role is left as it is
    (only ISG's administration gives or takes it)."""
    if user.role == role or user.role == Role.ADMIN:
        return
    with transaction.atomic():
        before = user.role
        user.role = role
        recorded_by_caller(user).save(update_fields=["role"])
        record_event(
            AuditAction.SSO_ROLE_MAPPED,
            actor=None,
            actor_email="single sign-on",
            organisation=provider.organisation,
            obj=user,
            details={
                "email": user.email,
                "changes": {"role": [before, role]},
                "group_claim": provider.group_claim,
            },
        )


def sso_signed_in(*, user: User, provider: IdentityProvider, amr: Any, acr: Any) -> None:
    record_event(
        AuditAction.SSO_SIGNED_IN,
        actor=user,
        details={"provider": str(provider.public_id), "amr": amr, "acr": acr},
    )


def sso_reauthenticated(*, user: User, provider: IdentityProvider, amr: Any, acr: Any) -> None:
    record_event(
        AuditAction.SSO_REAUTHENTICATED,
        actor=user,
        details={"provider": str(provider.public_id), "amr": amr, "acr": acr},
    )


def sso_refused(
    *,
    reason: str,
    detail: str,
    provider: IdentityProvider | None,
    account: User | None = None,
    verified: bool,
) -> None:
    """A refused SSO sign-in. After the provider vouched for someone (`verified`), each is an
    event; before it (a stale or forged callback, costing its sender nothing) the events are
    throttled per client address, like a failed password."""
    organisation = provider.organisation if provider else None

    def write(extra: dict[str, int]) -> Any:
        return record_event(
            AuditAction.SSO_REFUSED,
            actor=None,
            actor_email=account.email if account else "unknown",
            organisation=account.organisation if account else organisation,
            details={
                "reason": reason,
                "detail": detail,
                "provider": str(provider.public_id) if provider else None,
                "known_account": account is not None,
                **extra,
            },
        )

    if verified:
        write({})
    else:
        throttled(f"{AuditAction.SSO_REFUSED.value}:{reason}", write)


def sso_signed_out(
    *, user: User, provider: IdentityProvider | None, end_session_offered: bool
) -> None:
    record_event(
        AuditAction.SSO_SIGNED_OUT,
        actor=user,
        details={
            "provider": str(provider.public_id) if provider else None,
            "end_session_offered": end_session_offered,
        },
    )
