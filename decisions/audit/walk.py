"""Walking one hash chain fast: raw rows, canonical bytes without the ORM, SHA-256.

`verify_chain` (decisions.audit.verify) runs one walk per chain, in parallel processes when
the log is large and cores allow. A walk reads its chain through a server-side cursor (on
PostgreSQL) in position order, with the time already formatted by the database, and builds
each event's canonical bytes by joining strings in the key order `json.dumps(sort_keys=True)`
would use: the same bytes as decisions.audit.record.canonical_body, which a test checks on
random events, at a fraction of the cost of building dicts and re-serialising them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring  # the string encoder of ensure_ascii=False
from typing import Any

from django.db import connections

from decisions.audit.canonical import LEGACY_CHAIN

_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_decode = json.JSONDecoder().decode

# Column order of the rows a walk reads (the times as ISO 8601 text, UTC, microseconds).
_SELECT = (
    "sequence, {time}, actor_id, actor_email, organisation_id, role, action, object_kind, "
    "object_id, reference, ip_address, user_agent, request_id, {details}, previous_hash, hash, "
    "position"
)
_PG_TIME = "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"


def _str(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _int(value: int | None) -> str:
    return "null" if value is None else str(value)


def _details(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        if value == "{}":
            return value
        value = _decode(value)
    return _encode(value)


def canonical_row(row: tuple[Any, ...], chain: str) -> bytes:
    """The canonical bytes of an event read as a walk row (see _SELECT)."""
    (sequence, created, actor, email, organisation, role, action, object_kind) = row[:8]
    (object_id, reference, ip_address, user_agent, request_id, details, previous_hash) = row[8:15]
    position = row[16]
    if chain == LEGACY_CHAIN:
        chained = ""
        at = ""
    else:
        chained = f'"chain":{encode_basestring(chain)},'
        at = f'"position":{_int(position)},'
    return (
        f'{{"action":{_str(action)},"actor":{_int(actor)},"actor_email":{_str(email)},'
        f'{chained}"created_at":{_str(created)},"details":{_details(details)},'
        f'"ip_address":{_str(ip_address)},"object_id":{_str(object_id)},'
        f'"object_kind":{_str(object_kind)},"organisation":{_int(organisation)},{at}'
        f'"previous_hash":{_str(previous_hash)},"reference":{_str(reference)},'
        f'"request_id":{_str(request_id)},"role":{_str(role)},"sequence":{sequence},'
        f'"user_agent":{_str(user_agent)}}}'
    ).encode()


def _sqlite_time(value: datetime | str) -> str:
    # Django keeps aware times in SQLite as naive UTC (its connection parses them back).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Head:
    position: int
    hash: str


@dataclass(frozen=True)
class ChainWalk:
    """One chain walked: intact up to `last_position`, or broken at an event and why."""

    key: str
    ok: bool
    checked: int
    last_position: int
    last_hash: str  # the hash of the last event that verified (the genesis if none did)
    newest_sequence: int = 0  # the highest sequence number among the verified events
    newest_hash: str = ""
    broken_sequence: int | None = None
    problem: str = ""


def _pg_parts(key: str) -> str:
    """SQL that builds an event's canonical text around its details, JSON-escaped by the
    database (to_json escapes strings as json.dumps(ensure_ascii=False) does; a test checks)."""
    chained = key != LEGACY_CHAIN

    def text(column: str) -> str:
        return f"',\"{column}\":' || to_json({column})::text"

    def number(column: str, name: str | None = None) -> str:
        return f"',\"{name or column}\":' || COALESCE({column}::text, 'null')"

    head = [
        "'{\"action\":' || to_json(action)::text",
        number("actor_id", "actor"),
        text("actor_email"),
        *([text("chain")] if chained else []),
        f'\',"created_at":"\' || {_PG_TIME} || \'","details":\'',
    ]
    tail = [
        "',\"ip_address\":' || COALESCE(to_json(ip_address)::text, 'null')",
        text("object_id"),
        text("object_kind"),
        number("organisation_id", "organisation"),
        *([number("position")] if chained else []),
        text("previous_hash"),
        text("reference"),
        text("request_id"),
        text("role"),
        number("sequence"),
        text("user_agent"),
        "'}'",
    ]
    return f"{' || '.join(head)}, details::text, {' || '.join(tail)}"


def _rows(
    key: str, head: Head | None, using: str, chunk_size: int, table: str = "decisions_auditevent"
) -> Iterable[tuple]:
    """(sequence, time, previous hash, hash, position, text before the details, the details
    as JSON text or None when already in the text, text after them), in chain order."""
    connection = connections[using]
    postgres = connection.vendor == "postgresql"
    order = "sequence" if key == LEGACY_CHAIN else "position"
    if postgres:
        columns = f"sequence, {_PG_TIME}, previous_hash, hash, position, {_pg_parts(key)}"
    else:
        columns = _SELECT.format(time="created_at", details="details")
    sql = f"SELECT {columns} FROM {table} WHERE chain = %s"  # noqa: S608
    params: list[Any] = [key]
    if head is not None:
        sql += f" AND {order} <= %s"
        params.append(head.position)
    sql += f" ORDER BY {order}"
    cursor = connection.chunked_cursor() if postgres else connection.cursor()
    if postgres:
        cursor.cursor.itersize = chunk_size
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(chunk_size):
            if postgres:
                yield from batch
                continue
            for raw in batch:
                row = (raw[0], _sqlite_time(raw[1]), *raw[2:])
                text = canonical_row(row, key).decode()
                yield (row[0], row[1], row[14], row[15], row[16], text, None, "")
    finally:
        cursor.close()


def _place(key: str, position: int) -> str:
    return f"#{position}" if key == LEGACY_CHAIN else f"{position} of chain {key}"


def walk(  # noqa: C901 - one loop, one check per kind of damage, in the order they are named
    key: str,
    head: Head | None,
    genesis: str,
    *,
    using: str = "default",
    chunk_size: int = 5000,
    start: Head | None = None,
    table: str = "decisions_auditevent",
) -> ChainWalk:
    """Walk chain `key` up to its head (all of it when the head row is missing).

    `start`: the chain's last archived event (decisions.audit.archive), after which its live
    part continues; `table`: another table to walk (an archived month)."""
    legacy = key == LEGACY_CHAIN
    expected, previous, checked = 1, genesis, 0
    if start is not None:
        expected, previous = start.position + 1, start.hash
    previous_time = ""
    previous_sequence: int | None = None
    newest_sequence, newest_hash = 0, ""
    sha256 = hashlib.sha256
    for sequence, created, previous_hash, stored_hash, position_, before, details, after in _rows(
        key, head, using, chunk_size, table
    ):
        position = sequence if legacy else position_
        problem = ""
        broken = sequence
        if position != expected:
            if legacy:
                problem = f"gap: event #{expected} is missing (the next event is #{sequence})"
                broken = expected
            else:
                problem = (
                    f"gap: event {expected} of chain {key} is missing (the next event is "
                    f"#{sequence}, event {position} of the chain)"
                )
        elif previous_hash != previous:
            if previous_sequence is not None:
                before = f"the hash of event #{previous_sequence}"
            elif start is not None:
                before = f"the last archived event of chain {key}"
            else:
                before = f"the genesis of chain {key}"
            problem = f"wrong predecessor: its previous hash does not match {before}"
        elif (
            sha256(
                (before if details is None else f"{before}{_details(details)}{after}").encode()
            ).hexdigest()
            != stored_hash
        ):
            problem = "hash mismatch: its contents are not what was written"
        elif created < previous_time:
            problem = f"out of order: its time is earlier than event #{previous_sequence}'s"
        if problem:
            return ChainWalk(
                key, False, checked, expected - 1, previous, newest_sequence, newest_hash,
                broken, problem,
            )  # fmt: skip
        previous, expected, checked = stored_hash, expected + 1, checked + 1
        previous_time, previous_sequence = created, sequence
        if sequence > newest_sequence:
            newest_sequence, newest_hash = sequence, stored_hash
    last = expected - 1

    def broken_at(sequence: int | None, problem: str) -> ChainWalk:
        return ChainWalk(
            key, False, checked, last, previous, newest_sequence, newest_hash, sequence, problem
        )

    if head is None and checked:
        where = "the chain-head row is missing" if legacy else f"chain {key} has no head row"
        return broken_at(previous_sequence, where)
    if head is not None and head.position > last:
        return broken_at(
            last + 1 if legacy else None,
            f"events {_place(key, last + 1)} to {_place(key, head.position)} are missing: "
            "the log was cut short",
        )
    if head is not None and head.hash != previous:
        name = "the chain head" if legacy else f"the head of chain {key}"
        target = f"event #{previous_sequence}" if previous_sequence else "its genesis"
        return broken_at(
            previous_sequence, f"{name} does not match {target}: the newest events were changed"
        )
    return ChainWalk(key, True, checked, last, previous, newest_sequence, newest_hash)
