"""Decisions once made: My decisions, the record page and amendments."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from decisions.models import AuditEvent, Decision, DecisionRecord, Status
from tests.conftest import client_for
from tests.factories import answered_decision, as_post, route_values

pytestmark = pytest.mark.django_db


def record_url(decision: Decision) -> str:
    return reverse("record", args=[decision.public_id])


def test_my_decisions_lists_drafts_to_resume_and_submitted_records(practitioner, as_practitioner):
    draft = answered_decision(practitioner, "can_share")
    made = answered_decision(practitioner, "share_with_consent", submit=True)
    page = as_practitioner.get(reverse("my_decisions")).content.decode()
    assert draft.reference in page
    assert reverse("check_answers", args=[draft.public_id]) in page
    assert record_url(made) in page


def test_my_decisions_does_not_list_a_colleagues_decisions(practitioner, colleague):
    theirs = answered_decision(colleague, "can_share", submit=True)
    page = client_for(practitioner).get(reverse("my_decisions")).content.decode()
    assert theirs.reference not in page


def test_the_record_shows_outcome_reasons_and_answers(practitioner, as_practitioner):
    decision = answered_decision(practitioner, "share_with_consent", submit=True)
    page = as_practitioner.get(record_url(decision)).content.decode()
    assert decision.reference in page
    assert decision.latest_record().outcome_title in page
    assert "CASE-123" in page
    assert "OFFICIAL-SENSITIVE" in page


def test_viewing_a_record_is_an_audit_event(practitioner, as_practitioner):
    decision = answered_decision(practitioner, "can_share", submit=True)
    as_practitioner.get(record_url(decision))
    assert AuditEvent.objects.filter(action="decision.viewed", reference=decision.reference)


def test_a_lead_and_a_manager_of_the_organisation_can_read_the_record(practitioner, lead, manager):
    decision = answered_decision(practitioner, "can_share", submit=True)
    assert client_for(lead).get(record_url(decision)).status_code == 200
    assert client_for(manager).get(record_url(decision)).status_code == 200


def test_a_colleague_practitioner_gets_404(practitioner, colleague):
    decision = answered_decision(practitioner, "can_share", submit=True)
    assert client_for(colleague).get(record_url(decision)).status_code == 404


def test_another_organisation_gets_404_whatever_the_role(practitioner, outsider, outside_lead):
    decision = answered_decision(practitioner, "can_share", submit=True)
    assert client_for(outsider).get(record_url(decision)).status_code == 404
    assert client_for(outside_lead).get(record_url(decision)).status_code == 404


def test_a_made_up_record_id_is_404(as_practitioner):
    url = reverse("record", args=["00000000-0000-4000-8000-000000000000"])
    assert as_practitioner.get(url).status_code == 404


def test_the_record_needs_sign_in(practitioner):
    decision = answered_decision(practitioner, "can_share", submit=True)
    response = Client().get(record_url(decision))
    assert response["Location"].startswith(reverse("login"))


def test_an_amendment_is_a_new_version_and_the_original_stays_readable(
    practitioner, as_practitioner
):
    original = answered_decision(practitioner, "can_share", submit=True)
    response = as_practitioner.post(
        reverse("amend", args=[original.public_id]), {"reason": "Wrong recipient recorded."}
    )
    amendment = Decision.objects.get(amends=original)
    assert response["Location"] == reverse("check_answers", args=[amendment.public_id])
    assert amendment.reference == original.reference
    assert amendment.version == 2
    as_practitioner.post(
        reverse("step", args=[amendment.public_id, "recipient"]) + "?return=check",
        as_post(
            {
                **route_values("can_share", "recipient"),
                "recipient_org": "Health visiting team",
                "recipient_role": "Health visitor",
            }
        ),
    )
    as_practitioner.post(reverse("check_answers", args=[amendment.public_id]))
    original.refresh_from_db()
    amendment.refresh_from_db()
    assert original.status == Status.SUPERSEDED
    assert amendment.status == Status.SUBMITTED
    old = original.latest_record().answers["recipient"]["recipient_org"]
    assert old == "Children's social care"
    assert amendment.latest_record().answers["recipient"]["recipient_org"] == "Health visiting team"
    assert b"Wrong recipient recorded." in as_practitioner.get(record_url(amendment)).content
    assert as_practitioner.get(record_url(original)).status_code == 200
    assert AuditEvent.objects.filter(action="decision.amended", reference=original.reference)


def test_an_amendment_needs_a_reason(practitioner, as_practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)
    response = as_practitioner.post(reverse("amend", args=[original.public_id]), {"reason": " "})
    assert response.status_code == 400
    assert b"Enter the reason for the amendment" in response.content
    assert not Decision.objects.filter(amends=original).exists()


def test_a_draft_cannot_be_amended(practitioner, as_practitioner):
    draft = answered_decision(practitioner, "can_share")
    response = as_practitioner.post(reverse("amend", args=[draft.public_id]), {"reason": "x"})
    assert response.status_code == 400
    assert b"Only a submitted decision" in response.content


def test_only_one_amendment_at_a_time(practitioner, as_practitioner):
    original = answered_decision(practitioner, "can_share", submit=True)
    url = reverse("amend", args=[original.public_id])
    as_practitioner.post(url, {"reason": "First correction."})
    response = as_practitioner.post(url, {"reason": "Second correction."})
    assert b"already in progress" in response.content
    assert Decision.objects.filter(amends=original).count() == 1


def test_another_organisation_cannot_amend(practitioner, outsider):
    original = answered_decision(practitioner, "can_share", submit=True)
    response = client_for(outsider).post(
        reverse("amend", args=[original.public_id]), {"reason": "x"}
    )
    assert response.status_code == 404


def test_a_lead_cannot_amend_a_practitioners_record(practitioner, lead):
    original = answered_decision(practitioner, "can_share", submit=True)
    response = client_for(lead).post(reverse("amend", args=[original.public_id]), {"reason": "x"})
    assert response.status_code == 404


def test_a_manager_cannot_open_the_amend_page(practitioner, manager):
    original = answered_decision(practitioner, "can_share", submit=True)
    assert client_for(manager).get(reverse("amend", args=[original.public_id])).status_code == 403


def test_submitted_records_cannot_be_changed_or_deleted(practitioner):
    decision = answered_decision(practitioner, "can_share", submit=True)
    record = DecisionRecord.objects.get(decision=decision)
    record.outcome = "do_not_share"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()


def test_audit_events_cannot_be_changed_or_deleted(practitioner):
    answered_decision(practitioner, "can_share")
    event = AuditEvent.objects.first()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_home_sends_practitioners_to_their_decisions(as_practitioner):
    assert as_practitioner.get(reverse("home"))["Location"] == reverse("my_decisions")


def test_the_menu_offers_a_manager_only_what_they_may_open(manager):
    page = client_for(manager).get(reverse("reports")).content.decode()
    assert 'href="/decisions/"' not in page
    assert 'href="/reports/"' in page
