"""Archiving an old month of the audit log (PostgreSQL), with a signed manifest.

`manage.py archive_audit --month 2024-01 [--to DIR]` takes the oldest live month that is old
enough (ISG_AUDIT_ARCHIVE_AFTER_MONTHS) and, in one transaction:

  1. refuses if any organisation with events in that month is under a legal hold (the holds
     table is locked meanwhile, so none can be placed or released half-way), if an older
     month is still live, or if events of that month sit in the default partition;
  2. detaches the month's partition, so appends never wait for the rest;
  3. walks every chain in it: each event hashes to what is stored, positions have no gaps,
     and each chain's first event follows the last one archived before it (or its genesis);
  4. writes the rows, in sequence order, as gzip'd JSON lines to DIR (mode 0600), if given;
  5. moves the table to the `audit_archive` schema, where triggers refuse any change;
  6. keeps the manifest (per chain: first and last event; counts; the file's SHA-256),
     signed with HMAC-SHA256 under ISG_CHECKPOINT_KEY, as an AuditArchive row, and records an
     "audit.archived" event naming its digest.

Nothing is deleted: the rows stay in the database, read-only, and in the file. Verification
(`verify_audit`) starts each chain where its archived part ends, after checking the manifests'
signatures; records whose submission events were archived are checked against the archive
(decisions.audit.archived reads manifests and archived events).
"""

from __future__ import annotations

import getpass
import gzip
import hashlib
import os
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from decisions.audit.actions import AuditAction
from decisions.audit.archived import chain_starts, manifest_digest, manifest_signature
from decisions.audit.canonical import GENESIS_HASH, LEGACY_CHAIN, chain_genesis
from decisions.audit.checkpoints import checkpoint_key
from decisions.audit.partitions import (
    ARCHIVE_SCHEMA,
    DEFAULT,
    PARENT,
    is_partitioned,
    month_of,
    next_month,
    partition_name,
    partitions,
)
from decisions.audit.record import record_event
from decisions.audit.walk import Head, walk
from decisions.models import AuditArchive, AuditChain, LegalHold

MANIFEST_VERSION = 1
DETACH_LOCK_TIMEOUT = "5s"


class ArchiveRefused(RuntimeError):
    """The month was not archived; the message says why and what to do."""


def _held_organisations(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT o.name FROM decisions_organisation o WHERE EXISTS (SELECT 1 FROM "  # noqa: S608
            f"decisions_legalhold h WHERE h.organisation_id = o.id AND h.released_at IS NULL) "
            f"AND EXISTS (SELECT 1 FROM {table} e WHERE e.organisation_id = o.id) ORDER BY o.name"
        )
        return [name for (name,) in cursor.fetchall()]


def oldest_month() -> date | None:
    months = [p.month for p in partitions() if p.month is not None]
    return min(months) if months else None


def archive_cutoff(today: date | None = None) -> date:
    """The first month that is too recent to archive."""
    month = month_of(today or timezone.now().date())
    for _ in range(settings.ISG_AUDIT_ARCHIVE_AFTER_MONTHS):
        month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    return month


def _refusal(month: date, today: date | None) -> str:
    """Why `month` may not be archived now, or "" if it may."""
    if not is_partitioned():
        return "the audit log is not partitioned (archiving needs PostgreSQL, migration 0014)"
    live = {p.month for p in partitions() if p.month is not None}
    if month not in live:
        if AuditArchive.objects.filter(month=month).exists():
            return f"{month:%B %Y} is already archived"
        return f"{month:%B %Y} has no partition"
    if month >= archive_cutoff(today):
        return (
            f"{month:%B %Y} is too recent: months are archived once they are "
            f"{settings.ISG_AUDIT_ARCHIVE_AFTER_MONTHS} months old (ISG_AUDIT_ARCHIVE_AFTER_MONTHS)"
        )
    if min(live) != month:
        return f"archive {min(live):%B %Y} first: months are archived oldest first"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {DEFAULT} WHERE created_at < %s",  # noqa: S608
            [f"{next_month(month).isoformat()} 00:00:00+00"],
        )
        if cursor.fetchone()[0]:
            return (
                f"events of {month:%B %Y} or earlier are in the default partition: they would be "
                "left behind (docs/scaling.md, 'The audit table')"
            )
    held = _held_organisations(partition_name(month))
    if held:
        return f"under a legal hold, with events in {month:%B %Y}: {', '.join(held)}"
    return ""


