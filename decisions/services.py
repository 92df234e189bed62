"""Every write: start, answer, submit, amend, and the reads that must be logged.

Each service runs in one transaction and writes its audit event inside it, so a change and
its event commit together or not at all. Services re-check what the views checked: a
tampered or out-of-order post reaches here and is refused with a DecisionRefused.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from decisions import notifications
from decisions.guidance import engine
from decisions.audit import record_event
from decisions.models import (
    Decision,
    DecisionRecord,
    GuidancePack,
    ReferenceCounter,
    Status,
    User,
)
from decisions.models.decisions import EDITABLE
from decisions.snapshot import build_snapshot


class DecisionRefused(Exception):
    """A write that must not happen, with a message fit to show the practitioner."""


class NoGuidancePack(DecisionRefused):
    pass


def current_pack() -> GuidancePack:
    pack = GuidancePack.objects.filter(is_current=True).order_by("-loaded_at").first()
    if pack is None:
        raise NoGuidancePack(
            "No guidance pack is loaded. Ask your administrator to run 'manage.py load_guidance'."
        )
    return pack


def _next_reference(year: int) -> str:
    ReferenceCounter.objects.get_or_create(year=year)
    # Update before reading: concurrent writers queue on the row (or SQLite's write lock).
    ReferenceCounter.objects.filter(year=year).update(last=F("last") + 1)
    number = ReferenceCounter.objects.select_for_update().get(year=year).last
    return f"ISG-{year}-{number:06d}"


@transaction.atomic
def decision_start(*, user: User, pack: GuidancePack | None = None) -> Decision:
    pack = pack or current_pack()
    decision = Decision.objects.create(
        reference=_next_reference(timezone.now().year),
        organisation=user.organisation,
        created_by=user,
        pack=pack,
    )
    record_event(
        "decision.started",
        actor=user,
        obj=decision,
        details={"pack": pack.pack_id, "pack_version": pack.version},
    )
    return decision


def _lock_editable(decision: Decision, user: User) -> Decision:
    locked = Decision.objects.select_for_update().get(pk=decision.pk)
    if locked.created_by_id != user.pk:
        raise DecisionRefused("Only the person who made this decision can change it.")
    if locked.status not in EDITABLE:
        raise DecisionRefused(
            "This decision has been submitted and cannot be changed. "
            "To correct it, start an amendment with a reason."
        )
    return locked


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return value


@transaction.atomic
def decision_answer(
    *, decision: Decision, user: User, step_id: str, values: dict[str, Any]
) -> list[str]:
    """Save the answers to one step; returns the steps whose answers were dropped.

    Changing an answer can move the path: answers to steps no longer on it are discarded
    (and named in the audit event) so a record never carries answers the flowchart skipped.
    """
    decision = _lock_editable(decision, user)
    pack = decision.pack.pack
    if step_id not in pack.steps or not engine.is_on_path(pack, decision.answers, step_id):
        raise DecisionRefused("That question is not part of this decision yet.")
    step = pack.steps[step_id]
    expected = {f.name for f in step.fields}
    if set(values) != expected:
        raise DecisionRefused("The answers sent do not match the question asked.")
    answers = dict(decision.answers)
    answers[step_id] = {name: _json_value(value) for name, value in values.items()}
    dropped = engine.dropped_steps(pack, answers)
    for gone in dropped:
        answers.pop(gone)
    decision.answers = answers
    _refresh_summary(decision, pack)
    decision.save()
    record_event(
        "decision.step_saved",
        actor=user,
        obj=decision,
        details={"step": step_id, "dropped": dropped},
    )
    return dropped


def _refresh_summary(decision: Decision, pack: engine.Pack) -> None:
    """Copy the few columns lists and reports need out of the answers."""
    values = engine.flat_answers(decision.answers)
    decision.case_reference = str(values.get("case_reference", ""))[:40]
    decision.subject_initials = str(values.get("initials", ""))[:5]
    walk = engine.walk(pack, decision.answers)
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
    decision.status = Status.AWAITING_APPROVAL if walk.needs_approval else Status.SUBMITTED
    decision.submitted_at = now
    _refresh_summary(decision, pack)
    decision.save()
    if decision.amends_id:
        # Row locks before the audit append: the chain-head lock is always the last one taken.
        Decision.objects.select_for_update().get(pk=decision.amends_id)
    details = {"round": record.round, "outcome": record.outcome, "status": decision.status}
    record_event("decision.submitted", actor=user, obj=decision, details=details)
    if decision.amends_id and decision.status == Status.SUBMITTED:
        _supersede(decision, user)
    if decision.status == Status.AWAITING_APPROVAL:
        # After commit, and robust: a mail outage must not undo or fail the submission.
        decision_id = decision.pk
        transaction.on_commit(lambda: notifications.approval_requested(decision_id), robust=True)
    return record


def _supersede(amendment: Decision, user: User) -> None:
    """An amendment that has taken effect replaces the version it corrects."""
    original = Decision.objects.select_for_update().get(pk=amendment.amends_id)
    original.status = Status.SUPERSEDED
    original.save(update_fields=["status", "updated_at"])
    record_event(
        "decision.amended",
        actor=user,
        obj=original,
        details={"amendment": str(amendment.public_id), "version": amendment.version},
    )


AMENDABLE = (Status.SUBMITTED, Status.APPROVED)


@transaction.atomic
def decision_amend(*, decision: Decision, user: User, reason: str) -> Decision:
    """Start a correction: a new version carrying the answers, linked to the original."""
    original = Decision.objects.select_for_update().get(pk=decision.pk)
    if original.created_by_id != user.pk:
        raise DecisionRefused("Only the person who made this decision can amend it.")
    if original.status not in AMENDABLE:
        raise DecisionRefused("Only a submitted decision that has taken effect can be amended.")
    if original.amendments.filter(status__in=EDITABLE + (Status.AWAITING_APPROVAL,)).exists():
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
        "decision.amendment_started",
        actor=user,
        obj=amendment,
        details={"amends": str(original.public_id), "version": amendment.version},
    )
    return amendment


@transaction.atomic
def decision_viewed(*, decision: Decision, user: User) -> None:
    record_event("decision.viewed", actor=user, obj=decision)


@transaction.atomic
def decision_pdf_downloaded(*, decision: Decision, user: User) -> None:
    record_event("decision.pdf_downloaded", actor=user, obj=decision)
