"""Drill-down (decisions.reports.drilldown, the view reports.decisions): from a figure of a
report to the decisions it counts. Only for the manager's own organisation; partnership
figures (aggregate only) have no drill-down and the address refuses it (403, logged). Reading a
list is an audit event. Checked against the fixed set in tests/reports_data.py."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from hypothesis import strategies as st

from decisions.models import AuditEvent, Role
from decisions.reports.drilldown import Drilldown, DrilldownRefused, drilldown_decisions
from decisions.reports.figures import build_report
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.fuzzing import nasty_text, report_params, run, send
from tests.reports_data import PERIOD, ReportDecisionFactory, fixed_set, utc

pytestmark = pytest.mark.django_db

URL = "report_decisions"


@pytest.fixture
def decisions(org, other_org, practitioner, lead):
    return fixed_set(org, other_org, practitioner, lead)


@pytest.fixture
def own(manager):
    return replace(PERIOD, organisation=manager.organisation)


def query(filters, **figure: str) -> dict[str, str]:
    return {**filters.form_data(), **figure}


def listed(response) -> list[str]:
    """The references (with amendment) the page lists, in order."""
    page = response.content.decode()
    return re.findall(
        r'<td class="govuk-table__cell" data-label="Reference"><a [^>]*>([^<]+)</a>', page
    )


def error_summary(response) -> str:
    match = re.search(r'<div class="govuk-error-summary".*?</ul>', response.content.decode(), re.S)
    assert match, "no error summary on the page"
    return unescape(match.group(0))


def refs(*decisions) -> list[str]:
    return sorted(d.display_reference for d in decisions)


# ---- What the list holds ----------------------------------------------------------------


def test_an_outcome_lists_the_decisions_it_counts(decisions, manager, own):
    response = client_for(manager).get(
        reverse(URL), query(own, figure="outcome", value="do_not_share")
    )
    assert response.status_code == 200
    assert sorted(listed(response)) == refs(decisions[4], decisions[8], decisions[12])


def test_you_can_share_lists_its_decisions(decisions, manager, own):
    response = client_for(manager).get(
        reverse(URL), query(own, figure="outcome", value="can_share")
    )
    assert sorted(listed(response)) == refs(decisions[5], decisions[14])


def test_a_purpose_lists_every_decision_that_gives_it(decisions, manager, own):
    response = client_for(manager).get(reverse(URL), query(own, figure="purpose", value="crime"))
    assert sorted(listed(response)) == refs(decisions[4], decisions[6])


def test_a_lawful_reason_lists_every_decision_that_gives_it(decisions, manager, own):
    data = query(own, figure="lawful_reason", value="legal_obligation")
    response = client_for(manager).get(reverse(URL), data)
    assert sorted(listed(response)) == refs(decisions[6], decisions[13])


def test_a_month_lists_its_decisions_in_uk_time(decisions, manager, own):
    response = client_for(manager).get(reverse(URL), query(own, figure="month", value="2026-08"))
    # 14 was submitted 31 July 23:30 UTC, which is 1 August in the UK.
    assert sorted(listed(response)) == refs(*(decisions[n] for n in (1, 2, 3, 4, 5, 14)))


def test_every_figure_lists_as_many_decisions_as_it_counts(decisions, manager, own):
    report = build_report(manager, own)
    figures = [("outcome", f.key, f.count) for f in report.by_outcome]
    figures += [("purpose", f.key, f.count) for f in report.purposes]
    figures += [("lawful_reason", f.key, f.count) for f in report.lawful_reasons]
    figures += [("month", f"{m.month:%Y-%m}", m.total.count) for m in report.months]
    for kind, value, count in figures:
        found = drilldown_decisions(manager, own, Drilldown(kind, value))
        assert found.count() == count, (kind, value)


def test_the_list_keeps_the_reports_filters(decisions, manager, own):
    # Purpose s47 and outcome "share without consent": 3, 6 and 13 (not 1, 2: with consent).
    filters = replace(own, purpose="s47_child_protection")
    data = query(filters, figure="outcome", value="share_without_consent")
    response = client_for(manager).get(reverse(URL), data)
    assert sorted(listed(response)) == refs(decisions[3], decisions[6], decisions[13])


def test_the_list_shows_the_columns_and_links_each_reference_to_its_record(decisions, manager, own):
    response = client_for(manager).get(reverse(URL), query(own, figure="month", value="2026-10"))
    page = response.content.decode()
    for header in ("Reference", "Case reference", "Organisation", "Outcome", "Status"):
        assert f'<th scope="col" class="govuk-table__header">{header}</th>' in page
    assert reverse("record", args=[decisions[13].public_id]) in page
    assert "CASE-123" in page and "Leicester City Council" in page
    assert "30 Oct 2026, 12:00" in page  # 12:00 UTC is 12:00 GMT on 30 October
    assert re.search(r'id="decision-count">\s*3\s*<', page)


def test_the_record_a_list_links_to_opens_for_the_manager(decisions, manager, own):
    client = client_for(manager)
    response = client.get(reverse(URL), query(own, figure="outcome", value="do_not_share"))
    link = re.search(r'href="(/decisions/[0-9a-f-]+/)"', response.content.decode()).group(1)
    assert client.get(link).status_code == 200


def test_an_admin_may_list_the_decisions_of_every_organisation(decisions, admin_user, other_org):
    data = query(PERIOD, figure="outcome", value="share_with_consent")
    response = client_for(admin_user).get(reverse(URL), data)
    assert response.status_code == 200
    assert len(listed(response)) == 5  # 1, 2, 9, 10 and organisation B's


# ---- Paging -----------------------------------------------------------------------------


@pytest.fixture
def many(org, practitioner):
    return [
        ReportDecisionFactory(
            organisation=org,
            created_by=practitioner,
            outcome="can_share",
            submitted_at=utc(2026, 9, 1 + n % 28, 8 + n % 10),
        )
        for n in range(60)
    ]


def test_a_long_list_is_paged_and_the_pages_keep_the_filters(many, manager, own):
    client = client_for(manager)
    data = query(own, figure="outcome", value="can_share")
    first = client.get(reverse(URL), data)
    assert len(listed(first)) == 50
    page = first.content.decode()
    href = unescape(
        re.search(
            r'<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="next"', page
        ).group(1)
    )
    sent = {k: v[0] for k, v in parse_qs(urlsplit(href).query, keep_blank_values=True).items()}
    assert sent == {**data, "page": "2"}
    second = client.get(reverse(URL), sent)
    assert len(listed(second)) == 10
    assert not set(listed(first)) & set(listed(second))


@pytest.mark.parametrize("page", ["abc", "0", "-1", "999", "1e9", "\x00"])
def test_a_page_number_out_of_range_or_not_a_number_still_answers(many, manager, own, page):
    data = {**query(own, figure="outcome", value="can_share"), "page": page}
    assert client_for(manager).get(reverse(URL), data).status_code == 200


# ---- Reading a list is recorded ---------------------------------------------------------


def test_reading_a_list_is_an_audit_event(decisions, manager, own):
    client_for(manager).get(reverse(URL), query(own, figure="outcome", value="do_not_share"))
    event = AuditEvent.objects.get(action="report.decisions_listed")
    assert event.actor == manager
    assert event.organisation_id == manager.organisation_id
    assert event.details["filters"] == own.to_json()
    assert (event.details["figure"], event.details["value"]) == ("outcome", "do_not_share")
    assert event.details["decisions"] == 3 and event.details["page"] == 1
    assert sorted(event.details["shown"]) == sorted(
        f"{decisions[n].reference} v1" for n in (4, 8, 12)
    )


def test_each_page_read_is_its_own_event(many, manager, own):
    client = client_for(manager)
    data = query(own, figure="outcome", value="can_share")
    client.get(reverse(URL), data)
    client.get(reverse(URL), {**data, "page": "2"})
    pages = AuditEvent.objects.filter(action="report.decisions_listed").order_by("sequence")
    assert [(e.details["page"], len(e.details["shown"])) for e in pages] == [(1, 50), (2, 10)]


# ---- Who may see a list -----------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in(client, own):
    response = client.get(reverse(URL), {"figure": "outcome", "value": "can_share"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["practitioner", "lead"])
def test_practitioners_and_leads_are_refused(request, decisions, role):
    user = request.getfixturevalue(role)
    response = client_for(user).get(reverse(URL), {"figure": "outcome", "value": "can_share"})
    assert response.status_code == 403
    assert "CASE-123" not in response.content.decode()


def test_a_manager_without_an_organisation_is_refused(org):
    loose = UserFactory(organisation=None, role=Role.MANAGER, email="loose@example.org")
    response = client_for(loose).get(reverse(URL), {"figure": "outcome", "value": "can_share"})
    assert response.status_code == 403


def test_a_manager_cannot_list_another_organisations_decisions(decisions, manager, other_org):
    data = query(
        replace(PERIOD, organisation=other_org), figure="outcome", value="share_with_consent"
    )
    response = client_for(manager).get(reverse(URL), data)
    assert response.status_code == 400
    assert "Select an organisation you can report on" in error_summary(response)
    assert listed(response) == []
    assert not AuditEvent.objects.filter(action="report.decisions_listed").exists()


def test_another_organisations_manager_lists_none_of_these_decisions(
    decisions, other_manager, other_org
):
    filters = replace(PERIOD, organisation=other_org)
    data = query(filters, figure="outcome", value="share_with_consent")
    response = client_for(other_manager).get(reverse(URL), data)
    # Only organisation B's own decision: none of organisation A's.
    assert response.status_code == 200
    assert listed(response) == [
        d.display_reference
        for d in drilldown_decisions(
            other_manager, filters, Drilldown("outcome", "share_with_consent")
        )
    ]
    assert len(listed(response)) == 1
    assert not {d.display_reference for d in decisions.values()} & set(listed(response))


def test_a_partnership_report_of_all_organisations_has_no_drill_down(
    decisions, partnership_manager
):
    data = query(PERIOD, figure="outcome", value="share_with_consent")
    response = client_for(partnership_manager).get(reverse(URL), data)
    assert response.status_code == 403
    page = response.content.decode()
    assert "CASE-123" not in page and listed(response) == []
    assert "totals only" in page
    event = AuditEvent.objects.get(action="access.refused")
    assert event.details["reason"] == "aggregate_only"
    assert event.details["view"] == URL and event.details["filters"] == PERIOD.to_json()
    assert not AuditEvent.objects.filter(action="report.decisions_listed").exists()


def test_a_partnership_report_of_another_organisation_has_no_drill_down(
    decisions, partnership_manager, other_org
):
    data = query(replace(PERIOD, organisation=other_org), figure="month", value="2026-09")
    assert client_for(partnership_manager).get(reverse(URL), data).status_code == 403


def test_a_partnership_manager_may_list_their_own_organisations_decisions(
    decisions, partnership_manager, org
):
    data = query(replace(PERIOD, organisation=org), figure="outcome", value="can_share")
    response = client_for(partnership_manager).get(reverse(URL), data)
    assert response.status_code == 200
    assert len(listed(response)) == 2


def test_drill_down_is_refused_below_the_view_too(decisions, partnership_manager):
    with pytest.raises(DrilldownRefused):
        drilldown_decisions(partnership_manager, PERIOD, Drilldown("outcome", "can_share"))


# ---- Links from the report --------------------------------------------------------------


def drill_links(page: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="(/reports/decisions/\?[^"]+)"', page)]


def test_the_reports_figures_link_to_their_decisions(decisions, manager, own):
    client = client_for(manager)
    page = client.get(reverse("reports"), own.form_data()).content.decode()
    links = drill_links(page)
    figures = {
        (q["figure"][0], q["value"][0]) for q in (parse_qs(urlsplit(link).query) for link in links)
    }
    # Every non-zero outcome (in the summary and its table), purpose, lawful reason and month.
    assert ("outcome", "can_share") in figures
    assert ("purpose", "crime") in figures
    assert ("lawful_reason", "public_interest_child") in figures
    assert {("month", "2026-08"), ("month", "2026-09"), ("month", "2026-10")} <= figures
    assert ("purpose", "fgm") not in figures  # a zero has nothing to list
    for link in links:
        assert client.get(link).status_code == 200, link


def test_a_partnership_report_has_no_drill_down_links(decisions, partnership_manager):
    page = client_for(partnership_manager).get(reverse("reports")).content.decode()
    assert drill_links(page) == []


# ---- Bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figure", "message"),
    [
        ({}, "Choose a figure of the report to list"),
        ({"figure": "outcome"}, "Choose a figure of the report to list"),
        ({"figure": "recipient", "value": "x"}, "Choose a figure of the report to list"),
        ({"figure": "outcome", "value": "draft"}, "Choose outcome from the report"),
        ({"figure": "purpose", "value": "s17"}, "Choose purpose from the report"),
        ({"figure": "lawful_reason", "value": "<script>"}, "Choose lawful reason"),
        ({"figure": "month", "value": "2026-12"}, "Choose a month in the report's period"),
        ({"figure": "month", "value": "2026-8"}, "Choose a month in the report's period"),
        ({"figure": "month", "value": "August"}, "Choose a month in the report's period"),
        ({"figure": "outcome", "value": "x" * 500}, "Choose a figure of the report to list"),
        ({"figure": "outcome", "value": "can_share\x00"}, "Choose a figure of the report to list"),
    ],
)
def test_a_bad_figure_is_explained_not_a_500(decisions, manager, own, figure, message):
    response = client_for(manager).get(reverse(URL), query(own, **figure))
    assert response.status_code == 400
    assert message in error_summary(response)
    assert "Error:" in response.content.decode().split("</title>")[0]
    assert listed(response) == []


def test_bad_dates_are_explained_not_a_500(decisions, manager, own):
    data = {
        **query(own, figure="outcome", value="can_share"),
        "date_from_0": "31",
        "date_from_1": "2",
    }
    response = client_for(manager).get(reverse(URL), data)
    assert response.status_code == 400
    assert "Start date must be a real date" in error_summary(response)


def test_the_error_summary_links_back_to_the_report(decisions, manager, own):
    response = client_for(manager).get(reverse(URL), query(own, figure="month", value="1999-01"))
    summary = error_summary(response)
    assert f'href="{reverse("reports")}?' in summary


def test_the_drill_down_only_answers_gets(manager):
    assert client_for(manager).post(reverse(URL), {}).status_code == 405


def test_the_list_page_is_fit_for_the_csp(decisions, manager, own):
    page = client_for(manager).get(reverse(URL), query(own, figure="month", value="2026-09"))
    text = page.content.decode()
    assert not re.search(r"\sstyle\s*=", text) and "<style" not in text
    assert not re.search(r"<script(?![^>]*\bsrc=)", text)


@pytest.mark.parametrize("role", ["manager", "partnership_manager"])
def test_the_drill_down_survives_generated_input(request, role, decisions):
    client = client_for(request.getfixturevalue(role))
    figure = st.one_of(
        st.sampled_from(["outcome", "purpose", "lawful_reason", "month"]), nasty_text
    )
    value = st.one_of(
        st.sampled_from(["can_share", "crime", "legal_obligation", "2026-09", ""]), nasty_text
    )

    def listed_safely(params: dict[str, Any]) -> None:
        assert send(client, "get", reverse(URL), params) < 500

    run(
        20,
        st.tuples(report_params(), figure, value, st.one_of(st.just(""), nasty_text)).map(
            lambda p: {**p[0], "figure": p[1], "value": p[2], "page": p[3]}
        ),
        listed_safely,
    )
