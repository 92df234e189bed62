"""The password-reset email, sent in the background (django-tasks, like exports).

The reset page does the same work for every address: it looks the address up, writes the
`user.password_reset_requested` event and enqueues this task, with the account's id or None.
The link is made and the email sent here, by the worker (`manage.py db_worker`), so the
page's response time does not say whether the address is an account's. The task's arguments
hold no address, only an account id.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks import task

from decisions.models import User

logger = logging.getLogger(__name__)

SUBJECT_TEMPLATE = "registration/password_reset_subject.txt"
BODY_TEMPLATE = "registration/password_reset_email.txt"


def reset_email(user: User) -> EmailMessage:
    """The email with a one-use link (Django's token), built from ISG_BASE_URL."""
    context = {
        "email": user.email,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "base_url": settings.ISG_BASE_URL.rstrip("/"),
        "protocol": "http",
        "domain": "localhost",  # only when ISG_BASE_URL is unset (never in production)
    }
    subject = "".join(render_to_string(SUBJECT_TEMPLATE, context).splitlines())
    return EmailMessage(subject, render_to_string(BODY_TEMPLATE, context), to=[user.email])


@task()
def send_password_reset(user_id: int | None) -> bool:
    """Send the link to an active account with a password; None (no account): nothing."""
    if user_id is None:
        return False
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    try:
        reset_email(user).send()
    except Exception as error:  # noqa: BLE001 - logged (no address), the task records it failed
        logger.warning("user %s: password reset email not sent: %s", user_id, type(error).__name__)
        raise
    return True
