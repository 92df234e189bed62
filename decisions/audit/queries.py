"""Reading the audit log for the lead's pages: filters, keyset pages, the CSV export.

Pages go newest first and move with a cursor on the gap-free sequence number
(`sequence < before`), never OFFSET, so page 20,000 costs what page 1 does. Every filter has
an index that ends in the sequence (decisions.models.AuditEvent.Meta.indexes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, OuterRef, QuerySet, Subquery
from django.utils import timezone

from decisions import access
from decisions.audit.actions import AuditAction
from decisions.audit.record import record_event
from decisions.models import AuditChain, AuditEvent, Decision, Organisation, User
from decisions.spreadsheets import csv_lines

PAGE_SIZE = 50
EXPORT_CHUNK = 2000


@dataclass(frozen=True)
class AuditFilters:
    person: User | None = None
    organisation: Organisation | None = None
    action: str = ""
    reference: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_details(self) -> dict[str, Any]:
        """The filters as the audit event of the viewing or export records them."""
        return {
            "person": self.person.pk if self.person else None,
            "organisation": self.organisation.pk if self.organisation else None,
            "action": self.action,
            "reference": self.reference,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }


def _start_of(day: date) -> datetime:
    # Dates are UK dates (settings.TIME_ZONE): a day runs from local midnight to midnight.
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_events(user: User, filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = access.visible_events(user)
    if filters.person is not None:
        # By the address recorded with each event, which failed sign-ins carry too.
        events = events.filter(actor_email=filters.person.email)
    if filters.organisation is not None:
        events = events.filter(organisation=filters.organisation)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.reference:
        events = events.filter(reference=filters.reference.upper())
    if filters.date_from:
        start = _start_of(filters.date_from)
        events = events.filter(created_at__gte=start, sequence__gte=_first_sequence_from(start))
    if filters.date_to:
        end = _start_of(filters.date_to + timedelta(days=1))
        events = events.filter(created_at__lt=end, sequence__lte=_last_sequence_before(end))
    return events


# The page filters by time, and bounds the sequence numbers too, so that its plan does not
# grow with the window (filtering by created_at alone made the planner guess at two
# correlated ranges: 15.6 ms at p95 for 12 days of 1M events). The bounds must hold every
# event of the window: within one chain an event's time never goes back (decisions.audit.
# record), so each chain's first event from a moment, and last before one, is one probe of
# the (chain, created_at, sequence) index; across chains, times and sequence numbers may
# disagree (each writer takes its time before its chain's lock, the number under it), so the
# bound is the lowest (highest) over every chain, and the time filter stays the real one.


def _first_sequence_from(moment: datetime) -> int:
    first_in_chain = Subquery(
        AuditEvent.objects.filter(chain=OuterRef("key"), created_at__gte=moment)
        .order_by("created_at", "sequence")
        .values("sequence")[:1]
    )
    low = AuditChain.objects.annotate(first=first_in_chain).aggregate(low=Min("first"))["low"]
    return low if low is not None else 2**63 - 1


def _last_sequence_before(moment: datetime) -> int:
    last_in_chain = Subquery(
        AuditEvent.objects.filter(chain=OuterRef("key"), created_at__lt=moment)
        .order_by("-created_at", "-sequence")
        .values("sequence")[:1]
    )
    high = AuditChain.objects.annotate(last=last_in_chain).aggregate(high=Max("last"))["high"]
    return high if high is not None else 0


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    older: int | None  # cursor for ?before=, when there are older events
    newer: int | None  # cursor for ?after=, when there are newer events


def event_page(
    events: QuerySet[AuditEvent],
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> EventPage:
    """One page, newest first, after or before a sequence-number cursor."""
    base = events.select_related("organisation")
    if after is not None:
        rows = list(base.filter(sequence__gt=after).order_by("sequence")[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        more_older = bool(rows) and base.filter(sequence__lt=rows[-1].sequence).exists()
    else:
        page = base.filter(sequence__lt=before) if before is not None else base
        rows = list(page[: size + 1])
        more_older = len(rows) > size
        rows = rows[:size]
        more_newer = (
            bool(rows)
            and before is not None
            and base.filter(sequence__gt=rows[0].sequence).exists()
        )
    return EventPage(
        events=rows,
        older=rows[-1].sequence if rows and more_older else None,
        newer=rows[0].sequence if rows and more_newer else None,
    )


def record_events(decision: Decision) -> QuerySet[AuditEvent]:
    """Everything logged about one decision: views, downloads, changes, sign-off, refusals."""
    return AuditEvent.objects.filter(object_id=str(decision.public_id)).order_by("-sequence")


@transaction.atomic
def log_read(
    action: AuditAction, *, user: User, obj: Any = None, details: dict | None = None
) -> None:
    """Reading the audit log is itself an event: 'audit.viewed', 'audit.exported', ..."""
    record_event(action, actor=user, obj=obj, details=details)


EXPORT_COLUMNS = [
    "sequence",
    "time_utc",
    "actor_email",
    "organisation",
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
    "hash",
]


def export_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """CSV lines for every event of a filtered view, read in keyset chunks (constant memory)."""
    names = dict(Organisation.objects.values_list("pk", "name"))
    yield from csv_lines([EXPORT_COLUMNS])
    before: int | None = None
    while True:
        chunk = events if before is None else events.filter(sequence__lt=before)
        rows = list(chunk[:EXPORT_CHUNK])
        for e in rows:
            values = (
                e.sequence,
                e.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
                e.actor_email,
                names.get(e.organisation_id, ""),
                e.role,
                e.action,
                e.object_kind,
                e.object_id,
                e.reference,
                e.ip_address,
                e.user_agent,
                e.request_id,
                json.dumps(e.details, sort_keys=True),
                e.previous_hash,
                e.hash,
            )
            yield from csv_lines([values])
        if len(rows) < EXPORT_CHUNK:
            return
        before = rows[-1].sequence
