"""Writing the append-only, hash-chained audit log: the one place where events are appended.

Every service calls `record_event` inside its own transaction, so a change that rolls back
leaves no event and a committed change always has one. Appends are serialised by updating
the single chain-head row first (decisions.models.AuditChainHead): the row lock (PostgreSQL)
or the write lock (SQLite) is held until the writer's transaction ends, so concurrent writers
queue, sequence numbers have no gaps and the chain cannot fork. (Locking the latest event
row instead would not serialise anything: two writers can both lock it and both append.)

Each event stores the SHA-256 of its canonical serialisation, which includes the previous
event's hash, and its time is never earlier than the previous event's. `verify_chain` walks
the whole log in order, in constant memory, and names the first event that is missing,
altered or out of place.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from decisions.audit.actions import AuditAction
from decisions.models import AuditChainHead, AuditEvent, Organisation, User

GENESIS_HASH = "0" * 64

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


def canonical_body(values: Mapping[str, Any]) -> bytes:
    body = dict(values)
    created_at: datetime = body["created_at"]
    # Microseconds: the precision both PostgreSQL and SQLite store, so the text round-trips.
    body["created_at"] = created_at.astimezone(UTC).isoformat(timespec="microseconds")
    body["actor"] = body.pop("actor_id")
    body["organisation"] = body.pop("organisation_id")
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical(event: AuditEvent) -> bytes:
    """The exact bytes hashed for an event; must round-trip through the database unchanged."""
    return canonical_body({name: getattr(event, name) for name in HASHED_FIELDS})


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


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
    """The chain has rows past its head, which ISG never writes: appending would fork it."""


def _refuse_rows_past(head: AuditChainHead) -> None:
    # Events are only ever written with their head update, in one transaction, so a row at or
    # past the new sequence was put there by someone else. Appending after it would hide it;
    # writing at its number would fail with a bare IntegrityError. Stop, and say why.
    forged = AuditEvent.objects.filter(sequence__gte=head.sequence).order_by("sequence")
    first = forged.values_list("sequence", flat=True).first()
    if first is not None:
        raise AuditChainBroken(
            f"the audit chain has rows past its head (event #{first} and later, head at "
            f"#{head.sequence - 1}): nothing can be recorded until they are explained; "
            "run manage.py verify_audit"
        )


def _advance_head() -> AuditChainHead:
    """Take the chain-head lock and the next sequence number; held until the caller commits."""
    # UPDATE before reading: the row lock is taken first, so a concurrent writer waits here and
    # then (READ COMMITTED) re-reads the head its predecessor committed.
    if not AuditChainHead.objects.filter(id=1).update(sequence=F("sequence") + 1):
        # No head row (a flushed test database): continue from the newest event, if any.
        latest = AuditEvent.objects.order_by("-sequence").first()
        AuditChainHead.objects.get_or_create(
            id=1,
            defaults={
                "sequence": latest.sequence if latest else 0,
                "hash": latest.hash if latest else GENESIS_HASH,
                "created_at": latest.created_at if latest else None,
            },
        )
        AuditChainHead.objects.filter(id=1).update(sequence=F("sequence") + 1)
    return AuditChainHead.objects.get(id=1)


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
    """Append one event. Call inside the transaction of the change it describes.

    Raises AuditChainBroken (so the change rolls back and the request fails with a 500) when
    rows have been put past the chain head behind the app's back.

    `organisation` is for events without a signed-in actor (a failed sign-in for a known
    account); `object_kind`/`object_id` name an object that could not be loaded (a refusal).
    """
    meta = current_request.get()
    authenticated = actor is not None and actor.is_authenticated
    kind, identity = _object_identity(obj)
    with transaction.atomic():
        head = _advance_head()
        _refuse_rows_past(head)
        # Never before the previous event (a clock stepped back): time order is sequence order,
        # which lets the audit pages turn a date range into a sequence range.
        now = max(timezone.now(), head.created_at) if head.created_at else timezone.now()
        event = AuditEvent(
            sequence=head.sequence,
            created_at=now,
            actor=actor if authenticated else None,
            actor_email=_text(actor.email if authenticated else actor_email, 254),
            organisation_id=actor.organisation_id
            if authenticated
            else getattr(organisation, "pk", None),
            role=actor.role if authenticated else "",
            action=str(action),
            object_kind=_text(object_kind if object_kind is not None else kind, 40),
            object_id=_text(object_id if object_id is not None else identity, 64),
            reference=_text(reference or getattr(obj, "reference", ""), 20),
            ip_address=_clean_ip(meta.ip_address),
            user_agent=_text(meta.user_agent, 300),
            request_id=_text(meta.request_id, 64),
            details=_clean_details(details),
            previous_hash=head.hash,
        )
        event.hash = event_hash(event)
        event.save()
        AuditChainHead.objects.filter(id=1).update(hash=event.hash, created_at=now)
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
