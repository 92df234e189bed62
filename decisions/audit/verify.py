"""Verifying the audit log: walk the hash chain in order and name the first broken event.

Then, with the chain intact: no rows past its head, every signed checkpoint kept outside the
database agrees with it (decisions.audit.checkpoints), and every decision record matches the
digest its submission event holds (decisions.audit.records).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from decisions.audit.actions import AuditAction
from decisions.audit.checkpoints import (
    Checkpoint,
    CheckpointRefused,
    checkpoint_append,
    checkpoint_file,
    checkpoint_key,
    checkpoint_send,
    checkpoint_sign,
    verify_checkpoints,
)
from decisions.audit.record import (
    GENESIS_HASH,
    HASHED_FIELDS,
    AuditChainBroken,
    canonical_body,
    record_event,
)
from decisions.audit.records import verify_records
from decisions.models import AuditChainHead, AuditEvent, AuditVerification, User

# Enough to name rows past the head without letting a flood of them exhaust memory.
PAST_HEAD_LIMIT = 100_000


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of walking the chain: intact, or the first broken event and why."""

    ok: bool
    checked: int
    last_sequence: int
    last_hash: str
    broken_sequence: int | None = None
    problem: str = ""
    records_checked: int = 0  # decision records that match their submission events
    unsealed_records: int = 0  # submitted before digests were kept: not covered
    checkpoints_checked: int = 0
    checkpoint_file: str = ""  # the file whose checkpoints were checked, if any


def _walk(rows: Iterable[tuple[Any, ...]], head: AuditChainHead | None) -> ChainCheck:
    expected, previous, checked = 1, GENESIS_HASH, 0
    previous_time: datetime | None = None
    for row in rows:
        values = dict(zip(HASHED_FIELDS, row[:-1], strict=True))
        stored_hash = row[-1]
        sequence = values["sequence"]
        problem = ""
        if sequence != expected:
            problem = f"gap: event #{expected} is missing (the next event is #{sequence})"
            sequence = expected
        elif values["previous_hash"] != previous:
            problem = (
                f"wrong predecessor: its previous hash does not match the hash of event "
                f"#{sequence - 1}"
            )
        elif hashlib.sha256(canonical_body(values)).hexdigest() != stored_hash:
            problem = "hash mismatch: its contents are not what was written"
        elif previous_time is not None and values["created_at"] < previous_time:
            problem = f"out of order: its time is earlier than event #{sequence - 1}'s"
        if problem:
            return ChainCheck(False, checked, expected - 1, previous, sequence, problem)
        previous, expected, checked = stored_hash, expected + 1, checked + 1
        previous_time = values["created_at"]
    last = expected - 1
    if head is None and checked:
        return ChainCheck(False, checked, last, previous, last, "the chain-head row is missing")
    if head is not None and head.sequence > last:
        problem = f"events #{last + 1} to #{head.sequence} are missing: the log was cut short"
        return ChainCheck(False, checked, last, previous, last + 1, problem)
    if head is not None and head.hash != previous:
        problem = f"the chain head does not match event #{last}: the newest events were changed"
        return ChainCheck(False, checked, last, previous, last, problem)
    return ChainCheck(True, checked, last, previous)


def _rows_past_head(check: ChainCheck) -> ChainCheck | None:
    """Events beyond the head the walk started from that no committed head accounts for."""
    # Read the events first, the head second: an event appended while the walk ran commits
    # together with its head update, so any such event seen here is covered by the head read
    # after it. Only rows nobody advanced the head for stay beyond it.
    beyond = list(
        AuditEvent.objects.filter(sequence__gt=check.last_sequence)
        .order_by("sequence")
        .values_list("sequence", flat=True)[:PAST_HEAD_LIMIT]
    )
    if not beyond:
        return None
    head = AuditChainHead.objects.filter(id=1).values_list("sequence", flat=True).first() or 0
    forged = [sequence for sequence in beyond if sequence > head]
    if not forged:
        return None
    problem = (
        f"forged or unexplained rows past the chain head: {len(forged)} event(s) from "
        f"#{forged[0]}, but the chain head is at #{head}"
    )
    return _broken(check, forged[0], problem)


def _broken(check: ChainCheck, sequence: int | None, problem: str) -> ChainCheck:
    return replace(check, ok=False, broken_sequence=sequence, problem=problem)


def _checkpoints_to_check(path: Path | None) -> Path | None:
    """An explicit file; else the configured one, once it exists and there is a key to check it."""
    if path is not None:
        return path
    configured = checkpoint_file()
    if configured is not None and configured.exists() and settings.ISG_CHECKPOINT_KEY:
        return configured
    return None


