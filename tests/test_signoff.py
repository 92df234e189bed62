"""Sign-off services: approve, return, reconsider; refusals; emails; one transaction each."""

from __future__ import annotations

import pytest
from django.db import transaction

from decisions import services, signoff
from decisions.audit import record_event as real_record_event
from decisions.audit import verify_chain
from decisions.models import Approval, AuditEvent, Decision, ReviewAction, Status
from decisions.notifications import APPROVAL_REQUESTED_SUBJECT, RETURNED_SUBJECT
from tests.factories import NOT_SHARING, ROUTES, UserFactory, answered_decision, with_values

pytestmark = pytest.mark.django_db

# A request for information that the practitioner refuses: a refusal needs sign-off too. The
# concern is below significant harm, so it is the request alone that needs the sign-off.
_NOT_SHARED = with_values(ROUTES["do_not_share"], "context", direction="request")
REFUSAL = [
    *_NOT_SHARED[:1],
    (
        "request_details",
        {
            "requester_org": "Another council",
            "requester_role": "Social worker",
            "requester_legal_basis": "ca1989_s17",
            "requester_legal_basis_other": "",
        },
    ),
    *_NOT_SHARED[1:3],
    (
        "not_sharing_reasons",
        {
            **NOT_SHARING[0][1],
            "requester_response": "Told them we cannot share, and why.",
        },
    ),
    *_NOT_SHARED[4:],
]


def refused_request(user) -> Decision:
    decision = services.decision_start(user=user)
    for step_id, values in REFUSAL:
        services.decision_answer(decision=decision, user=user, step_id=step_id, values=values)
    services.decision_submit(decision=decision, user=user)
    decision.refresh_from_db()
    return decision


@pytest.fixture
def awaiting(practitioner):
    return answered_decision(practitioner, "share_without_consent", submit=True)


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True))


# ---- what needs sign-off ---------------------------------------------------------------


def test_sharing_without_consent_waits_for_approval_on_submit(awaiting):
    assert awaiting.status == Status.AWAITING_APPROVAL


def test_refusing_a_request_for_information_waits_for_approval(practitioner):
    assert refused_request(practitioner).status == Status.AWAITING_APPROVAL


def test_sharing_with_consent_takes_effect_without_approval(practitioner):
    decision = answered_decision(practitioner, "share_with_consent", submit=True)
    assert decision.status == Status.SUBMITTED


# ---- approving -----------------------------------------------------------------------------


def test_a_lead_of_the_organisation_approves_it(awaiting, lead):
    signoff.decision_approve(decision=awaiting, user=lead)
    awaiting.refresh_from_db()
    assert awaiting.status == Status.APPROVED


def test_the_approval_keeps_who_when_which_round_and_comments(awaiting, lead):
    approval = signoff.decision_approve(decision=awaiting, user=lead, comments="Proportionate.")
    stored = Approval.objects.get()
    assert (stored.by, stored.record, stored.comments) == (
        lead,
        awaiting.latest_record(),
        "Proportionate.",
    )
    assert stored.action == ReviewAction.APPROVED
    assert stored.at == approval.at


def test_approving_is_an_audit_event_on_the_record(awaiting, lead):
    signoff.decision_approve(decision=awaiting, user=lead)
    event = AuditEvent.objects.get(action="decision.approved")
    assert (event.actor, event.reference) == (lead, awaiting.reference)
    assert event.details["round"] == 1


def test_the_decider_cannot_approve_their_own_decision(lead):
    own = answered_decision(lead, "share_without_consent", submit=True)
    with pytest.raises(services.DecisionRefused, match="your own decision"):
        signoff.decision_approve(decision=own, user=lead)
    own.refresh_from_db()
    assert own.status == Status.AWAITING_APPROVAL


def test_a_lead_of_another_organisation_cannot_approve(awaiting, outside_lead):
    with pytest.raises(services.DecisionRefused, match="organisation that made"):
        signoff.decision_approve(decision=awaiting, user=outside_lead)


def test_a_practitioner_cannot_approve(awaiting, colleague):
    with pytest.raises(services.DecisionRefused, match="Only a safeguarding lead"):
        signoff.decision_approve(decision=awaiting, user=colleague)


def test_an_administrator_cannot_approve_while_the_organisation_has_a_lead(
    awaiting, admin_user, lead
):
    with pytest.raises(services.DecisionRefused, match="Only a safeguarding lead"):
        signoff.decision_approve(decision=awaiting, user=admin_user)


