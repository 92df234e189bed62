"""The API for case-management systems: organisation tokens, one-time links, webhooks.

Secrets are never stored as given: an API token and a one-time link are kept as the SHA-256
of a 256-bit random value (a slow password hash buys nothing against a value nobody can
guess, and would cost every API call its time); a webhook's secret is kept as it is, because
ISG must sign with it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from decisions.models.decisions import AgeBand, Decision
from decisions.models.organisations import Organisation


class ApiScope(models.TextChoices):
    START_DECISIONS = "decisions:start", "Start decisions for practitioners"
    READ_RECORDS = "records:read", "Read submitted records and their PDFs"


class ApiToken(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=80)
    # The first characters of the token, shown so an administrator can tell tokens apart.
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class DecisionLaunch(models.Model):
    """A decision started through the API: what the case system filled in, and the one-time
    link that takes the practitioner (signed in as themselves) to it."""

    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="launch")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    token = models.ForeignKey(ApiToken, on_delete=models.PROTECT, related_name="launches")
    link_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # Prefilled answers (minimum personal data, as the wizard asks them).
    case_reference = models.CharField(max_length=40)
    initials = models.CharField(max_length=5)
    age_band = models.CharField(max_length=20, choices=AgeBand.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"launch of {self.decision}"


class WebhookEvent(models.TextChoices):
    SUBMITTED = "decision.submitted", "Decision submitted"
    APPROVED = "decision.approved", "Decision approved"
    RETURNED = "decision.returned", "Decision returned"


class Webhook(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (no more retries)"


class WebhookDelivery(models.Model):
    webhook = models.ForeignKey(Webhook, on_delete=models.PROTECT, related_name="deliveries")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id}"
