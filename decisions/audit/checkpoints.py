"""Signed checkpoints of the audit chain head, kept outside the database.

The hash chain shows that nothing changed *before* a head hash you trust; on its own it cannot
tell a chain rewritten end to end (every hash recomputed), or cut short with its head row moved
back, from the real one. A checkpoint says "the chain reached event #N, whose hash is H, at
time T", signed with HMAC-SHA256 under ISG_CHECKPOINT_KEY: a key from the environment that the
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
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail

from decisions.audit.record import GENESIS_HASH
from decisions.models import AuditEvent

FILE_NAME = "audit-checkpoints.jsonl"
# HMAC-SHA256 keys shorter than the hash add no strength and suggest a placeholder value.
MIN_KEY_LENGTH = 32


class CheckpointRefused(RuntimeError):
    """No checkpoint was taken: the chain did not verify, or it has nowhere to go."""


@dataclass(frozen=True)
class Checkpoint:
    sequence: int
    hash: str
    created_at: str  # ISO 8601, UTC
    signature: str = ""

    def payload(self) -> bytes:
        """The signed bytes: canonical JSON of everything but the signature."""
        body = {"sequence": self.sequence, "hash": self.hash, "created_at": self.created_at}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


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


def checkpoint_sign(*, sequence: int, hash: str, created_at: str) -> Checkpoint:
    unsigned = Checkpoint(sequence=sequence, hash=hash, created_at=created_at)
    return Checkpoint(sequence, hash, created_at, _signature(unsigned, checkpoint_key()))


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
    )
    if not isinstance(checkpoint.sequence, int) or checkpoint.sequence < 0:
        raise ValueError("sequence")
    if not all(isinstance(v, str) for v in (checkpoint.hash, checkpoint.signature)):
        raise ValueError("hash or signature")
    return checkpoint


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, text


def _stored_hashes(sequences: set[int]) -> dict[int, str]:
    found = dict(AuditEvent.objects.filter(sequence__in=sequences).values_list("sequence", "hash"))
    if 0 in sequences:
        found[0] = GENESIS_HASH  # a checkpoint of the empty log
    return found


def _compare(
    batch: list[tuple[int, Checkpoint]], name: str, last_sequence: int
) -> CheckpointsCheck | None:
    stored = _stored_hashes({c.sequence for _, c in batch if c.sequence <= last_sequence})
    for number, checkpoint in batch:
        where = f"the checkpoint of {checkpoint.created_at} ({name} line {number})"
        if checkpoint.sequence > last_sequence:
            return CheckpointsCheck(
                0,
                f"events #{last_sequence + 1} to #{checkpoint.sequence} are missing: {where} "
                f"recorded the log up to #{checkpoint.sequence}, so the log was cut short",
                last_sequence + 1,
            )
        if stored.get(checkpoint.sequence) != checkpoint.hash:
            return CheckpointsCheck(
                0,
                f"event #{checkpoint.sequence} is not the event in {where}: its hash differs, "
                "so the log was rewritten up to there",
                checkpoint.sequence,
            )
    return None


def verify_checkpoints(
    path: Path, *, last_sequence: int, batch_size: int = 1000
) -> CheckpointsCheck:
    """Check every checkpoint in `path` against a chain verified up to event #`last_sequence`.

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
            if (problem := _compare(batch, name, last_sequence)) is not None:
                return CheckpointsCheck(checked, problem.problem, problem.sequence)
            checked, batch = checked + len(batch), []
    if (problem := _compare(batch, name, last_sequence)) is not None:
        return CheckpointsCheck(checked, problem.problem, problem.sequence)
    return CheckpointsCheck(checked + len(batch))
