"""SSO accounts bound to the provider's (issuer, subject): against the real test provider
(tests/oidc_provider/), through ISG's real views."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from decisions.audit import AuditAction
from decisions.models import AuditEvent, Role, SsoIdentity
from decisions.sso import identities
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.oidc_provider import fixtures

oidc_provider = fixtures.oidc_provider
sso_http = fixtures.sso_http

pytestmark = pytest.mark.usefixtures("sso_http")

DOMAIN = "lcc.example.org"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


@pytest.fixture
def provider(oidc_provider, org):
    return oidc_provider.register(org, domains=[DOMAIN])


@pytest.fixture
def person(org):
    """An ISG account with an address no other test gives the provider (its users persist)."""
    return UserFactory(
        organisation=org, role=Role.PRACTITIONER, email=f"p-{uuid.uuid4().hex[:10]}@{DOMAIN}"
    )


def signed_in_user(client: Client):
    return client.get(reverse("my_decisions")).wsgi_request.user


def test_the_first_sign_in_binds_the_account_to_the_providers_subject(
    oidc_provider, provider, person
):
    oidc_provider.add_user(person.email)
    client = Client()
    oidc_provider.sign_in(client, person.email)
    assert signed_in_user(client) == person
    [identity] = SsoIdentity.objects.all()
    assert (identity.user, identity.issuer) == (person, provider.issuer)
    assert identity.subject
    [event] = events(AuditAction.SSO_IDENTITY_BOUND)
    assert event.actor == person
    assert event.details["subject"] == identity.subject
    assert event.details["issuer"] == provider.issuer


def test_a_later_sign_in_finds_the_account_by_subject_not_by_address(
    oidc_provider, provider, person
):
    """The person's address changes at the provider (same subject): still their account."""
    oidc_provider.add_user(person.email)
    oidc_provider.sign_in(Client(), person.email)
    renamed = f"renamed-{uuid.uuid4().hex[:8]}@{DOMAIN}"
    oidc_provider.rename_user(person.email, renamed)
    client = Client()
    response = oidc_provider.sign_in(client, renamed)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert signed_in_user(client) == person
    assert SsoIdentity.objects.count() == 1
    assert len(events(AuditAction.SSO_SIGNED_IN)) == 2


def test_an_address_given_to_someone_else_does_not_take_over_the_account(
    oidc_provider, provider, person
):
    oidc_provider.add_user(person.email)
    oidc_provider.sign_in(Client(), person.email)
    bound = SsoIdentity.objects.get().subject
    # The leaver's account at the provider gets another address; a newcomer gets theirs.
    oidc_provider.rename_user(person.email, f"leaver-{uuid.uuid4().hex[:8]}@{DOMAIN}")
    oidc_provider.add_user(person.email, password="newcomer password 1")  # noqa: S106
    client = Client()
    response = oidc_provider.sign_in(client, person.email, password="newcomer password 1")  # noqa: S106
    assert response.status_code == 403
    page = response.content.decode()
    assert "You could not be signed in" in page
    assert f"The ISG account for {person.email} belongs to a different person" in page
    assert not signed_in_user(client).is_authenticated
    [identity] = SsoIdentity.objects.all()
    assert identity.subject == bound  # the binding is unchanged
    [event] = events(AuditAction.SSO_REFUSED)
    assert event.details["reason"] == "bound_to_another"
    assert event.actor_email == person.email
    assert len(events(AuditAction.SSO_SIGNED_IN)) == 1


def test_a_binding_removed_by_an_administrator_lets_the_new_subject_in(
    oidc_provider, provider, person, admin_user
):
    oidc_provider.add_user(person.email)
    oidc_provider.sign_in(Client(), person.email)
    identity = SsoIdentity.objects.get()
    admin = client_for(admin_user)
    page = admin.get(reverse("admin_user", args=[person.pk])).content.decode()
    remove = reverse("admin_sso_identity_remove", args=[person.pk, identity.pk])
    assert remove in page
    assert admin.get(remove).status_code == 200
    response = admin.post(remove)
    assert response["Location"] == reverse("admin_user", args=[person.pk])
    assert not SsoIdentity.objects.exists()
    [event] = events(AuditAction.SSO_IDENTITY_REMOVED)
    assert event.actor == admin_user
    assert (event.object_id, event.details["subject"]) == (str(person.pk), identity.subject)
    # The provider's new person with that address is now bound to the account.
    oidc_provider.rename_user(person.email, f"moved-{uuid.uuid4().hex[:8]}@{DOMAIN}")
    oidc_provider.add_user(person.email)
    client = Client()
    oidc_provider.sign_in(client, person.email)
    assert signed_in_user(client) == person
    assert SsoIdentity.objects.get().subject != identity.subject


@pytest.fixture
def identity(person, provider):
    return SsoIdentity.objects.create(user=person, issuer=provider.issuer, subject="s-1")


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.LEAD, Role.MANAGER])
def test_only_administrators_remove_a_binding(org, person, identity, role):
    someone = UserFactory(organisation=org, role=role, email=f"{role}-x@example.org")
    remove = reverse("admin_sso_identity_remove", args=[person.pk, identity.pk])
    assert client_for(someone).post(remove).status_code == 403
    assert SsoIdentity.objects.exists()


def test_another_organisations_administrator_gets_404(other_org, person, identity):
    theirs = UserFactory(organisation=other_org, role=Role.ADMIN, email="admin2@example.org")
    remove = reverse("admin_sso_identity_remove", args=[person.pk, identity.pk])
    assert client_for(theirs).get(remove).status_code == 404
    assert client_for(theirs).post(remove).status_code == 404
    assert SsoIdentity.objects.exists()


def test_a_binding_of_someone_else_is_404_under_this_persons_address(
    org, person, identity, admin_user, provider
):
    other = UserFactory(organisation=org, email=f"other@{DOMAIN}")
    remove = reverse("admin_sso_identity_remove", args=[other.pk, identity.pk])
    assert client_for(admin_user).post(remove).status_code == 404
    assert SsoIdentity.objects.exists()


def test_a_subject_already_bound_to_another_account_is_refused(provider, person, org):
    """Two first sign-ins at once: the unique (issuer, subject) decides; the loser is refused."""
    other = UserFactory(organisation=org, email=f"other@{DOMAIN}")
    identities.identity_bind(provider=provider, user=person, subject="same")
    with pytest.raises(identities.BoundToAnother):
        identities.identity_bind(provider=provider, user=other, subject="same")
    assert list(SsoIdentity.objects.values_list("user", flat=True)) == [person.pk]
