"""Back to the practitioner after a decision is submitted: returned, amended, reconsidered."""

from __future__ import annotations

import pytest

from decisions import signoff
from decisions.models import Decision, Status
from tests.e2e import journeys
from tests.factories import answered_decision

pytestmark = pytest.mark.e2e


def test_a_returned_decision_is_submitted_again_for_approval(browser, practitioner, lead):
    decision = answered_decision(practitioner, "share_without_consent", submit=True)
    signoff.decision_return(decision=decision, user=lead, comments="Add the lawful reason.")

    seen = browser.run(
        journeys.resubmit_a_returned_decision, practitioner.email, decision.reference
    )

    assert "Returned" in seen["drafts"]
    assert seen["at"] == "Check your answers before submitting"
    assert seen["confirmation"] == "Decision submitted for approval"
    decision.refresh_from_db()
    assert decision.status == Status.AWAITING_APPROVAL
    assert decision.records.count() == 2


def test_a_submitted_record_is_amended_with_a_reason(browser, practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)
    reason = "The person will be told; they had not been yet."

    seen = browser.run(journeys.amend_a_record, practitioner.email, original.reference, reason)

    assert seen["error"][0] == 400
    assert "govuk-error-summary" in seen["error"][1]
    assert reason in seen["inset"]
    assert seen["confirmation"] == "Decision recorded"
    assert seen["versions"] == 1
    amendment = Decision.objects.get(amends=original)
    assert amendment.status == Status.SUBMITTED
    assert amendment.answers["informed"]["informed"] == "will_be_told"
    original.refresh_from_db()
    assert original.status == Status.SUPERSEDED


def test_a_decision_is_reconsidered_with_new_information(browser, practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)

    seen = browser.run(journeys.reconsider_a_decision, practitioner.email, original.reference)

    assert original.reference in seen["message"]
    assert seen["confirmation"] == "Decision recorded"
    later = Decision.objects.get(reconsiders=original)
    assert later.status == Status.SUBMITTED
    assert later.answers["informed"]["informed"] == "not_told_other"
    original.refresh_from_db()
    assert original.status == Status.SUBMITTED
