"""Writing the append-only, hash-chained audit log: the one place where events are appended.

Every service calls `record_event` inside its own transaction, so a change that rolls back
leaves no event and a committed change always has one. Each organisation's events form a hash
chain of their own ("org-<id>"), events without an organisation a "platform" chain, so
organisations never wait for each other. Within a chain, appends are serialised by the chain's
head row (decisions.models.AuditChain): an append updates it, and the row lock (PostgreSQL) or
the write lock (SQLite) is held until the writer's transaction ends, so positions in a chain
have no gaps and the chain cannot fork.

The lock is taken as late as possible: everything about the event is prepared first, then on
PostgreSQL one statement locks the head, checks nothing lies past it, draws the global sequence
number, hashes and inserts the event and moves the head on. Services call `record_event` last
in their transactions, so the lock is held for that statement and the commit.

Each event stores the SHA-256 of its canonical serialisation, which includes its chain, its
position and the previous event's hash in the chain; its time is never earlier than that
event's. A chain's first event follows a genesis hash that commits to the head of the single
chain written before chains were split ("legacy", docs/security-database.md). `verify_chain`
walks every chain and names the first event that is missing, altered or out of place.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from decisions.audit.actions import AuditAction
from decisions.audit.canonical import (
    GENESIS_HASH,
    HASHED_FIELDS,
    LEGACY_CHAIN,
    canonical_parts,
    chain_genesis,
    chain_key,
    event_hash,
)
from decisions.models import AuditChain, AuditEvent, Organisation, User


@dataclass(frozen=True)
class RequestMeta:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""


# Set by decisions.audit.middleware.RequestIdMiddleware for the length of each request.
# RequestMeta is frozen, so sharing one default instance is safe.
current_request: ContextVar[RequestMeta] = ContextVar(
    "current_request",
    default=RequestMeta(),  # noqa: B039
)


def _text(value: str, limit: int | None = None) -> str:
    # PostgreSQL refuses NUL characters in text; a header or parameter could carry one.
    value = value.replace("\x00", "")
    return value[:limit] if limit else value


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_text(key): _without_nul(item) for key, item in value.items()}
    return value


def _clean_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Details as the database will give them back: plain JSON types, no NUL characters."""
    if not details:
        return {}
    return _without_nul(json.loads(json.dumps(details, cls=DjangoJSONEncoder)))


def _clean_ip(value: str | None) -> str | None:
    """An address in the form the database returns it, or None if it is not one.

    IPv4-mapped IPv6 addresses are stored as IPv4. Other addresses inside ::/96 are dropped:
    PostgreSQL prints some of them with an embedded IPv4 part that Python does not, so their
    hash would not verify.
    """
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if int(address) < 2**32 and int(address) > 1:
            return None
    return str(address)


def _object_identity(obj: Any) -> tuple[str, str]:
    if obj is None:
        return "", ""
    identity = getattr(obj, "public_id", None) or getattr(obj, "pk", None) or ""
    return type(obj).__name__.lower(), str(identity)


class AuditChainBroken(RuntimeError):
    """A chain has rows past its head, which ISG never writes: appending would fork it."""


def _broken_past_head(key: str, using: str) -> AuditChainBroken:
    head = AuditChain.objects.using(using).get(key=key)
    first = (
        AuditEvent.objects.using(using)
        .filter(chain=key, position__gt=head.position)
        .order_by("position")
        .values_list("sequence", flat=True)
        .first()
    )
    # Events are only ever written with their head update, in one transaction, so a row past
    # the head was put there by someone else. Appending after it would hide it; writing at its
    # place would fail with a bare IntegrityError. Stop, and say why.
    return AuditChainBroken(
        f"the audit chain {key} has rows past its head (event #{first} and later, head at "
        f"position {head.position}): nothing can be recorded until they are explained; "
        "run manage.py verify_audit"
    )


