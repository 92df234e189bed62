"""Reading the audit log for the lead's pages: who may see which events, filters, keyset pages.

Pages go newest first and move with a cursor on the gap-free sequence number
(`sequence < before`), never OFFSET, so page 20,000 costs what page 1 does. Every filter has
an index that ends in the sequence (decisions.models.AuditEvent.Meta.indexes).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from decisions.audit import record_event
from decisions.models import AuditEvent, Decision, Organisation, Role, User

PAGE_SIZE = 50
EXPORT_CHUNK = 2000

# Actions offered in the filter, with words for the page. Unknown actions show as they are.
ACTIONS = {
    "auth.signed_in": "Signed in",
    "auth.signed_out": "Signed out",
    "auth.sign_in_failed": "Failed sign-in",
    "decision.started": "Decision started",
    "decision.step_saved": "Answer saved",
    "decision.submitted": "Decision submitted",
    "decision.amendment_started": "Amendment started",
    "decision.amended": "Decision amended (superseded)",
    "decision.approved": "Decision approved",
    "decision.returned": "Decision returned",
    "decision.reconsidered": "Decision reconsidered",
    "decision.viewed": "Record viewed",
    "decision.pdf_downloaded": "PDF downloaded",
    "decision.approve_refused": "Approval refused",
    "decision.return_refused": "Return refused",
    "decision.reconsider_refused": "Reconsideration refused",
    "access.refused": "Access refused",
    "audit.viewed": "Audit log viewed",
    "audit.exported": "Audit log exported",
    "audit.record_access_viewed": "Record access log viewed",
    "audit.verified": "Audit log verified",
    "user.created": "User created",
    "user.changed": "User changed",
    "user.password_reset": "Password reset",
    "organisation.created": "Organisation created",
    "organisation.changed": "Organisation changed",
    "guidance.pack_loaded": "Guidance pack loaded",
    "guidance.pack_made_current": "Guidance pack made current",
}


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


def visible_events(user: User) -> QuerySet[AuditEvent]:
    """Leads see the events of their own organisation's people; administrators see all."""
    events = AuditEvent.objects.order_by("-sequence")
    if not user.is_active:
        return events.none()
    if user.role == Role.ADMIN:
        return events
    if user.role == Role.LEAD and user.organisation_id is not None:
        return events.filter(organisation_id=user.organisation_id)
    return events.none()


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
    events = visible_events(user)
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


# Event times never go backwards (decisions.audit.record_event), so the events of a date
# range are a range of sequence numbers. Bounding the sequence too lets the page read only
# that stretch of the sequence index instead of scanning back from the newest event.


def _first_sequence_from(moment: datetime) -> int:
    first = (
        AuditEvent.objects.filter(created_at__gte=moment)
        .order_by("created_at", "sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    return first if first is not None else 2**63 - 1


def _last_sequence_before(moment: datetime) -> int:
    last = (
        AuditEvent.objects.filter(created_at__lt=moment)
        .order_by("-created_at", "-sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    return last if last is not None else 0


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
def log_read(action: str, *, user: User, obj: Any = None, details: dict | None = None) -> None:
    """Reading the audit log is itself an event: 'audit.viewed', 'audit.exported', ..."""
    record_event(action, actor=user, obj=obj, details=details)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells that start like a formula; a leading quote makes them text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


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


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """CSV lines for every event of a filtered view, read in keyset chunks (constant memory)."""
    writer = csv.writer(_Echo())
    names = dict(Organisation.objects.values_list("pk", "name"))
    yield writer.writerow(EXPORT_COLUMNS)
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
            yield writer.writerow([_cell(v) for v in values])
        if len(rows) < EXPORT_CHUNK:
            return
        before = rows[-1].sequence