def _segment_walk(table: str) -> tuple[dict[str, Any], int]:
    """Walk every chain in one month's partition (still attached: its rows no longer change);
    the manifest's chains and the month's event count."""
    starts = chain_starts()
    legacy = AuditChain.objects.filter(key=LEGACY_CHAIN).values_list("hash", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT chain, min(COALESCE(position, sequence)), max(COALESCE(position, sequence)), "  # noqa: S608
            f"count(*) FROM {table} GROUP BY chain ORDER BY chain"
        )
        chains = cursor.fetchall()
    manifest: dict[str, Any] = {}
    total = 0
    for key, first, last, count in chains:
        before = starts.get(key)
        if before is None:
            genesis = (
                GENESIS_HASH if key == LEGACY_CHAIN else chain_genesis(key, legacy or GENESIS_HASH)
            )
            start = None
        else:
            genesis = before["hash"]
            start = Head(before["position"], before["hash"])
        expected_first = (start.position if start else 0) + 1
        if first != expected_first and key != LEGACY_CHAIN:
            raise ArchiveRefused(
                f"chain {key} does not continue from what was archived before (it starts at "
                f"{first}, not {expected_first}): run manage.py verify_audit"
            )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT hash FROM {table} WHERE chain = %s AND COALESCE(position, sequence) = %s",  # noqa: S608
                [key, last],
            )
            (last_hash,) = cursor.fetchone()
        result = walk(key, Head(last, last_hash), genesis, table=table, start=start)
        if not result.ok or result.checked != count:
            raise ArchiveRefused(
                f"chain {key} does not verify in this month ({result.problem or 'gaps'}): "
                "nothing was archived; run manage.py verify_audit"
            )
        manifest[key] = {
            "first": _event(table, key, first),
            "last": _event(table, key, last),
            "events": count,
        }
        total += count
    return manifest, total


def _event(table: str, key: str, place: int) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(position, sequence), sequence, previous_hash, hash, created_at "  # noqa: S608
            f"FROM {table} WHERE chain = %s AND COALESCE(position, sequence) = %s",
            [key, place],
        )
        position, sequence, previous_hash, hash_, created_at = cursor.fetchone()
    return {
        "position": position,
        "sequence": sequence,
        "previous_hash": previous_hash,
        "hash": hash_,
        "created_at": created_at.isoformat(),
    }


