"""Every write: start, answer, submit, amend, and the reads that must be logged.

Each service runs in one transaction and writes its audit event inside it, so a change and
its event commit together or not at all. Services re-check what the views checked: a
tampered or out-of-order post reaches here and is refused with a DecisionRefused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from decisions import access, notifications, pdf, report_summaries
from decisions.api import webhooks
from decisions.audit import AuditAction, record_event
from decisions.guidance import engine
from decisions.guidance.store import current_pack
from decisions.models import (
    Decision,
    DecisionRecord,
    GuidancePack,
    ReferenceCounter,
    Status,
    User,
    WebhookEvent,
)
from decisions.models.decisions import EDITABLE
from decisions.snapshot import build_snapshot
from decisions.verification import Verification

# Where a submitted decision stands, by the sign-off its outcome needs (engine.Walk.sign_off):
# none takes effect now; "before" waits for a lead; "after" (the urgent route) takes effect
# now and a lead reviews it afterwards.
SUBMITTED_STATUS = {
    "none": Status.SUBMITTED,
    "before": Status.AWAITING_APPROVAL,
    "after": Status.REVIEW_AFTER,
}


class DecisionRefused(Exception):
    """A write that must not happen, with a message fit to show the practitioner."""


def next_reference(year: int) -> str:
    """The next ISG reference of the year; call inside the transaction that uses it."""
    ReferenceCounter.objects.get_or_create(year=year)
    # Update before reading: concurrent writers queue on the row (or SQLite's write lock).
    ReferenceCounter.objects.filter(year=year).update(last=F("last") + 1)
    number = ReferenceCounter.objects.select_for_update().get(year=year).last
    return f"ISG-{year}-{number:06d}"


def check_may_change(
    decision: Decision, user: User, *, verb: str, statuses: tuple[str, ...], status_message: str
) -> None:
    """Raise DecisionRefused unless `user` may `verb` the decision in its current status."""
    problem = access.change_refusal(
        decision, user, verb=verb, statuses=statuses, status_message=status_message
    )
    if problem:
        raise DecisionRefused(problem)


@transaction.atomic
def decision_start(*, user: User, pack: GuidancePack | None = None) -> Decision:
    pack = pack or current_pack()
    decision = Decision.objects.create(
        reference=next_reference(timezone.now().year),
        organisation=user.organisation,
        created_by=user,
        pack=pack,
    )
    record_event(
        AuditAction.DECISION_STARTED,
        actor=user,
        obj=decision,
        details={"pack": pack.pack_id, "pack_version": pack.version},
    )
    return decision


def _lock_editable(decision: Decision, user: User) -> Decision:
    locked = Decision.objects.select_for_update().get(pk=decision.pk)
    if locked.pack_id == decision.pack_id:
        locked.pack = decision.pack  # already loaded (without its body): do not read it again
    check_may_change(
        locked,
        user,
        verb="change",
        statuses=EDITABLE,
        status_message="This decision has been submitted and cannot be changed. "
        "To correct it, start an amendment with a reason.",
    )
    return locked


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return value


@dataclass(frozen=True)
class Answered:
    """What saving one step's answers did: the steps dropped, and the walk of the new answers."""

    dropped: list[str]
    walk: engine.Walk


@transaction.atomic
def decision_answer(
    *, decision: Decision, user: User, step_id: str, values: dict[str, Any]
) -> Answered:
    """Save the answers to one step.

    Changing an answer can move the path: answers to steps no longer on it are discarded
    (and named in the audit event) so a record never carries answers the flowchart skipped.
    """
    decision = _lock_editable(decision, user)
    pack = decision.pack.pack
    if step_id not in pack.steps or not engine.walk(pack, decision.answers).is_open(step_id):
        raise DecisionRefused("That question is not part of this decision yet.")
    step = pack.steps[step_id]
    expected = {f.name for f in engine.visible_fields(pack, step, decision.answers)}
    if set(values) != expected:
        raise DecisionRefused("The answers sent do not match the question asked.")
    stored = {name: _json_value(value) for name, value in values.items()}
    problems = engine.step_errors(pack, step, stored, decision.answers)
    if problems:
        raise DecisionRefused(next(iter(problems.values())))
    answers = dict(decision.answers)
    answers[step_id] = stored
    walk = engine.walk(pack, answers)
    dropped = engine.dropped_from(pack, answers, walk)
    for gone in dropped:
        answers.pop(gone)
    decision.answers = answers
    refresh_summary(decision, walk)
    decision.save()
    record_event(
        AuditAction.STEP_SAVED,
        actor=user,
        obj=decision,
        details={"step": step_id, "dropped": dropped},
    )
    report_summaries.refresh(decision)  # a returned decision's answers count in reports
    return Answered(dropped=dropped, walk=walk)


def refresh_summary(decision: Decision, walk: engine.Walk) -> None:
    """Copy the few columns lists and reports need out of the answers and their walk."""
    values = engine.flat_answers(decision.answers)
    decision.case_reference = str(values.get("case_reference", ""))[:40]
    decision.subject_initials = str(values.get("initials", ""))[:5]
    decision.outcome = walk.outcome.kind if walk.outcome else ""
    decision.needs_approval = walk.needs_approval


