"""Report filters: the period, organisation and choices a report counts, and the decisions
that match them.

What counts: every submitted version of a decision (submitted_at set: awaiting approval,
returned, approved, submitted or superseded), dated by its latest submission, in UK time.
Drafts never count. An amendment is a version of its own, so it counts as a decision and
again under "amendments".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from decisions import access
from decisions.models import Decision, Organisation, Status, User
from decisions.models.decisions import OutcomeKind
from decisions.reports.fields import (
    Labels,
    answer,
    choice_options,
    contains,
    with_multi_answers,
)

ALL = "all"


@dataclass(frozen=True)
class ReportFilters:
    date_from: date
    date_to: date
    organisation: Organisation | None = None  # None: every organisation the user may see
    purpose: str = ""
    outcome: str = ""
    lawful_reason: str = ""
    direction: str = ""
    status: str = ""

    CHOICES = ("purpose", "outcome", "lawful_reason", "direction", "status")

    def to_json(self) -> dict[str, str]:
        """As stored with an export and in its audit event."""
        data = {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "organisation": self.organisation.slug if self.organisation else ALL,
        }
        data.update({name: getattr(self, name) for name in self.CHOICES})
        return data

    def form_data(self) -> dict[str, str]:
        return form_data(self.to_json())

    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.date_from, time.min))

    def end(self) -> datetime:
        """The first moment after the period (the end date is included)."""
        return timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min))

    def described(self) -> list[tuple[str, str]]:
        """(filter, value in words) for the page, the PDF cover and exports."""
        labels = Labels()
        rows = [
            ("Period", f"{self.date_from:%-d %B %Y} to {self.date_to:%-d %B %Y}"),
            ("Organisation", self.organisation.name if self.organisation else "All organisations"),
        ]
        names = {
            "purpose": ("Purpose", "purpose_categories"),
            "outcome": ("Outcome", "outcome"),
            "lawful_reason": ("Lawful reason", "lawful_reason"),
            "direction": ("Direction", "direction"),
            "status": ("Status", "status"),
        }
        for attr, (title, field_name) in names.items():
            value = getattr(self, attr)
            rows.append((title, labels(field_name, value) if value else "Any"))
        return rows


def form_data(stored: dict[str, str]) -> dict[str, str]:
    """Stored filters (ReportFilters.to_json) as the filter form receives them: a date is
    three inputs, day, month and year."""
    data = {k: v for k, v in stored.items() if k not in ("date_from", "date_to")}
    for name in ("date_from", "date_to"):
        day = date.fromisoformat(stored[name])
        data.update(
            {f"{name}_0": str(day.day), f"{name}_1": str(day.month), f"{name}_2": str(day.year)}
        )
    return data


def is_aggregate_only(user: User, filters: ReportFilters) -> bool:
    """Aggregates only (no references, names, small counts) beyond the user's organisation."""
    return access.is_aggregate_only(user, filters.organisation)


class InvalidFilters(ValueError):
    """Stored filters that no longer hold for their owner (access changed, a value went)."""


def filters_from_json(user: User, stored: Mapping[str, Any]) -> ReportFilters:
    """Stored filters (ReportFilters.to_json), checked again for `user` as the form checks
    them: real dates in order, an organisation they may report on, known choice values."""
    try:
        date_from = date.fromisoformat(str(stored["date_from"]))
        date_to = date.fromisoformat(str(stored["date_to"]))
    except (KeyError, ValueError) as exc:
        raise InvalidFilters("the dates are not valid") from exc
    if date_from > date_to:
        raise InvalidFilters("the start date is after the end date")
    organisations = {o.slug: o for o in access.reportable_organisations(user)}
    slug = str(stored.get("organisation", ALL))
    if slug == ALL and not access.reports_cover_all(user):
        raise InvalidFilters("this user cannot report on every organisation")
    if slug != ALL and slug not in organisations:
        raise InvalidFilters("this user cannot report on that organisation")
    values = {name: str(stored.get(name) or "") for name in ReportFilters.CHOICES}
    for name, allowed in filter_choices().items():
        if values[name] and values[name] not in allowed:
            raise InvalidFilters(f"{name} is not one of the choices")
    return ReportFilters(
        date_from=date_from,
        date_to=date_to,
        organisation=None if slug == ALL else organisations[slug],
        **values,
    )


REPORTED_STATUSES = [(s.value, s.label) for s in Status if s != Status.DRAFT]


def filter_choices() -> dict[str, list[str]]:
    """The values each choice filter accepts."""
    return {
        "purpose": [v for v, _ in choice_options("purpose_categories")],
        "outcome": list(OutcomeKind.values),
        "lawful_reason": [v for v, _ in choice_options("lawful_reason")],
        "direction": [v for v, _ in choice_options("direction")],
        "status": [v for v, _ in REPORTED_STATUSES],
    }


def counted_decisions(user: User, filters: ReportFilters) -> QuerySet[Decision]:
    """The submitted decisions a report counts, after the filters."""
    decisions = Decision.objects.filter(
        submitted_at__isnull=False,
        submitted_at__gte=filters.start(),
        submitted_at__lt=filters.end(),
        organisation__in=access.reportable_organisations(user),
    )
    if filters.organisation is not None:
        decisions = decisions.filter(organisation=filters.organisation)
    for name in ("outcome", "status"):
        if getattr(filters, name):
            decisions = decisions.filter(**{name: getattr(filters, name)})
    if filters.direction:
        decisions = decisions.alias(_direction=answer("direction")).filter(
            _direction=filters.direction
        )
    if filters.purpose or filters.lawful_reason:
        decisions = with_multi_answers(decisions)
        if filters.purpose:
            decisions = decisions.filter(contains("purpose_categories", filters.purpose))
        if filters.lawful_reason:
            decisions = decisions.filter(contains("lawful_reason", filters.lawful_reason))
    return decisions.order_by()


def months_between(start: date, end: date) -> list[date]:
    months, current = [], start.replace(day=1)
    while current <= end:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months
