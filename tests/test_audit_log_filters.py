"""The audit log's filters at scale: the person filter is an email address typed in (never a
list of every account, never an email in a URL) and the date filter is a sequence range."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from decisions.audit import record_event
from decisions.audit.queries import AuditFilters, filtered_events
from decisions.models import Role
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_posting_an_email_address_goes_to_an_address_with_the_persons_id(lead, practitioner):
    response = client_for(lead).post(reverse("review_audit"), {"person": practitioner.email})
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('review_audit')}?person={practitioner.pk}"
    assert "@" not in response["Location"]


def test_the_email_address_is_matched_whatever_its_case(lead, practitioner):
    response = client_for(lead).post(
        reverse("review_audit"), {"person": f"  {practitioner.email.upper()} "}
    )
    assert response["Location"].endswith(f"?person={practitioner.pk}")


def test_the_other_filters_are_carried_to_the_address(lead, practitioner):
    response = client_for(lead).post(
        reverse("review_audit"),
        {"person": practitioner.email, "action": "decision.viewed", "reference": ""},
    )
    query = response["Location"].split("?", 1)[1]
    assert sorted(query.split("&")) == ["action=decision.viewed", f"person={practitioner.pk}"]


def test_the_page_for_a_person_shows_their_address_in_the_box_and_their_events(
    lead, practitioner, colleague
):
    record_event("test.pat", actor=practitioner)
    record_event("test.colleague", actor=colleague)
    response = client_for(lead).get(reverse("review_audit"), {"person": practitioner.pk})
    assert {e.action for e in response.context["page"].events} == {"test.pat"}
    assert f'value="{practitioner.email}"' in response.content.decode()


def test_an_unknown_email_address_is_an_error_on_the_page(lead):
    response = client_for(lead).post(reverse("review_audit"), {"person": "nobody@example.org"})
    assert response.status_code == 400
    assert b"govuk-error-summary" in response.content
    assert b"Enter the email address of a person in" in response.content


def test_a_lead_cannot_filter_by_the_email_of_another_organisations_person(lead, outsider):
    response = client_for(lead).post(reverse("review_audit"), {"person": outsider.email})
    assert response.status_code == 400
    assert response.context["page"].events == []


def test_an_administrator_filters_by_anyones_email(admin_user, outsider):
    response = client_for(admin_user).post(reverse("review_audit"), {"person": outsider.email})
    assert response["Location"].endswith(f"?person={outsider.pk}")


@pytest.mark.parametrize("role", ["practitioner", "manager"])
def test_the_filter_form_refuses_other_roles(request, role, lead):
    user = request.getfixturevalue(role)
    response = client_for(user).post(reverse("review_audit"), {"person": lead.email})
    assert response.status_code == 403


def test_the_filter_form_needs_its_csrf_token(lead, practitioner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    response = client.post(reverse("review_audit"), {"person": practitioner.email})
    assert response.status_code == 403


def test_the_page_makes_the_same_queries_and_size_whatever_the_number_of_staff(lead, org):
    client = client_for(lead)

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("review_audit"))
        assert response.status_code == 200
        return len(queries.captured_queries), response.content.decode().count("<option")

    client.get(reverse("review_audit"))  # warm: session, pack
    few = measure()
    staff = UserFactory.create_batch(40, organisation=org, role=Role.PRACTITIONER)
    many = measure()
    assert many[0] == few[0] > 0
    assert many[1] == few[1]  # no list of people
    assert staff[0].email not in client.get(reverse("review_audit")).content.decode()


def test_the_date_filter_bounds_the_sequence_with_one_probe_at_each_end(lead):
    for n in range(3):
        record_event("test.event", actor=lead, details={"n": n})
    today = timezone.localdate()
    filters = AuditFilters(date_from=today, date_to=today)
    with CaptureQueriesContext(connection) as probes:
        events = filtered_events(lead, filters)
    # One query at each end (each chain's first or last event there, by the (chain,
    # created_at, sequence) index); the page then reads a bounded sequence range.
    assert len(probes.captured_queries) == 2
    sql = str(events.query)
    assert re.search(r'"sequence" >= \d+', sql) and re.search(r'"sequence" <= \d+', sql)
    assert {e.action for e in events} >= {"test.event"}


def test_a_date_range_is_exact_when_two_chains_took_times_and_numbers_in_opposite_orders(
    lead, outside_lead, monkeypatch
):
    # A writer takes its time before its chain's lock and its number under it, so across
    # chains a later time can carry a lower number: the range must still be exact.
    today = timezone.localdate()
    midnight = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))
    clock = "decisions.audit.record.timezone.now"
    monkeypatch.setattr(clock, lambda: midnight + timedelta(seconds=1))
    after_midnight = record_event("test.after_midnight", actor=outside_lead)
    monkeypatch.setattr(clock, lambda: midnight - timedelta(seconds=1))
    before_midnight = record_event("test.before_midnight", actor=lead)
    assert after_midnight.sequence < before_midnight.sequence
    assert after_midnight.created_at > before_midnight.created_at
    monkeypatch.undo()

    def found(user, **dates):
        return set(filtered_events(user, AuditFilters(**dates)))

    tomorrow = today + timedelta(days=1)
    assert before_midnight in found(lead, date_from=today, date_to=today)
    assert before_midnight not in found(lead, date_from=tomorrow)
    assert after_midnight in found(outside_lead, date_from=tomorrow, date_to=tomorrow)
    assert after_midnight not in found(outside_lead, date_to=today)


def test_the_date_range_holds_exactly_the_events_of_its_days(lead, monkeypatch):
    today = timezone.localdate()
    now = record_event("test.now", actor=lead)
    in_three_days = timezone.now() + timedelta(days=3)
    monkeypatch.setattr(timezone, "now", lambda: in_three_days)  # the clock moves on
    later = record_event("test.later", actor=lead)
    found = set(filtered_events(lead, AuditFilters(date_from=today, date_to=today)))
    assert now in found and later not in found
    after = set(filtered_events(lead, AuditFilters(date_from=today + timedelta(days=1))))
    assert later in after and now not in after


def test_a_window_with_no_events_is_empty(lead):
    record_event("test.event", actor=lead)
    long_ago = timezone.localdate() - timedelta(days=400)
    filters = AuditFilters(date_from=long_ago, date_to=long_ago)
    assert list(filtered_events(lead, filters)) == []


def test_the_empty_filter_form_is_the_same_html_rendered_once(lead, org):
    other_lead = UserFactory(organisation=org, role=Role.LEAD)
    first = client_for(lead).get(reverse("review_audit")).content.decode()
    second = client_for(other_lead).get(reverse("review_audit")).content.decode()
    for page in (first, second):
        assert '<input type="email" name="person"' in page
        assert "&lt;input" not in page
    assert 'name="action"' in second


def test_an_event_row_shows_who_what_and_where_escaped(lead):
    record_event("test.<b>", actor=lead, details={"note": "<script>x</script>"})
    page = client_for(lead).get(reverse("review_audit")).content.decode()
    assert "<script>x</script>" not in page
    assert "note: &lt;script&gt;x&lt;/script&gt;" in page
    assert f'data-label="Who">{lead.email}<br><span class="govuk-body-s">' in page


def test_an_event_row_shows_its_time_as_the_date_filter_did(lead):
    from django.template.defaultfilters import date as date_filter

    event = record_event("test.when", actor=lead)
    page = client_for(lead).get(reverse("review_audit")).content.decode()
    shown = date_filter(timezone.localtime(event.created_at), "j M Y, H:i:s")
    assert f'data-label="When (UK time)">{shown}</td>' in page
