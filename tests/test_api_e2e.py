"""End to end, as a case system: an administrator creates a token and a webhook on the
administration pages; the case system starts a decision through the API; the practitioner
follows the link, signs in with their organisation's account (OpenID Connect, a local
provider), completes and submits the wizard; the background worker sends
the signed webhook to a real local receiver; the case system fetches the JSON and the PDF.

Transactional (django_db(transaction=True)): the webhook is queued on commit and the real
django-tasks-db worker (`manage.py db_worker --batch`) sends it, as in production.
"""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from decisions.audit.actions import AuditAction
from decisions.models import AuditEvent, Role, Status, User
from tests.api_helpers import Receiver, load_packs
from tests.conftest import client_for
from tests.factories import ROUTES, UserFactory, as_post
from tests.oidc_provider import fixtures

oidc_provider = fixtures.oidc_provider
sso_http = fixtures.sso_http


def sign_in(provider, client: Client, user: User, then: str) -> HttpResponse:
    """The practitioner is sent to the sign-in page on the way to `then` and signs in with
    their organisation's account: the local OpenID Connect provider (a second process,
    tests/oidc_provider/), through ISG's real single sign-on views."""
    response = client.get(then)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    return provider.sign_in_as(client, user, next_url=then)


def secret_on(page: HttpResponse, field_id: str) -> str:
    found = re.search(rf'id="{field_id}"[^>]*value="([^"]+)"', page.content.decode())
    assert found, page.content.decode()[:2000]
    return found.group(1)


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sso_http")
def test_a_case_system_end_to_end(org, settings, receiver, oidc_provider):
    load_packs()
    settings.ISG_MFA_REQUIRED = False
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = True
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    practitioner = UserFactory(organisation=org, role=Role.PRACTITIONER, email="pat@example.org")
    admin = client_for(UserFactory(organisation=org, role=Role.ADMIN, email="admin@example.org"))

    # 1. An administrator creates a token and a webhook; each secret is shown once.
    created = admin.post(
        reverse("api_admin_token_create", args=[org.slug]),
        {"name": "Mosaic", "scopes": ["decisions:start", "records:read"]},
    )
    token = secret_on(created, "api-token")
    added = admin.post(reverse("api_admin_webhook_add", args=[org.slug]), {"url": receiver.url})
    webhook_secret = secret_on(added, "webhook-secret")
    case_system = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    # 2. The case system starts a decision for the practitioner.
    started = case_system.post(
        "/api/v1/decisions/",
        {
            "practitioner_email": "Pat@Example.org",
            "case_reference": "MOS-4411",
            "initials": "JS",
            "age_band": "12_15",
        },
        "application/json",
    )
    assert started.status_code == 201, started.content
    link = started.json()["continue_url"].removeprefix("http://testserver")
    decision_id = started.json()["decision_id"]

    # 3. The practitioner follows it, signs in, and lands on the first question, filled in.
    browser = Client()
    signed_in = sign_in(oidc_provider, browser, practitioner, link)
    assert signed_in.status_code == 302 and signed_in["Location"] == link
    assert AuditEvent.objects.filter(action=AuditAction.SSO_SIGNED_IN, actor=practitioner).exists()
    landed = browser.get(link)
    first = reverse("step", args=[decision_id, "context"])
    assert landed["Location"] == first
    page = browser.get(first).content.decode()
    assert 'value="MOS-4411"' in page and 'value="JS"' in page

    # 4. ...answers every question (the case system's values as filled in) and submits.
    for step_id, values in ROUTES["share_with_consent"]:
        url = reverse("step", args=[decision_id, step_id])
        assert browser.get(url).status_code == 200
        if step_id == "context":
            values = {**values, "case_reference": "MOS-4411", "initials": "JS"}
        posted = browser.post(url, as_post(values))
        assert posted.status_code == 302, (step_id, posted.content.decode()[:1500])
    submitted = browser.post(reverse("check_answers", args=[decision_id]))
    assert submitted["Location"] == reverse("confirmation", args=[decision_id])
    assert browser.get(link).status_code == 410  # the link does not work twice

    # 5. The background worker sends the signed webhook to the case system.
    call_command("db_worker", "--batch", "--no-startup-delay")
    (received,) = receiver.received
    assert received.signature_ok(webhook_secret)
    event = received.json()
    assert event["event"] == "decision.submitted" and event["decision_id"] == decision_id
    assert event["outcome"] == "share_with_consent" and event["status"] == Status.SUBMITTED

    # 6. The case system fetches the record as JSON and its PDF.
    record = case_system.get(f"/api/v1/records/{decision_id}/")
    assert record.status_code == 200
    body = record.json()
    assert body["case_reference"] == "MOS-4411" and body["outcome"] == "share_with_consent"
    assert {"label": "Age band", "answer": "12 to 15"} in body["key_facts"]
    pdf = case_system.get(f"/api/v1/records/{decision_id}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    delivery_log = admin.get(reverse("api_admin", args=[org.slug])).content.decode()
    assert "Delivered" in delivery_log
