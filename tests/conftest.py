"""Shared fixtures: guidance packs loaded once per test database, users by role and org."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from decisions.guidance.store import pack_load_files
from decisions.models import Role
from tests.factories import OrganisationFactory, UserFactory, answered_decision


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # noqa: F811 - extends pytest-django's
    """Load the real guidance packs once; each test's transaction rolls back over them."""
    with django_db_blocker.unblock():
        pack_load_files(sorted(settings.GUIDANCE_DIR.glob("*.json")))
        allow_flush_of_audit_table()


def allow_flush_of_audit_table() -> None:
    """Let the test database's flush through the evidence tables' TRUNCATE triggers (PostgreSQL).

    Transactional tests (transaction=True, live_server) end with Django's flush, a TRUNCATE
    of every table, which the audit log and decision records refuse. This database alone
    ignores those triggers by default; tests/test_audit.py switches them back on to prove the
    refusal.
    """
    if connection.vendor != "postgresql":
        return
    pgids = ",".join(
        trigger.get_pgid(model)
        for model in apps.get_models()
        for trigger in getattr(model._meta, "triggers", [])
        if trigger.name == "no_truncate"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])} "
            f"SET pgtrigger.ignore = '{{{pgids}}}'"
        )
    connection.close()  # the setting applies to new connections


@pytest.fixture(autouse=True)
def no_throttle_counts():
    cache.clear()  # refusal counts (decisions.audit.noise) live in the cache, which outlives a test


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Every user the fixtures make would otherwise cost a full PBKDF2 hash (about 0.2 s).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
def partnership_manager(org):
    """A manager who reports across the partnership: aggregates only beyond their organisation."""
    return UserFactory(
        organisation=org, role=Role.MANAGER, partnership_wide=True, email="partner@example.org"
    )


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


@contextmanager
def clock(moment):
    """Run the app's services as if it were `moment` (its audit events land in that month).
    Only the clock is moved: the chains, partitions and checks are the real ones."""
    real = timezone.now
    timezone.now = lambda: moment
    try:
        yield
    finally:
        timezone.now = real


# Reports and exports: the manager's two decisions, the manager signed in, a manager elsewhere.
@pytest.fixture
def made(practitioner):
    """Two decisions of the manager's organisation, submitted today."""
    return [
        answered_decision(practitioner, "share_with_consent", submit=True),
        answered_decision(practitioner, "do_not_share", submit=True),
    ]


@pytest.fixture
def as_manager(manager):
    return client_for(manager)


@pytest.fixture
def other_manager(other_org):
    return UserFactory(organisation=other_org, role=Role.MANAGER, email="othermgr@example.org")