def test_approving_twice_is_refused(awaiting, lead):
    signoff.decision_approve(decision=awaiting, user=lead)
    with pytest.raises(services.DecisionRefused, match="not awaiting approval"):
        signoff.decision_approve(decision=awaiting, user=lead)
    assert Approval.objects.count() == 1


def test_approving_a_decision_that_needs_no_approval_is_refused(practitioner, lead):
    decision = answered_decision(practitioner, "can_share", submit=True)
    with pytest.raises(services.DecisionRefused, match="not awaiting approval"):
        signoff.decision_approve(decision=decision, user=lead)


def test_a_refused_approval_is_an_audit_event_with_the_reason(awaiting, lead):
    signoff.decision_approve(decision=awaiting, user=lead)
    with pytest.raises(services.DecisionRefused):
        signoff.decision_approve(decision=awaiting, user=lead)
    event = AuditEvent.objects.get(action="decision.approve_refused")
    assert event.actor == lead
    assert "not awaiting approval" in event.details["reason"]


def test_an_approved_amendment_supersedes_the_original(awaiting, practitioner, lead):
    signoff.decision_approve(decision=awaiting, user=lead)
    amendment = services.decision_amend(decision=awaiting, user=practitioner, reason="Typo.")
    services.decision_submit(decision=amendment, user=practitioner)
    second_lead = UserFactory(organisation=awaiting.organisation, role="lead")
    signoff.decision_approve(decision=amendment, user=second_lead)
    awaiting.refresh_from_db()
    assert awaiting.status == Status.SUPERSEDED


def test_an_amendment_awaiting_approval_leaves_the_original_in_effect(awaiting, practitioner, lead):
    signoff.decision_approve(decision=awaiting, user=lead)
    amendment = services.decision_amend(decision=awaiting, user=practitioner, reason="Typo.")
    services.decision_submit(decision=amendment, user=practitioner)
    awaiting.refresh_from_db()
    assert awaiting.status == Status.APPROVED


# ---- returning ---------------------------------------------------------------------------


def test_returning_needs_comments(awaiting, lead):
    with pytest.raises(services.DecisionRefused, match="Enter comments"):
        signoff.decision_return(decision=awaiting, user=lead, comments="  ")
    awaiting.refresh_from_db()
    assert awaiting.status == Status.AWAITING_APPROVAL


def test_a_returned_decision_can_be_changed_again_by_its_decider(awaiting, practitioner, lead):
    signoff.decision_return(decision=awaiting, user=lead, comments="Say why not consent.")
    services.decision_answer(
        decision=awaiting,
        user=practitioner,
        step_id="what_to_share",
        values={**awaiting.answers["what_to_share"], "withheld": "Address withheld."},
    )
    awaiting.refresh_from_db()
    assert awaiting.status == Status.RETURNED
    assert awaiting.answers["what_to_share"]["withheld"] == "Address withheld."


def test_resubmitting_keeps_every_round_and_its_review(awaiting, practitioner, lead):
    signoff.decision_return(decision=awaiting, user=lead, comments="More detail.")
    services.decision_submit(decision=awaiting, user=practitioner)
    signoff.decision_approve(decision=awaiting, user=lead, comments="Fine now.")
    rounds = [(a.record.round, a.action) for a in Approval.objects.order_by("at")]
    assert rounds == [(1, ReviewAction.RETURNED), (2, ReviewAction.APPROVED)]
    assert awaiting.records.count() == 2


def test_returning_is_an_audit_event(awaiting, lead):
    signoff.decision_return(decision=awaiting, user=lead, comments="More detail.")
    assert AuditEvent.objects.filter(action="decision.returned", actor=lead).exists()


# ---- one transaction: a crash leaves nothing half-done -------------------------------------


def test_a_crash_after_the_change_leaves_neither_the_approval_nor_its_event(
    awaiting, lead, monkeypatch
):
    def crash(*args, **kwargs):
        raise RuntimeError("crash between the change and its event")

    monkeypatch.setattr(signoff, "record_event", crash)
    before = actions()
    with pytest.raises(RuntimeError):
        signoff.decision_approve(decision=awaiting, user=lead)
    awaiting.refresh_from_db()
    assert awaiting.status == Status.AWAITING_APPROVAL
    assert not Approval.objects.exists()
    assert actions() == before


def test_a_crash_after_the_event_is_written_rolls_back_the_event_too(awaiting, lead, monkeypatch):
    def write_then_crash(*args, **kwargs):
        real_record_event(*args, **kwargs)
        raise RuntimeError("crash after the event")

    monkeypatch.setattr(signoff, "record_event", write_then_crash)
    with pytest.raises(RuntimeError):
        signoff.decision_return(decision=awaiting, user=lead, comments="x")
    assert not AuditEvent.objects.filter(action="decision.returned").exists()
    assert not Approval.objects.exists()
    assert verify_chain().ok


