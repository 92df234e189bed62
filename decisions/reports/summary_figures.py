"""Report figures from the summary table (decisions.report_summaries): a year of 1,000,000
decisions is a few thousand summary rows read in two queries. decisions.reports.figures
decides when a report can be made this way (build_report) and makes it from the decisions
when it cannot.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from decisions import access
from decisions.models import ReportSummary, User
from decisions.models.decisions import OutcomeKind
from decisions.report_summaries import DAY, MONTH
from decisions.reports.fields import choice_options
from decisions.reports.figures import (
    HEADLINE_ORDER,
    Month,
    Rate,
    Report,
    Turnaround,
    month_of,
    recipient_figures,
)
from decisions.reports.filters import (
    ReportFilters,
    is_aggregate_only,
    months_between,
)
from decisions.reports.suppression import (
    Figure,
    figures,
    hidden_counts,
    single,
)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _period_rows(start: date, end: date) -> Q:
    """The summary rows that count each day from start to end once: month rows for the
    months wholly inside, day rows for the days of the months at either end covered in part."""
    first_whole = start if start.day == 1 else _next_month(start)
    after_whole = (
        end.replace(day=1) if _next_month(end) - timedelta(days=1) != end else (_next_month(end))
    )
    if first_whole >= after_whole:
        return Q(period=DAY, day__gte=start, day__lte=end)
    return (
        Q(period=MONTH, day__gte=first_whole, day__lt=after_whole)
        | Q(period=DAY, day__gte=start, day__lt=first_whole)
        | Q(period=DAY, day__gte=after_whole, day__lte=end)
    )


def _summary_rows(user: User, filters: ReportFilters) -> QuerySet[ReportSummary]:
    """The summary rows of the report's organisations, period and choices (as
    decisions.reports.filters.counted_decisions chooses decisions)."""
    rows = ReportSummary.objects.filter(
        _period_rows(filters.date_from, filters.date_to),
        organisation__in=access.reportable_organisations(user),
    )
    if filters.organisation is not None:
        rows = rows.filter(organisation=filters.organisation)
    for name in ("outcome", "status", "direction"):
        if getattr(filters, name):
            rows = rows.filter(**{name: getattr(filters, name)})
    return rows.order_by()


def _median_and_p90(counts: dict[int, int]) -> tuple[timedelta, timedelta]:
    """statistics.median and the nearest-rank 90th percentile of minutes given as
    {minutes: how many}, without listing every value."""
    total = sum(counts.values())

    def nth(rank: int) -> int:  # the rank-th smallest value, from 1
        seen = 0
        for minutes in sorted(counts):
            seen += counts[minutes]
            if seen >= rank:
                return minutes
        raise ValueError(rank)

    middle = nth(total // 2 + 1) if total % 2 else (nth(total // 2) + nth(total // 2 + 1)) / 2
    p90 = nth(max(math.ceil(0.9 * total), 1))
    return timedelta(minutes=middle), timedelta(minutes=p90)


def _recipients_from(counts: dict[str, int], aggregate_only: bool) -> list[Figure]:
    """As _recipients: grouped ignoring case, most frequent first, small ones folded."""
    grouped: dict[str, tuple[str, int]] = {}
    for value, n in counts.items():
        key = value.lower()
        label, total = grouped.get(key, (value, 0))
        grouped[key] = (min(label, value), total + n)
    rows = sorted(
        ((key, label, n) for key, (label, n) in grouped.items()), key=lambda r: (-r[2], r[0])
    )
    return recipient_figures(rows, aggregate_only)


def _choices_from(
    counts: dict[str, int], options: list[tuple[str, str]], aggregate_only: bool, *, multi: bool
) -> list[Figure]:
    if multi:
        if not options:
            return []
        # One decision can have several, so these do not add up to a total.
        rows = [(value, label, counts.get(value, 0)) for value, label in options]
        return figures(rows, aggregate_only=aggregate_only, adds_up=False)
    found = dict(counts)
    rows = [(value, label, found.pop(value, 0)) for value, label in options]
    rows += [(value, value, n) for value, n in sorted(found.items())]  # from older packs
    return figures(rows, aggregate_only=aggregate_only, adds_up=True)


def _months_from(
    by_month: dict[date, dict[str, int]], filters: ReportFilters, aggregate_only: bool
) -> list[Month]:
    """As _monthly, from {month: {outcome: count}}."""
    months = months_between(filters.date_from, filters.date_to)
    totals = figures(
        ((m.isoformat(), f"{m:%b %Y}", sum(by_month.get(m, {}).values())) for m in months),
        aggregate_only=aggregate_only,
        adds_up=True,
    )
    result = []
    for m, total in zip(months, totals, strict=True):
        ns = [by_month.get(m, {}).get(kind, 0) for kind in HEADLINE_ORDER]
        hidden = hidden_counts(ns, aggregate_only=aggregate_only, adds_up=True)
        if aggregate_only and total.hidden:
            hidden = ["secondary"] * len(ns)
        rates = {
            kind: Rate(count=n, total=total.count, hidden=h)
            for kind, n, h in zip(HEADLINE_ORDER, ns, hidden, strict=True)
        }
        result.append(
            Month(
                month=m,
                total=total,
                with_consent=rates[OutcomeKind.SHARE_WITH_CONSENT],
                without_consent=rates[OutcomeKind.SHARE_WITHOUT_CONSENT],
                can_share=rates[OutcomeKind.CAN_SHARE],
                do_not_share=rates[OutcomeKind.DO_NOT_SHARE],
            )
        )
    return result


def report_from_summaries(user: User, filters: ReportFilters) -> Report:
    """The report in two queries over the summary rows of the period: decisions by month,
    outcome and direction; every other figure by value."""
    aggregate_only = is_aggregate_only(user, filters)
    rows = _summary_rows(user, filters)
    by_month: dict[date, dict[str, int]] = {}
    outcome_counts: dict[str, int] = {}
    requests = requests_refused = 0
    for month, outcome, direction, n in (
        rows.filter(figure="decisions")
        .annotate(month=TruncMonth("day"))
        .values("month", "outcome", "direction")
        .annotate(n=Sum("n"))
        .values_list("month", "outcome", "direction", "n")
    ):
        by_outcome = by_month.setdefault(month_of(month), {})
        by_outcome[outcome] = by_outcome.get(outcome, 0) + n
        outcome_counts[outcome] = outcome_counts.get(outcome, 0) + n
        if direction == "request":
            requests += n
            if outcome == OutcomeKind.DO_NOT_SHARE:
                requests_refused += n
    by_figure: dict[str, dict[str, int]] = {}
    for figure, value, n in (
        rows.exclude(figure="decisions")
        .values("figure", "value")
        .annotate(n=Sum("n"))
        .values_list("figure", "value", "n")
    ):
        by_figure.setdefault(figure, {})[value] = n
    total = sum(outcome_counts.values())
    minutes = {int(m): n for m, n in by_figure.get("turnaround", {}).items()}
    approved = single(
        "Signed off by a safeguarding lead", sum(minutes.values()), aggregate_only=aggregate_only
    )
    if minutes and not approved.hidden:
        turnaround = Turnaround(approved, *_median_and_p90(minutes))
    else:
        turnaround = Turnaround(approved=approved, median=None, p90=None)
    return Report(
        filters=filters,
        aggregate_only=aggregate_only,
        total=single("Decisions", total, aggregate_only=aggregate_only),
        by_outcome=figures(
            ((kind.value, kind.label, outcome_counts.get(kind.value, 0)) for kind in OutcomeKind),
            aggregate_only=aggregate_only,
            adds_up=True,
        ),
        months=_months_from(by_month, filters, aggregate_only),
        lawful_reasons=_choices_from(
            by_figure.get("lawful_reason", {}),
            choice_options("lawful_reason"),
            aggregate_only,
            multi=True,
        ),
        gdpr_bases=_choices_from(
            by_figure.get("gdpr_article6", {}),
            choice_options("gdpr_article6"),
            aggregate_only,
            multi=False,
        ),
        purposes=_choices_from(
            by_figure.get("purpose_categories", {}),
            choice_options("purpose_categories"),
            aggregate_only,
            multi=True,
        ),
        recipients=_recipients_from(by_figure.get("recipient", {}), aggregate_only),
        requests=single("Requests received", requests, aggregate_only=aggregate_only),
        requests_refused=single(
            "Requests refused", requests_refused, aggregate_only=aggregate_only
        ),
        turnaround=turnaround,
        returned=single(
            "Returned at sign-off",
            by_figure.get("returned", {}).get("", 0),
            aggregate_only=aggregate_only,
        ),
        amendments=single(
            "Amendments",
            by_figure.get("amendment", {}).get("", 0),
            aggregate_only=aggregate_only,
        ),
    )
