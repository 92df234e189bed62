"""Shared fixtures: guidance packs loaded once per test database, users by role and org."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from decisions.models import Role
from decisions.packs import pack_load_files
from tests.factories import OrganisationFactory, UserFactory


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # noqa: F811 - extends pytest-django's
    """Load the real guidance packs once; each test's transaction rolls back over them."""
    with django_db_blocker.unblock():
        pack_load_files(sorted(settings.GUIDANCE_DIR.glob("*.json")))


@pytest.fixture
def org(db):
    return OrganisationFactory(name="Leicester City Council")


@pytest.fixture
def other_org(db):
    return OrganisationFactory(name="Leicestershire Police")


@pytest.fixture
def practitioner(org):
    return UserFactory(organisation=org, role=Role.PRACTITIONER, email="pat@example.org")


@pytest.fixture
def colleague(org):
    """Another practitioner in the same organisation."""
    return UserFactory(organisation=org, role=Role.PRACTITIONER, email="colleague@example.org")


@pytest.fixture
def lead(org):
    return UserFactory(organisation=org, role=Role.LEAD, email="lead@example.org")


@pytest.fixture
def manager(org):
    return UserFactory(organisation=org, role=Role.MANAGER, email="manager@example.org")


@pytest.fixture
def admin_user(org):
    return UserFactory(organisation=org, role=Role.ADMIN, email="admin@example.org")


@pytest.fixture
def outsider(other_org):
    """A practitioner of another organisation."""
    return UserFactory(organisation=other_org, role=Role.PRACTITIONER, email="out@example.org")


@pytest.fixture
def outside_lead(other_org):
    return UserFactory(organisation=other_org, role=Role.LEAD, email="outlead@example.org")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_practitioner(practitioner):
    return client_for(practitioner)
