"""Signed checkpoints of the audit chains' heads, kept outside the database.

A hash chain shows that nothing changed *before* a head hash you trust; on its own it cannot
tell a chain rewritten end to end (every hash recomputed), or cut short with its head row moved
back, from the real one. A checkpoint says "at time T, each chain had reached this position,
whose hash is this; the newest event was #N, hash H": every chain's head signed together, so
one line vouches for the whole log. Lines written before chains were split (migration 0009)
name the single chain only ("sequence" and "hash", no "heads"): they are checked against the
legacy chain. Signed with HMAC-SHA256 under ISG_CHECKPOINT_KEY: a key from the environment that the
database never holds, so someone who can only change the database cannot forge one. They are
appended to a JSON-lines file (ISG_CHECKPOINT_DIR, mode 0600) and/or emailed
(ISG_CHECKPOINT_EMAILS); `verify_audit --checkpoint FILE` checks the chain against each.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail

from decisions.audit.canonical import GENESIS_HASH, LEGACY_CHAIN, chain_genesis
from decisions.models import AuditEvent

FILE_NAME = "audit-checkpoints.jsonl"
# HMAC-SHA256 keys shorter than the hash add no strength and suggest a placeholder value.
MIN_KEY_LENGTH = 32


class CheckpointRefused(RuntimeError):
    """No checkpoint was taken: the chain did not verify, or it has nowhere to go."""


@dataclass(frozen=True)
class Checkpoint:
    sequence: int  # the newest event then
    hash: str  # its hash
    created_at: str  # ISO 8601, UTC
    signature: str = ""
    # Every chain's head: key -> [position, hash]. None in a line of the single-chain days.
    heads: dict[str, list[Any]] | None = None

    def body(self) -> dict[str, Any]:
        body = asdict(self)
        del body["signature"]
        if self.heads is None:
            del body["heads"]
        return body

    def payload(self) -> bytes:
        """The signed bytes: canonical JSON of everything but the signature."""
        return json.dumps(self.body(), sort_keys=True, separators=(",", ":")).encode()

    def line(self) -> str:
        body = {**self.body(), "signature": self.signature}
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    def chain_heads(self) -> dict[str, tuple[int, str]]:
        if self.heads is None:  # the single chain, now the legacy one
            return {LEGACY_CHAIN: (self.sequence, self.hash)}
        return {key: (position, hash_) for key, (position, hash_) in self.heads.items()}


@dataclass(frozen=True)
class CheckpointsCheck:
    """Checkpoints that agree with the chain, or the first that does not and why."""

    checked: int
    problem: str = ""
    sequence: int | None = None


def checkpoint_key() -> bytes:
    key = settings.ISG_CHECKPOINT_KEY
    if len(key) < MIN_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"ISG_CHECKPOINT_KEY must be set to a random secret of at least {MIN_KEY_LENGTH} "
            "characters to sign or check audit checkpoints"
        )
    return key.encode()


def _signature(checkpoint: Checkpoint, key: bytes) -> str:
    return hmac.new(key, checkpoint.payload(), hashlib.sha256).hexdigest()


def checkpoint_sign(
    *, sequence: int, hash: str, created_at: str, heads: dict[str, tuple[int, str]]
) -> Checkpoint:
    listed = {key: [position, hash_] for key, (position, hash_) in sorted(heads.items())}
    unsigned = Checkpoint(sequence=sequence, hash=hash, created_at=created_at, heads=listed)
    return replace(unsigned, signature=_signature(unsigned, checkpoint_key()))


def checkpoint_file() -> Path | None:
    """The configured checkpoint file (ISG_CHECKPOINT_DIR), whether or not it exists yet."""
    folder = settings.ISG_CHECKPOINT_DIR
    return Path(folder) / FILE_NAME if folder else None


def checkpoint_append(checkpoint: Checkpoint, path: Path) -> None:
    """Append one line, readable and writable by this user only, and flush it to disk."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # a file made by hand may have been left wider open
        data = (checkpoint.line() + "\n").encode()
        while data:
            data = data[os.write(descriptor, data) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def checkpoint_send(checkpoint: Checkpoint, recipients: list[str]) -> None:
    """Email a checkpoint, so a copy exists beyond the reach of anyone with server access."""
    send_mail(
        subject=f"ISG audit checkpoint: event #{checkpoint.sequence}",
        message=(
            "This is a signed checkpoint of ISG's audit log. Keep this email: it lets the log "
            "be checked later against what it was now, even by someone who distrusts the "
            "database.\n\nTo check, save the line below in a file and run:\n"
            "    python manage.py verify_audit --checkpoint FILE\n\n"
            f"{checkpoint.line()}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )


def _parse(text: str) -> Checkpoint:
    data = json.loads(text)
    checkpoint = Checkpoint(
        sequence=data["sequence"],
        hash=data["hash"],
        created_at=data["created_at"],
        signature=data["signature"],
        heads=data.get("heads"),
    )
    if not isinstance(checkpoint.sequence, int) or checkpoint.sequence < 0:
        raise ValueError("sequence")
    if not all(isinstance(v, str) for v in (checkpoint.hash, checkpoint.signature)):
        raise ValueError("hash or signature")
    if checkpoint.heads is not None:
        if not isinstance(checkpoint.heads, dict):
            raise ValueError("heads")
        for key, head in checkpoint.heads.items():
            position, hash_ = head  # a pair, or ValueError/TypeError
            if not isinstance(key, str) or not isinstance(hash_, str):
                raise ValueError("heads")
            if not isinstance(position, int) or position < 0:
                raise ValueError("heads")
    return checkpoint


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, text


def _stored(
    wanted: dict[str, set[int]], legacy_hash: str
) -> dict[tuple[str, int], tuple[int | None, str]]:
    """(chain, position) -> (sequence, hash) of the events the checkpoints name."""
    found: dict[tuple[str, int], tuple[int | None, str]] = {}
    for key, positions in wanted.items():
        place = "sequence" if key == LEGACY_CHAIN else "position"
        rows = AuditEvent.objects.filter(chain=key, **{f"{place}__in": positions}).values_list(
            place, "sequence", "hash"
        )
        found.update({(key, position): (sequence, hash_) for position, sequence, hash_ in rows})
        if missing := {p for p in positions if p and (key, p) not in found}:
            # Named by an older checkpoint, since archived (decisions.audit.archived, which
            # imports this module: hence imported here).
            from decisions.audit.archived import archived_places

            found.update(archived_places(key, missing))
        if 0 in positions:  # a checkpoint of an empty chain: its genesis
            genesis = GENESIS_HASH if key == LEGACY_CHAIN else chain_genesis(key, legacy_hash)
            found[(key, 0)] = (None, genesis)
    return found


def _compare(
    batch: list[tuple[int, Checkpoint]], name: str, heads: dict[str, tuple[int, str]]
) -> CheckpointsCheck | None:
    legacy_hash = heads.get(LEGACY_CHAIN, (0, GENESIS_HASH))[1]
    wanted: dict[str, set[int]] = {}
    for _, checkpoint in batch:
        for key, (position, _) in checkpoint.chain_heads().items():
            if position <= heads.get(key, (0, ""))[0]:
                wanted.setdefault(key, set()).add(position)
    stored = _stored(wanted, legacy_hash)
    for number, checkpoint in batch:
        where = f"the checkpoint of {checkpoint.created_at} ({name} line {number})"
        for key, (position, hash_) in sorted(checkpoint.chain_heads().items()):
            last = heads.get(key, (0, ""))[0]
            if position > last:
                if key == LEGACY_CHAIN:
                    problem = (
                        f"events #{last + 1} to #{position} are missing: {where} recorded the "
                        f"log up to #{position}, so the log was cut short"
                    )
                    return CheckpointsCheck(0, problem, last + 1)
                problem = (
                    f"events {last + 1} to {position} of chain {key} are missing: {where} "
                    f"recorded chain {key} up to event {position}, so the log was cut short"
                )
                return CheckpointsCheck(0, problem, None)
            sequence, stored_hash = stored.get((key, position), (None, ""))
            if stored_hash != hash_:
                what = f"event #{sequence}" if sequence else f"the start of chain {key}"
                return CheckpointsCheck(
                    0,
                    f"{what} is not the event in {where}: its hash differs, so the log was "
                    "rewritten up to there",
                    sequence,
                )
    return None


def verify_checkpoints(
    path: Path, *, heads: dict[str, tuple[int, str]], batch_size: int = 1000
) -> CheckpointsCheck:
    """Check every checkpoint in `path` against chains verified up to `heads` (key ->
    position, hash).

    Call it after the walk: the walk proves each stored hash belongs to its events, and a
    checkpoint proves which hash the event had when it was taken.
    """
    key = checkpoint_key()
    name = path.name
    checked = 0
    batch: list[tuple[int, Checkpoint]] = []
    for number, text in _lines(path):
        try:
            checkpoint = _parse(text)
        except (ValueError, KeyError, TypeError):
            return CheckpointsCheck(checked, f"{name} line {number} is not a checkpoint")
        # Signatures first: a checkpoint is only worth comparing once it is known to be ours.
        if not hmac.compare_digest(_signature(checkpoint, key), checkpoint.signature):
            return CheckpointsCheck(
                checked,
                f"the checkpoint on {name} line {number} has a wrong signature: the checkpoint "
                "file was altered, or signed with another key",
            )
        batch.append((number, checkpoint))
        if len(batch) >= batch_size:
            if (problem := _compare(batch, name, heads)) is not None:
                return CheckpointsCheck(checked, problem.problem, problem.sequence)
            checked, batch = checked + len(batch), []
    if (problem := _compare(batch, name, heads)) is not None:
        return CheckpointsCheck(checked, problem.problem, problem.sequence)
    return CheckpointsCheck(checked + len(batch))
