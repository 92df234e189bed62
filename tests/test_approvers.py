"""Sign-off that never stalls: every decision has someone who can approve it, reminders and
escalation when it waits, and the decider told of the result."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from decisions import access, selectors, signoff
from decisions.approvals import chase_waiting_approvals
from decisions.audit import AuditAction
from decisions.models import AuditEvent, Decision, Role, Status
from decisions.notifications import APPROVED_SUBJECT, REMINDER_SUBJECT
from tests.conftest import client_for
from tests.factories import UserFactory, answered_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def partnership_lead(other_org):
    return UserFactory(
        organisation=other_org, role=Role.LEAD, partnership_wide=True, email="plead@example.org"
    )


def waiting(practitioner) -> Decision:
    return answered_decision(practitioner, "share_without_consent", submit=True)


def waited(decision: Decision, hours: int) -> Decision:
    Decision.objects.filter(pk=decision.pk).update(
        submitted_at=timezone.now() - timedelta(hours=hours)
    )
    decision.refresh_from_db()
    return decision


def test_the_organisations_leads_approve_when_it_has_any(practitioner, lead, partnership_lead):
    decision = waiting(practitioner)
    assert access.approver_level(decision) == "organisation"
    assert list(access.approvers(decision)) == [lead]


def test_an_organisation_without_a_lead_falls_back_to_the_partnership_leads(
    practitioner, partnership_lead, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        decision = waiting(practitioner)
    assert access.approver_level(decision) == "partnership"
    assert [m.to for m in mailoutbox] == [[partnership_lead.email]]
    assert decision in access.reviewable_decisions(partnership_lead)
    signoff.decision_approve(decision=decision, user=partnership_lead)
    decision.refresh_from_db()
    assert decision.status == Status.APPROVED


def test_with_no_lead_anywhere_the_administrators_approve(practitioner, admin_user):
    decision = waiting(practitioner)
    assert access.approver_level(decision) == "administrators"
    signoff.decision_approve(decision=decision, user=admin_user)
    decision.refresh_from_db()
    assert decision.status == Status.APPROVED


def test_a_deactivated_lead_does_not_count_as_an_approver(practitioner, lead, admin_user):
    lead.is_active = False
    lead.save()
    decision = waiting(practitioner)
    assert list(access.approvers(decision)) == [admin_user]


def test_the_confirmation_page_says_who_will_review_it(practitioner, partnership_lead):
    decision = waiting(practitioner)
    page = client_for(practitioner).get(f"/decisions/{decision.public_id}/submitted/")
    text = page.content.decode()
    assert "a safeguarding lead of the partnership" in text
    assert "Do not share the information yet" in text


def test_the_decider_is_emailed_when_it_is_approved(
    practitioner, lead, mailoutbox, django_capture_on_commit_callbacks
):
    decision = waiting(practitioner)
    with django_capture_on_commit_callbacks(execute=True):
        signoff.decision_approve(decision=decision, user=lead)
    assert [(m.subject, m.to) for m in mailoutbox] == [(APPROVED_SUBJECT, [practitioner.email])]
    assert decision.reference in mailoutbox[0].body


def test_a_decision_waiting_past_the_reminder_time_reminds_its_approvers_once(
    practitioner, lead, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.ISG_APPROVAL_REMIND_HOURS = 24
    decision = waited(waiting(practitioner), hours=25)
    with django_capture_on_commit_callbacks(execute=True):
        first = chase_waiting_approvals()
        second = chase_waiting_approvals()
    assert first.reminded == [decision.display_reference]
    assert second.reminded == []
    assert [m.subject for m in mailoutbox] == [REMINDER_SUBJECT]
    events = AuditEvent.objects.filter(action=AuditAction.APPROVAL_REMINDED)
    assert events.count() == 1


def test_a_decision_waiting_past_the_escalation_time_opens_to_the_next_level(
    practitioner, lead, partnership_lead, settings
):
    settings.ISG_APPROVAL_ESCALATE_HOURS = 72
    decision = waiting(practitioner)
    assert not access.may_review(decision, partnership_lead)
    decision = waited(decision, hours=73)
    assert access.may_review(decision, partnership_lead)
    assert decision in access.reviewable_decisions(partnership_lead)
    assert chase_waiting_approvals().escalated == [decision.display_reference]
    assert chase_waiting_approvals().escalated == []
    assert AuditEvent.objects.filter(action=AuditAction.APPROVAL_ESCALATED).count() == 1
    signoff.decision_approve(decision=decision, user=partnership_lead)


def test_the_reminder_command_reports_what_it_did(practitioner, lead, capsys):
    waited(waiting(practitioner), hours=200)
    call_command("remind_approvals")
    assert "escalated: 1" in capsys.readouterr().out


def test_a_lead_lands_on_the_approvals_queue_when_decisions_wait(practitioner, lead):
    waiting(practitioner)
    page = client_for(lead).get("/")
    assert page.status_code == 302 and page["Location"] == "/review/approvals/"


def test_the_menu_shows_how_many_decisions_wait(practitioner, lead):
    waiting(practitioner)
    waiting(practitioner)
    page = client_for(lead).get("/decisions/")
    assert '2<span class="govuk-visually-hidden"> waiting</span>' in page.content.decode()
    assert "2 decisions are waiting for your approval" in page.content.decode()


def with_concern(decision: Decision, level: str) -> Decision:
    answers = dict(decision.answers)
    step = next(s for s, values in answers.items() if "concern_level" in values)
    answers[step] = {**answers[step], "concern_level": level}
    Decision.objects.filter(pk=decision.pk).update(answers=answers)
    return decision


def test_the_queue_puts_urgent_decisions_first_then_the_longest_waiting(practitioner, lead):
    older = with_concern(waited(waiting(practitioner), hours=5), "child_in_need")
    urgent = with_concern(waiting(practitioner), "significant_harm")
    queue = selectors.approval_queue(lead)
    assert [item.decision.pk for item in queue] == [urgent.pk, older.pk]
    assert queue[0].urgent_because == ("Significant harm",)
    assert queue[1].waiting >= timedelta(hours=5)


def test_the_queue_shows_what_a_lead_needs_to_triage(practitioner, lead):
    decision = waiting(practitioner)
    text = client_for(lead).get("/review/approvals/").content.decode()
    for column in ("Case reference", "Requested by", "Level of concern", "Outcome", "Waiting"):
        assert column in text
    assert decision.case_reference in text


def test_the_queue_can_be_searched_by_reference(practitioner, lead):
    first, second = waiting(practitioner), waiting(practitioner)
    text = client_for(lead).get("/review/approvals/", {"q": second.reference}).content.decode()
    assert second.reference in text and first.reference not in text


def test_the_queue_pages_through_many_decisions(practitioner, lead):
    for _ in range(27):
        waiting(practitioner)
    client = client_for(lead)
    assert 'aria-label="Page 2"' in client.get("/review/approvals/").content.decode()
    second = client.get("/review/approvals/", {"page": "2"}).content.decode()
    assert second.count('href="/review/approvals/') >= 2


def test_the_review_page_shows_the_outcome_and_key_facts_before_the_form(practitioner, lead):
    decision = waiting(practitioner)
    text = client_for(lead).get(f"/review/approvals/{decision.public_id}/").content.decode()
    outcome, facts, form = (
        text.index("Outcome:"),
        text.index("Key facts"),
        text.index("What is your decision?"),
    )
    assert outcome < facts < form
    assert "Who has accessed this record" in text
