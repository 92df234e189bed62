"""Report figures: which decisions count, and the numbers boards and inspections ask for.

What counts: every submitted version of a decision (submitted_at set: awaiting approval,
returned, approved, submitted or superseded), dated by its latest submission, in UK time.
Drafts never count. An amendment is a version of its own, so it counts as a decision and
again under "amendments".

Counting happens in the database (GROUP BY and conditional COUNTs over the answers JSON),
so a report over 100,000 decisions reads a few hundred rows, not the decisions. Only the
sign-off times come back to Python, because SQLite has no percentile function.

When a report covers organisations other than the manager's own (partnership managers),
figures are aggregates only, with small numbers hidden (decisions.suppression).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Lower, Trim, TruncMonth
from django.utils import timezone

from decisions.models import Decision, GuidancePack, Organisation, Role, Status, User
from decisions.models.approvals import Approval, ReviewAction
from decisions.models.decisions import OutcomeKind
from decisions.suppression import (
    FEWER_THAN,
    NOT_SHOWN,
    SMALL_NUMBER,
    Figure,
    figures,
    is_small,
    single,
)

ALL = "all"
TOP_RECIPIENTS = 10

# Where each reported answer lives in Decision.answers ({step: {field: value}}). Field names
# are unique within a pack and every shipped edition stores them in the same step
# (tests/test_reports.py checks this against the packs).
ANSWER_STEPS = {
    "direction": "context",
    "concern_level": "concern",
    "purpose_categories": "purpose",
    "consent": "consent",
    "lawful_reason": "lawful_reason",
    "gdpr_article6": "data_protection_basis",
    "special_category_condition": "data_protection_basis",
    "recipient_org": "recipient",
    "method": "method",
    "share_date": "share_date",
}
MULTI_VALUED = ("purpose_categories", "lawful_reason")


def answer(name: str) -> Cast:
    """An answer as text in SQL; a list (checkboxes) comes back as its JSON text.

    The cast makes comparisons plain text ones: on SQLite, Django compares a bare key
    transform with JSON_EXTRACT(value), which fails on values that are not JSON.
    """
    return Cast(KT(f"answers__{ANSWER_STEPS[name]}__{name}"), output_field=TextField())


def _contains(name: str, value: str) -> Q:
    # A checkbox answer is a JSON list of plain choice values; quoting the value matches one
    # whole element, on PostgreSQL and SQLite alike.
    return Q(**{f"_{name}__contains": f'"{value}"'})


def with_multi_answers(decisions: QuerySet[Decision]) -> QuerySet[Decision]:
    return decisions.annotate(**{f"_{name}": answer(name) for name in MULTI_VALUED})


# ---------------------------------------------------------------- labels ----


def _current_pack() -> GuidancePack | None:
    return GuidancePack.objects.filter(is_current=True).order_by("-loaded_at").first()


# The pack words these as the practitioner's answer ("I want to share information on my
# own initiative"); a report needs a column heading's worth.
SHORT_LABELS = {
    "direction": {"proactive": "Proactive", "request": "Response to a request"},
}


def choice_options(name: str) -> list[tuple[str, str]]:
    """(value, label) of an answer's choices, as worded in the current guidance pack."""
    stored = _current_pack()
    if stored is None:
        return []
    try:
        choices = stored.pack.field(name).choices
    except KeyError:
        return []
    short = SHORT_LABELS.get(name, {})
    return [(c.value, short.get(c.value, c.label)) for c in choices]


class Labels:
    """Choice labels of the current pack, looked up once per report or export."""

    def __init__(self) -> None:
        self._by_field = {name: dict(choice_options(name)) for name in ANSWER_STEPS}
        self._by_field["outcome"] = dict(OutcomeKind.choices)
        self._by_field["status"] = dict(Status.choices)

    def __call__(self, name: str, value: Any) -> str:
        if value in (None, ""):
            return ""
        if isinstance(value, list):
            return "; ".join(self(name, v) for v in value)
        return self._by_field.get(name, {}).get(str(value), str(value))


# --------------------------------------------------------------- filters ----


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


def reportable_organisations(user: User) -> QuerySet[Organisation]:
    """Managers report on their own organisation; partnership managers and admins on any."""
    if not user.is_active or user.role not in (Role.MANAGER, Role.ADMIN):
        return Organisation.objects.none()
    if user.role == Role.ADMIN or user.partnership_wide:
        return Organisation.objects.all()
    return Organisation.objects.filter(pk=user.organisation_id)


def is_aggregate_only(user: User, filters: ReportFilters) -> bool:
    """Aggregates only (no references, names, small counts) beyond the user's organisation."""
    if user.role == Role.ADMIN or not user.partnership_wide:
        return False  # admins see everything; a manager's reports never leave their own
    return filters.organisation is None or filters.organisation.pk != user.organisation_id


