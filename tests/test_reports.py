"""Report figures (decisions.reports.figures) and charts (decisions.reports.charts), checked
against values worked out by hand for the fixed set of decisions in tests/reports_data.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from django.utils import timezone

from decisions.forms.reports import (
    ReportFilterForm,
    financial_year_start,
    form_for,
    period_presets,
    quarter_start,
    three_months_before,
)
from decisions.models import Decision, GuidancePack, Status
from decisions.reports import chart_images, charts
from decisions.reports.fields import REPORTED, answer
from decisions.reports.figures import build_report, describe_duration, percentile
from decisions.reports.filters import counted_decisions, is_aggregate_only
from decisions.reports.suppression import FEWER_THAN, NOT_SHOWN, hidden_counts
from tests.reports_data import PERIOD, ReportDecisionFactory, fixed_set, utc  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def decisions(org, other_org, practitioner, lead):
    return fixed_set(org, other_org, practitioner, lead)


@pytest.fixture
def report(decisions, manager):
    return build_report(manager, replace(PERIOD, organisation=manager.organisation))


@pytest.fixture
def partnership_report(decisions, partnership_manager):
    return build_report(partnership_manager, PERIOD)


def by_key(figures) -> dict[str, int]:
    return {f.key: f.count for f in figures}


# ---- What is counted --------------------------------------------------------------------


def test_the_report_counts_submitted_decisions_of_the_period_in_uk_time(report):
    # 1-14: the draft, organisation B's decision and the two outside the UK-time period are not.
    assert report.total.count == 14


def test_a_decision_submitted_just_after_midnight_uk_time_on_the_first_day_counts(
    decisions, manager
):
    counted = counted_decisions(manager, PERIOD)
    assert counted.filter(pk=decisions[14].pk).exists()


def test_drafts_are_not_counted(decisions, manager):
    assert not counted_decisions(manager, PERIOD).filter(status=Status.DRAFT).exists()


def test_a_manager_counts_only_their_own_organisation(decisions, manager, other_org):
    assert not counted_decisions(manager, PERIOD).filter(organisation=other_org).exists()


def test_a_partnership_manager_counts_every_organisation(partnership_report):
    assert partnership_report.total.count == 15


def test_an_admin_report_of_all_organisations_is_not_aggregate_only(admin_user):
    assert not is_aggregate_only(admin_user, PERIOD)


def test_a_partnership_report_of_the_managers_own_organisation_is_not_aggregate_only(
    partnership_manager,
):
    assert not is_aggregate_only(
        partnership_manager, replace(PERIOD, organisation=partnership_manager.organisation)
    )


def test_a_partnership_report_of_all_organisations_is_aggregate_only(partnership_manager):
    assert is_aggregate_only(partnership_manager, PERIOD)


# ---- Figures, against the hand-worked values --------------------------------------------


def test_decisions_by_outcome(report):
    assert by_key(report.by_outcome) == {
        "do_not_share": 3,  # 4, 8, 12
        "can_share": 2,  # 5, 14
        "share_with_consent": 4,  # 1, 2, 9, 10
        "share_without_consent": 5,  # 3, 6, 7, 11, 13
    }


def test_decisions_by_month(report):
    assert [(m.month, m.total.count) for m in report.months] == [
        (date(2026, 8, 1), 6),  # 1, 2, 3, 4, 5, 14
        (date(2026, 9, 1), 5),  # 6, 7, 8, 9, 10
        (date(2026, 10, 1), 3),  # 11, 12, 13
    ]


def test_consent_rates_by_month(report):
    shown = [
        (m.with_consent.shown, m.without_consent.shown, m.do_not_share.shown) for m in report.months
    ]
    assert shown == [
        ("33.3%", "16.7%", "16.7%"),  # Aug: 2, 1, 1 of 6
        ("40.0%", "40.0%", "20.0%"),  # Sep: 2, 2, 1 of 5
        ("0.0%", "66.7%", "33.3%"),  # Oct: 0, 2, 1 of 3
    ]


def test_every_months_outcome_rates_add_up_to_the_whole_month(report):
    shown = [(m.can_share.shown, m.can_share.count) for m in report.months]
    assert shown == [("33.3%", 2), ("0.0%", 0), ("0.0%", 0)]  # Aug: 5 and 14 of 6
    for m in report.months:
        rates = (m.with_consent, m.without_consent, m.can_share, m.do_not_share)
        assert sum(r.count for r in rates) == m.total.count


def test_the_summary_has_every_outcome_so_its_rows_add_up_to_the_total(report):
    assert [(f.label, f.count) for f in report.consent_split] == [
        ("Share with consent", 4),
        ("Share without consent", 5),
        ("You can share", 2),
        ("Do not share", 3),
    ]
    assert sum(f.count for f in report.consent_split) == report.total.count


def test_partnership_rates_hide_small_counts_but_show_the_rest(
    decisions, partnership_manager, org, practitioner
):
    # October, with 10 more shared with consent: 10, 2 without, 0 can share, 1 not, of 13.
    for day in range(1, 11):
        ReportDecisionFactory(
            organisation=org,
            created_by=practitioner,
            outcome="share_with_consent",
            submitted_at=utc(2026, 10, day, 12),
        )
    october = build_report(partnership_manager, PERIOD).months[2]
    assert (
        october.with_consent.shown,
        october.without_consent.shown,
        october.can_share.shown,
        october.do_not_share.shown,
    ) == ("76.9%", FEWER_THAN, "0.0%", FEWER_THAN)


def test_a_single_small_rate_in_a_month_takes_a_second_one_with_it(
    partnership_manager, org, practitioner
):
    # 6 with consent, 5 without, 1 "you can share" in September: the 1 could otherwise be worked
    # out from the total (12) and the other rates, so the next smallest (5) is hidden too.
    for n, outcome in enumerate(["share_with_consent"] * 6 + ["share_without_consent"] * 5):
        ReportDecisionFactory(
            organisation=org,
            created_by=practitioner,
            outcome=outcome,
            submitted_at=utc(2026, 9, n + 1, 12),
        )
    ReportDecisionFactory(
        organisation=org, created_by=practitioner, submitted_at=utc(2026, 9, 20, 12)
    )
    september = build_report(partnership_manager, PERIOD).months[1]
    assert september.total.shown == "12"
    assert (
        september.with_consent.shown,
        september.without_consent.shown,
        september.can_share.shown,
        september.do_not_share.shown,
    ) == ("50.0%", NOT_SHOWN, FEWER_THAN, "0.0%")


def test_lawful_reasons_count_each_reason_a_decision_gives(report):
    assert by_key(report.lawful_reasons) == {
        "legal_obligation": 2,  # 6, 13
        "statutory_duty": 0,
        "public_interest_child": 3,  # 3, 6, 7
        "public_interest_adult": 0,
        "statutory_power": 0,
        "public_interest_crime": 1,  # 11
        "vital_interests": 0,
        "best_interests": 0,
        "none": 0,
        "not_sure": 0,
    }


def test_gdpr_article_6_bases(report):
    assert by_key(report.gdpr_bases) == {
        "public_task": 7,  # 1, 2, 3, 7, 9, 10, 11
        "legal_obligation": 2,  # 6, 13
        "vital_interests": 0,
        "legitimate_interests": 0,
        "not_personal_data": 2,  # 5, 14
    }


def test_purposes_count_each_purpose_a_decision_gives(report):
    assert by_key(report.purposes) == {
        "s47_child_protection": 5,  # 1, 2, 3, 6, 13
        "s17_child_in_need": 3,  # 8, 9, 10
        "early_help": 3,  # 2, 5, 14
        "cse": 1,  # 7
        "fgm": 0,
        "partnership_review": 0,
        "prevent": 1,  # 11
        "crime": 2,  # 4, 6
        "serious_violence": 0,
        "adult_at_risk": 0,
        "other": 1,  # 12
        "none": 0,
    }


def test_recipient_organisations_are_grouped_ignoring_case_and_spaces(report):
    assert [(f.label, f.count) for f in report.recipients] == [
        ("Leicestershire Police", 4),  # 3, 6, 11, 13
        ("Children's social care", 3),  # 1, 2 ("children's social care "), 7
        ("Health visitor team", 2),  # 9, 10
        ("School", 2),  # 5, 14
    ]


def test_requests_received_and_refused(report):
    assert (report.requests.count, report.requests_refused.count) == (4, 2)  # 4,6,8,13; 4,8


def test_sign_off_time_median_and_90th_percentile(report):
    # Approvals after 4 h (3), 24 h (4), 1 h (6, from its second submission), 48 h (11), 2 h (13).
    assert report.turnaround.approved.count == 5
    assert report.turnaround.median == timedelta(hours=4)
    assert report.turnaround.p90 == timedelta(hours=48)


def test_decisions_returned_at_sign_off(report):
    assert report.returned.count == 2  # 6 and 8


def test_amendments_are_versions_after_the_first(report):
    assert report.amendments.count == 1  # 10


# ---- Filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"status": Status.APPROVED}, 5),  # 3, 4, 6, 11, 13
        ({"direction": "request"}, 4),  # 4, 6, 8, 13
        ({"purpose": "s47_child_protection"}, 5),  # 1, 2, 3, 6, 13
        ({"purpose": "crime"}, 2),  # 4, 6
        ({"lawful_reason": "legal_obligation"}, 2),  # 6, 13
        ({"outcome": "do_not_share"}, 3),  # 4, 8, 12
        ({"date_from": date(2026, 9, 1), "date_to": date(2026, 9, 30)}, 5),  # 6-10
    ],
)
def test_each_filter_narrows_the_count(decisions, manager, change, expected):
    filters = replace(PERIOD, **change)
    assert counted_decisions(manager, filters).count() == expected


def test_a_purpose_filter_matches_whole_values_only(decisions, manager):
    # "s17_child_in_need" must not match inside another value, nor a prefix of one.
    assert counted_decisions(manager, replace(PERIOD, purpose="s17")).count() == 0


def test_a_manager_choosing_another_organisation_counts_nothing(decisions, manager, other_org):
    assert counted_decisions(manager, replace(PERIOD, organisation=other_org)).count() == 0


# ---- Small-number suppression -----------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "adds_up", "expected"),
    [
        ([10, 3, 7], False, ["", "small", ""]),
        ([10, 3, 7], True, ["", "small", "secondary"]),
        ([10, 3, 2], True, ["", "small", "small"]),
        ([10, 0, 7], True, ["", "", ""]),
        ([4, 0], True, ["small", ""]),
        ([5, 1, 20], True, ["secondary", "small", ""]),
    ],
)
def test_small_counts_are_hidden_and_one_more_where_a_total_would_reveal_them(
    counts, adds_up, expected
):
    assert hidden_counts(counts, aggregate_only=True, adds_up=adds_up) == expected


def test_nothing_is_hidden_in_an_own_organisation_report():
    assert hidden_counts([1, 2, 3], aggregate_only=False, adds_up=True) == ["", "", ""]


def test_partnership_outcomes_show_small_counts_as_fewer_than_5(partnership_report):
    # With organisation B's decision: 3 not shared, 2 can share, 5 and 5 shared.
    assert {f.key: f.shown for f in partnership_report.by_outcome} == {
        "do_not_share": FEWER_THAN,
        "can_share": FEWER_THAN,
        "share_with_consent": "5",
        "share_without_consent": "5",
    }


def test_partnership_months_hide_a_second_count_so_a_small_one_cannot_be_derived(
    partnership_report,
):
    # Aug 6, Sep 6 (5 + organisation B's), Oct 3: October is small, so August is hidden too.
    assert [m.total.shown for m in partnership_report.months] == [NOT_SHOWN, "6", FEWER_THAN]


def test_partnership_rates_are_hidden_for_small_counts(partnership_report):
    september = partnership_report.months[1]  # 3 with consent, 2 without, 1 not shared, of 6
    assert (september.with_consent.shown, september.without_consent.shown) == (
        FEWER_THAN,
        FEWER_THAN,
    )


def test_partnership_sign_off_figures_hide_small_counts(partnership_report):
    assert (partnership_report.returned.shown, partnership_report.amendments.shown) == (
        FEWER_THAN,
        FEWER_THAN,
    )


def test_partnership_recipients_fold_rare_names_into_one_line(partnership_report):
    # Every recipient was named fewer than 5 times (police 4, social care 4, ...).
    assert [f.label for f in partnership_report.recipients] == [
        "All other recipients (each fewer than 5)"
    ]


def test_partnership_sign_off_time_is_shown_from_5_approvals(partnership_report):
    assert partnership_report.turnaround.median == timedelta(hours=4)


# ---- Helpers ----------------------------------------------------------------------------


def test_the_90th_percentile_is_the_nearest_rank():
    values = [timedelta(hours=h) for h in range(1, 11)]
    assert percentile(values, 0.9) == timedelta(hours=9)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (timedelta(minutes=1), "1 minute"),
        (timedelta(hours=3, minutes=20), "3 hours 20 minutes"),
        (timedelta(days=2, hours=4), "2 days 4 hours"),
        (timedelta(days=1), "1 day"),
        (None, "–"),
    ],
)
def test_sign_off_times_read_as_words(value, words):
    assert describe_duration(value) == words


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 23), date(2026, 8, 23)),
        (date(2026, 2, 10), date(2025, 11, 10)),
        (date(2026, 5, 31), date(2026, 2, 28)),
    ],
)
def test_the_default_period_starts_three_calendar_months_back(today, expected):
    assert three_months_before(today) == expected


def presets_on(today: date) -> dict[str, tuple[date, date]]:
    return {p.label: (p.date_from, p.date_to) for p in period_presets(today)}


def test_the_period_presets_in_the_autumn():
    assert presets_on(date(2026, 11, 23)) == {
        "This quarter": (date(2026, 10, 1), date(2026, 11, 23)),
        "Last quarter": (date(2026, 7, 1), date(2026, 9, 30)),
        "Last 12 months": (date(2025, 11, 24), date(2026, 11, 23)),
        "This financial year": (date(2026, 4, 1), date(2026, 11, 23)),
    }


def test_before_1_april_the_financial_year_began_the_year_before():
    assert presets_on(date(2027, 2, 10)) == {
        "This quarter": (date(2027, 1, 1), date(2027, 2, 10)),
        "Last quarter": (date(2026, 10, 1), date(2026, 12, 31)),
        "Last 12 months": (date(2026, 2, 11), date(2027, 2, 10)),
        "This financial year": (date(2026, 4, 1), date(2027, 2, 10)),
    }


@pytest.mark.parametrize(
    ("today", "financial_year", "quarter"),
    [
        (date(2026, 4, 1), date(2026, 4, 1), date(2026, 4, 1)),  # the first day of both
        (date(2026, 3, 31), date(2025, 4, 1), date(2026, 1, 1)),  # the last day before
        (date(2026, 12, 31), date(2026, 4, 1), date(2026, 10, 1)),
    ],
)
def test_the_financial_year_starts_on_1_april(today, financial_year, quarter):
    assert financial_year_start(today) == financial_year
    assert quarter_start(today) == quarter


def test_last_12_months_from_a_leap_day_is_exactly_a_year():
    assert presets_on(date(2028, 2, 29))["Last 12 months"] == (date(2027, 3, 1), date(2028, 2, 29))


def test_every_preset_is_a_period_the_filter_form_accepts(manager):
    for preset in period_presets(timezone.localdate()):
        filters = replace(
            PERIOD,
            date_from=preset.date_from,
            date_to=preset.date_to,
            organisation=manager.organisation,
        )
        form = form_for(manager, filters.form_data())
        assert form.is_valid(), (preset.label, form.errors)


def test_the_default_filters_cover_the_last_three_months_of_the_managers_organisation(manager):
    form = form_for(manager, {})
    assert form.is_valid()
    filters = form.filters()
    assert filters.organisation == manager.organisation
    assert filters.date_from == three_months_before(filters.date_to)


def test_every_reported_answer_is_asked_in_every_stored_pack():
    for stored in GuidancePack.objects.all():
        asked = {f.name for step in stored.pack.steps.values() for f in step.fields}
        assert set(REPORTED) <= asked, f"{stored}: {sorted(set(REPORTED) - asked)}"


def test_a_reported_answer_is_found_whichever_step_holds_it(practitioner):
    """Reports find an answer by its field's name, in any step a stored pack puts it in."""
    pack = GuidancePack.objects.get(is_current=True)
    for n, answers in enumerate(
        ({"context": {"direction": "request"}}, {"moved": {"direction": "proactive"}})
    ):
        Decision.objects.create(
            reference=f"ISG-2026-90000{n}",
            organisation=practitioner.organisation,
            created_by=practitioner,
            pack=pack,
            answers=answers,
        )
    places = {"direction": [("context", "direction"), ("moved", "direction")]}
    found = Decision.objects.annotate(d=answer("direction", places))
    assert sorted(found.values_list("d", flat=True)) == ["proactive", "request"]


