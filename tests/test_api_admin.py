"""Administration of API tokens and webhooks: administrators of the organisation only (other
organisations' a 404), secrets shown once, every change an audit event, the delivery log."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from decisions.api import tokens, webhooks
from decisions.audit import AuditAction
from decisions.models import (
    ApiScope,
    ApiToken,
    AuditEvent,
    DeliveryStatus,
    Role,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from tests.conftest import client_for
from tests.factories import UserFactory, answered_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_admin(admin_user):
    return client_for(admin_user)


@pytest.fixture
def token(org, admin_user):
    return tokens.token_create(
        actor=admin_user, organisation=org, name="Mosaic", scopes=[ApiScope.READ_RECORDS]
    ).token


@pytest.fixture
def webhook(org, admin_user):
    return webhooks.webhook_add(
        actor=admin_user, organisation=org, url="https://cases.example.org/isg"
    )


def pages(org, token, webhook) -> list[tuple[str, str]]:
    return [
        ("get", reverse("api_admin", args=[org.slug])),
        ("post", reverse("api_admin_token_create", args=[org.slug])),
        ("post", reverse("api_admin_token_revoke", args=[org.slug, token.pk])),
        ("post", reverse("api_admin_webhook_add", args=[org.slug])),
        ("post", reverse("api_admin_webhook_remove", args=[org.slug, webhook.pk])),
    ]


def test_other_roles_are_refused(org, practitioner, lead, manager, token, webhook):
    for person in (practitioner, lead, manager):
        client = client_for(person)
        for method, url in pages(org, token, webhook):
            assert getattr(client, method)(url).status_code == 403, (person.role, url)
    assert ApiToken.objects.get().is_active
    assert Webhook.objects.get().removed_at is None


def test_another_organisations_administrator_gets_404(org, other_org, token, webhook):
    theirs = client_for(UserFactory(organisation=other_org, role=Role.ADMIN))
    for method, url in pages(org, token, webhook):
        assert getattr(theirs, method)(url).status_code == 404, url
    assert ApiToken.objects.get().is_active


def test_signed_out_visitors_are_sent_to_sign_in(org, token, webhook):
    for _, url in pages(org, token, webhook):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_old_password_entry_is_asked_for_again(org, admin_user, token, webhook):
    client = client_for(admin_user)
    session = client.session
    session["isg_authenticated_at"] -= 16 * 60
    session.save()
    response = client.get(reverse("api_admin", args=[org.slug]))
    assert response["Location"].startswith(reverse("confirm_password"))


def test_the_organisation_page_links_to_the_case_system_page(org, as_admin):
    page = as_admin.get(reverse("admin_organisation", args=[org.slug])).content.decode()
    assert reverse("api_admin", args=[org.slug]) in page


def test_a_new_token_is_shown_once_and_kept_as_a_hash(org, admin_user, as_admin):
    response = as_admin.post(
        reverse("api_admin_token_create", args=[org.slug]),
        {"name": "Mosaic (live)", "scopes": [ApiScope.START_DECISIONS, ApiScope.READ_RECORDS]},
    )
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret in response.content.decode()
    token = ApiToken.objects.get()
    assert token.token_hash == tokens.digest(secret) and token.organisation == org
    assert token.scopes == sorted([ApiScope.START_DECISIONS, ApiScope.READ_RECORDS])
    index = as_admin.get(reverse("api_admin", args=[org.slug])).content.decode()
    assert token.prefix in index and secret not in index
    event = AuditEvent.objects.get(action=AuditAction.API_TOKEN_CREATED)
    assert event.actor == admin_user and event.details["token"] == "Mosaic (live)"
    assert secret not in str(event.details)


def test_a_token_without_name_or_scope_gets_the_error_summary(org, as_admin):
    response = as_admin.post(reverse("api_admin_token_create", args=[org.slug]), {"name": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert "Enter a name for the token" in page and "Select what the token may do" in page
    assert not ApiToken.objects.exists()


def test_revoking_a_token_is_audited_and_stops_it(org, admin_user, as_admin, token):
    response = as_admin.post(reverse("api_admin_token_revoke", args=[org.slug, token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at and token.revoked_by == admin_user
    event = AuditEvent.objects.get(action=AuditAction.API_TOKEN_REVOKED)
    assert event.details["token"] == "Mosaic"
    again = as_admin.post(reverse("api_admin_token_revoke", args=[org.slug, token.pk]))
    assert again.status_code == 400 and "already been revoked" in again.content.decode()


def test_a_new_webhook_shows_its_secret_once(org, as_admin):
    response = as_admin.post(
        reverse("api_admin_webhook_add", args=[org.slug]), {"url": "https://cases.example.org/h"}
    )
    assert response.status_code == 200
    webhook = Webhook.objects.get()
    assert webhook.secret in response.content.decode()
    index = as_admin.get(reverse("api_admin", args=[org.slug])).content.decode()
    assert webhook.url in index and webhook.secret not in index
    assert AuditEvent.objects.filter(action=AuditAction.API_WEBHOOK_ADDED).count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://cases.example.org/h",
        "ftp://cases.example.org/",
        "https://user:pw@example.org/",
        "https://169.254.169.254/latest",  # inside the network: not a case system
        "https://10.0.0.5/h",
        "https://localhost/h",
    ],
)
def test_a_webhook_must_be_https_to_a_case_system(org, as_admin, url, settings):
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = False
    response = as_admin.post(reverse("api_admin_webhook_add", args=[org.slug]), {"url": url})
    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()
    assert not Webhook.objects.exists()


def test_plain_http_to_this_machine_only_when_allowed(org, as_admin, settings):
    url = "http://127.0.0.1:9000/h"
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = False
    refused = as_admin.post(reverse("api_admin_webhook_add", args=[org.slug]), {"url": url})
    assert refused.status_code == 400
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = True
    added = as_admin.post(reverse("api_admin_webhook_add", args=[org.slug]), {"url": url})
    assert added.status_code == 200


def test_removing_a_webhook_gives_up_waiting_deliveries(org, as_admin, webhook, practitioner):
    answered_decision(practitioner, "can_share", submit=True)
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING
    response = as_admin.post(reverse("api_admin_webhook_remove", args=[org.slug, webhook.pk]))
    assert response.status_code == 302
    assert WebhookDelivery.objects.get().status == DeliveryStatus.FAILED
    event = AuditEvent.objects.get(action=AuditAction.API_WEBHOOK_REMOVED)
    assert event.details["deliveries_given_up"] == 1


def test_the_delivery_log_shows_status_attempts_response_and_next_retry(
    org, as_admin, webhook, practitioner
):
    decision = answered_decision(practitioner, "can_share", submit=True)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == WebhookEvent.SUBMITTED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=2, response_code=503)
    page = as_admin.get(reverse("api_admin", args=[org.slug])).content.decode()
    assert decision.display_reference in page
    assert "Waiting to be sent" in page and "503" in page
