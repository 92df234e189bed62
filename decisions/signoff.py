"""Sign-off: a lead approves or returns a decision; a decider reconsiders one with new information.

Decisions to share without consent, and refusals of a request, do not take effect until a
second person of the same organisation approves them (bathnes FAQ: "must also be approved by
an appropriate supervisor or manager"); the engine marks them `needs_approval` and
`services.decision_submit` leaves them awaiting approval. Each service here is one
transaction with its audit event. A refused attempt raises DecisionRefused with a message for
the user, and the attempt is logged by an event of its own (its own transaction, because the
refused one rolls back).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from decisions import access, notifications, pdf, report_summaries
from decisions.api import webhooks
from decisions.audit import AuditAction, record_event
from decisions.guidance import engine
from decisions.guidance.store import current_pack
from decisions.models import Approval, Decision, ReviewAction, Status, User, WebhookEvent
from decisions.models.decisions import EDITABLE
from decisions.services import (
    DecisionRefused,
    check_may_change,
    next_reference,
    refresh_summary,
    supersede,
)

MAX_COMMENTS = 2000
# Decisions that have taken effect, and so can be reconsidered with new information.
RECONSIDERABLE = access.IN_EFFECT


def _log_refusal(action: AuditAction, decision: Decision, user: User, exc: Exception) -> None:
    with transaction.atomic():
        record_event(action, actor=user, obj=decision, details={"reason": str(exc)})


def _check_reviewer(decision: Decision, user: User) -> None:
    problem = access.review_refusal(decision, user)
    if problem:
        raise DecisionRefused(problem)


def _clean_comments(comments: str, *, required: bool) -> str:
    comments = comments.strip()
    if required and not comments:
        raise DecisionRefused("Enter comments that tell the decider what to change.")
    if len(comments) > MAX_COMMENTS:
        raise DecisionRefused(f"Comments must be {MAX_COMMENTS} characters or fewer.")
    return comments


@transaction.atomic
def _review(*, decision: Decision, user: User, action: ReviewAction, comments: str) -> Approval:
    decision = Decision.objects.select_for_update().get(pk=decision.pk)
    _check_reviewer(decision, user)
    comments = _clean_comments(comments, required=action == ReviewAction.RETURNED)
    record = decision.latest_record()
    takes_effect = action == ReviewAction.APPROVED
    if takes_effect and decision.amends_id:
        # Row locks before the audit append: the chain-head lock is always the last one taken.
        Decision.objects.select_for_update().get(pk=decision.amends_id)
    approval = Approval.objects.create(
        decision=decision,
        record=record,
        action=action,
        by=user,
        at=timezone.now(),
        comments=comments,
    )
    decision.status = Status.APPROVED if takes_effect else Status.RETURNED
    decision.save(update_fields=["status", "updated_at"])
    record_event(
        AuditAction.DECISION_APPROVED if takes_effect else AuditAction.DECISION_RETURNED,
        actor=user,
        obj=decision,
        details={
            "round": record.round,
            "approval": approval.pk,
            # The comments stay on the Approval row; their digest binds them into the chain.
            "comments_sha256": hashlib.sha256(comments.encode()).hexdigest(),
        },
    )
    report_summaries.refresh(decision)
    if takes_effect and decision.amends_id:
        supersede(decision, user)
    # area api: sent after commit
    webhooks.announce(decision, WebhookEvent.APPROVED if takes_effect else WebhookEvent.RETURNED)
    decision_id = decision.pk
    tell = notifications.decision_approved if takes_effect else notifications.decision_returned
    transaction.on_commit(lambda: tell(decision_id), robust=True)
    pdf.render_after_commit(record)  # the PDF shows the sign-off: a new one, rendered ahead
    return approval


def decision_approve(*, decision: Decision, user: User, comments: str = "") -> Approval:
    """A lead of the decider's organisation approves the round awaiting approval."""
    try:
        return _review(
            decision=decision, user=user, action=ReviewAction.APPROVED, comments=comments
        )
    except DecisionRefused as exc:
        _log_refusal(AuditAction.APPROVE_REFUSED, decision, user, exc)
        raise


def decision_return(*, decision: Decision, user: User, comments: str) -> Approval:
    """A lead sends the decision back to its decider with comments; it becomes editable."""
    try:
        return _review(
            decision=decision, user=user, action=ReviewAction.RETURNED, comments=comments
        )
    except DecisionRefused as exc:
        _log_refusal(AuditAction.RETURN_REFUSED, decision, user, exc)
        raise


def _value_fits(field: engine.Field, value: Any) -> bool:
    if value in (None, "", []):
        return not field.required or field.kind == "date"
    if not field.choices:
        return True
    allowed = {choice.value for choice in field.choices}
    if isinstance(value, list):
        return set(value) <= allowed
    return value in allowed


def carried_answers(pack: engine.Pack, answers: Mapping[str, Mapping[str, Any]]) -> dict:
    """The earlier answers that still fit the pack's questions, as a starting point.

    A step is carried only if the pack still asks it with the same fields and every value is
    still one of its choices; steps no longer on the path are then dropped.
    """
    carried: dict[str, dict[str, Any]] = {}
    for step_id, values in answers.items():
        step = pack.steps.get(step_id)
        if step is None or set(values) != {f.name for f in step.fields}:
            continue
        if all(_value_fits(f, values[f.name]) for f in step.fields):
            carried[step_id] = dict(values)
    for gone in engine.dropped_steps(pack, carried):
        carried.pop(gone)
    return carried


@transaction.atomic
def _reconsider(*, decision: Decision, user: User) -> Decision:
    original = Decision.objects.select_for_update().get(pk=decision.pk)
    check_may_change(
        original,
        user,
        verb="reconsider",
        statuses=RECONSIDERABLE,
        status_message="Only a decision that has taken effect can be reconsidered with new "
        "information.",
    )
    if original.reconsiderations.filter(status__in=EDITABLE).exists():
        raise DecisionRefused(
            "You have already started reconsidering this decision. Carry on with it from "
            "'My decisions'."
        )
    pack = current_pack()
    reconsideration = Decision(
        reference=next_reference(timezone.now().year),
        organisation=original.organisation,
        created_by=user,
        pack=pack,
        answers=carried_answers(pack.pack, original.answers),
        reconsiders=original,
    )
    refresh_summary(reconsideration, engine.walk(pack.pack, reconsideration.answers))
    reconsideration.save()
    record_event(
        AuditAction.DECISION_RECONSIDERED,
        actor=user,
        obj=original,
        details={
            "reconsideration": str(reconsideration.public_id),
            "reconsideration_reference": reconsideration.reference,
        },
    )
    record_event(
        AuditAction.DECISION_STARTED,
        actor=user,
        obj=reconsideration,
        details={
            "pack": pack.pack_id,
            "pack_version": pack.version,
            "reconsiders": str(original.public_id),
        },
    )
    return reconsideration


def decision_reconsider(*, decision: Decision, user: User) -> Decision:
    """Golden rule 7 (2024): a new decision, linked to this one, starting from its answers."""
    try:
        return _reconsider(decision=decision, user=user)
    except DecisionRefused as exc:
        _log_refusal(AuditAction.RECONSIDER_REFUSED, decision, user, exc)
        raise
