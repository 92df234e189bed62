"""Report figures: the numbers boards and inspections ask for.

A report sums the summary table (decisions.report_summaries keeps it, per organisation, UK
day, outcome, status and direction, in the same transaction as each change; the reading is in
decisions.reports.summary_figures), so a year of 1,000,000 decisions is a few thousand summary
rows read in two queries. A filter on a
checkbox answer (purpose, lawful reason) needs to know which values each decision chose
together, so those reports still count the decisions (GROUP BY and conditional COUNTs over
the answers JSON); both ways give the same figures (tests/test_report_summaries.py).

When a report covers organisations other than the manager's own (partnership managers),
figures are aggregates only, with small numbers hidden (decisions.reports.suppression).
Which decisions count is decided in decisions.reports.filters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower, Trim, TruncMonth
from django.utils import timezone

from decisions.durations import describe_duration
from decisions.models import Decision, User
from decisions.models.approvals import Approval, ReviewAction
from decisions.models.decisions import OutcomeKind
from decisions.report_summaries import turnaround_minutes
from decisions.reports.fields import answer, choice_options, contains, with_multi_answers
from decisions.reports.filters import (
    ReportFilters,
    counted_decisions,
    is_aggregate_only,
    months_between,
)
from decisions.reports.suppression import (
    FEWER_THAN,
    NOT_SHOWN,
    SMALL_NUMBER,
    Figure,
    figures,
    hidden_counts,
    single,
)

TOP_RECIPIENTS = 10
# The outcomes in the order the summary and the monthly rates show them: sharing first.
HEADLINE_ORDER = (
    OutcomeKind.SHARE_WITH_CONSENT,
    OutcomeKind.SHARE_WITHOUT_CONSENT,
    OutcomeKind.CAN_SHARE,
    OutcomeKind.DO_NOT_SHARE,
)

__all__ = ["describe_duration"]  # re-exported for the report pages


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
    can_share: Rate
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
        """Every outcome, sharing ones first: the board's headline. The rows add up to the
        total (each decision has exactly one outcome), so "You can share" is among them."""
        by_key = {f.key: f for f in self.by_outcome}
        return [by_key[key] for key in HEADLINE_ORDER if key in by_key]


def month_of(value: date | datetime) -> date:
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
        by_outcome = counts.setdefault(month_of(row["month"]), {})
        by_outcome[row["outcome"]] = by_outcome.get(row["outcome"], 0) + row["n"]
    months = months_between(filters.date_from, filters.date_to)
    totals = figures(
        ((m.isoformat(), f"{m:%b %Y}", sum(counts.get(m, {}).values())) for m in months),
        aggregate_only=aggregate_only,
        adds_up=True,
    )

    def rates(month: date, total: Figure) -> dict[str, Rate]:
        """Each outcome's share of the month. The outcomes add up to the month's total, so
        where one is small another is hidden too (as for any set that adds up)."""
        ns = [counts.get(month, {}).get(kind, 0) for kind in HEADLINE_ORDER]
        hidden = hidden_counts(ns, aggregate_only=aggregate_only, adds_up=True)
        if aggregate_only and total.hidden:
            hidden = ["secondary"] * len(ns)
        return {
            kind: Rate(count=n, total=total.count, hidden=h)
            for kind, n, h in zip(HEADLINE_ORDER, ns, hidden, strict=True)
        }

    months_rates = [(m, total, rates(m, total)) for m, total in zip(months, totals, strict=True)]
    return [
        Month(
            month=m,
            total=total,
            with_consent=r[OutcomeKind.SHARE_WITH_CONSENT],
            without_consent=r[OutcomeKind.SHARE_WITHOUT_CONSENT],
            can_share=r[OutcomeKind.CAN_SHARE],
            do_not_share=r[OutcomeKind.DO_NOT_SHARE],
        )
        for m, total, r in months_rates
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
            f"n{i}": Count("id", filter=contains(name, value))
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
    return recipient_figures(list(rows), aggregate_only)


def recipient_figures(rows: list[tuple[str, str, int]], aggregate_only: bool) -> list[Figure]:
    """(key, label, count) rows, most first: the top TOP_RECIPIENTS, then one line for the
    rest. Free text with few uses can identify someone, so an aggregate-only report folds
    every small one into that line."""
    if aggregate_only:
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
    # To the precision the summaries keep (decisions.report_summaries.turnaround_minutes).
    times = sorted(timedelta(minutes=turnaround_minutes(t)) for t in turnaround_times(decisions))
    approved = single(
        "Signed off by a safeguarding lead", len(times), aggregate_only=aggregate_only
    )
    if not times or approved.hidden:
        return Turnaround(approved=approved, median=None, p90=None)
    return Turnaround(approved=approved, median=median(times), p90=percentile(times, 0.9))


def build_report(user: User, filters: ReportFilters) -> Report:
    """The report: from the summary table, or from the decisions when a checkbox answer is
    filtered on (the summaries count each chosen value, not which values go together)."""
    if filters.purpose or filters.lawful_reason:
        return report_from_decisions(user, filters)
    from decisions.reports.summary_figures import report_from_summaries  # it imports this one

    return report_from_summaries(user, filters)


def report_from_decisions(user: User, filters: ReportFilters) -> Report:
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