def _export(table: str, directory: Path, month: date) -> tuple[Path, Path, str]:
    """The month's rows as gzip'd JSON lines in sequence order: (temporary path, final path,
    SHA-256)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = directory / f"audit-{month:%Y-%m}.jsonl.gz"
    if final.exists():
        raise ArchiveRefused(f"{final} exists already: move it away or choose another folder")
    temporary = final.with_suffix(".partial")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    cursor = connection.chunked_cursor()
    cursor.cursor.itersize = 5000
    with os.fdopen(descriptor, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        cursor.execute(f"SELECT row_to_json(e)::text FROM {table} e ORDER BY sequence")  # noqa: S608
        while rows := cursor.fetchmany(5000):
            out.write("".join(f"{line}\n" for (line,) in rows).encode())
        cursor.close()
    with open(temporary, "rb") as written:
        digest = hashlib.file_digest(written, "sha256").hexdigest()
        os.fsync(written.fileno())
    return temporary, final, digest


_READ_ONLY = f"""
CREATE OR REPLACE FUNCTION {ARCHIVE_SCHEMA}.refuse_change() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN RAISE EXCEPTION 'archived audit events cannot be changed (%)', TG_TABLE_NAME; END $$
"""


def _move_to_archive(name: str) -> str:
    """Into the archive schema, read-only; whoever may read the live log may read it there
    (records sealed in the month are checked against it from the web pages)."""
    target = f"{ARCHIVE_SCHEMA}.{name}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {ARCHIVE_SCHEMA}")
        cursor.execute(f"REVOKE ALL ON SCHEMA {ARCHIVE_SCHEMA} FROM PUBLIC")
        cursor.execute(_READ_ONLY)
        cursor.execute(f"ALTER TABLE {name} SET SCHEMA {ARCHIVE_SCHEMA}")
        cursor.execute(
            "SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text "
            "END FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = to_regclass(%s) "
            "AND a.privilege_type = 'SELECT' AND a.grantee <> c.relowner",
            [PARENT],
        )
        for (reader,) in cursor.fetchall():
            cursor.execute(f"GRANT USAGE ON SCHEMA {ARCHIVE_SCHEMA} TO {reader}")
            cursor.execute(f"GRANT SELECT ON {target} TO {reader}")
        cursor.execute(
            f"CREATE TRIGGER archived_read_only BEFORE INSERT OR UPDATE OR DELETE ON {target} "
            f"FOR EACH ROW EXECUTE FUNCTION {ARCHIVE_SCHEMA}.refuse_change()"
        )
        cursor.execute(
            f"CREATE TRIGGER archived_no_truncate BEFORE TRUNCATE ON {target} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {ARCHIVE_SCHEMA}.refuse_change()"
        )
    return target


def _detach_and_keep(
    month: date, chains: dict[str, Any], events: int,
    files: tuple[Path | None, Path | None], file_digest: str, today: date | None,
) -> AuditArchive:  # fmt: skip
    """The short part, in one transaction: check again, detach, move, keep the manifest;
    the file gets its final name last, before the commit (a file whose row is missing is
    found by the next run; a row whose file is missing could not be)."""
    name = partition_name(month)
    temporary, file = files
    with transaction.atomic():
        with connection.cursor() as cursor:
            # No hold can be placed or released until this transaction ends.
            cursor.execute(f"LOCK TABLE {LegalHold._meta.db_table} IN SHARE MODE")
        if problem := _refusal(month, today):
            raise ArchiveRefused(problem)
        with connection.cursor() as cursor:
            # Detaching locks the whole audit table: wait a few seconds for the readers and
            # writers ahead (a long verification, an export), never queue everyone behind it.
            cursor.execute(f"SET LOCAL lock_timeout = '{DETACH_LOCK_TIMEOUT}'")
            try:
                with transaction.atomic():
                    cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {name}")
            except OperationalError as exc:
                raise ArchiveRefused(
                    "the audit table was busy (a long read or write held it): nothing was "
                    "archived; run the command again at a quieter time"
                ) from exc
            cursor.execute("SET LOCAL lock_timeout = 0")
            cursor.execute(f"SELECT count(*) FROM {name}")  # noqa: S608
            if cursor.fetchone()[0] != events:
                raise ArchiveRefused(f"events were added to {month:%B %Y} while it was checked")
            cursor.execute(
                f"SELECT count(*) FROM {name} WHERE action = %s AND details ? %s",  # noqa: S608
                [str(AuditAction.DECISION_SUBMITTED), "record_digest"],
            )
            sealed = cursor.fetchone()[0]
        table = _move_to_archive(name)
        previous = AuditArchive.objects.order_by("-month").first()
        manifest = {
            "version": MANIFEST_VERSION,
            "month": f"{month:%Y-%m}",
            "from": f"{month.isoformat()}T00:00:00+00:00",
            "to": f"{next_month(month).isoformat()}T00:00:00+00:00",
            "table": table,
            "events": events,
            "sealed_submissions": sealed,
            "chains": chains,
            "file": file.name if file else "",
            "file_sha256": file_digest,
            "previous_manifest": manifest_digest(previous.manifest) if previous else "",
            "archived_at": timezone.now().isoformat(),
        }
        archive = AuditArchive.objects.create(
            month=month,
            archived_at=timezone.now(),
            by=getpass.getuser(),
            table=table,
            events=events,
            file=str(file) if file else "",
            file_sha256=file_digest,
            manifest=manifest,
            signature=manifest_signature(manifest),
        )
        record_event(
            AuditAction.AUDIT_ARCHIVED,
            actor=None,
            object_kind="auditarchive",
            object_id=f"{month:%Y-%m}",
            details={
                "month": f"{month:%Y-%m}",
                "events": events,
                "table": table,
                "manifest_sha256": manifest_digest(manifest),
                "file_sha256": file_digest,
            },
        )
        if temporary is not None and file is not None:
            temporary.rename(file)
            folder = os.open(file.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
    return archive


def archive_month(
    month: date, *, directory: Path | None = None, today: date | None = None
) -> AuditArchive:
    """Archive one month (the oldest live one, old enough, with no legal hold).

    The slow parts (walking the month's chains, writing the file) read the partition while it
    is still attached: its rows cannot change (append-only, and appends only go forward in
    time), which the short transaction that detaches it checks by counting them again."""
    month = month_of(month)
    checkpoint_key()  # no key, no signed manifest: refuse before touching anything
    if problem := _refusal(month, today):
        raise ArchiveRefused(problem)
    name = partition_name(month)
    chains, events = _segment_walk(name)
    temporary = final = None
    file_digest = ""
    try:
        if directory is not None:
            temporary, final, file_digest = _export(name, directory, month)
        archive = _detach_and_keep(month, chains, events, (temporary, final), file_digest, today)
    except BaseException:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise
    return archive
