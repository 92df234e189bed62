"""Verifying the audit log: walk every hash chain in order and name the first broken event.

Then, with the chains intact: no rows past their heads, every signed checkpoint kept outside the
database agrees with it (decisions.audit.checkpoints), and every decision record matches the
digest its submission event holds (decisions.audit.records).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC
from multiprocessing import get_context
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from decisions.audit.actions import AuditAction
from decisions.audit.archived import chain_starts, check_manifests
from decisions.audit.canonical import GENESIS_HASH, LEGACY_CHAIN, chain_genesis
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
from decisions.audit.record import AuditChainBroken, record_event
from decisions.audit.records import verify_records
from decisions.audit.walk import ChainWalk, Head, walk
from decisions.models import AuditArchive, AuditChain, AuditEvent, AuditVerification, User

# Enough to name rows past the head without letting a flood of them exhaust memory.
PAST_HEAD_LIMIT = 100_000
# Below this many events a walk in this process is quicker than starting others.
PARALLEL_MIN_EVENTS = 50_000


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of walking every chain: intact, or the first broken event and why."""

    ok: bool
    checked: int
    last_sequence: int  # the highest sequence number among the events verified
    last_hash: str  # that event's hash
    broken_sequence: int | None = None
    problem: str = ""
    records_checked: int = 0  # decision records that match their submission events
    unsealed_records: int = 0  # submitted before digests were kept: not covered
    checkpoints_checked: int = 0
    checkpoint_file: str = ""  # the file whose checkpoints were checked, if any
    # Every chain's verified head: key -> (position, hash). What a checkpoint signs.
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)


def _combine(walks: list[ChainWalk]) -> ChainCheck:
    """One check from the chains' walks: the first broken chain (legacy first, then by key)."""
    checked = sum(w.checked for w in walks)
    newest = max(walks, key=lambda w: w.newest_sequence, default=None)
    last_sequence = newest.newest_sequence if newest else 0
    last_hash = newest.newest_hash if newest and newest.newest_hash else GENESIS_HASH
    heads = {w.key: (w.last_position, w.last_hash) for w in walks}
    for w in walks:
        if not w.ok:
            return ChainCheck(
                False, checked, last_sequence, last_hash, w.broken_sequence, w.problem, heads=heads
            )
    return ChainCheck(True, checked, last_sequence, last_hash, heads=heads)