# ---- emails ------------------------------------------------------------------------------


def test_leads_of_the_organisation_are_emailed_when_a_decision_awaits_approval(
    practitioner, lead, outside_lead, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        decision = answered_decision(practitioner, "share_without_consent", submit=True)
    assert [m.to for m in mailoutbox] == [[lead.email]]
    assert decision.reference in mailoutbox[0].body


def test_the_email_subject_carries_no_personal_data(
    practitioner, lead, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answered_decision(practitioner, "share_without_consent", submit=True)
    assert mailoutbox[0].subject == APPROVAL_REQUESTED_SUBJECT
    assert "CASE-123" not in mailoutbox[0].subject + mailoutbox[0].body
    assert practitioner.full_name not in mailoutbox[0].subject + mailoutbox[0].body


def test_a_lead_who_made_the_decision_is_not_asked_to_approve_it(
    lead, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answered_decision(lead, "share_without_consent", submit=True)
    assert mailoutbox == []


def test_the_decider_is_emailed_when_their_decision_is_returned(
    awaiting, practitioner, lead, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signoff.decision_return(decision=awaiting, user=lead, comments="More detail.")
    assert [(m.to, m.subject) for m in mailoutbox] == [([practitioner.email], RETURNED_SUBJECT)]


def test_a_mail_failure_does_not_undo_the_submission(
    practitioner, lead, monkeypatch, django_capture_on_commit_callbacks
):
    def broken_mail(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("decisions.notifications.approval_requested", broken_mail)
    with django_capture_on_commit_callbacks(execute=True):
        decision = answered_decision(practitioner, "share_without_consent", submit=True)
    assert Decision.objects.get(pk=decision.pk).status == Status.AWAITING_APPROVAL


# ---- reconsidering -----------------------------------------------------------------------


def test_reconsidering_starts_a_new_linked_decision_with_the_same_answers(practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)
    new = signoff.decision_reconsider(decision=original, user=practitioner)
    assert new.reconsiders == original
    assert new.reference != original.reference
    assert new.answers == original.answers
    assert new.status == Status.DRAFT


def test_the_reconsidered_decision_stays_as_it_was(practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)
    signoff.decision_reconsider(decision=original, user=practitioner)
    original.refresh_from_db()
    assert original.status == Status.SUBMITTED


def test_reconsidering_is_an_event_on_the_original_and_a_start_of_the_new(practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)
    new = signoff.decision_reconsider(decision=original, user=practitioner)
    reconsidered = AuditEvent.objects.get(action="decision.reconsidered")
    assert reconsidered.object_id == str(original.public_id)
    assert reconsidered.details["reconsideration"] == str(new.public_id)
    started = AuditEvent.objects.filter(action="decision.started", object_id=str(new.public_id))
    assert started.get().details["reconsiders"] == str(original.public_id)


def test_only_the_decider_can_reconsider(practitioner, colleague):
    original = answered_decision(practitioner, "can_share", submit=True)
    with pytest.raises(services.DecisionRefused, match="Only the person"):
        signoff.decision_reconsider(decision=original, user=colleague)


def test_a_decision_awaiting_approval_cannot_be_reconsidered(awaiting, practitioner):
    with pytest.raises(services.DecisionRefused, match="taken effect"):
        signoff.decision_reconsider(decision=awaiting, user=practitioner)


def test_a_second_reconsideration_while_one_is_in_progress_is_refused(practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)
    signoff.decision_reconsider(decision=original, user=practitioner)
    with pytest.raises(services.DecisionRefused, match="already started"):
        signoff.decision_reconsider(decision=original, user=practitioner)
    assert original.reconsiderations.count() == 1


def test_answers_that_no_longer_fit_the_questions_are_not_carried(practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)
    pack = original.pack.pack
    subject = dict(original.answers["subject"], concern_level="retired_choice")
    answers = dict(original.answers, subject=subject)
    carried = signoff.carried_answers(pack, answers)
    assert "subject" not in carried
    assert "context" in carried


def test_a_reconsideration_made_in_a_transaction_that_fails_leaves_nothing(practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)
    with pytest.raises(RuntimeError), transaction.atomic():
        signoff.decision_reconsider(decision=original, user=practitioner)
        raise RuntimeError("crash")
    assert not original.reconsiderations.exists()
    assert not AuditEvent.objects.filter(action="decision.reconsidered").exists()