def counted_decisions(user: User, filters: ReportFilters) -> QuerySet[Decision]:
    """The submitted decisions a report counts, after the filters."""
    decisions = Decision.objects.filter(
        submitted_at__isnull=False,
        submitted_at__gte=filters.start(),
        submitted_at__lt=filters.end(),
        organisation__in=reportable_organisations(user),
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
            decisions = decisions.filter(_contains("purpose_categories", filters.purpose))
        if filters.lawful_reason:
            decisions = decisions.filter(_contains("lawful_reason", filters.lawful_reason))
    return decisions.order_by()


# ------------------------------------------------------------- sign-off ----


def approved_at() -> Subquery:
    """When a decision was approved, for annotating decisions (sign-off: decisions.signoff)."""
    approvals = Approval.objects.filter(
        decision=OuterRef("pk"), action=ReviewAction.APPROVED
    ).order_by("-at")
    return Subquery(approvals.values("at")[:1])


def was_returned() -> Exists:
    return Exists(Approval.objects.filter(decision=OuterRef("pk"), action=ReviewAction.RETURNED))


def turnaround_times(decisions: QuerySet[Decision]) -> list[timedelta]:
    """From the submission of the round that was approved to its approval, per decision.

    A returned decision's clock restarts when it is resubmitted as a new round: time spent
    making changes is the practitioner's, not sign-off's (returns are counted separately).
    """
    rows = Approval.objects.filter(
        decision__in=decisions.values("pk"), action=ReviewAction.APPROVED
    ).values_list("record__submitted_at", "at")
    return sorted(approved - submitted for submitted, approved in rows)


def percentile(values: Sequence[timedelta], share: float) -> timedelta:
    """Nearest-rank percentile: the smallest value with at least `share` of values <= it."""
    return values[max(math.ceil(share * len(values)), 1) - 1]


# --------------------------------------------------------------- report ----


@dataclass(frozen=True)
class Rate:
    """A month's share of one outcome. In aggregate-only reports it is hidden when its count
    is small ("fewer than 5") or the month's total is hidden ("not shown")."""

    count: int
    total: int
    hidden: str = ""

    @property
    def percent(self) -> float | None:
        if self.hidden or not self.total:
            return None
        return 100 * self.count / self.total

    @property
    def shown(self) -> str:
        if self.hidden == "small":
            return FEWER_THAN
        if self.hidden:
            return NOT_SHOWN
        if not self.total:
            return "–"
        return f"{self.percent:.1f}%"


@dataclass(frozen=True)
class Month:
    month: date
    total: Figure
    with_consent: Rate
    without_consent: Rate
    do_not_share: Rate

    @property
    def label(self) -> str:
        return f"{self.month:%b %Y}"


@dataclass(frozen=True)
class Turnaround:
    approved: Figure
    median: timedelta | None
    p90: timedelta | None


@dataclass
class Report:
    filters: ReportFilters
    aggregate_only: bool
    total: Figure
    by_outcome: list[Figure]
    months: list[Month]
    lawful_reasons: list[Figure]
    gdpr_bases: list[Figure]
    purposes: list[Figure]
    recipients: list[Figure]
    requests: Figure
    requests_refused: Figure
    turnaround: Turnaround
    returned: Figure
    amendments: Figure
    generated_at: datetime = field(default_factory=timezone.now)

    @property
    def consent_split(self) -> list[Figure]:
        """Share with consent / without consent / do not share: the board's headline."""
        wanted = ("share_with_consent", "share_without_consent", "do_not_share")
        return [f for f in self.by_outcome if f.key in wanted]


def months_between(start: date, end: date) -> list[date]:
    months, current = [], start.replace(day=1)
    while current <= end:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def _month_of(value: date | datetime) -> date:
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def _monthly(
    decisions: QuerySet[Decision], filters: ReportFilters, aggregate_only: bool
) -> list[Month]:
    rows = (
        decisions.annotate(month=TruncMonth("submitted_at"))
        .values("month", "outcome")
        .annotate(n=Count("id"))
    )
    counts: dict[date, dict[str, int]] = {}
    for row in rows:
        by_outcome = counts.setdefault(_month_of(row["month"]), {})
        by_outcome[row["outcome"]] = by_outcome.get(row["outcome"], 0) + row["n"]
    months = months_between(filters.date_from, filters.date_to)
    totals = figures(
        ((m.isoformat(), f"{m:%b %Y}", sum(counts.get(m, {}).values())) for m in months),
        aggregate_only=aggregate_only,
        adds_up=True,
    )

    def rate(month: date, total: Figure, outcome: str) -> Rate:
        n = counts.get(month, {}).get(outcome, 0)
        hidden = ""
        if aggregate_only and total.hidden:
            hidden = "secondary"
        elif aggregate_only and is_small(n):
            hidden = "small"
        return Rate(count=n, total=total.count, hidden=hidden)

    return [
        Month(
            month=m,
            total=total,
            with_consent=rate(m, total, OutcomeKind.SHARE_WITH_CONSENT),
            without_consent=rate(m, total, OutcomeKind.SHARE_WITHOUT_CONSENT),
            do_not_share=rate(m, total, OutcomeKind.DO_NOT_SHARE),
        )
        for m, total in zip(months, totals, strict=True)
    ]


def _single_choice(
    decisions: QuerySet[Decision], name: str, options: list[tuple[str, str]], aggregate_only: bool
) -> list[Figure]:
    found = dict(
        decisions.annotate(value=answer(name))
        .exclude(value__isnull=True)
        .exclude(value="")
        .values("value")
        .annotate(n=Count("id"))
        .values_list("value", "n")
    )
    rows = [(value, label, found.pop(value, 0)) for value, label in options]
    rows += [(value, value, n) for value, n in sorted(found.items())]  # from older packs
    return figures(rows, aggregate_only=aggregate_only, adds_up=True)


def _multi_choice(
    decisions: QuerySet[Decision], name: str, options: list[tuple[str, str]], aggregate_only: bool
) -> list[Figure]:
    if not options:
        return []
    counts = with_multi_answers(decisions).aggregate(
        **{
            f"n{i}": Count("id", filter=_contains(name, value))
            for i, (value, _) in enumerate(options)
        }
    )
    rows = [(value, label, counts[f"n{i}"]) for i, (value, label) in enumerate(options)]
    # One decision can have several, so these do not add up to a total.
    return figures(rows, aggregate_only=aggregate_only, adds_up=False)


def _recipients(decisions: QuerySet[Decision], aggregate_only: bool) -> list[Figure]:
    """Most frequent recipient organisations (typed by practitioners; grouped ignoring case)."""
    rows = list(
        decisions.annotate(recipient=answer("recipient_org"))
        .exclude(recipient__isnull=True)
        .annotate(key=Lower(Trim("recipient")))
        .exclude(key="")
        .values("key")
        .annotate(n=Count("id"), label=Min(Trim("recipient")))
        .order_by("-n", "key")
        .values_list("key", "label", "n")
    )
    if aggregate_only:
        # Free text with few uses can identify: fold every small one into one line.
        small = [r for r in rows if r[2] < SMALL_NUMBER]
        rows = [r for r in rows if r[2] >= SMALL_NUMBER]
    else:
        small = []
    top, rest = rows[:TOP_RECIPIENTS], rows[TOP_RECIPIENTS:] + small
    result = [Figure(label=label, count=n, key=key) for key, label, n in top]
    if rest:
        label = "All other recipients" + (
            " (each fewer than 5)" if small and not rows[TOP_RECIPIENTS:] else ""
        )
        result.append(single(label, sum(n for _, _, n in rest), aggregate_only=aggregate_only))
    return result


def _turnaround(decisions: QuerySet[Decision], aggregate_only: bool) -> Turnaround:
    times = turnaround_times(decisions)
    approved = single("Approved decisions", len(times), aggregate_only=aggregate_only)
    if not times or approved.hidden:
        return Turnaround(approved=approved, median=None, p90=None)
    return Turnaround(approved=approved, median=median(times), p90=percentile(times, 0.9))


def build_report(user: User, filters: ReportFilters) -> Report:
    aggregate_only = is_aggregate_only(user, filters)
    decisions = counted_decisions(user, filters)
    outcome_counts = dict(
        decisions.values("outcome").annotate(n=Count("id")).values_list("outcome", "n")
    )
    total = sum(outcome_counts.values())
    by_outcome = figures(
        ((kind.value, kind.label, outcome_counts.get(kind.value, 0)) for kind in OutcomeKind),
        aggregate_only=aggregate_only,
        adds_up=True,
    )
    requests = decisions.alias(_direction=answer("direction")).filter(_direction="request")
    counts = decisions.aggregate(
        amendments=Count("id", filter=Q(version__gt=1)),
    )
    returned = decisions.filter(was_returned()).count()
    return Report(
        filters=filters,
        aggregate_only=aggregate_only,
        total=single("Decisions", total, aggregate_only=aggregate_only),
        by_outcome=by_outcome,
        months=_monthly(decisions, filters, aggregate_only),
        lawful_reasons=_multi_choice(
            decisions, "lawful_reason", choice_options("lawful_reason"), aggregate_only
        ),
        gdpr_bases=_single_choice(
            decisions, "gdpr_article6", choice_options("gdpr_article6"), aggregate_only
        ),
        purposes=_multi_choice(
            decisions, "purpose_categories", choice_options("purpose_categories"), aggregate_only
        ),
        recipients=_recipients(decisions, aggregate_only),
        requests=single("Requests received", requests.count(), aggregate_only=aggregate_only),
        requests_refused=single(
            "Requests refused",
            requests.filter(outcome=OutcomeKind.DO_NOT_SHARE).count(),
            aggregate_only=aggregate_only,
        ),
        turnaround=_turnaround(decisions, aggregate_only),
        returned=single("Returned at sign-off", returned, aggregate_only=aggregate_only),
        amendments=single("Amendments", counts["amendments"], aggregate_only=aggregate_only),
    )


def describe_duration(value: timedelta | None) -> str:
    """A sign-off time in words: '3 hours 20 minutes', '2 days 4 hours'."""
    if value is None:
        return "–"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
    if hours:
        return unit(hours, "hour") + (f" {unit(mins, 'minute')}" if mins else "")
    return unit(mins, "minute")
