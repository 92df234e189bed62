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

from django.db import connections, transaction
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
    start = _start_of(filters.date_from) if filters.date_from else None
    end = _start_of(filters.date_to + timedelta(days=1)) if filters.date_to else None
    if start is not None:
        first = _first_sequence_from(start, until=end)
        events = events.filter(created_at__gte=start, sequence__gte=first)
    if end is not None:
        events = events.filter(created_at__lt=end, sequence__lte=_last_sequence_before(end, start))
    return events


def page_anchor(filters: AuditFilters) -> datetime | None:
    """Where the first page of a date-filtered view starts reading back from (event_page)."""
    return _start_of(filters.date_to + timedelta(days=1)) if filters.date_to else None


# The page filters by time, and bounds the sequence numbers too, so that its plan does not
# grow with the window (filtering by created_at alone made the planner guess at two
# correlated ranges: 15.6 ms at p95 for 12 days of 1M events). The bounds must hold every
# event of the window: within one chain an event's time never goes back (decisions.audit.
# record), so each chain's first event from a moment, and last before one, is one probe of
# the (chain, created_at, sequence) index; across chains, times and sequence numbers may
# disagree (each writer takes its time before its chain's lock, the number under it), so the
# bound is the lowest (highest) over every chain, and the time filter stays the real one.


# Each bound looks only inside the window when the other end is known: an event in the window
# is never before its chain's first, nor after its chain's last, event in the window; and
# PostgreSQL then plans the probes over the window's months only, not every month's.
def _first_sequence_from(moment: datetime, until: datetime | None = None) -> int:
    inside = {"created_at__lt": until} if until is not None else {}
    first_in_chain = Subquery(
        AuditEvent.objects.filter(chain=OuterRef("key"), created_at__gte=moment, **inside)
        .order_by("created_at", "sequence")
        .values("sequence")[:1]
    )
    low = AuditChain.objects.annotate(first=first_in_chain).aggregate(low=Min("first"))["low"]
    return low if low is not None else 2**63 - 1


def _last_sequence_before(moment: datetime, since: datetime | None = None) -> int:
    inside = {"created_at__gte": since} if since is not None else {}
    last_in_chain = Subquery(
        AuditEvent.objects.filter(chain=OuterRef("key"), created_at__lt=moment, **inside)
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
    # The times of the events at those cursors (microseconds since the epoch, for ?at=): a
    # hint that lets the next page read only the months around it (see _windows).
    older_at: int | None = None
    newer_at: int | None = None


# On PostgreSQL the audit table is partitioned by month (decisions.audit.partitions), and a
# query that names no time is planned over every live partition: at two years live, 9 ms
# where one table took 0.4 ms. So pages read a window of months around their cursor first.
# An event's time is taken just before its sequence number is drawn, and never later than
# that moment, so an event older than a window's floor has a lower sequence number than any
# event at least MARGIN newer than the floor (MARGIN covers waiting for a chain's lock and
# clock differences between web nodes). A window's answer is used only when that proves it
# is the whole answer; otherwise the next, wider window is read, the last with no floor.
MARGIN = timedelta(hours=1)
WINDOWS = (timedelta(days=35), timedelta(days=200), timedelta(days=800), None)


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


# A hint outside these years is ignored (a tampered link; nothing is logged so early or late).
_HINT_RANGE = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


def _from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromtimestamp(value / 1_000_000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment if _HINT_RANGE[0] <= moment < _HINT_RANGE[1] else None


def _windows(events: QuerySet[AuditEvent], anchor: datetime | None) -> Iterator[tuple]:
    """(events from a floor on, the floor): narrow first, then wider, last all of them."""
    if anchor is None or connections[events.db].vendor != "postgresql":
        yield events, None
        return
    for width in WINDOWS:
        floor = anchor - width if width is not None else None
        yield (events if floor is None else events.filter(created_at__gte=floor)), floor


def _older_rows(
    base: QuerySet[AuditEvent], before: int | None, anchor: datetime | None, size: int
) -> list[AuditEvent]:
    """The newest `size` + 1 events below the cursor (all of them when fewer)."""
    page = base.filter(sequence__lt=before) if before is not None else base
    for events, floor in _windows(page, anchor):
        rows = list(events[: size + 1])
        if floor is None or (len(rows) > size and rows[-1].created_at >= floor + MARGIN):
            return rows
    return []  # not reached: the last window has no floor


def _exists_older(base: QuerySet[AuditEvent], row: AuditEvent) -> bool:
    for events, floor in _windows(base.filter(sequence__lt=row.sequence), row.created_at):
        if events.exists():
            return True
        if floor is None:
            return False
    return False


def _newer(base: QuerySet[AuditEvent], row: AuditEvent) -> QuerySet[AuditEvent]:
    """Events after `row`: none of them is older than `row` less MARGIN (see above)."""
    newer = base.filter(sequence__gt=row.sequence)
    if connections[newer.db].vendor == "postgresql":
        newer = newer.filter(created_at__gte=row.created_at - MARGIN)
    return newer


def event_page(
    events: QuerySet[AuditEvent],
    *,
    before: int | None = None,
    after: int | None = None,
    at: int | None = None,
    anchor: datetime | None = None,
    size: int = PAGE_SIZE,
) -> EventPage:
    """One page, newest first, after or before a sequence-number cursor.

    `at` is the time of the event at the cursor, as the previous page gave it: only a hint.
    `anchor`: where the first page starts reading back from (the end of a date filter).
    Going back, any hint gives the right page (a wrong one just reads more months); going
    forward, the cursor's event is looked up at that time, and without it all months are read.
    """
    base = events.select_related("organisation")
    hint = _from_micros(at)
    if after is not None:
        cursor = _cursor_event(base, after, hint)
        newer = _newer(base, cursor) if cursor else base.filter(sequence__gt=after)
        rows = list(newer.order_by("sequence")[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        more_older = bool(rows) and _exists_older(base, rows[-1])
    else:
        if before is not None:
            anchor = hint
        elif anchor is None:
            anchor = timezone.now()
        rows = _older_rows(base, before, anchor, size)
        more_older = len(rows) > size
        rows = rows[:size]
        more_newer = bool(rows) and before is not None and _newer(base, rows[0]).exists()
    older = rows[-1] if rows and more_older else None
    newer_row = rows[0] if rows and more_newer else None
    return EventPage(
        events=rows,
        older=older.sequence if older else None,
        newer=newer_row.sequence if newer_row else None,
        older_at=_micros(older.created_at) if older else None,
        newer_at=_micros(newer_row.created_at) if newer_row else None,
    )


def _cursor_event(
    base: QuerySet[AuditEvent], sequence: int, hint: datetime | None
) -> AuditEvent | None:
    """The event at a cursor, found near its hinted time (one month's partition), if it is."""
    if hint is None or connections[base.db].vendor != "postgresql":
        return None
    return (
        AuditEvent.objects.using(base.db)
        .filter(sequence=sequence, created_at__range=(hint - MARGIN, hint + MARGIN))
        .only("sequence", "created_at")
        .first()
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