def _chain_keys(using: str) -> list[str]:
    """Every chain that has events: a skip scan of the (chain, position) index."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE c(k) AS (SELECT MIN(chain) FROM decisions_auditevent UNION ALL "
            "SELECT (SELECT MIN(chain) FROM decisions_auditevent WHERE chain > c.k) FROM c "
            "WHERE c.k IS NOT NULL) SELECT k FROM c WHERE k IS NOT NULL"
        )
        return [k for (k,) in cursor.fetchall()]


def _ordered(keys: set[str]) -> list[str]:
    return sorted(keys, key=lambda k: (k != LEGACY_CHAIN, k))


def _walk_in_worker(
    key: str, head: Head | None, genesis: str, chunk_size: int, start: Head | None
) -> ChainWalk:
    with transaction.atomic():
        return walk(key, head, genesis, chunk_size=chunk_size, start=start)


def _workers(requested: int | None, chains: int, events: int, using: str) -> int:
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.in_atomic_block or chains < 2:
        return 1  # data a test (or a caller) has not committed is invisible to other processes
    if requested is None:
        if events < PARALLEL_MIN_EVENTS:
            return 1
        requested = len(os.sched_getaffinity(0))
    return max(1, min(requested, chains))


def _walk_all(
    heads: dict[str, Head],
    keys: list[str],
    workers: int,
    chunk_size: int,
    using: str,
    archives: list[AuditArchive],
) -> list[ChainWalk]:
    legacy = heads.get(LEGACY_CHAIN)
    legacy_hash = legacy.hash if legacy else GENESIS_HASH
    # Where each chain's archived part ends, its live part starts (decisions.audit.archive).
    starts = {key: Head(last["position"], last["hash"]) for key, last in chain_starts().items()}

    def genesis(key: str) -> str:
        return GENESIS_HASH if key == LEGACY_CHAIN else chain_genesis(key, legacy_hash)

    if workers == 1:
        # Inside a transaction, PostgreSQL streams each chain through a server-side cursor.
        with transaction.atomic(using=using):
            return [
                walk(
                    k,
                    heads.get(k),
                    genesis(k),
                    using=using,
                    chunk_size=chunk_size,
                    start=starts.get(k),
                )  # fmt: skip
                for k in keys
            ]
    # Forked processes must not share this one's connection: close it; each opens its own.
    connections.close_all()
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        futures = [
            pool.submit(_walk_in_worker, k, heads.get(k), genesis(k), chunk_size, starts.get(k))
            for k in keys
        ]
        return [f.result() for f in futures]


def _rows_past_head(check: ChainCheck, using: str) -> ChainCheck | None:
    """Events beyond the heads the walk started from that no committed head accounts for."""
    # Read the events first, the head second: an event appended while the walk ran commits
    # together with its head update, so any such event seen here is covered by the head read
    # after it. Only rows nobody advanced the head for stay beyond it.
    events = AuditEvent.objects.using(using)
    for key, (position, _) in check.heads.items():
        legacy = key == LEGACY_CHAIN
        place = "sequence" if legacy else "position"
        beyond = list(
            events.filter(chain=key, **{f"{place}__gt": position})
            .order_by(place)
            .values_list(place, "sequence")[:PAST_HEAD_LIMIT]
        )
        if not beyond:
            continue
        head = AuditChain.objects.using(using).filter(key=key).values_list("position", flat=True)
        at = head.first() or 0
        forged = [sequence for place_, sequence in beyond if place_ > at]
        if not forged:
            continue
        where = f"the chain head is at #{at}" if legacy else f"the head of chain {key} is at {at}"
        problem = (
            f"forged or unexplained rows past the chain head: {len(forged)} event(s) from "
            f"#{forged[0]}, but {where}"
        )
        return replace(check, ok=False, broken_sequence=forged[0], problem=problem)
    return None


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


def verify_chain(
    *, chunk_size: int = 5000, checkpoints: Path | None = None, workers: int | None = 1
) -> ChainCheck:
    """Walk every chain up to its head, in position order, in constant memory.

    `workers=None` walks chains in parallel processes, one per core, when the log is large
    (on PostgreSQL, outside a transaction); `manage.py verify_audit` does. The default walks
    them in this process: a web request or a task worker is never forked. With every chain
    intact, also look past the heads, at the checkpoints (`checkpoints`, else the configured
    file when there is one) and at every decision record.
    """
    checkpoints = _checkpoints_to_check(checkpoints)
    # The primary, even with a standby for reads: a lagging copy proves nothing about the log.
    using = router.db_for_write(AuditEvent)
    # Events appended while the walk runs come after the heads read here and are left for the
    # next check: a head and its events commit together, so every event up to a head exists.
    heads = {
        key: Head(position, hash_)
        for key, position, hash_ in AuditChain.objects.using(using).values_list(
            "key", "position", "hash"
        )
    }
    archives = list(AuditArchive.objects.using(using).order_by("month"))
    _, problem = check_manifests(archives)
    if problem:
        return ChainCheck(False, 0, 0, GENESIS_HASH, None, problem)
    keys = _ordered(set(heads) | set(_chain_keys(using)))
    count = sum(h.position for h in heads.values())
    walks = _walk_all(
        heads, keys, _workers(workers, len(keys), count, using), chunk_size, using, archives
    )
    check = _combine(walks)
    if not check.ok:
        return check
    if (past := _rows_past_head(check, using)) is not None:
        return past
    if checkpoints is not None:
        check = replace(check, checkpoint_file=str(checkpoints))
        anchored = verify_checkpoints(checkpoints, heads=check.heads)
        check = replace(check, checkpoints_checked=anchored.checked)
        if anchored.problem:
            return _broken(check, anchored.sequence, anchored.problem)
    with transaction.atomic(using=using):
        records = verify_records(up_to=check.last_sequence)
    check = replace(check, records_checked=records.checked, unsealed_records=records.unsealed)
    if not records.ok:
        return _broken(check, records.sequence, records.problem)
    return check


def audit_verify(*, user: User | None, checkpoints: Path | None = None) -> AuditVerification:
    """Verify the chain and keep the result (shown to leads) with its own audit event."""
    return audit_verify_and_keep(user=user, checkpoints=checkpoints)[0]


def audit_verify_and_keep(
    *, user: User | None, checkpoints: Path | None = None, workers: int | None = 1
) -> tuple[AuditVerification, ChainCheck]:
    """audit_verify, also returning the full check (what `verify_audit` prints)."""
    started_at = timezone.now()
    clock = time.perf_counter()
    check = verify_chain(checkpoints=checkpoints, workers=workers)
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
        except (AuditChainBroken, IntegrityError):
            # Rows past a head (which this check reports) stop every append to that chain, and
            # a forged row holding a sequence number not yet handed out stops the append that
            # draws it; the result is kept all the same, so the leads' page says what was found.
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
        heads=check.heads,
        created_at=timezone.now().astimezone(UTC).isoformat(timespec="seconds"),
    )
    if path is not None:
        checkpoint_append(checkpoint, path)
    if recipients:
        checkpoint_send(checkpoint, recipients)
    return checkpoint
