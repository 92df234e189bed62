"""Drill-down: from one figure of a report (an outcome, a purpose, a lawful reason, a month)
to the decisions it counts.

The list names decisions and cases, so it is for reports of the manager's own organisation
only: an aggregate-only report (a partnership manager's, beyond their own organisation) has no
drill-down, and asking for one is refused (DrilldownRefused). The decisions are the report's
own (decisions.reports.filters.counted_decisions) narrowed by the figure, so the list is
exactly what the figure counts. Reading the list is an audit event, with the filters, the
figure and the decisions shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from decisions.audit import AuditAction, record_event
from decisions.models import Decision, User
from decisions.reports.fields import Labels, contains, with_multi_answers
from decisions.reports.filters import (
    ReportFilters,
    counted_decisions,
    is_aggregate_only,
    months_between,
)

# figure -> (its name in words, the answer field whose choices label its values)
KINDS = {
    "outcome": ("Outcome", "outcome"),
    "purpose": ("Purpose", "purpose_categories"),
    "lawful_reason": ("Lawful reason to share without consent", "lawful_reason"),
    "month": ("Month", ""),
}


class DrilldownRefused(Exception):
    """A drill-down that must not happen (an aggregate-only report), with words for the page."""


def month_of(value: str) -> date | None:
    """'2026-08' as the first day of that month; None if it is not a month."""
    try:
        year, month = value.split("-")
        if len(year) != 4 or len(month) != 2:
            return None
        return date(int(year), int(month), 1)
    except ValueError:
        return None


def report_months(filters: ReportFilters) -> list[str]:
    """The months a report covers, as the drill-down names them ('2026-08')."""
    return [f"{m:%Y-%m}" for m in months_between(filters.date_from, filters.date_to)]


@dataclass(frozen=True)
class Drilldown:
    """One figure of a report: kind (a key of KINDS) and its value (a choice value, or a month
    'YYYY-MM'). Validated by decisions.forms.reports.DrilldownForm."""

    kind: str
    value: str

    def described(self) -> tuple[str, str]:
        """(figure, value in words) for the page."""
        title, field_name = KINDS[self.kind]
        if self.kind == "month":
            month = month_of(self.value)
            return title, f"{month:%B %Y}" if month else self.value
        return title, Labels()(field_name, self.value)

    def to_json(self) -> dict[str, str]:
        return {"figure": self.kind, "value": self.value}

    def narrow(self, decisions: QuerySet[Decision]) -> QuerySet[Decision]:
        """The decisions this figure counts, of those the report counts."""
        if self.kind == "outcome":
            return decisions.filter(outcome=self.value)
        if self.kind in ("purpose", "lawful_reason"):
            field_name = KINDS[self.kind][1]
            return with_multi_answers(decisions).filter(contains(field_name, self.value))
        month = month_of(self.value)
        if month is None:
            return decisions.none()
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        start = timezone.make_aware(datetime.combine(month, time.min))
        end = timezone.make_aware(datetime.combine(following, time.min))
        return decisions.filter(submitted_at__gte=start, submitted_at__lt=end)


def drilldown_decisions(user: User, filters: ReportFilters, drill: Drilldown) -> QuerySet[Decision]:
    """The decisions behind one figure, newest first; refused for an aggregate-only report."""
    if is_aggregate_only(user, filters):
        raise DrilldownRefused(
            "Lists of decisions name cases, so they are only for your own organisation. "
            "Partnership figures are totals only."
        )
    decisions = drill.narrow(counted_decisions(user, filters))
    return decisions.select_related("organisation").order_by(
        "-submitted_at", "-reference", "-version"
    )


@transaction.atomic
def drilldown_viewed(
    *,
    user: User,
    filters: ReportFilters,
    drill: Drilldown,
    count: int,
    page: int,
    shown: Iterable[Decision],
) -> None:
    """Record that `user` read a page of the list: its filters, figure and decisions."""
    record_event(
        AuditAction.REPORT_DECISIONS_LISTED,
        actor=user,
        details={
            "filters": filters.to_json(),
            **drill.to_json(),
            "decisions": count,
            "page": page,
            "shown": [f"{d.reference} v{d.version}" for d in shown],
        },
    )
