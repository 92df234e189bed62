"""Audit events for sign-in and sign-out, and for administrative changes to users and organisations.

Services write their own events; these receivers cover what happens outside them: Django's
authentication signals, django-axes' lockouts, and accounts or organisations created or
changed from a shell or a management command (`createsuperuser`, `changepassword`). Each is
logged in post_save, after the row is written, in the same transaction, with the fields that
changed. A service that records its own event (with its actor) first calls `recorded_by_caller`
on the instance, so the change is logged once, not again as "system".
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from decisions.audit.actions import AuditAction
from decisions.audit.noise import throttled
from decisions.audit.record import record_event
from decisions.models import AuditEvent, Organisation, User

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
# Set on an instance by a service that writes its own event for the save it is about to make.
RECORDED_BY_CALLER = "_audit_recorded_by_caller"


def recorded_by_caller(instance: Any) -> Any:
    """Mark `instance` so its next save is not logged again by these receivers."""
    setattr(instance, RECORDED_BY_CALLER, True)
    return instance


def _taken_by_caller(instance: Any) -> bool:
    """Whether a service logs this save itself (the mark lasts for one save)."""
    if getattr(instance, RECORDED_BY_CALLER, False):
        setattr(instance, RECORDED_BY_CALLER, False)
        return True
    return False


def _account(email: str) -> User | None:
    return User.objects.filter(email=email).select_related("organisation").first()


@receiver(user_logged_in)
def signed_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    record_event(AuditAction.SIGNED_IN, actor=user)


@receiver(user_logged_out)
def signed_out(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    """A sign-out; one the server made (an expired session) says why, in one event."""
    if user is None:
        return
    reason = getattr(request, "isg_sign_out_reason", "")
    if reason:
        record_event(AuditAction.SESSION_EXPIRED, actor=user, details={"reason": reason})
    else:
        record_event(AuditAction.SIGNED_OUT, actor=user)


@receiver(user_login_failed)
def sign_in_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    """The attempted address is kept only if it is an account's (no stranger's data is stored).

    Throttled per client address (decisions.audit.noise): a failed sign-in costs its sender
    nothing, so it must not cost the log a permanent row each time.
    """
    attempted = str(credentials.get("username") or credentials.get("email") or "").lower()

    def write(extra: dict[str, int]) -> AuditEvent:
        account = _account(attempted)
        return record_event(
            AuditAction.SIGN_IN_FAILED,
            actor=None,
            actor_email=account.email if account else "unknown",
            organisation=account.organisation if account else None,
            details={"known_account": account is not None, **extra},
        )

    throttled(AuditAction.SIGN_IN_FAILED, write)


@receiver(user_locked_out)
def sign_in_locked_out(
    sender: Any, request: HttpRequest, username: str | None, **kwargs: Any
) -> None:
    """django-axes refused a sign-in: too many failures for the account or the address.

    Axes signals every attempt refused during the cool-off, so this is throttled per client
    address like a failed sign-in: the first a minute is an event, the rest are counted.
    """

    def write(extra: dict[str, int]) -> AuditEvent:
        account = _account(str(username or "").lower())
        return record_event(
            AuditAction.SIGN_IN_LOCKED_OUT,
            actor=None,
            actor_email=account.email if account else "unknown",
            organisation=account.organisation if account else None,
            details={
                "known_account": account is not None,
                "cool_off_minutes": settings.ISG_SIGN_IN_COOL_OFF_MINUTES,
                **extra,
            },
        )

    throttled(AuditAction.SIGN_IN_LOCKED_OUT, write)


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
    """A user created or changed outside the services (shell, createsuperuser, changepassword)."""
    if kwargs.get("raw") or _taken_by_caller(instance):
        return
    if created:
        record_event(
            AuditAction.USER_CREATED,
            actor=None,
            actor_email="system",
            obj=instance,
            details={
                "email": instance.email,
                "role": instance.role,
                "organisation_id": instance.organisation_id,
                "is_superuser": instance.is_superuser,
            },
        )
        return
    changes = _changes(instance, USER_FIELDS)
    if changes:
        record_event(
            AuditAction.USER_CHANGED,
            actor=None,
            actor_email="system",
            obj=instance,
            details={"email": instance.email, "changes": changes},
        )
    # set_password() keeps the new password until save() has run; a rehash on sign-in
    # (a stronger hasher) saves without it, so it is not mistaken for a change.
    if getattr(instance, "_password", None) is not None:
        record_event(
            AuditAction.PASSWORD_CHANGED,
            actor=None,
            actor_email="system",
            obj=instance,
            details={"email": instance.email},
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
    if kwargs.get("raw") or _taken_by_caller(instance):
        return
    if created:
        record_event(
            AuditAction.ORGANISATION_CREATED,
            actor=None,
            actor_email="system",
            obj=instance,
            details={"name": instance.name, "kind": instance.kind},
        )
        return
    changes = _changes(instance, ORGANISATION_FIELDS)
    if changes:
        record_event(
            AuditAction.ORGANISATION_CHANGED,
            actor=None,
            actor_email="system",
            obj=instance,
            details={"changes": changes},
        )
