"""Identity providers: which one serves an email address, its discovery document, its secret,
and a person's role from their groups."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from decisions.models import IdentityProvider, Role

# Only variables with this prefix may hold a client secret, so an administrator cannot point
# ISG at SECRET_KEY or DATABASE_URL and have it sent to a token endpoint of their choosing.
SECRET_PREFIX = "ISG_OIDC_SECRET_"  # noqa: S105 - a name prefix, not a secret
SECRET_ENV = re.compile(rf"^{SECRET_PREFIX}[A-Z0-9_]{{1,60}}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
)
# Roles a group may give. Administrator is given only in ISG's administration pages.
MAPPABLE_ROLES = (Role.PRACTITIONER, Role.LEAD, Role.MANAGER)


class ProviderError(Exception):
    """The provider's configuration or discovery document is not usable; the message says why."""


def provider_for_email(email: str) -> IdentityProvider | None:
    """The enabled provider of an active organisation that serves this address's domain."""
    domain = email.rsplit("@", 1)[-1].strip().lower()
    if not domain:
        return None
    candidates = IdentityProvider.objects.filter(
        is_enabled=True, organisation__is_active=True, email_domains__icontains=domain
    ).select_related("organisation")
    return next((p for p in candidates if domain in p.domains), None)


def client_secret(provider: IdentityProvider) -> str:
    name = provider.client_secret_env
    return os.environ.get(name, "") if SECRET_ENV.match(name) else ""


def check_url(url: str) -> None:
    """HTTPS only (plain HTTP only to this machine, and only where ISG_SSO_ALLOW_HTTP is on)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc:
        return
    local = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme == "http" and local and settings.ISG_SSO_ALLOW_HTTP:
        return
    raise ProviderError(f"{url} must be an https:// address")


def discover(issuer: str) -> dict[str, str]:
    """The endpoints from the issuer's /.well-known/openid-configuration (OIDC Discovery 1.0)."""
    check_url(issuer)
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(
            f"ISG could not read the discovery document at {url}: check the issuer address"
        ) from exc
    if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer.rstrip(
        "/"
    ):
        raise ProviderError("The discovery document names a different issuer: check the address")
    found = {name: str(document.get(name) or "") for name in ENDPOINTS}
    found["issuer"] = document["issuer"]
    missing = [n for n in ENDPOINTS[:4] if not found[n]]  # end_session is optional
    if missing:
        raise ProviderError(f"The discovery document has no {', '.join(missing)}")
    for name in ENDPOINTS:
        if found[name]:
            check_url(found[name])
    return found


def parse_domains(text: str) -> list[str]:
    domains = [d.strip().lower().lstrip("@") for d in re.split(r"[\s,]+", text) if d.strip()]
    bad = [d for d in domains if not DOMAIN.match(d)]
    if bad:
        raise ProviderError(f"Enter domains like example.org ({', '.join(bad)} is not one)")
    if not domains:
        raise ProviderError("Enter at least one email domain")
    return sorted(set(domains))


@dataclass(frozen=True)
class GroupRole:
    group: str
    role: str


def parse_role_mapping(text: str) -> list[GroupRole]:
    """ "group = role" lines; the role by its name (practitioner, lead, manager)."""
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        group, sep, role = line.rpartition("=")
        group, role = group.strip(), role.strip().lower()
        if not sep or not group or role not in MAPPABLE_ROLES:
            raise ProviderError(
                f"Line {number}: write “group = role” with a role of practitioner, lead or manager"
            )
        rules.append(GroupRole(group, role))
    return rules


def mapped_role(provider: IdentityProvider, claims: dict[str, Any]) -> str | None:
    """The role of the first mapping line whose group is in the person's group claim."""
    if not provider.group_claim or not provider.role_mapping:
        return None
    groups = claims.get(provider.group_claim)
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        return None
    held = {str(g) for g in groups}
    for rule in parse_role_mapping(provider.role_mapping):
        if rule.group in held:
            return rule.role
    return None
