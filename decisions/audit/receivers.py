"""Audit events for sign-in and sign-out, and for administrative changes to users and organisations.

Services write their own events; these receivers cover what happens outside them: Django's
authentication signals, and changes to accounts or organisations made from a shell or a
management command (there is no admin UI). Each user or organisation change is logged in
post_save, after the row is written, with the fields that changed.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from decisions.audit.actions import AuditAction
from decisions.audit.record import record_event
from decisions.models import Organisation, User

# The fields whose change is an administrative change worth an event.
USER_FIELDS = (
    "role",
    "organisation_id",
    "is_active",
    "partnership_wide",
    "is_staff",
    "is_superuser",
)
ORGANISATION_FIELDS = ("name", "kind", "is_active")


@receiver(user_logged_in)
def signed_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    record_event(AuditAction.SIGNED_IN, actor=user)


@receiver(user_logged_out)
def signed_out(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        record_event(AuditAction.SIGNED_OUT, actor=user)


@receiver(user_login_failed)
def sign_in_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    """The attempted address is kept only if it is an account's (no stranger's data is stored)."""
    attempted = str(credentials.get("username") or credentials.get("email") or "").lower()
    account = User.objects.filter(email=attempted).select_related("organisation").first()
    record_event(
        AuditAction.SIGN_IN_FAILED,
        actor=None,
        actor_email=account.email if account else "unknown",
        organisation=account.organisation if account else None,
        details={"known_account": account is not None},
    )


def _changes(instance: Any, fields: tuple[str, ...]) -> dict[str, list[Any]]:
    before = getattr(instance, "_audit_before", None)
    if not before:
        return {}
    after = {f: getattr(instance, f) for f in fields}
    return {f: [before[f], after[f]] for f in fields if before[f] != after[f]}


def _remember(instance: Any, model: type, fields: tuple[str, ...], update_fields: Any) -> None:
    instance._audit_before = None
    if instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not {f.removesuffix("_id") for f in fields} & {
        f.removesuffix("_id") for f in update_fields
    }:
        return  # e.g. the last_login update on every sign-in
    instance._audit_before = model.objects.filter(pk=instance.pk).values(*fields).first()


@receiver(pre_save, sender=User)
def remember_user(sender: type, instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    _remember(instance, User, USER_FIELDS, update_fields)


@receiver(post_save, sender=User)
def user_changed(sender: type, instance: User, created: bool, **kwargs: Any) -> None:
    changes = _changes(instance, USER_FIELDS)
    if changes and not kwargs.get("raw"):
        record_event(
            AuditAction.USER_CHANGED,
            actor=None,
            actor_email="system",
            obj=instance,
            details={"email": instance.email, "changes": changes},
        )


@receiver(pre_save, sender=Organisation)
def remember_organisation(
    sender: type, instance: Organisation, update_fields: Any = None, **kwargs: Any
) -> None:
    _remember(instance, Organisation, ORGANISATION_FIELDS, update_fields)


@receiver(post_save, sender=Organisation)
def organisation_changed(
    sender: type, instance: Organisation, created: bool, **kwargs: Any
) -> None:
    changes = _changes(instance, ORGANISATION_FIELDS)
    if changes and not kwargs.get("raw"):
        record_event(
            AuditAction.ORGANISATION_CHANGED,
            actor=None,
            actor_email="system",
            obj=instance,
            details={"changes": changes},
        )
