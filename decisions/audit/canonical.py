"""An audit event's canonical form: the exact bytes its hash is taken of, the chains' genesis
hashes, and the same text split around the four values PostgreSQL fills in when it appends
(decisions.audit.record). The verifier (decisions.audit.walk, verify) reads this module too, so
writer and checker cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring  # json.dumps' own, ensure_ascii=False
from typing import Any

from decisions.models import AuditEvent

# What the legacy chain's first event follows; with no legacy events, what the genesis of every
# chain commits to.
GENESIS_HASH = "0" * 64
LEGACY_CHAIN = "legacy"
PLATFORM_CHAIN = "platform"

# The columns that are hashed, in the order `verify_chain` reads them.
HASHED_FIELDS = (
    "sequence",
    "created_at",
    "actor_id",
    "actor_email",
    "organisation_id",
    "role",
    "action",
    "object_kind",
    "object_id",
    "reference",
    "ip_address",
    "user_agent",
    "request_id",
    "details",
    "previous_hash",
)
# Hashed too, except in legacy events.
CHAIN_FIELDS = ("chain", "position")


def chain_key(organisation_id: int | None) -> str:
    """The chain an event of this organisation (or of none) belongs to."""
    return f"org-{organisation_id}" if organisation_id is not None else PLATFORM_CHAIN


def chain_genesis(key: str, legacy_hash: str) -> str:
    """The hash a chain's first event follows: its key and the legacy head, committed to."""
    return hashlib.sha256(f"isg-audit-chain\x00{key}\x00{legacy_hash}".encode()).hexdigest()


def canonical_body(values: Mapping[str, Any]) -> bytes:
    """The hashed bytes: sorted compact JSON of HASHED_FIELDS, plus `chain` and `position`
    for events of the per-organisation chains (legacy events were hashed without them)."""
    body = dict(values)
    if body.get("chain", LEGACY_CHAIN) == LEGACY_CHAIN:
        body.pop("chain", None)
        body.pop("position", None)
    created_at: datetime = body["created_at"]
    # Microseconds: the precision both PostgreSQL and SQLite store, so the text round-trips.
    body["created_at"] = created_at.astimezone(UTC).isoformat(timespec="microseconds")
    body["actor"] = body.pop("actor_id")
    body["organisation"] = body.pop("organisation_id")
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical(event: AuditEvent) -> bytes:
    """The exact bytes hashed for an event; must round-trip through the database unchanged."""
    return canonical_body({name: getattr(event, name) for name in (*HASHED_FIELDS, *CHAIN_FIELDS)})


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def canonical_parts(event: AuditEvent) -> dict[str, str]:
    """The event's canonical text around its time, position, previous hash and sequence."""
    s = encode_basestring

    def n(value: int | None) -> str:
        return "null" if value is None else str(value)

    details = json.dumps(event.details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    ip = "null" if event.ip_address is None else s(event.ip_address)
    return {
        "a": f'{{"action":{s(event.action)},"actor":{n(event.actor_id)},'
        f'"actor_email":{s(event.actor_email)},"chain":{s(event.chain)},"created_at":"',
        "b": f'","details":{details},"ip_address":{ip},"object_id":{s(event.object_id)},'
        f'"object_kind":{s(event.object_kind)},"organisation":{n(event.organisation_id)},'
        '"position":',
        "c": ',"previous_hash":"',
        "d": f'","reference":{s(event.reference)},"request_id":{s(event.request_id)},'
        f'"role":{s(event.role)},"sequence":',
        "e": f',"user_agent":{s(event.user_agent)}}}',
    }