def _create_head(key: str, using: str) -> None:
    """A chain's first append: its head starts at the genesis (no lock needed to create it)."""
    legacy = AuditChain.objects.using(using).filter(key=LEGACY_CHAIN).first()
    genesis = AuditChain(
        key=key,
        position=0,
        hash=chain_genesis(key, legacy.hash if legacy else GENESIS_HASH),
        created_at=legacy.created_at if legacy else None,
    )
    # Two first appends at once: one row wins, the other writer then advances it.
    AuditChain.objects.using(using).bulk_create([genesis], ignore_conflicts=True)


# PostgreSQL: one statement locks the chain's head row (FOR UPDATE), checks nothing lies past
# it (a forged row), draws the global sequence number, hashes the event, inserts it and moves
# the head on. The lock is held for that statement and the commit only. The database hashes
# the canonical text that Python prepared around the four values it fills in (time, position,
# previous hash, sequence number): the very bytes `canonical` gives (tests compare the stored
# hash with event_hash of the stored row).
# The hashed columns passed as they are; the database fills in the other four, and the details
# go as JSON text.
_STORED = tuple(
    name
    for name in HASHED_FIELDS
    if name not in {"sequence", "created_at", "details", "previous_hash"}
)
_APPEND = """
WITH head AS (
    SELECT position, hash, created_at FROM decisions_auditchain WHERE key = %(key)s FOR UPDATE
), v AS (
    SELECT nextval('decisions_auditevent_sequence_seq') AS sequence,
           head.position + 1 AS position, head.hash AS previous_hash,
           GREATEST(head.created_at, %(now)s) AS created_at
    FROM head
    WHERE NOT EXISTS (
        SELECT 1 FROM decisions_auditevent e
        WHERE e.chain = %(key)s AND e.position > head.position AND e.created_at >= %(floor)s
    )
), h AS (
    SELECT v.*, encode(sha256(convert_to(
        %(a)s || to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
        || %(b)s || v.position::text || %(c)s || v.previous_hash || %(d)s
        || v.sequence::text || %(e)s, 'UTF8')), 'hex') AS hash
    FROM v
), ins AS (
    INSERT INTO decisions_auditevent (
        sequence, created_at, previous_hash, hash, chain, position, actor_id, actor_email,
        organisation_id, role, action, object_kind, object_id, reference, ip_address,
        user_agent, request_id, details
    )
    SELECT h.sequence, h.created_at, h.previous_hash, h.hash, %(key)s, h.position,
           %(actor_id)s, %(actor_email)s, %(organisation_id)s, %(role)s, %(action)s,
           %(object_kind)s, %(object_id)s, %(reference)s, %(ip_address)s, %(user_agent)s,
           %(request_id)s, %(details)s::jsonb
    FROM h
    RETURNING id
), upd AS (
    UPDATE decisions_auditchain
    SET position = h.position, hash = h.hash, created_at = h.created_at
    FROM h WHERE key = %(key)s
)
SELECT h.sequence, h.position, h.previous_hash, h.created_at, h.hash, (SELECT id FROM ins)
FROM h
"""


