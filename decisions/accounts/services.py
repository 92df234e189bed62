"""Every write about an account or an organisation: one transaction with its audit event.

Each function saves through the model after `recorded_by_caller`, so the post_save receivers
(decisions.audit.receivers) do not log the same change again as "system": it is logged once,
here, with the person who made it as the actor. Who may change whom is decided by
decisions.access, which the views ask first; the rules that protect an administrator from
locking themselves out are here, so no view can skip them.
"""

from __future__ import annotations

from typing import Any

from axes.utils import reset as axes_reset
from django.db import transaction
from django.utils.text import slugify

from decisions import access
from decisions.accounts import invitations, mfa
from decisions.accounts.notices import Change, security_notice
from decisions.audit import AuditAction, record_event
from decisions.audit.receivers import recorded_by_caller
from decisions.models import Organisation, Role, User


class AccountChangeRefused(Exception):
    """A change the rules do not allow; the message is for the person who asked."""


# ------------------------------------------------------------------ passwords ----


def password_change(*, user: User, new_password: str) -> None:
    """The signed-in user changed their own password."""
    with transaction.atomic():
        user.set_password(new_password)
        recorded_by_caller(user).save()
        record_event(AuditAction.PASSWORD_CHANGED, actor=user, obj=user)
        security_notice(user=user, change=Change.PASSWORD_CHANGED)


def password_reset_request(*, email: str, account: User | None) -> None:
    """Someone asked for a reset link; an address that is no account's is not kept."""
    record_event(
        AuditAction.PASSWORD_RESET_REQUESTED,
        actor=None,
        actor_email=account.email if account else "unknown",
        organisation=account.organisation if account else None,
        obj=account,
        details={"link_sent": account is not None},
    )


def password_reset(*, user: User, new_password: str) -> None:
    """A password chosen from a reset or invitation link; the email address is proven, so a
    sign-in lockout of that address ends."""
    first = not user.has_usable_password()
    with transaction.atomic():
        user.set_password(new_password)
        recorded_by_caller(user).save()
        record_event(
            AuditAction.PASSWORD_RESET, actor=user, obj=user, details={"first_password": first}
        )
        if not first:  # a first password (an invitation) changes nothing the person had
            security_notice(user=user, change=Change.PASSWORD_RESET)
    axes_reset(username=user.email)


def password_confirmed(*, user: User) -> None:
    """The user entered their password again before a sensitive page."""
    record_event(AuditAction.REAUTHENTICATED, actor=user, obj=user)


# ---------------------------------------------------------------------- users ----


def _refuse_own_account(actor: User, user: User, what: str) -> None:
    if actor.pk == user.pk:
        raise AccountChangeRefused(
            f"You cannot {what} your own account. Ask another administrator to do it."
        )


def _check_rank(actor: User, user: User) -> None:
    """Only partnership administrators change partnership-wide accounts."""
    if user.partnership_wide and not access.administers_every_organisation(actor):
        raise AccountChangeRefused(
            "Only a partnership administrator can change a partnership-wide account."
        )


def _check_organisation(actor: User, organisation: Organisation | None) -> None:
    if organisation is None:
        if not access.administers_every_organisation(actor):
            raise AccountChangeRefused("Choose an organisation.")
        return
    if not access.administered_organisations(actor).filter(pk=organisation.pk).exists():
        raise AccountChangeRefused("You cannot add people to that organisation.")
    if not organisation.is_active:
        raise AccountChangeRefused(f"{organisation.name} is deactivated: reactivate it first.")


def user_invite(
    *,
    actor: User,
    email: str,
    full_name: str,
    role: str,
    organisation: Organisation | None,
    job_title: str = "",
) -> User:
    """Create an account with no usable password and email its holder a link to choose one."""
    email = email.strip().lower()
    _check_organisation(actor, organisation)
    if User.objects.filter(email__iexact=email).exists():
        raise AccountChangeRefused("There is already an account with this email address.")
    with transaction.atomic():
        user = User(
            email=email,
            full_name=full_name,
            role=role,
            organisation=organisation,
            job_title=job_title,
        )
        user.set_unusable_password()
        recorded_by_caller(user).save()
        record_event(
            AuditAction.USER_CREATED,
            actor=actor,
            obj=user,
            details={
                "email": user.email,
                "role": role,
                "organisation_id": getattr(organisation, "pk", None),
                "invited": True,
            },
        )
        _invitation_sent(actor=actor, user=user)
    return user


def _invitation_sent(*, actor: User, user: User) -> None:
    record_event(AuditAction.USER_INVITED, actor=actor, obj=user, details={"email": user.email})
    transaction.on_commit(lambda: invitations.send_invitation(user.pk))


def user_invite_again(*, actor: User, user: User) -> None:
    """A new invitation link, for someone who has not chosen a password yet."""
    if user.has_usable_password():
        raise AccountChangeRefused(
            "This person has already chosen a password. They can reset it from the sign-in page."
        )
    if not user.is_active:
        raise AccountChangeRefused("This account is deactivated: reactivate it first.")
    with transaction.atomic():
        _invitation_sent(actor=actor, user=user)


