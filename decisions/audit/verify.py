"""Verifying the audit log: walk the hash chain in order and name the first broken event."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from decisions.audit.actions import AuditAction
from decisions.audit.record import GENESIS_HASH, HASHED_FIELDS, canonical_body, record_event
from decisions.models import AuditChainHead, AuditEvent, AuditVerification, User


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of walking the chain: intact, or the first broken event and why."""

    ok: bool
    checked: int
    last_sequence: int
    last_hash: str
    broken_sequence: int | None = None
    problem: str = ""


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


def verify_chain(*, chunk_size: int = 5000) -> ChainCheck:
    """Walk every event up to the chain head, in sequence order, in constant memory."""
    with transaction.atomic():
        # Events appended while the walk runs come after the head read here and are left for
        # the next check. Inside a transaction, PostgreSQL streams through a server-side cursor.
        head = AuditChainHead.objects.filter(id=1).first()
        events = AuditEvent.objects.order_by("sequence")
        if head is not None:
            events = events.filter(sequence__lte=head.sequence)
        rows = events.values_list(*HASHED_FIELDS, "hash").iterator(chunk_size=chunk_size)
        return _walk(rows, head)


def audit_verify(*, user: User | None) -> AuditVerification:
    """Verify the chain and keep the result (shown to leads) with its own audit event."""
    started_at = timezone.now()
    clock = time.perf_counter()
    check = verify_chain()
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
        record_event(
            AuditAction.AUDIT_VERIFIED,
            actor=user,
            actor_email="system",
            obj=result,
            details={
                "ok": check.ok,
                "checked": check.checked,
                "last_sequence": check.last_sequence,
                "broken_sequence": check.broken_sequence,
                "problem": check.problem,
                "duration_ms": duration_ms,
            },
        )
    return result
