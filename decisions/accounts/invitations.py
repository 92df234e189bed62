"""The invitation email: a link to choose a password (Django's password-reset token).

Sent after the account is committed (services call it through transaction.on_commit). The
subject carries no personal data; the link works once and lasts PASSWORD_RESET_TIMEOUT.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from decisions.models import User

logger = logging.getLogger(__name__)

INVITATION_SUBJECT = "ISG: an account has been set up for you"


def link_days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // (24 * 60 * 60))


def set_password_link(user: User) -> str:
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.ISG_BASE_URL.rstrip("/") + path


def send_invitation(user_id: int) -> int:
    user = User.objects.select_related("organisation").get(pk=user_id)
    body = render_to_string(
        "accounts/email/invitation.txt",
        {
            "link": set_password_link(user),
            "days": link_days(),
            "organisation": user.organisation,
            "sign_in": settings.ISG_BASE_URL.rstrip("/") + reverse("login"),
        },
    )
    sent = EmailMessage(INVITATION_SUBJECT, body, to=[user.email]).send()
    logger.info("invitation email sent (%d)", sent)
    return sent
