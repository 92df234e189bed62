"""Webhooks: announced in the transaction of the change, sent by the background worker,
signed with HMAC-SHA256 over timestamp and body, retried with exponential backoff; sent to a
real HTTP receiver on this machine (faults other than its answers injected by mock)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from decisions import services, signoff
from decisions.api import webhooks
from decisions.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from tests.api_helpers import Receiver, load_packs
from tests.factories import answered_decision

pytestmark = pytest.mark.django_db

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def settings_for_webhooks(settings):
    settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP = True
    settings.TASKS = DATABASE
    settings.ISG_WEBHOOK_BACKOFF_SECONDS = 60
    settings.ISG_WEBHOOK_MAX_ATTEMPTS = 3


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def webhook(org, admin_user, receiver):
    return webhooks.webhook_add(actor=admin_user, organisation=org, url=receiver.url)


def submitted_delivery(practitioner, outcome: str = "can_share") -> WebhookDelivery:
    answered_decision(practitioner, outcome, submit=True)
    return WebhookDelivery.objects.get()


def test_a_submission_queues_one_delivery_per_webhook_of_its_organisation(
    org, other_org, admin_user, practitioner, webhook
):
    theirs = webhooks.webhook_add(
        actor=admin_user, organisation=other_org, url="https://other.example.org/h"
    )
    removed = webhooks.webhook_add(
        actor=admin_user, organisation=org, url="https://old.example.org/h"
    )
    webhooks.webhook_remove(actor=admin_user, webhook=removed)
    delivery = submitted_delivery(practitioner)
    assert delivery.webhook == webhook and delivery.event == WebhookEvent.SUBMITTED
    assert not WebhookDelivery.objects.filter(webhook__in=[theirs, removed]).exists()


def test_the_body_holds_the_reference_and_outcome_and_nothing_about_the_person(
    practitioner, webhook
):
    delivery = submitted_delivery(practitioner)
    body = json.loads(delivery.body)
    assert set(body) == {
        "event",
        "decision_id",
        "reference",
        "version",
        "outcome",
        "status",
        "occurred_at",
    }
    assert body["outcome"] == "can_share" and body["reference"].startswith("ISG-")
    assert "CASE-123" not in delivery.body and "AB" not in delivery.body.replace("ISG", "")


def test_the_worker_is_asked_only_once_the_submission_commits(
    practitioner, webhook, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submitted_delivery(practitioner)
    assert not DBTaskResult.objects.exists()
    for callback in callbacks:
        callback()
    task = DBTaskResult.objects.get(task_path="decisions.api.webhooks.deliver_webhook")
    assert task.args_kwargs["args"] == [WebhookDelivery.objects.get().pk]


def test_a_refused_submission_announces_nothing(practitioner, webhook):
    decision = services.decision_start(user=practitioner)
    with pytest.raises(services.DecisionRefused):
        services.decision_submit(decision=decision, user=practitioner)
    assert not WebhookDelivery.objects.exists()


def test_approval_and_return_are_announced(practitioner, lead, webhook):
    approved = answered_decision(practitioner, "share_without_consent", submit=True)
    signoff.decision_approve(decision=approved, user=lead)
    returned = answered_decision(practitioner, "share_without_consent", submit=True)
    signoff.decision_return(decision=returned, user=lead, comments="Say why it is urgent.")
    assert list(
        WebhookDelivery.objects.order_by("pk").values_list("decision__reference", "event")
    ) == [
        (approved.reference, WebhookEvent.SUBMITTED),
        (approved.reference, WebhookEvent.APPROVED),
        (returned.reference, WebhookEvent.SUBMITTED),
        (returned.reference, WebhookEvent.RETURNED),
    ]
    assert json.loads(WebhookDelivery.objects.order_by("pk").last().body)["status"] == "returned"


def test_a_delivery_is_signed_over_timestamp_and_body(practitioner, webhook, receiver):
    delivery = submitted_delivery(practitioner)
    assert webhooks.deliver_webhook.call(delivery.pk) == DeliveryStatus.DELIVERED
    (received,) = receiver.received
    assert received.signature_ok(webhook.secret)
    assert not received.signature_ok("whsec_another-secret")
    assert received.body.decode() == delivery.body
    assert received.headers["X-ISG-Event"] == "decision.submitted"
    assert received.headers["X-ISG-Delivery"] == str(delivery.pk)
    assert abs(int(received.headers["X-ISG-Timestamp"]) - timezone.now().timestamp()) < 60
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None


def test_a_failure_is_retried_later_with_backoff(
    practitioner, webhook, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = [500, 503]
    delivery = submitted_delivery(practitioner)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.deliver(delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code, delivery.last_error) == (1, 500, "HTTP 500")
    first_wait = delivery.next_attempt_at - before
    assert timedelta(seconds=59) < first_wait <= timedelta(seconds=61)
    # The retry is a task the worker runs no earlier than the next attempt's time.
    retry = DBTaskResult.objects.get()
    assert retry.run_after == delivery.next_attempt_at
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    second_wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=118) < second_wait <= timedelta(seconds=120)  # doubled
    assert webhooks.deliver(delivery.pk) == DeliveryStatus.DELIVERED
    assert len(receiver.received) == 3
    assert all(r.signature_ok(webhook.secret) for r in receiver.received)


def test_after_the_last_attempt_a_delivery_has_failed(practitioner, webhook, receiver):
    receiver.statuses = [500, 500, 500]
    delivery = submitted_delivery(practitioner)
    results = [webhooks.deliver(delivery.pk) for _ in range(4)]
    assert results == ["pending", "pending", "failed", "failed"]
    assert len(receiver.received) == 3  # nothing sent once it has failed
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is None and delivery.attempts == 3


def test_a_redirect_is_not_followed(practitioner, webhook, receiver):
    receiver.statuses = [302]
    delivery = submitted_delivery(practitioner)
    assert webhooks.deliver(delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.response_code == 302


def test_a_receiver_that_is_down_is_retried(practitioner, webhook, receiver):
    receiver.stop()
    delivery = submitted_delivery(practitioner)
    assert webhooks.deliver(delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.response_code is None and delivery.last_error == "ConnectionError"


def test_a_timeout_is_retried(practitioner, webhook, monkeypatch):
    def timeout(*args, **kwargs):
        raise requests.Timeout("injected")

    monkeypatch.setattr(webhooks.destinations.CheckedAddressAdapter, "send", timeout)
    delivery = submitted_delivery(practitioner)
    assert webhooks.deliver(delivery.pk) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.last_error == "Timeout" and delivery.next_attempt_at is not None


def test_backoff_doubles(settings):
    settings.ISG_WEBHOOK_BACKOFF_SECONDS = 30
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]


@pytest.mark.django_db(transaction=True)
def test_the_background_worker_retries_until_delivered(
    org, admin_user, practitioner, receiver, settings
):
    """The real worker (`manage.py db_worker`): a failed attempt queues its retry, which the
    worker runs once its time comes (no wait here: backoff 0)."""
    settings.ISG_WEBHOOK_BACKOFF_SECONDS = 0
    load_packs()
    webhook = webhooks.webhook_add(actor=admin_user, organisation=org, url=receiver.url)
    receiver.statuses = [503]
    answered_decision(practitioner, "can_share", submit=True)
    call_command("db_worker", "--batch", "--no-startup-delay")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 2, 200)
    assert [r.signature_ok(webhook.secret) for r in receiver.received] == [True, True]