@transaction.atomic
def decision_submit(*, decision: Decision, user: User) -> DecisionRecord:
    decision = _lock_editable(decision, user)
    pack = decision.pack.pack
    walk = engine.walk(pack, decision.answers)
    if not walk.complete or walk.outcome is None:
        raise DecisionRefused("Answer every question before you submit the decision.")
    now = timezone.now()
    record = DecisionRecord.objects.create(
        decision=decision,
        round=decision.records.count() + 1,
        pack_id=decision.pack.pack_id,
        pack_version=decision.pack.version,
        pack_edition=decision.pack.edition,
        pack_digest=decision.pack.digest,
        answers=decision.answers,
        snapshot=build_snapshot(pack, decision.answers),
        outcome=walk.outcome.kind,
        outcome_title=walk.outcome.title,
        outcome_summary=walk.outcome.summary,
        reasons=walk.reasons,
        needs_approval=walk.needs_approval,
        submitted_by=user,
        submitted_at=now,
    )
    decision.status = SUBMITTED_STATUS[walk.sign_off]
    decision.submitted_at = now
    refresh_summary(decision, walk)
    decision.save()
    if decision.amends_id:
        # Row locks before the audit append: the chain-head lock is always the last one taken.
        Decision.objects.select_for_update().get(pk=decision.amends_id)
    details = {
        "round": record.round,
        "outcome": record.outcome,
        "status": decision.status,
        "record_digest": record.content_digest(),  # verify_audit checks the record against it
    }
    record_event(AuditAction.DECISION_SUBMITTED, actor=user, obj=decision, details=details)
    webhooks.announce(decision, WebhookEvent.SUBMITTED)  # area api: sent after commit
    report_summaries.refresh(decision)
    if decision.amends_id and decision.status == Status.SUBMITTED:
        supersede(decision, user)
    if decision.status in access.AWAITING_REVIEW:
        # After commit, and robust: a mail outage must not undo or fail the submission.
        decision_id = decision.pk
        transaction.on_commit(lambda: notifications.approval_requested(decision_id), robust=True)
    pdf.render_after_commit(record)
    return record


def supersede(amendment: Decision, user: User) -> None:
    """An amendment that has taken effect replaces the version it corrects."""
    original = Decision.objects.select_for_update().get(pk=amendment.amends_id)
    original.status = Status.SUPERSEDED
    original.save(update_fields=["status", "updated_at"])
    record_event(
        AuditAction.DECISION_AMENDED,
        actor=user,
        obj=original,
        details={"amendment": str(amendment.public_id), "version": amendment.version},
    )
    report_summaries.refresh(original)


@transaction.atomic
def decision_amend(*, decision: Decision, user: User, reason: str) -> Decision:
    """Start a correction: a new version carrying the answers, linked to the original."""
    original = Decision.objects.select_for_update().get(pk=decision.pk)
    check_may_change(
        original,
        user,
        verb="amend",
        statuses=access.IN_EFFECT,
        status_message="Only a submitted decision that has taken effect can be amended.",
    )
    if original.amendments.filter(status__in=EDITABLE + access.AWAITING_REVIEW).exists():
        raise DecisionRefused("An amendment to this decision is already in progress.")
    reason = reason.strip()
    if not reason:
        raise DecisionRefused("Enter the reason for the amendment.")
    latest = Decision.objects.filter(reference=original.reference).order_by("-version").first()
    amendment = Decision.objects.create(
        reference=original.reference,
        version=(latest.version if latest else original.version) + 1,
        organisation=original.organisation,
        created_by=user,
        pack=original.pack,
        answers=original.answers,
        amends=original,
        amendment_reason=reason,
        case_reference=original.case_reference,
        subject_initials=original.subject_initials,
        outcome=original.outcome,
        needs_approval=original.needs_approval,
    )
    record_event(
        AuditAction.AMENDMENT_STARTED,
        actor=user,
        obj=amendment,
        details={"amends": str(original.public_id), "version": amendment.version},
    )
    return amendment


@transaction.atomic
def decision_discard(*, decision: Decision, user: User, reason: str) -> Decision:
    """Set aside a draft that was started by mistake. Nothing is deleted: the draft leaves the
    lists, and the reason is kept in the audit log. A decision ever submitted is evidence and
    cannot be discarded (correct it with an amendment instead)."""
    locked = Decision.objects.select_for_update().get(pk=decision.pk)
    check_may_change(
        locked,
        user,
        verb="discard",
        statuses=(Status.DRAFT,),
        status_message="Only a draft that has never been submitted can be discarded. "
        "To correct a submitted decision, amend it.",
    )
    if locked.records.exists():
        raise DecisionRefused(
            "This decision has been submitted before, so it is kept as evidence. Change your "
            "answers and submit it again, or ask your safeguarding lead."
        )
    reason = reason.strip()
    if not reason:
        raise DecisionRefused("Enter why you are discarding this draft.")
    locked.status = Status.DISCARDED
    locked.save(update_fields=["status", "updated_at"])
    record_event(AuditAction.DECISION_DISCARDED, actor=user, obj=locked, details={"reason": reason})
    report_summaries.refresh(locked)
    return locked


@transaction.atomic
def record_verified(*, user: User, code: str, result: Verification) -> None:
    """A check of a printed record is logged: which record, and whether it matched."""
    details = {"code": code[:40], "matches": result.matches, "problem": result.problem}
    record_event(AuditAction.RECORD_VERIFIED, actor=user, obj=result.decision, details=details)


@transaction.atomic
def decision_viewed(*, decision: Decision, user: User) -> None:
    record_event(AuditAction.DECISION_VIEWED, actor=user, obj=decision)


@transaction.atomic
def decision_pdf_downloaded(*, decision: Decision, user: User) -> None:
    record_event(AuditAction.PDF_DOWNLOADED, actor=user, obj=decision)
