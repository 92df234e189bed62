"""An organisation's OpenID Connect identity provider (single sign-on, decisions/sso/)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from decisions.models.organisations import Organisation


class IdentityProvider(models.Model):
    """Where an organisation's people sign in, and which email domains it vouches for.

    The client secret is never stored: `client_secret_env` names the environment variable
    that holds it (decisions.sso.providers.client_secret), so database dumps, backups and the
    audit log never carry it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, related_name="identity_provider"
    )
    name = models.CharField(max_length=100)
    issuer = models.URLField(max_length=500)
    client_id = models.CharField(max_length=255)
    client_secret_env = models.CharField(max_length=100)
    authorization_endpoint = models.URLField(max_length=500)
    token_endpoint = models.URLField(max_length=500)
    userinfo_endpoint = models.URLField(max_length=500)
    jwks_uri = models.URLField(max_length=500)
    end_session_endpoint = models.URLField(max_length=500, blank=True)
    scopes = models.CharField(max_length=200, default="openid email profile")
    # Lower-case domains, one per line; no two providers serve the same domain.
    email_domains = models.TextField()
    # Optional: the claim listing the person's groups, and "group = role" lines (first wins).
    group_claim = models.CharField(max_length=100, blank=True)
    role_mapping = models.TextField(blank=True)
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organisation__name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})"

    @property
    def domains(self) -> list[str]:
        return [d.strip().lower() for d in self.email_domains.split() if d.strip()]


class SsoIdentity(models.Model):
    """Which account a provider's person is: their (issuer, subject), bound at their first
    single sign-on. Later sign-ins find the account by it, so an email address that the
    provider gives to someone else later does not bring them into the account (OIDC Core 5.7:
    only `iss` and `sub` identify a person). An administrator can remove a binding (audited),
    when the provider really has moved the person to a new subject.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sso_identities"
    )
    issuer = models.URLField(max_length=500)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issuer", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique"),
            # One subject per issuer per account: a second one is the takeover refused.
            models.UniqueConstraint(fields=["user", "issuer"], name="sso_identity_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
