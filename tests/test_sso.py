"""Single sign-on against a real OpenID Connect provider (django-oidc-provider, in a second
process: tests/oidc_provider/), through ISG's real views."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from decisions.audit import AuditAction
from decisions.models import AuditEvent, Role
from tests.factories import OrganisationFactory, UserFactory
from tests.oidc_provider.fixtures import oidc_provider, sso_http  # noqa: F401

pytestmark = pytest.mark.usefixtures("sso_http")

DOMAIN = "lcc.example.org"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


@pytest.fixture
def provider(oidc_provider, org):  # noqa: F811
    return oidc_provider.register(org, domains=[DOMAIN])


@pytest.fixture
def invited(org):
    """An invited practitioner: no password yet."""
    user = UserFactory(organisation=org, role=Role.PRACTITIONER, email=f"pat@{DOMAIN}")
    user.set_unusable_password()
    user.save()
    return user


def test_an_invited_user_signs_in_through_the_provider(oidc_provider, provider, invited):  # noqa: F811
    oidc_provider.add_user(invited.email)
    client = Client()
    response = oidc_provider.sign_in(client, invited.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("my_decisions")).wsgi_request.user == invited
    [event] = events(AuditAction.SSO_SIGNED_IN)
    assert event.actor == invited
    assert event.details["amr"] == ["pwd"]
    assert event.details["acr"] == "urn:isg:test:password"
