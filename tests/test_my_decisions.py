"""'My decisions': search, paging, news of sign-off, discarding a draft, duplicate warnings."""

from __future__ import annotations

import pytest

from decisions import services, signoff
from decisions.audit import AuditAction
from decisions.models import AuditEvent, Decision, Status
from tests.conftest import client_for
from tests.factories import ROUTES, answered_decision

pytestmark = pytest.mark.django_db


def draft(user) -> Decision:
    return services.decision_start(user=user)


def test_a_draft_can_be_discarded_with_a_reason_and_the_reason_is_audited(practitioner):
    decision = draft(practitioner)
    client = client_for(practitioner)
    page = client.post(f"/decisions/{decision.public_id}/discard/", {"reason": "Started twice"})
    assert page.status_code == 302
    decision.refresh_from_db()
    assert decision.status == Status.DISCARDED
    event = AuditEvent.objects.get(action=AuditAction.DECISION_DISCARDED)
    assert event.details == {"reason": "Started twice"}
    assert f"/decisions/{decision.public_id}/" not in client.get("/decisions/").content.decode()


def test_discarding_needs_a_reason(practitioner):
    decision = draft(practitioner)
    page = client_for(practitioner).post(f"/decisions/{decision.public_id}/discard/", {})
    assert page.status_code == 400
    assert "Enter why you are discarding this draft" in page.content.decode()
    decision.refresh_from_db()
    assert decision.status == Status.DRAFT


def test_a_submitted_decision_can_never_be_discarded(practitioner):
    decision = answered_decision(practitioner, "share_with_consent", submit=True)
    with pytest.raises(services.DecisionRefused):
        services.decision_discard(decision=decision, user=practitioner, reason="No")
    decision.refresh_from_db()
    assert decision.status == Status.SUBMITTED


def test_a_returned_decision_is_evidence_and_cannot_be_discarded(practitioner, lead):
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    signoff.decision_return(decision=decision, user=lead, comments="Add the date")
    decision.refresh_from_db()
    with pytest.raises(services.DecisionRefused):
        services.decision_discard(decision=decision, user=practitioner, reason="No")


def test_another_persons_draft_cannot_be_discarded(practitioner, colleague, outsider):
    decision = draft(practitioner)
    for user in (colleague, outsider):
        page = client_for(user).post(f"/decisions/{decision.public_id}/discard/", {"reason": "x"})
        assert page.status_code == 404
    decision.refresh_from_db()
    assert decision.status == Status.DRAFT


def test_a_manager_cannot_open_the_discard_page(practitioner, manager):
    decision = draft(practitioner)
    assert client_for(manager).get(f"/decisions/{decision.public_id}/discard/").status_code == 403


def test_a_second_draft_for_the_same_case_reference_gets_a_warning(practitioner):
    first = draft(practitioner)
    second = draft(practitioner)
    subject_step, values = next(
        (s, v) for s, v in ROUTES["share_with_consent"] if "case_reference" in v
    )
    services.decision_answer(decision=first, user=practitioner, step_id=subject_step, values=values)
    client = client_for(practitioner)
    for step_id, step_values in ROUTES["share_with_consent"]:
        if step_id == subject_step:
            break
        services.decision_answer(
            decision=second, user=practitioner, step_id=step_id, values=step_values
        )
    page = client.post(f"/decisions/{second.public_id}/step/{subject_step}/", values, follow=True)
    assert f"You already have a draft for case reference {values['case_reference']}" in (
        page.content.decode()
    )
    assert first.reference in page.content.decode()


def test_my_decisions_can_be_searched_by_case_reference(practitioner):
    decision = answered_decision(practitioner, "share_with_consent", submit=True)
    other = draft(practitioner)
    text = client_for(practitioner).get("/decisions/", {"q": decision.case_reference}).content
    assert decision.reference in text.decode()
    assert other.reference not in text.decode()


def test_my_decisions_pages_through_submitted_decisions(practitioner):
    for _ in range(26):
        answered_decision(practitioner, "share_with_consent", submit=True)
    client = client_for(practitioner)
    assert 'aria-label="Page 2"' in client.get("/decisions/").content.decode()
    assert client.get("/decisions/", {"page": "2"}).status_code == 200


def test_my_decisions_says_when_a_decision_was_approved_or_returned(practitioner, lead):
    approved = answered_decision(practitioner, "share_without_consent", submit=True)
    returned = answered_decision(practitioner, "share_without_consent", submit=True)
    signoff.decision_approve(decision=approved, user=lead)
    signoff.decision_return(decision=returned, user=lead, comments="Say when")
    text = client_for(practitioner).get("/decisions/").content.decode()
    assert f"{approved.reference}</a> was approved: it has taken effect" in text
    assert f"{returned.reference}</a> was returned to you for changes" in text
