"""Emails about sign-off: to approvers when a decision awaits approval (and reminders), to a
decider when it is approved or returned.

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

from decisions import access
from decisions.models import Decision, Status

logger = logging.getLogger(__name__)

APPROVAL_REQUESTED_SUBJECT = "ISG: a decision is waiting for your approval"
RETURNED_SUBJECT = "ISG: a decision has been returned to you"
APPROVED_SUBJECT = "ISG: your decision has been approved"
REMINDER_SUBJECT = "ISG: reminder, a decision is still waiting for approval"


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


def approval_requested(decision_id: int, *, reminder: bool = False) -> int:
    """Tell everyone who may approve the decision (decisions.access.approvers) of a new item,
    or remind them of one still waiting."""
    decision = Decision.objects.get(pk=decision_id)
    emails = access.approvers(decision).values_list("email", flat=True)
    context = {
        "reference": decision.display_reference,
        "link": _link(reverse("review_approval", args=[decision.public_id])),
        "reminder": reminder,
        "level": access.approver_level(decision),
        "review_after": decision.status == Status.REVIEW_AFTER,
    }
    subject = REMINDER_SUBJECT if reminder else APPROVAL_REQUESTED_SUBJECT
    return _send(subject, "review/email/approval_requested.txt", context, list(emails))


def decision_approved(decision_id: int) -> int:
    """Tell the decider that their decision was approved and has taken effect."""
    decision = Decision.objects.select_related("created_by").get(pk=decision_id)
    if not decision.created_by.is_active:
        return 0
    context = {
        "reference": decision.display_reference,
        "link": _link(reverse("record", args=[decision.public_id])),
    }
    return _send(
        APPROVED_SUBJECT, "review/email/decision_approved.txt", context, [decision.created_by.email]
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
