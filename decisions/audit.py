"""The append-only, hash-chained audit log: the one place where events are written.

Every service calls `record_event` inside its own transaction, so a change that rolls back
leaves no event and a committed change always has one. Appends are serialised by updating
the single chain-head row first: the row lock (PostgreSQL) or the write lock (SQLite) makes
concurrent writers queue, so sequence numbers have no gaps and the chain cannot fork.
"""

from __future__ import annotations

import hashlib
from datetime import UTC
import json
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from decisions.models import AuditChainHead, AuditEvent, User

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class RequestMeta:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""


# Set by decisions.middleware.RequestIdMiddleware for the length of each request.
current_request: ContextVar[RequestMeta] = ContextVar("current_request", default=RequestMeta())


def canonical(event: AuditEvent) -> bytes:
    """The exact bytes hashed for an event; must round-trip through the database unchanged."""
    body = {
        "sequence": event.sequence,
        "created_at": event.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_email": event.actor_email,
        "organisation": event.organisation_id,
        "role": event.role,
        "action": event.action,
        "object_kind": event.object_kind,
        "object_id": event.object_id,
        "reference": event.reference,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "details": event.details,
        "previous_hash": event.previous_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def record_event(
    action: str,
    *,
    actor: User | None,
    obj: Any = None,
    reference: str = "",
    details: dict[str, Any] | None = None,
    actor_email: str = "",
) -> AuditEvent:
    """Append one event. Call inside the transaction of the change it describes."""
    meta = current_request.get()
    with transaction.atomic():
        AuditChainHead.objects.get_or_create(id=1)
        # Updating first takes the lock before anything is read, so writers queue here.
        AuditChainHead.objects.filter(id=1).update(sequence=F("sequence") + 1)
        head = AuditChainHead.objects.select_for_update().get(id=1)
        authenticated = actor is not None and actor.is_authenticated
        event = AuditEvent(
            sequence=head.sequence,
            created_at=timezone.now(),
            actor=actor if authenticated else None,
            actor_email=actor.email if authenticated else actor_email,
            organisation_id=actor.organisation_id if authenticated else None,
            role=actor.role if authenticated else "",
            action=action,
            object_kind=type(obj).__name__.lower() if obj is not None else "",
            object_id=str(getattr(obj, "public_id", getattr(obj, "pk", "")) or ""),
            reference=reference or getattr(obj, "reference", ""),
            ip_address=meta.ip_address,
            user_agent=meta.user_agent[:300],
            request_id=meta.request_id,
            details=details or {},
            previous_hash=head.hash,
        )
        event.hash = event_hash(event)
        event.save()
        AuditChainHead.objects.filter(id=1).update(hash=event.hash)
    return event
