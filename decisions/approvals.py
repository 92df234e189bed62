"""Reminders and escalation for decisions waiting for sign-off, so none waits for ever.

Run by a scheduler (cron: `manage.py remind_approvals`, or the django-tasks task
`remind_approvals_task`) every hour or so. A decision waiting longer than
ISG_APPROVAL_REMIND_HOURS gets a reminder to its approvers, at most once per that period;
one waiting longer than ISG_APPROVAL_ESCALATE_HOURS is opened to the next level of approvers
(decisions.access.approvers), who are told once. Each reminder and escalation is an audit
event, which is also how the next run knows what was already sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from decisions import access, notifications
from decisions.audit import AuditAction, record_event
from decisions.models import AuditEvent, Decision


@dataclass(frozen=True)
class Chased:
    reminded: list[str]
    escalated: list[str]


def _last_event(decision: Decision, action: AuditAction) -> AuditEvent | None:
    return (
        AuditEvent.objects.filter(object_id=str(decision.public_id), action=action.value)
        .order_by("-sequence")
        .first()
    )


def _chase(decision: Decision, action: AuditAction) -> None:
    """Record the reminder or escalation, then email the approvers once it has committed."""
    with transaction.atomic():
        record_event(
            action,
            actor=None,
            actor_email="system",
            obj=decision,
            organisation=decision.organisation,
            details={"approvers": access.approvers(decision).count()},
        )
        decision_id = decision.pk
        transaction.on_commit(
            lambda: notifications.approval_requested(decision_id, reminder=True), robust=True
        )


def _remind(decision: Decision, since: datetime) -> bool:
    last = _last_event(decision, AuditAction.APPROVAL_REMINDED)
    if last is not None and last.created_at > since:
        return False
    _chase(decision, AuditAction.APPROVAL_REMINDED)
    return True


def _escalate(decision: Decision) -> bool:
    if not access.is_escalated(decision) or _last_event(decision, AuditAction.APPROVAL_ESCALATED):
        return False
    _chase(decision, AuditAction.APPROVAL_ESCALATED)
    return True


def chase_waiting_approvals() -> Chased:
    """Remind and escalate every decision that has waited too long; returns the references."""
    now = timezone.now()
    remind_after = timedelta(hours=settings.ISG_APPROVAL_REMIND_HOURS)
    waiting = Decision.objects.filter(
        status__in=access.AWAITING_REVIEW, submitted_at__lt=now - remind_after
    ).select_related("organisation")
    reminded, escalated = [], []
    for decision in waiting.order_by("submitted_at"):
        if _escalate(decision):
            escalated.append(decision.display_reference)
        elif _remind(decision, now - remind_after):
            reminded.append(decision.display_reference)
    return Chased(reminded=reminded, escalated=escalated)


@task()
def remind_approvals_task() -> dict[str, int]:
    chased = chase_waiting_approvals()
    return {"reminded": len(chased.reminded), "escalated": len(chased.escalated)}
