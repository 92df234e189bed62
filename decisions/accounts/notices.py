"""An email to a person when a way of signing in to their account changes (ASVS 2.2.3, 2.5.5).

Each change's service calls `security_notice` inside its transaction; the email is queued once
that commits and sent by the background worker (`manage.py db_worker`), like the password
reset email, so a change that rolls back sends nothing and no page waits for the mail server.
The task's arguments are an account id, the change and its time: no address. The subject is
the same for every change and names nobody; the body says what changed, when (UK time), and
what to do if it was not them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from decisions.models import User

logger = logging.getLogger(__name__)

SUBJECT = "ISG: a change to how you sign in"
BODY_TEMPLATE = "accounts/email/security_notice.txt"


class Change(models.TextChoices):
    PASSWORD_CHANGED = "password_changed", "Your password was changed."
    PASSWORD_RESET = "password_reset", "Your password was reset, with a link sent to this address."
    APP_ADDED = "app_added", "An authenticator app was set up for your account."
    PASSKEY_ADDED = "passkey_added", "A passkey was added to your account."
    PASSKEY_REMOVED = "passkey_removed", "A passkey was removed from your account."
    RECOVERY_CODES_REPLACED = (
        "recovery_codes_replaced",
        "New recovery codes were made for your account; the old ones no longer work.",
    )
    MFA_RESET = (
        "mfa_reset",
        "An administrator reset your authenticator app, passkeys and recovery codes. You will "
        "set up a new one the next time you sign in.",
    )
    SSO_UNLINKED = (
        "sso_unlinked",
        "An administrator unlinked your account from your organisation's sign-in service. The "
        "next person to sign in there with your email address will be linked to it.",
    )


def security_notice(*, user: User, change: Change) -> None:
    """Queue the email about `change` once the current transaction commits."""
    at = timezone.now().isoformat()
    transaction.on_commit(
        lambda: send_security_notice.enqueue(user.pk, change.value, at), robust=True
    )


def notice_email(user: User, change: Change, at: datetime) -> EmailMessage:
    context = {
        "user": user,
        "change": change.label,
        "at": timezone.localtime(at),
        "base_url": settings.ISG_BASE_URL.rstrip("/"),
    }
    body = render_to_string(BODY_TEMPLATE, context)
    return EmailMessage(SUBJECT, body, to=[user.email])


@task()
def send_security_notice(user_id: int, change: str, at: str) -> bool:
    """The background worker's job: the email about one change to one account."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.email:
        return False
    try:
        notice_email(user, Change(change), datetime.fromisoformat(at)).send()
    except Exception as error:  # noqa: BLE001 - logged (no address), the task records it failed
        logger.warning("user %s: security notice not sent: %s", user_id, type(error).__name__)
        raise
    return True