def verify_chain(*, chunk_size: int = 5000, checkpoints: Path | None = None) -> ChainCheck:
    """Walk every event up to the chain head, in sequence order, in constant memory.

    With the chain intact, also look past the head, at the checkpoints (`checkpoints`, else
    the configured file when there is one) and at every decision record.
    """
    checkpoints = _checkpoints_to_check(checkpoints)
    with transaction.atomic():
        # Events appended while the walk runs come after the head read here and are left for
        # the next check. Inside a transaction, PostgreSQL streams through a server-side cursor.
        head = AuditChainHead.objects.filter(id=1).first()
        events = AuditEvent.objects.order_by("sequence")
        if head is not None:
            events = events.filter(sequence__lte=head.sequence)
        rows = events.values_list(*HASHED_FIELDS, "hash").iterator(chunk_size=chunk_size)
        check = _walk(rows, head)
        if not check.ok:
            return check
        if (past := _rows_past_head(check)) is not None:
            return past
        if checkpoints is not None:
            check = replace(check, checkpoint_file=str(checkpoints))
            anchored = verify_checkpoints(checkpoints, last_sequence=check.last_sequence)
            check = replace(check, checkpoints_checked=anchored.checked)
            if anchored.problem:
                return _broken(check, anchored.sequence, anchored.problem)
        records = verify_records(up_to=check.last_sequence)
        check = replace(check, records_checked=records.checked, unsealed_records=records.unsealed)
        if not records.ok:
            return _broken(check, records.sequence, records.problem)
        return check


def audit_verify(*, user: User | None, checkpoints: Path | None = None) -> AuditVerification:
    """Verify the chain and keep the result (shown to leads) with its own audit event."""
    return audit_verify_and_keep(user=user, checkpoints=checkpoints)[0]


def audit_verify_and_keep(
    *, user: User | None, checkpoints: Path | None = None
) -> tuple[AuditVerification, ChainCheck]:
    """audit_verify, also returning the full check (what `verify_audit` prints)."""
    started_at = timezone.now()
    clock = time.perf_counter()
    check = verify_chain(checkpoints=checkpoints)
    duration_ms = round((time.perf_counter() - clock) * 1000)
    with transaction.atomic():
        result = AuditVerification.objects.create(
            started_at=started_at,
            duration_ms=duration_ms,
            ok=check.ok,
            checked=check.checked,
            last_sequence=check.last_sequence,
            last_hash=check.last_hash,
            broken_sequence=check.broken_sequence,
            problem=check.problem[:300],
            by=user if user is not None and user.is_authenticated else None,
        )
        details = {
            "ok": check.ok,
            "checked": check.checked,
            "last_sequence": check.last_sequence,
            "broken_sequence": check.broken_sequence,
            "problem": check.problem,
            "duration_ms": duration_ms,
            "records_checked": check.records_checked,
            "unsealed_records": check.unsealed_records,
            "checkpoints_checked": check.checkpoints_checked,
        }
        try:
            with transaction.atomic():
                record_event(
                    AuditAction.AUDIT_VERIFIED,
                    actor=user,
                    actor_email="system",
                    obj=result,
                    details=details,
                )
        except AuditChainBroken:
            # Rows past the head (which this check reports) stop every append; the result is
            # kept all the same, so the leads' page says what was found.
            pass
    return result, check


def audit_checkpoint() -> Checkpoint:
    """Verify the log (and the checkpoints kept so far), then sign its head and keep that.

    A broken log is never checkpointed: signing it would vouch for the tampering.
    """
    path, recipients = checkpoint_file(), list(settings.ISG_CHECKPOINT_EMAILS)
    if path is None and not recipients:
        raise CheckpointRefused(
            "set ISG_CHECKPOINT_DIR or ISG_CHECKPOINT_EMAILS: a checkpoint kept nowhere proves "
            "nothing"
        )
    checkpoint_key()  # no key, no checkpoint: fail before the walk, not after it
    check = verify_chain()
    if not check.ok:
        raise CheckpointRefused(
            f"the audit log is broken at event #{check.broken_sequence} ({check.problem}), "
            "so it was not checkpointed"
        )
    checkpoint = checkpoint_sign(
        sequence=check.last_sequence,
        hash=check.last_hash,
        created_at=timezone.now().astimezone(UTC).isoformat(timespec="seconds"),
    )
    if path is not None:
        checkpoint_append(checkpoint, path)
    if recipients:
        checkpoint_send(checkpoint, recipients)
    return checkpoint