def test_the_filter_form_offers_only_the_managers_own_organisation(manager, other_org):
    form = ReportFilterForm(manager)
    assert [slug for slug, _ in form.fields["organisation"].choices] == [manager.organisation.slug]


# ---- Charts -----------------------------------------------------------------------------


def test_charts_are_svg_drawn_by_matplotlib(report):
    chart = chart_images.report_charts(report)["outcomes"]
    assert chart.svg.lstrip().startswith("<?xml")
    assert "Matplotlib" in chart.svg or "matplotlib" in chart.svg
    assert "<svg" in chart.svg


def test_a_chart_is_an_image_data_uri_for_the_pdf(report):
    chart = chart_images.report_charts(report)["months"]
    assert chart.data_uri.startswith("data:image/svg+xml;base64,")


def test_a_chart_labels_its_bars_with_the_category_names(report):
    chart = chart_images.report_charts(report)["outcomes"]
    assert "Share without consent" in chart.svg


def test_the_same_figures_draw_the_same_svg(report):
    assert charts.monthly_chart(report.months).svg == charts.monthly_chart(report.months).svg


def test_a_hidden_count_is_not_drawn_but_labelled(partnership_report):
    chart = charts.bar_chart("Outcomes", partnership_report.by_outcome)
    assert "fewer than 5" in chart.svg
