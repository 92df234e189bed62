"""The one-time link a case system gets from "start a decision": bound to the practitioner,
behind their own sign-in, expiring, never replayed; it lands on the wizard with the case
system's values filled in."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.audit import AuditAction
from decisions.models import AuditEvent, DecisionLaunch
from tests.api_helpers import api_client, token_secret
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(org, practitioner):
    """(decision id, the link path) from a start through the API."""
    response = api_client(token_secret(org)).post(
        "/api/v1/decisions/",
        {
            "practitioner_email": practitioner.email,
            "case_reference": "MOS-4411",
            "initials": "JS",
            "age_band": "12_15",
        },
        "application/json",
    )
    assert response.status_code == 201
    body = response.json()
    return body["decision_id"], body["continue_url"].removeprefix("http://testserver")


def test_the_link_lands_the_practitioner_on_the_first_question_filled_in(practitioner, started):
    decision_id, link = started
    client = client_for(practitioner)
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == reverse("step", args=[decision_id, "context"])
    page = client.get(response["Location"]).content.decode()
    assert 'value="MOS-4411"' in page and 'value="JS"' in page


def test_the_age_band_is_chosen_on_its_own_page(practitioner, started):
    from tests.factories import as_post, route_values

    decision_id, link = started
    client = client_for(practitioner)
    client.get(link)
    context = {**route_values("share_with_consent", "context"), "case_reference": "MOS-4411"}
    client.post(reverse("step", args=[decision_id, "context"]), as_post(context))
    page = client.get(reverse("step", args=[decision_id, "subject"])).content.decode()
    assert re.search(r'value="12_15"\s+checked', page)


def test_the_link_needs_a_sign_in(started):
    from django.test import Client

    _, link = started
    response = Client().get(link)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert DecisionLaunch.objects.get().used_at is None


def test_the_link_works_once(practitioner, started):
    _, link = started
    client = client_for(practitioner)
    assert client.get(link).status_code == 302
    again = client.get(link)
    assert again.status_code == 410
    assert "already been used" in again.content.decode()


def test_someone_else_following_the_link_is_refused_and_it_stays_usable(
    practitioner, colleague, started
):
    _, link = started
    response = client_for(colleague).get(link)
    assert response.status_code == 403
    assert "made for someone else" in response.content.decode()
    event = AuditEvent.objects.filter(action=AuditAction.API_LINK_REFUSED).get()
    assert event.actor == colleague and event.details["reason"] == "other_person"
    assert event.reference == ""  # nothing about the practitioner's decision
    assert client_for(practitioner).get(link).status_code == 302


def test_someone_of_another_organisation_gets_404(practitioner, outsider, started):
    _, link = started
    response = client_for(outsider).get(link)
    assert response.status_code == 404
    assert "made for someone else" not in response.content.decode()
    event = AuditEvent.objects.filter(action=AuditAction.API_LINK_REFUSED).get()
    assert event.details["reason"] == "other_organisation"
    assert client_for(practitioner).get(link).status_code == 302


def test_an_expired_link_is_refused(practitioner, started):
    _, link = started
    DecisionLaunch.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client_for(practitioner).get(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_an_unknown_link_is_404(practitioner, started):
    response = client_for(practitioner).get(reverse("api_link", args=["isgl_made-up"]))
    assert response.status_code == 404


def test_another_role_is_refused_by_the_guard(manager, started):
    _, link = started
    assert client_for(manager).get(link).status_code == 403


def test_following_the_link_is_an_audit_event(practitioner, started):
    _, link = started
    client_for(practitioner).get(link)
    event = AuditEvent.objects.filter(action=AuditAction.API_LINK_FOLLOWED).get()
    assert event.actor == practitioner and event.details["token"] == "Mosaic"
