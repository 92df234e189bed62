"""The lead's pages and the decider's reconsideration, through the Django test client:
who may open what, approve and return round trips, the audit log, its export and check."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pgtrigger
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from decisions import signoff
from decisions.audit import record_event
from decisions.models import Approval, AuditEvent, AuditVerification, Decision, Role, Status
from tests.conftest import client_for
from tests.factories import ROUTES, UserFactory, answered_decision, as_post, route_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def awaiting(practitioner, lead) -> Decision:
    # The organisation has a lead, so administrators are not its fallback approvers
    # (tests/test_approvers.py covers an organisation without one).
    return answered_decision(practitioner, "share_without_consent", submit=True)


@pytest.fixture
def other_admin(other_org):
    return UserFactory(organisation=other_org, role=Role.ADMIN, email="otheradmin@example.org")


def review_url(decision: Decision) -> str:
    return reverse("review_approval", args=[decision.public_id])


def access_url(decision: Decision) -> str:
    return reverse("review_record_access", args=[decision.public_id])


def actions(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


# ---- the authorisation matrix: every new view x role x own/other organisation ------------

APPROVE = {"outcome": "approved", "comments": ""}
VIEWS = {
    "approvals": ("get", lambda d: reverse("review_approvals"), None),
    "approval": ("get", review_url, None),
    "approve": ("post", review_url, APPROVE),
    "audit log": ("get", lambda d: reverse("review_audit"), None),
    "audit export": ("get", lambda d: reverse("review_audit_export"), None),
    "audit check": ("post", lambda d: reverse("review_audit_verify"), {}),
    "record access": ("get", access_url, None),
    "reconsider page": ("get", lambda d: reverse("reconsider", args=[d.public_id]), None),
    "reconsider": ("post", lambda d: reverse("reconsider", args=[d.public_id]), {}),
}
# Users (conftest fixtures): the decider is `practitioner`; the decision is their organisation's.
EXPECTED = {
    "practitioner": [403, 403, 403, 403, 403, 403, 403, 200, 400],
    "colleague": [403, 403, 403, 403, 403, 403, 403, 404, 404],
    "manager": [403, 403, 403, 403, 403, 403, 403, 403, 403],
    "lead": [200, 200, 302, 200, 200, 302, 200, 404, 404],
    "admin_user": [200, 200, 403, 200, 200, 302, 200, 403, 403],
    "outsider": [403, 403, 403, 403, 403, 403, 403, 404, 404],
    "outside_lead": [200, 404, 404, 200, 200, 302, 404, 404, 404],
    "other_admin": [200, 200, 403, 200, 200, 302, 200, 403, 403],
}
MATRIX = [
    pytest.param(who, view, status, id=f"{who}-{view}")
    for who, statuses in EXPECTED.items()
    for view, status in zip(VIEWS, statuses, strict=True)
]


@pytest.mark.parametrize(("who", "view", "expected"), MATRIX)
def test_each_view_answers_each_role_and_organisation_as_expected(
    request, awaiting, who, view, expected
):
    method, url_for, data = VIEWS[view]
    client = client_for(request.getfixturevalue(who))
    url = url_for(awaiting)
    response = client.post(url, data) if method == "post" else client.get(url)
    assert response.status_code == expected


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_view_needs_sign_in(awaiting, view):
    method, url_for, data = VIEWS[view]
    url = url_for(awaiting)
    response = Client().post(url, data) if method == "post" else Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_lead_of_another_organisation_does_not_see_the_decision_in_their_queue(
    awaiting, outside_lead
):
    response = client_for(outside_lead).get(reverse("review_approvals"))
    assert awaiting.reference.encode() not in response.content


def test_the_queue_lists_what_awaits_the_leads_organisation(awaiting, lead):
    response = client_for(lead).get(reverse("review_approvals"))
    assert awaiting.reference.encode() in response.content


def test_a_forged_decision_id_is_404_and_logged(lead):
    forged = "00000000-0000-4000-8000-000000000000"
    response = client_for(lead).post(reverse("review_approval", args=[forged]), APPROVE)
    assert response.status_code == 404
    [event] = actions("access.refused")
    assert (event.actor, event.object_id) == (lead, forged)


def test_approving_from_another_organisation_changes_nothing_and_is_logged(awaiting, outside_lead):
    client_for(outside_lead).post(review_url(awaiting), APPROVE)
    awaiting.refresh_from_db()
    assert awaiting.status == Status.AWAITING_APPROVAL
    assert actions("access.refused")[0].actor == outside_lead


def test_an_administrators_attempt_to_approve_is_refused_and_logged(awaiting, admin_user):
    client_for(admin_user).post(review_url(awaiting), APPROVE)
    [event] = actions("access.refused")
    assert (event.actor, event.details["reason"]) == (admin_user, "role")


# ---- approve and return, through the pages ------------------------------------------------


def walk_through(client: Client, decision: Decision, outcome: str) -> None:
    for step_id, values in ROUTES[outcome]:
        response = client.post(reverse("step", args=[decision.public_id, step_id]), as_post(values))
        assert response.status_code == 302, step_id


def submit_through_pages(client: Client, outcome: str) -> Decision:
    client.post(reverse("start"))
    decision = Decision.objects.latest("created_at")
    walk_through(client, decision, outcome)
    response = client.post(reverse("check_answers", args=[decision.public_id]))
    assert response["Location"] == reverse("confirmation", args=[decision.public_id])
    decision.refresh_from_db()
    return decision


def test_a_full_approval_round_trip_through_the_pages(practitioner, lead):
    decider, reviewer = client_for(practitioner), client_for(lead)
    decision = submit_through_pages(decider, "share_without_consent")
    assert decision.status == Status.AWAITING_APPROVAL
    queue = reviewer.get(reverse("review_approvals"))
    assert review_url(decision).encode() in queue.content
    response = reviewer.post(
        review_url(decision), {"outcome": "approved", "comments": "Necessary and proportionate."}
    )
    assert response["Location"] == reverse("review_approvals")
    decision.refresh_from_db()
    assert decision.status == Status.APPROVED
    page = decider.get(reverse("record", args=[decision.public_id])).content.decode()
    assert "Approved" in page
    assert "Necessary and proportionate." in page
    assert lead.email in page


def test_a_full_return_and_resubmission_round_trip_through_the_pages(practitioner, lead):
    decider, reviewer = client_for(practitioner), client_for(lead)
    decision = submit_through_pages(decider, "share_without_consent")
    reviewer.post(
        review_url(decision),
        {"outcome": "returned", "comments": "Record why consent was not sought."},
    )
    decision.refresh_from_db()
    assert decision.status == Status.RETURNED
    drafts = decider.get(reverse("my_decisions")).content.decode()
    assert "Returned for changes" in drafts
    decider.post(
        reverse("step", args=[decision.public_id, "what_to_share"]) + "?return=check",
        as_post(
            {
                **route_values("share_without_consent", "what_to_share"),
                "withheld": "Consent not sought: asking would put the child at risk.",
            }
        ),
    )
    decider.post(reverse("check_answers", args=[decision.public_id]))
    decision.refresh_from_db()
    assert decision.status == Status.AWAITING_APPROVAL
    reviewer.post(review_url(decision), {"outcome": "approved", "comments": ""})
    decision.refresh_from_db()
    assert decision.status == Status.APPROVED
    assert [a.action for a in Approval.objects.order_by("at")] == ["returned", "approved"]
    page = decider.get(reverse("record", args=[decision.public_id])).content.decode()
    assert "Submission 1" in page and "Submission 2" in page
    assert "Record why consent was not sought." in page


def test_approving_twice_shows_a_clear_error_and_is_logged(awaiting, lead):
    reviewer = client_for(lead)
    reviewer.post(review_url(awaiting), APPROVE)
    response = reviewer.post(review_url(awaiting), APPROVE)
    assert response.status_code == 400
    assert b"govuk-error-summary" in response.content
    assert b"not awaiting approval" in response.content
    assert len(actions("decision.approve_refused")) == 1


def test_a_lead_cannot_approve_their_own_decision_through_the_page(lead):
    own = answered_decision(lead, "share_without_consent", submit=True)
    response = client_for(lead).post(review_url(own), APPROVE)
    assert response.status_code == 400
    assert b"cannot approve or return your own decision" in response.content


def test_returning_without_comments_asks_for_them(awaiting, lead):
    response = client_for(lead).post(review_url(awaiting), {"outcome": "returned"})
    assert response.status_code == 400
    assert b"Enter comments that tell the decider what to change" in response.content
    awaiting.refresh_from_db()
    assert awaiting.status == Status.AWAITING_APPROVAL


def test_a_made_up_review_choice_is_an_error_not_a_crash(awaiting, lead):
    response = client_for(lead).post(review_url(awaiting), {"outcome": "rubber-stamp"})
    assert response.status_code == 400
    assert b"govuk-error-summary" in response.content


def test_a_post_without_its_csrf_token_changes_nothing_and_is_logged(awaiting, lead):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    response = client.post(review_url(awaiting), APPROVE)
    assert response.status_code == 403
    assert b"Your form could not be sent" in response.content
    awaiting.refresh_from_db()
    assert awaiting.status == Status.AWAITING_APPROVAL
    assert actions("access.refused")[0].details["reason"] == "csrf"


def test_the_review_page_offers_no_form_to_the_decider_who_is_a_lead(lead):
    own = answered_decision(lead, "share_without_consent", submit=True)
    response = client_for(lead).get(review_url(own))
    assert b"This is your own decision" in response.content
    assert b'name="outcome"' not in response.content


def test_opening_the_review_page_is_a_record_view(awaiting, lead):
    client_for(lead).get(review_url(awaiting))
    assert actions("decision.viewed")[0].actor == lead


# ---- reconsidering through the pages ----------------------------------------------------


def test_the_record_offers_reconsideration_to_its_decider(practitioner, as_practitioner):
    decision = answered_decision(practitioner, "can_share", submit=True)
    page = as_practitioner.get(reverse("record", args=[decision.public_id]))
    assert reverse("reconsider", args=[decision.public_id]).encode() in page.content


def test_reconsidering_opens_the_new_decision_at_check_your_answers(practitioner, as_practitioner):
    decision = answered_decision(practitioner, "can_share", submit=True)
    response = as_practitioner.post(reverse("reconsider", args=[decision.public_id]))
    new = Decision.objects.get(reconsiders=decision)
    assert response["Location"] == reverse("check_answers", args=[new.public_id])


def test_reconsidering_a_decision_awaiting_approval_shows_a_clear_error(awaiting, as_practitioner):
    response = as_practitioner.post(reverse("reconsider", args=[awaiting.public_id]))
    assert response.status_code == 400
    assert b"govuk-error-summary" in response.content
    assert not Decision.objects.filter(reconsiders=awaiting).exists()


# ---- the audit log page ---------------------------------------------------------------------


def test_the_audit_log_lists_newest_first(lead):
    first = record_event("test.first", actor=lead)
    second = record_event("test.second", actor=lead)
    page = client_for(lead).get(reverse("review_audit")).context["page"]
    sequences = [e.sequence for e in page.events]
    assert sequences.index(second.sequence) < sequences.index(first.sequence)
    assert sequences == sorted(sequences, reverse=True)


def test_a_lead_sees_only_their_own_organisations_events(lead, outsider):
    record_event("test.outside", actor=outsider)
    page = client_for(lead).get(reverse("review_audit")).context["page"]
    assert {e.organisation_id for e in page.events} == {lead.organisation_id}


def test_an_administrator_sees_every_organisations_events(admin_user, outsider):
    record_event("test.outside", actor=outsider)
    page = client_for(admin_user).get(reverse("review_audit")).context["page"]
    assert outsider.organisation_id in {e.organisation_id for e in page.events}


def test_the_audit_log_filters_by_action(lead, practitioner):
    answered_decision(practitioner, "can_share", submit=True)
    page = client_for(lead).get(reverse("review_audit"), {"action": "decision.submitted"})
    assert {e.action for e in page.context["page"].events} == {"decision.submitted"}


def test_the_audit_log_filters_by_person(lead, practitioner, colleague):
    record_event("test.pat", actor=practitioner)
    record_event("test.colleague", actor=colleague)
    page = client_for(lead).get(reverse("review_audit"), {"person": practitioner.pk})
    assert {e.action for e in page.context["page"].events} == {"test.pat"}


def test_a_lead_cannot_filter_by_a_person_of_another_organisation(lead, outsider):
    response = client_for(lead).get(reverse("review_audit"), {"person": outsider.pk})
    assert response.status_code == 400
    assert b"Enter the email address of a person in" in response.content


def test_the_audit_log_filters_by_record_reference(lead, practitioner):
    wanted = answered_decision(practitioner, "can_share", submit=True)
    answered_decision(practitioner, "can_share", submit=True)
    page = client_for(lead).get(reverse("review_audit"), {"reference": wanted.reference.lower()})
    assert {e.reference for e in page.context["page"].events} == {wanted.reference}


def test_an_administrator_filters_by_organisation(admin_user, outsider, other_org):
    record_event("test.outside", actor=outsider)
    page = client_for(admin_user).get(reverse("review_audit"), {"organisation": other_org.pk})
    assert {e.organisation_id for e in page.context["page"].events} == {other_org.pk}


def date_params(name: str, day) -> dict[str, str]:
    return {f"{name}_0": str(day.day), f"{name}_1": str(day.month), f"{name}_2": str(day.year)}


def test_the_audit_log_filters_by_date_range(lead):
    record_event("test.today", actor=lead)
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    client = client_for(lead)
    none_yet = client.get(reverse("review_audit"), date_params("date_to", yesterday))
    found = client.get(
        reverse("review_audit"),
        {**date_params("date_from", today), **date_params("date_to", today)},
    )
    assert none_yet.context["page"].events == []
    assert "test.today" in {e.action for e in found.context["page"].events}


def test_a_bad_filter_shows_an_error_summary_and_no_events(lead):
    response = client_for(lead).get(reverse("review_audit"), {"reference": "not a reference"})
    assert response.status_code == 400
    assert b"govuk-error-summary" in response.content
    assert response.context["page"].events == []


def test_a_to_date_before_the_from_date_is_an_error(lead):
    today = timezone.localdate()
    params = {
        **date_params("date_from", today),
        **date_params("date_to", today - timedelta(days=3)),
    }
    response = client_for(lead).get(reverse("review_audit"), params)
    assert response.status_code == 400
    assert b"The &#x27;To&#x27; date must be the same as or after" in response.content


def test_pages_move_by_sequence_number_with_no_overlap(lead):
    for n in range(60):
        record_event("decision.viewed", actor=lead, details={"n": n})
    client = client_for(lead)
    filters = {"action": "decision.viewed"}
    first = client.get(reverse("review_audit"), filters).context["page"]
    second = client.get(reverse("review_audit"), {**filters, "before": first.older}).context["page"]
    back = client.get(reverse("review_audit"), {**filters, "after": second.newer}).context["page"]
    assert (len(first.events), len(second.events)) == (50, 10)
    assert first.events[-1].sequence > second.events[0].sequence
    assert second.older is None
    assert [e.sequence for e in back.events] == [e.sequence for e in first.events]


def test_a_nonsense_cursor_is_ignored(lead):
    response = client_for(lead).get(reverse("review_audit"), {"before": "1; DROP TABLE"})
    assert response.status_code == 200


def test_viewing_the_audit_log_is_an_event_with_its_filters(lead):
    client_for(lead).get(reverse("review_audit"), {"action": "decision.viewed"})
    [event] = actions("audit.viewed")
    assert event.details["action"] == "decision.viewed"


# ---- export --------------------------------------------------------------------------------


def exported(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_holds_the_filtered_events_as_csv(lead, practitioner):
    answered_decision(practitioner, "can_share", submit=True)
    response = client_for(lead).get(
        reverse("review_audit_export"), {"action": "decision.submitted"}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = exported(response)
    assert [row["action"] for row in rows] == ["decision.submitted"]


def test_a_leads_export_holds_only_their_organisations_events(lead, outsider):
    record_event("test.outside", actor=outsider)
    rows = exported(client_for(lead).get(reverse("review_audit_export")))
    assert "test.outside" not in {row["action"] for row in rows}


def test_exporting_is_itself_an_event(lead):
    exported(client_for(lead).get(reverse("review_audit_export"), {"action": "auth.signed_in"}))
    [event] = actions("audit.exported")
    assert event.details["action"] == "auth.signed_in"


def test_a_cell_that_looks_like_a_formula_is_exported_as_text(lead):
    client = client_for(lead)
    client.get(reverse("review_audit"), HTTP_USER_AGENT='=HYPERLINK("http://x")')
    rows = exported(client.get(reverse("review_audit_export"), {"action": "audit.viewed"}))
    assert rows[0]["user_agent"].startswith("'=")


def test_an_export_with_bad_filters_goes_back_to_the_log_with_a_message(lead):
    response = client_for(lead).get(reverse("review_audit_export"), {"person": "x"}, follow=True)
    assert b"Correct the filters before exporting" in response.content
    assert not actions("audit.exported")


# ---- checking the chain from the app ---------------------------------------------------------


def test_a_lead_runs_the_check_and_sees_the_result(lead):
    response = client_for(lead).post(reverse("review_audit_verify"), follow=True)
    assert b"The audit log is intact" in response.content
    assert AuditVerification.objects.get().by == lead


def test_the_audit_page_shows_the_latest_check(lead):
    client = client_for(lead)
    client.post(reverse("review_audit_verify"))
    assert b"Intact" in client.get(reverse("review_audit")).content


def test_the_check_in_the_app_reports_a_broken_chain(lead):
    event = record_event("test.target", actor=lead)
    with pgtrigger.ignore("decisions.AuditEvent:append_only"), connection.cursor() as cursor:
        cursor.execute("UPDATE decisions_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    response = client_for(lead).post(reverse("review_audit_verify"), follow=True)
    assert f"broken at event #{event.sequence}".encode() in response.content


# ---- who has accessed this record ------------------------------------------------------------


def test_the_access_log_lists_views_downloads_and_refused_attempts(
    awaiting, practitioner, lead, outsider
):
    client_for(lead).get(reverse("record", args=[awaiting.public_id]))
    client_for(outsider).get(reverse("record", args=[awaiting.public_id]))
    page = client_for(lead).get(access_url(awaiting)).context["page"]
    seen = {(e.action, e.actor_email) for e in page.events}
    assert ("decision.viewed", lead.email) in seen
    assert ("access.refused", outsider.email) in seen
    assert ("decision.submitted", practitioner.email) in seen


def test_the_access_log_holds_only_this_records_events(awaiting, practitioner, lead):
    other = answered_decision(practitioner, "can_share", submit=True)
    page = client_for(lead).get(access_url(awaiting)).context["page"]
    assert other.reference not in {e.reference for e in page.events}


def test_opening_the_access_log_is_itself_an_access_of_the_record(awaiting, lead):
    client_for(lead).get(access_url(awaiting))
    [event] = actions("audit.record_access_viewed")
    assert event.object_id == str(awaiting.public_id)


def test_the_record_links_leads_to_its_access_log(awaiting, lead):
    page = client_for(lead).get(reverse("record", args=[awaiting.public_id]))
    assert access_url(awaiting).encode() in page.content


def test_the_record_does_not_link_practitioners_to_the_access_log(awaiting, as_practitioner):
    page = as_practitioner.get(reverse("record", args=[awaiting.public_id]))
    assert access_url(awaiting).encode() not in page.content


# ---- the PDF shows the sign-off ---------------------------------------------------------------


def pdf_text(user, decision: Decision) -> str:
    response = client_for(user).get(reverse("record_pdf", args=[decision.public_id]))
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_the_pdf_of_a_decision_awaiting_approval_is_marked_so(awaiting, practitioner):
    assert "AWAITING APPROVAL" in pdf_text(practitioner, awaiting)


def test_the_pdf_of_an_approved_decision_names_the_approver_when_and_comments(
    awaiting, practitioner, lead
):
    signoff.decision_approve(decision=awaiting, user=lead, comments="Proportionate to risk.")
    text = pdf_text(practitioner, awaiting)
    approval = Approval.objects.get()
    assert "APPROVED" in text
    assert f"Approved by {lead.full_name} ({lead.email})" in text
    assert timezone.localtime(approval.at).strftime("%-d %B %Y, %H:%M") in text
    assert "Proportionate to risk." in text


def test_the_pdf_of_a_returned_decision_is_marked_returned_with_the_comments(
    awaiting, practitioner, lead
):
    signoff.decision_return(decision=awaiting, user=lead, comments="Explain the risk.")
    text = pdf_text(practitioner, awaiting)
    assert "RETURNED" in text
    assert "Explain the risk." in text