def _changed(user: User, values: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [getattr(user, name), value]
        for name, value in values.items()
        if getattr(user, name) != value
    }


def user_change(
    *,
    actor: User,
    user: User,
    role: str,
    organisation: Organisation | None,
    partnership_wide: bool | None = None,
) -> dict[str, list[Any]]:
    """A new role (a safeguarding lead is a role), organisation or partnership-wide mark
    (`None`: as it is); returns what changed."""
    if role not in Role.values:
        raise AccountChangeRefused("Choose a role.")
    wanted: dict[str, Any] = {"role": role, "organisation_id": getattr(organisation, "pk", None)}
    if partnership_wide is not None:
        wanted["partnership_wide"] = partnership_wide
    changes = _changed(user, wanted)
    if not changes:
        return {}
    _refuse_own_account(actor, user, "change the role or organisation of")
    _check_rank(actor, user)
    if "organisation_id" in changes:
        _check_organisation(actor, organisation)
    if "partnership_wide" in changes and not access.administers_every_organisation(actor):
        raise AccountChangeRefused("Only a partnership administrator can change this.")
    with transaction.atomic():
        for name, value in wanted.items():
            setattr(user, name, value)
        recorded_by_caller(user).save()
        record_event(
            AuditAction.USER_CHANGED,
            actor=actor,
            obj=user,
            details={"email": user.email, "changes": changes},
        )
    return changes


def user_deactivate(*, actor: User, user: User) -> None:
    """The account can no longer sign in; its open sessions end at their next request."""
    _refuse_own_account(actor, user, "deactivate")
    _check_rank(actor, user)
    if not user.is_active:
        return
    with transaction.atomic():
        user.is_active = False
        recorded_by_caller(user).save()
        record_event(
            AuditAction.USER_DEACTIVATED, actor=actor, obj=user, details={"email": user.email}
        )


def user_reactivate(*, actor: User, user: User) -> None:
    _check_rank(actor, user)
    if user.is_active:
        return
    if user.organisation is not None and not user.organisation.is_active:
        raise AccountChangeRefused(
            f"{user.organisation.name} is deactivated: reactivate the organisation first."
        )
    with transaction.atomic():
        user.is_active = True
        recorded_by_caller(user).save()
        record_event(
            AuditAction.USER_REACTIVATED, actor=actor, obj=user, details={"email": user.email}
        )


def user_mfa_reset(*, actor: User, user: User) -> int:
    """Remove someone's authenticator app and recovery codes (a lost phone)."""
    _refuse_own_account(actor, user, "reset the authenticator app of")
    _check_rank(actor, user)
    return mfa.mfa_reset(actor=actor, user=user)


# -------------------------------------------------------------- organisations ----


def _unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "organisation"
    slug, n = base, 1
    while Organisation.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _check_new_name(name: str, *, besides: Organisation | None = None) -> str:
    name = " ".join(name.split())
    others = Organisation.objects.filter(name__iexact=name)
    if besides is not None:
        others = others.exclude(pk=besides.pk)
    if others.exists():
        raise AccountChangeRefused("There is already an organisation with this name.")
    return name


def organisation_create(*, actor: User, name: str, kind: str) -> Organisation:
    name = _check_new_name(name)
    with transaction.atomic():
        organisation = Organisation(name=name, slug=_unique_slug(name), kind=kind)
        recorded_by_caller(organisation).save()
        record_event(
            AuditAction.ORGANISATION_CREATED,
            actor=actor,
            obj=organisation,
            details={"name": name, "kind": kind},
        )
    return organisation


def organisation_rename(*, actor: User, organisation: Organisation, name: str) -> None:
    """A new name; the slug (in report links) stays as it was."""
    name = _check_new_name(name, besides=organisation)
    if name == organisation.name:
        return
    with transaction.atomic():
        before = organisation.name
        organisation.name = name
        recorded_by_caller(organisation).save()
        record_event(
            AuditAction.ORGANISATION_CHANGED,
            actor=actor,
            obj=organisation,
            details={"changes": {"name": [before, name]}},
        )


def organisation_set_active(*, actor: User, organisation: Organisation, active: bool) -> int:
    """Deactivate an organisation, and with it every account in it (each one an event), or
    reactivate it (its people are then reactivated one by one). Returns accounts deactivated."""
    if organisation.is_active == active:
        return 0
    if not active and actor.organisation_id == organisation.pk:
        raise AccountChangeRefused("You cannot deactivate your own organisation.")
    action = (
        AuditAction.ORGANISATION_REACTIVATED if active else AuditAction.ORGANISATION_DEACTIVATED
    )
    with transaction.atomic():
        organisation.is_active = active
        recorded_by_caller(organisation).save()
        record_event(action, actor=actor, obj=organisation, details={"name": organisation.name})
        if active:
            return 0
        people = list(organisation.users.filter(is_active=True).exclude(pk=actor.pk))
        for user in people:
            user.is_active = False
            recorded_by_caller(user).save()
            record_event(
                AuditAction.USER_DEACTIVATED,
                actor=actor,
                obj=user,
                details={"email": user.email, "with_organisation": organisation.name},
            )
    return len(people)
