"""Emails about sign-off: to leads when a decision awaits approval, to a decider when returned.

Sent after the change has committed (services call these through transaction.on_commit), one
message per recipient so addresses are not shared. Subjects and bodies carry the ISG
reference and a link only: no names, initials or case details, which stay behind sign-in.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import reverse

from decisions.models import Decision, Role, User

logger = logging.getLogger(__name__)

APPROVAL_REQUESTED_SUBJECT = "ISG: a decision is waiting for your approval"
RETURNED_SUBJECT = "ISG: a decision has been returned to you"


def _link(path: str) -> str:
    return getattr(settings, "ISG_BASE_URL", "").rstrip("/") + path


def _send(subject: str, template: str, context: dict, recipients: list[str]) -> int:
    body = render_to_string(template, context)
    messages = [EmailMessage(subject, body, to=[address]) for address in recipients]
    if not messages:
        return 0
    sent = get_connection().send_messages(messages) or 0
    logger.info("sign-off email %r sent to %d recipient(s)", template, sent)
    return sent


def approval_requested(decision_id: int) -> int:
    """Tell every active lead of the decider's organisation (but the decider) of a new item."""
    decision = Decision.objects.get(pk=decision_id)
    leads = (
        User.objects.filter(
            organisation_id=decision.organisation_id, role=Role.LEAD, is_active=True
        )
        .exclude(pk=decision.created_by_id)
        .values_list("email", flat=True)
    )
    context = {
        "reference": decision.display_reference,
        "link": _link(reverse("review_approval", args=[decision.public_id])),
    }
    return _send(
        APPROVAL_REQUESTED_SUBJECT, "review/email/approval_requested.txt", context, list(leads)
    )


def decision_returned(decision_id: int) -> int:
    """Tell the decider that a lead returned their decision with comments."""
    decision = Decision.objects.select_related("created_by").get(pk=decision_id)
    if not decision.created_by.is_active:
        return 0
    context = {
        "reference": decision.display_reference,
        "link": _link(reverse("record", args=[decision.public_id])),
    }
    return _send(
        RETURNED_SUBJECT, "review/email/decision_returned.txt", context, [decision.created_by.email]
    )
