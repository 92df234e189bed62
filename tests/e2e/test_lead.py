"""A safeguarding lead approves and returns decisions and filters the audit log."""

from __future__ import annotations

import pytest

from decisions.models import Status
from tests.e2e import journeys
from tests.factories import answered_decision

pytestmark = pytest.mark.e2e


def test_a_lead_approves_and_returns_decisions_and_filters_the_audit_log(
    browser, practitioner, lead
):
    to_approve = answered_decision(practitioner, "share_without_consent", submit=True)
    to_return = answered_decision(practitioner, "share_without_consent", submit=True)

    seen = browser.run(
        journeys.lead_reviews_and_reads_the_audit_log,
        lead.email,
        to_approve.reference,
        to_return.reference,
    )

    assert to_approve.reference in seen["queue"] and to_return.reference in seen["queue"]
    assert to_approve.reference in seen["approved"]
    status, summary, focus = seen["return_error"]
    assert status == 400
    assert "Enter comments that tell the decider what to change" in summary
    assert "govuk-error-summary" in focus
    assert to_return.reference in seen["returned"]
    assert lead.email in seen["access"]
    assert seen["filtered"] and all("Decision approved" in row for row in seen["filtered"])
    assert any(to_approve.reference in row for row in seen["filtered"])
    assert to_approve.reference in seen["csv"] and to_return.reference not in seen["csv"]
    assert "The audit log is intact" in seen["verified"]
    assert "No events match these filters." in seen["no_match"]
    to_approve.refresh_from_db()
    to_return.refresh_from_db()
    assert to_approve.status == Status.APPROVED
    assert to_return.status == Status.RETURNED