def _probe_floor(now: datetime) -> datetime:
    """The check for rows past the head looks from the start of last month on: a constant, so
    PostgreSQL plans it over those months' partitions only, not every month's (planning all
    of them cost more than the append). A row planted further back, at a place past the head,
    is still found by verify_audit, which walks every chain by position (a fork)."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (start - timedelta(days=1)).replace(day=1)


def _append_postgresql(event: AuditEvent, using: str) -> AuditChainBroken | None:
    key = event.chain
    params = {
        **canonical_parts(event),
        **{name: getattr(event, name) for name in _STORED},
        "details": json.dumps(event.details),
        "key": key,
        "now": event.created_at,
        "floor": _probe_floor(event.created_at),
    }
    with connections[using].cursor() as cursor:
        cursor.execute(_APPEND, params)
        row = cursor.fetchone()
        if row is None:
            if AuditChain.objects.using(using).filter(key=key).exists():
                return _broken_past_head(key, using)
            _create_head(key, using)
            cursor.execute(_APPEND, params)
            row = cursor.fetchone()
            if row is None:
                return _broken_past_head(key, using)
    event.sequence, event.position, event.previous_hash, event.created_at, event.hash, event.pk = (
        row
    )
    event._state.adding, event._state.db = False, using
    return None


def _append_orm(event: AuditEvent, using: str) -> AuditChainBroken | None:
    """Other databases (SQLite, which serialises writers with its single write lock)."""
    key = event.chain
    place = (
        AuditChain.objects.using(using)
        .filter(key=key)
        .annotate(
            newest=Subquery(
                AuditEvent.objects.using(using).order_by("-sequence").values("sequence")[:1]
            ),
            forged=Exists(
                AuditEvent.objects.using(using).filter(chain=key, position__gt=OuterRef("position"))
            ),
        )
        .first()
    )
    if place is None:
        _create_head(key, using)
        return _append_orm(event, using)
    if place.forged:
        return _broken_past_head(key, using)
    event.sequence = (place.newest or 0) + 1
    event.position, event.previous_hash = place.position + 1, place.hash
    if place.created_at:
        event.created_at = max(event.created_at, place.created_at)
    event.hash = event_hash(event)
    event.save(using=using)
    AuditChain.objects.using(using).filter(key=key).update(
        position=event.position, hash=event.hash, created_at=event.created_at
    )
    return None


def record_event(
    action: AuditAction | str,
    *,
    actor: User | None,
    obj: Any = None,
    reference: str = "",
    details: Mapping[str, Any] | None = None,
    actor_email: str = "",
    organisation: Organisation | None = None,
    object_kind: str | None = None,
    object_id: str | None = None,
) -> AuditEvent:
    """Append one event. Call inside the transaction of the change it describes, last.

    Raises AuditChainBroken (so the change rolls back and the request fails with a 500) when
    rows have been put past the chain head behind the app's back.

    `organisation` is for events without a signed-in actor (a failed sign-in for a known
    account); `object_kind`/`object_id` name an object that could not be loaded (a refusal).
    """
    meta = current_request.get()
    authenticated = actor is not None and actor.is_authenticated
    kind, identity = _object_identity(obj)
    organisation_id = actor.organisation_id if authenticated else getattr(organisation, "pk", None)
    # Everything but the chain's place is prepared before any lock is taken.
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor if authenticated else None,
        actor_email=_text(actor.email if authenticated else actor_email, 254),
        organisation_id=organisation_id,
        role=actor.role if authenticated else "",
        action=str(action),
        object_kind=_text(object_kind if object_kind is not None else kind, 40),
        object_id=_text(object_id if object_id is not None else identity, 64),
        reference=_text(reference or getattr(obj, "reference", ""), 20),
        ip_address=_clean_ip(meta.ip_address),
        user_agent=_text(meta.user_agent, 300),
        request_id=_text(meta.request_id, 64),
        details=_clean_details(details),
        chain=chain_key(organisation_id),
    )
    using = router.db_for_write(AuditEvent)
    # No savepoint (its RELEASE would be one more statement while the lock is held): nothing is
    # written before the checks that can refuse the append, which is then raised outside the
    # block, leaving the caller's transaction usable; any later failure fails the caller's
    # transaction, as it must (the change would have no event).
    with transaction.atomic(using=using, savepoint=False):
        if connections[using].vendor == "postgresql":
            refused = _append_postgresql(event, using)
        else:
            refused = _append_orm(event, using)
    if refused is not None:
        raise refused
    return event


def record_refusal(
    *,
    user: User | None,
    reason: str,
    object_kind: str = "",
    object_id: str = "",
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Log a refused request in a transaction of its own: the request fails, the event stays.

    Nothing about the object is recorded beyond the id the requester sent, so a refusal never
    tells anyone that a record of another organisation exists.
    """
    with transaction.atomic():
        return record_event(
            AuditAction.ACCESS_REFUSED,
            actor=user,
            object_kind=object_kind,
            object_id=object_id,
            details={"reason": reason, **(details or {})},
        )
