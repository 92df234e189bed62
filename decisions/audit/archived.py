"""Reading the archived months of the audit log: their signed manifests, and the events kept
in them that verification still needs (decisions.audit.archive writes them).

A manifest is signed with HMAC-SHA256 under ISG_CHECKPOINT_KEY over its canonical JSON.
`check_manifests` checks each signature, that each names the one before it and the months run
on without a gap, and that every chain follows on from month to month; `chain_starts` says
where each chain's live part must continue. Checkpoints, records and printed-record codes
that name events of archived months find them through `archived_places` and
`archived_submissions`, in tables whose names are checked before they go into SQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from decisions.audit.actions import AuditAction
from decisions.audit.canonical import LEGACY_CHAIN
from decisions.audit.checkpoints import checkpoint_key
from decisions.audit.partitions import ARCHIVE_SCHEMA, next_month
from decisions.models import AuditArchive, AuditEvent


def _canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def manifest_signature(manifest: dict[str, Any]) -> str:
    return hmac.new(checkpoint_key(), _canonical(manifest), hashlib.sha256).hexdigest()


def manifest_digest(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(manifest)).hexdigest()


def chain_starts(archives: list[AuditArchive] | None = None) -> dict[str, dict[str, Any]]:
    """Per chain, the last archived event: where its live part must continue."""
    starts: dict[str, dict[str, Any]] = {}
    for archive in archives if archives is not None else AuditArchive.objects.order_by("month"):
        for key, chain in archive.manifest["chains"].items():
            starts[key] = chain["last"]
    return starts


def check_manifests(archives: list[AuditArchive] | None = None) -> tuple[int, str]:
    """(archives checked, the first problem): each manifest's signature, each naming the one
    before it, the months in a row, and each chain following on from month to month."""
    if archives is None:
        archives = list(AuditArchive.objects.order_by("month"))
    if not archives:
        return 0, ""
    try:
        key = checkpoint_key()
    except ImproperlyConfigured:
        return 0, (
            "archived months cannot be checked without ISG_CHECKPOINT_KEY, which signed their "
            "manifests: set it where the log is verified"
        )
    starts: dict[str, dict[str, Any]] = {}
    previous: AuditArchive | None = None
    for count, archive in enumerate(archives):
        month = f"{archive.month:%Y-%m}"
        signature = hmac.new(key, _canonical(archive.manifest), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, archive.signature):
            return count, f"the manifest of the archived month {month} does not match its " \
                "signature: it was changed after it was signed"  # fmt: skip
        named = archive.manifest.get("previous_manifest", "")
        if (previous is None and named) or (
            previous is not None
            and (
                named != manifest_digest(previous.manifest)
                or archive.month != next_month(previous.month)
            )
        ):
            return count, f"the archived month {month} does not follow the month archived " \
                "before it: an archived month is missing or was replaced"  # fmt: skip
        for chain_key_, chain in archive.manifest["chains"].items():
            before = starts.get(chain_key_)
            if before and (
                chain["first"]["previous_hash"] != before["hash"]
                or chain["first"]["position"] != before["position"] + 1
            ):
                return count, f"the archived month {month} does not follow on from the month " \
                    f"archived before it in chain {chain_key_}"  # fmt: skip
            starts[chain_key_] = chain["last"]
        previous = archive
    return len(archives), ""


_ARCHIVED_TABLE = re.compile(rf"^{ARCHIVE_SCHEMA}\.decisions_auditevent_y\d{{4}}m\d{{2}}$")


def _archived_tables() -> list[str]:
    """The archived months' tables, each name checked before it goes into SQL."""
    tables = list(AuditArchive.objects.order_by("month").values_list("table", flat=True))
    return [table for table in tables if _ARCHIVED_TABLE.match(table)]


def archived_places(key: str, places: set[int]) -> dict[tuple[str, int], tuple[int, str]]:
    """(chain, place) -> (sequence, hash) of archived events (a checkpoint may name them)."""
    tables = _archived_tables()
    if not tables:
        return {}
    place = "sequence" if key == LEGACY_CHAIN else "position"
    select = " UNION ALL ".join(
        f"SELECT {place}, sequence, hash FROM {table} WHERE chain = %s AND {place} = ANY(%s)"  # noqa: S608
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(select, [key, sorted(places)] * len(tables))
        return {(key, at): (sequence, hash_) for at, sequence, hash_ in cursor.fetchall()}


def archived_submissions(
    *, object_ids: list[str] | None = None, digest_prefix: str | None = None
) -> list[AuditEvent]:
    """Submission events kept in archived months for these records, or whose record digest
    starts with `digest_prefix` (AuditEvent instances read from the archive tables)."""
    tables = _archived_tables()
    if not tables:
        return []
    clauses, params = ["action = %s"], [str(AuditAction.DECISION_SUBMITTED)]
    if object_ids is not None:
        clauses.append("object_id = ANY(%s)")
        params.append(object_ids)  # type: ignore[arg-type]
    if digest_prefix is not None:
        clauses.append("details->>'record_digest' LIKE %s")
        params.append(digest_prefix.replace("%", "").replace("_", "") + "%")
    select = " UNION ALL ".join(
        f"SELECT * FROM {table} WHERE {' AND '.join(clauses)}"  # noqa: S608 - checked names
        for table in tables
    )
    return list(AuditEvent.objects.raw(f"{select} ORDER BY sequence", params * len(tables)))
