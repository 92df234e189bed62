"""The report summary table (decisions.report_summaries): kept in the same transaction as each
change to a decision, equal to one rebuilt from the decisions, and giving the same report as
counting the decisions does."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisions import report_summaries, services, signoff
from decisions.models import Decision, ReportSummary, Status
from decisions.reports.figures import build_report, report_from_decisions
from decisions.reports.filters import ReportFilters
from decisions.reports.summary_figures import report_from_summaries
from tests.factories import answered_decision, route_values
from tests.reports_data import PERIOD, fixed_set

pytestmark = pytest.mark.django_db


def same_report(a, b) -> None:
    first, second = asdict(a), asdict(b)
    first.pop("generated_at"), second.pop("generated_at")
    assert first == second


@pytest.fixture
def decisions(org, other_org, practitioner, lead):
    return fixed_set(org, other_org, practitioner, lead)


FILTERS = [
    {},
    {"outcome": "share_without_consent"},
    {"status": Status.APPROVED},
    {"direction": "request"},
    {"direction": "proactive", "outcome": "do_not_share"},
    {"date_from": date(2026, 9, 1), "date_to": date(2026, 9, 30)},
    # Months covered in part: day rows at either end, month rows between.
    {"date_from": date(2026, 8, 12), "date_to": date(2026, 10, 3)},
    {"date_from": date(2026, 8, 3), "date_to": date(2026, 8, 20)},
    {"date_from": date(2026, 7, 31), "date_to": date(2026, 9, 1)},
    {"date_from": date(2026, 8, 1), "date_to": date(2026, 9, 15)},
    {"date_from": date(2026, 8, 25), "date_to": date(2026, 10, 31)},
]


@pytest.mark.parametrize("choices", FILTERS)
def test_the_summaries_give_the_report_counting_the_decisions_gives(decisions, manager, choices):
    filters = replace(PERIOD, organisation=manager.organisation, **choices)
    same_report(report_from_summaries(manager, filters), report_from_decisions(manager, filters))


@pytest.mark.parametrize("choices", FILTERS)
def test_aggregate_only_reports_hide_the_same_small_numbers_either_way(
    decisions, partnership_manager, choices
):
    filters = replace(PERIOD, **choices)
    same_report(
        report_from_summaries(partnership_manager, filters),
        report_from_decisions(partnership_manager, filters),
    )


def test_the_report_reads_the_summaries_not_the_decisions(decisions, manager):
    filters = replace(PERIOD, organisation=manager.organisation)
    with CaptureQueriesContext(connection) as queries:
        build_report(manager, filters)
    summary_table = ReportSummary._meta.db_table
    decision_table = Decision._meta.db_table
    reading = [q["sql"] for q in queries.captured_queries if summary_table in q["sql"]]
    assert len(reading) == 2, reading
    assert not [q["sql"] for q in queries.captured_queries if f'"{decision_table}"' in q["sql"]]


def test_a_filter_on_a_checkbox_answer_counts_the_decisions(decisions, manager):
    filters = replace(PERIOD, organisation=manager.organisation, purpose="crime")
    with CaptureQueriesContext(connection) as queries:
        report = build_report(manager, filters)
    assert report.total.count == 2  # decisions 4 and 6
    assert not [q for q in queries.captured_queries if ReportSummary._meta.db_table in q["sql"]]


def test_a_draft_costs_no_summary_query(practitioner):
    decision = services.decision_start(user=practitioner)
    with CaptureQueriesContext(connection) as queries:
        report_summaries.refresh(decision)
    assert queries.captured_queries == []


def test_submitting_counts_the_decision_in_the_same_transaction(practitioner, manager):
    decision = answered_decision(practitioner, "share_with_consent")
    assert not ReportSummary.objects.exists()
    services.decision_submit(decision=decision, user=practitioner)
    today = timezone.localdate()
    report = build_report(
        manager, ReportFilters(date_from=today, date_to=today, organisation=manager.organisation)
    )
    assert report.total.count == 1
    assert {f.key: f.count for f in report.by_outcome}["share_with_consent"] == 1


def test_a_failed_transaction_leaves_the_summaries_as_they_were(practitioner, monkeypatch):
    decision = answered_decision(practitioner, "share_with_consent")
    real_apply = report_summaries._apply

    def written_then_broken(changes):
        real_apply(changes)
        raise RuntimeError("injected fault after the summaries were written")

    monkeypatch.setattr(report_summaries, "_apply", written_then_broken)
    with pytest.raises(RuntimeError):
        services.decision_submit(decision=decision, user=practitioner)
    assert not ReportSummary.objects.exists()
    decision.refresh_from_db()
    assert decision.status == Status.DRAFT


def test_the_rebuild_command_equals_the_kept_table(decisions):
    out = StringIO()
    call_command("rebuild_report_summaries", "--check", stdout=out)
    assert "were the same" in out.getvalue()
    assert "Counted 17 decisions" in out.getvalue()  # 14 in the period and 3 outside it


def test_the_rebuild_command_fails_when_the_kept_table_differs(decisions):
    ReportSummary.objects.filter(figure="recipient").update(n=99)
    with pytest.raises(SystemExit):
        call_command("rebuild_report_summaries", "--check", stdout=StringIO(), stderr=StringIO())
    # and afterwards the table is the rebuilt one
    call_command("rebuild_report_summaries", "--check", stdout=StringIO())


# ---- A random mix of operations: the kept table equals a rebuilt one -------------------

OUTCOMES = ["share_with_consent", "share_without_consent", "can_share", "do_not_share"]
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.sampled_from(OUTCOMES)),
        st.tuples(st.just("approve"), st.integers(0, 5)),
        st.tuples(st.just("return"), st.integers(0, 5)),
        st.tuples(st.just("change recipient"), st.integers(0, 5)),
        st.tuples(st.just("resubmit"), st.integers(0, 5)),
        st.tuples(st.just("amend"), st.integers(0, 5)),
        st.tuples(st.just("discard a draft"), st.just(0)),
    ),
    min_size=1,
    max_size=8,
)


def _pick(statuses, i: int) -> Decision | None:
    found = list(Decision.objects.filter(status__in=statuses).order_by("pk"))
    return found[i % len(found)] if found else None


def _apply(operation: str, arg, practitioner, lead) -> None:
    if operation == "submit":
        answered_decision(practitioner, arg, submit=True)
    elif operation == "discard a draft":
        draft = services.decision_start(user=practitioner)
        services.decision_discard(decision=draft, user=practitioner, reason="Started by mistake")
    elif operation in ("approve", "return"):
        decision = _pick([Status.AWAITING_APPROVAL], arg)
        if decision is not None and operation == "approve":
            signoff.decision_approve(decision=decision, user=lead)
        elif decision is not None:
            signoff.decision_return(decision=decision, user=lead, comments="Check the basis.")
    elif operation == "change recipient":
        decision = _pick([Status.RETURNED], arg)
        if decision is not None:
            values = {**route_values(decision.outcome, "recipient"), "recipient_org": "Police "}
            services.decision_answer(
                decision=decision, user=practitioner, step_id="recipient", values=values
            )
    elif operation == "resubmit":
        decision = _pick([Status.RETURNED], arg)
        if decision is not None:
            services.decision_submit(decision=decision, user=practitioner)
    elif operation == "amend":
        decision = _pick([Status.SUBMITTED, Status.APPROVED], arg)
        if decision is not None and not decision.amendments.exists():
            amendment = services.decision_amend(
                decision=decision, user=practitioner, reason="A typing error."
            )
            services.decision_submit(decision=amendment, user=practitioner)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
def test_the_kept_summaries_equal_rebuilt_ones_after_any_mix_of_changes(
    operations, practitioner, lead, manager
):
    for operation, arg in operations:
        _apply(operation, arg, practitioner, lead)
    kept = report_summaries.summary_rows()
    report_summaries.rebuild()
    assert kept == report_summaries.summary_rows()
    today = timezone.localdate()
    filters = ReportFilters(date_from=today, date_to=today, organisation=manager.organisation)
    same_report(report_from_summaries(manager, filters), report_from_decisions(manager, filters))


def test_sign_off_times_are_kept_to_the_minute_5_minutes_or_the_hour():
    keep = report_summaries.turnaround_minutes
    assert keep(timedelta(minutes=42, seconds=59)) == 42
    assert keep(timedelta(hours=3, minutes=24, seconds=59)) == 200
    assert keep(timedelta(days=2, hours=4, minutes=59)) == 52 * 60


def test_a_chart_is_drawn_once_for_the_same_numbers(decisions, manager, monkeypatch):
    from decisions.reports import chart_images, charts

    report = build_report(manager, replace(PERIOD, organisation=manager.organisation))
    chart_images.report_charts(report)
    drawn = []
    real_draw = charts.draw
    monkeypatch.setattr(charts, "draw", lambda plot: drawn.append(plot.title) or real_draw(plot))
    again = chart_images.report_charts(report)
    assert drawn == []
    assert again["outcomes"].svg == real_draw(charts.report_plots(report)["outcomes"])
    other = replace(report, by_outcome=report.by_outcome[:2])
    chart_images.report_charts(other)
    assert drawn == ["Decisions by outcome"]


def test_keeping_the_summaries_costs_a_few_statements_per_submission(practitioner):
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    with CaptureQueriesContext(connection) as queries:
        report_summaries.refresh(decision)
    # approvals, stored packs, this decision's share; nothing changed, so nothing written
    assert len(queries.captured_queries) <= 4, [q["sql"] for q in queries.captured_queries]
    decision.status = Status.APPROVED
    with CaptureQueriesContext(connection) as queries:
        report_summaries.refresh(decision)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert (
        len(writes) == 3
    )  # one upsert of every changed row, one delete of emptied rows, one update
