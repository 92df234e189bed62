"""Webhooks: an organisation's case system is told when one of its decisions is submitted,
approved or returned.

`announce` is called by the services inside the transaction of the change (so an event is
never lost, and never sent for a change that rolled back); the background worker sends each
delivery once that transaction has committed. A delivery is signed with the webhook's secret,
`HMAC-SHA256(secret, timestamp + "." + body)`, and a failure is retried with exponential
backoff until ISG_WEBHOOK_MAX_ATTEMPTS. Bodies hold the reference and the outcome, nothing
about the person. Delivery is at least once: receivers should ignore a delivery id seen before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from decisions.api import destinations
from decisions.audit import AuditAction, record_event
from decisions.models import (
    Decision,
    DeliveryStatus,
    Organisation,
    User,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class WebhookRefused(Exception):
    """A webhook change the rules do not allow; the message is for the administrator."""


# --------------------------------------------------------------- administration ----


def _internal_address(host: str, port: int) -> bool:
    """An address of this machine or a private network, as an IP literal or as what the name
    resolves to now (decisions.api.destinations; checked again at each delivery)."""
    if host in LOCAL_HOSTS and not settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP:
        return True
    return destinations.internal_at_save(host, port)


def url_problem(url: str) -> str:
    """Why ISG will not send to this URL, or "" (https only; http to this machine in DEBUG)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return "Enter a URL without a user name or password in it"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "Enter a URL in the correct format, like https://cases.example.org/isg"
    if parts.scheme == "https" and parts.hostname:
        if _internal_address(parts.hostname, port):
            return "Enter the URL of the case system, not an address inside this network"
        return ""
    if (
        parts.scheme == "http"
        and parts.hostname in LOCAL_HOSTS
        and settings.ISG_WEBHOOKS_ALLOW_LOCAL_HTTP
        and not _internal_address(parts.hostname, port)
    ):
        return ""
    return "Enter a URL that starts with https://"


def webhook_add(*, actor: User, organisation: Organisation, url: str) -> Webhook:
    """A new webhook with a new secret (shown once to the administrator, kept for signing)."""
    url = url.strip()
    problem = url_problem(url)
    if problem:
        raise WebhookRefused(problem)
    if not organisation.is_active:
        raise WebhookRefused(f"{organisation.name} is deactivated: reactivate it first")
    with transaction.atomic():
        webhook = Webhook.objects.create(
            organisation=organisation,
            url=url,
            secret="whsec_" + secrets.token_urlsafe(32),
            created_by=actor,
        )
        record_event(
            AuditAction.API_WEBHOOK_ADDED,
            actor=actor,
            obj=webhook,
            details={"url": url, "organisation": organisation.pk},
        )
    return webhook


def webhook_remove(*, actor: User, webhook: Webhook) -> None:
    """No more deliveries to it (those waiting are given up); its log stays."""
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
        if locked.removed_at is not None:
            raise WebhookRefused("This webhook has already been removed")
        locked.removed_at = timezone.now()
        locked.save(update_fields=["removed_at"])
        given_up = locked.deliveries.filter(status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="Webhook removed"
        )
        record_event(
            AuditAction.API_WEBHOOK_REMOVED,
            actor=actor,
            obj=locked,
            details={"url": locked.url, "deliveries_given_up": given_up},
        )
    webhook.removed_at = locked.removed_at


# -------------------------------------------------------------------- sending ----


def body_for(decision: Decision, event: str) -> str:
    """What a delivery says: the reference and the outcome, no personal data."""
    return json.dumps(
        {
            "event": str(event),
            "decision_id": str(decision.public_id),
            "reference": decision.reference,
            "version": decision.version,
            "outcome": decision.outcome,
            "status": decision.status,
            "occurred_at": timezone.now().isoformat(),
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def announce(decision: Decision, event: WebhookEvent) -> int:
    """Queue a delivery to each webhook of the decision's organisation; sent after commit."""
    webhooks = Webhook.objects.filter(
        organisation_id=decision.organisation_id, removed_at__isnull=True
    )
    ids = [
        WebhookDelivery.objects.create(
            webhook=webhook,
            event=event,
            decision=decision,
            body=body_for(decision, event),
            next_attempt_at=timezone.now(),
        ).pk
        for webhook in webhooks
    ]
    for delivery_id in ids:
        transaction.on_commit(lambda d=delivery_id: deliver_webhook.enqueue(d), robust=True)
    return len(ids)


def signature(secret: str, timestamp: str, body: str) -> str:
    message = f"{timestamp}.{body}".encode()
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: the base, doubled each time."""
    return timedelta(seconds=settings.ISG_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1))


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    timestamp = str(int(time.time()))
    webhook = delivery.webhook
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ISG-webhooks/1",
        "X-ISG-Event": delivery.event,
        "X-ISG-Delivery": str(delivery.pk),
        "X-ISG-Timestamp": timestamp,
        "X-ISG-Signature": signature(webhook.secret, timestamp, delivery.body),
    }
    try:
        # To the address checked at this moment, never one the name resolves to later.
        with destinations.session() as checked:
            response = checked.post(
                webhook.url,
                data=delivery.body.encode(),
                headers=headers,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,  # a redirect could send the body somewhere not registered
            )
    except requests.RequestException as exc:
        return None, type(exc).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}"


def deliver(delivery_id: int) -> str:
    """One attempt at a delivery; a failure schedules the next (or gives up). Returns the status."""
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.status != DeliveryStatus.PENDING:
        return delivery.status
    if delivery.webhook.removed_at is not None:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.last_error = "Webhook removed"
        delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
        return delivery.status
    code, error = _post(delivery)
    delivery.attempts += 1
    delivery.response_code = code
    delivery.last_error = error[:200]
    now = timezone.now()
    if not error:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            DeliveryStatus.DELIVERED,
            now,
            None,
        )
    elif delivery.attempts >= settings.ISG_WEBHOOK_MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "status",
            "attempts",
            "response_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
        ]
    )
    if delivery.status == DeliveryStatus.PENDING:
        # Logged by id and error type only: the URL may name the receiving organisation.
        logger.warning("webhook delivery %s failed (%s); retrying", delivery.pk, error)
        transaction.on_commit(
            lambda: deliver_webhook.using(run_after=delivery.next_attempt_at).enqueue(delivery.pk),
            robust=True,
        )
    return delivery.status


@task()
def deliver_webhook(delivery_id: int) -> str:
    """The background worker's job: one attempt at one delivery."""
    return deliver(delivery_id)
