"""Administration of organisations (partnership administrators), and accounts created outside
the administration pages (createsuperuser, a shell, seed_demo): each change audited once."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from decisions.models import AuditEvent, Organisation, Role, User
from tests.conftest import client_for
from tests.factories import UserFactory

NEW = "a much longer new passphrase"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


@pytest.fixture(autouse=True)
def without_second_factor(settings):
    # The second factor has its own tests (test_accounts_mfa.py); these sign in with a password.
    settings.ISG_MFA_REQUIRED = False


@pytest.fixture
def partnership_admin(other_org):
    return UserFactory(
        organisation=other_org, role=Role.ADMIN, partnership_wide=True, email="padmin@example.org"
    )


@pytest.fixture
def as_partnership(partnership_admin):
    return client_for(partnership_admin)


@pytest.mark.django_db
def test_creating_an_organisation_is_audited_once(as_partnership, partnership_admin):
    as_partnership.post(
        reverse("admin_organisation_create"), {"name": "New Agency", "kind": "charity"}
    )
    org = Organisation.objects.get(name="New Agency")
    [event] = [e for e in events("organisation.created") if e.object_id == str(org.pk)]
    assert event.actor == partnership_admin


@pytest.mark.django_db
def test_a_duplicate_organisation_name_gets_the_error_summary(as_partnership, org):
    response = as_partnership.post(
        reverse("admin_organisation_create"), {"name": org.name.upper(), "kind": "charity"}
    )
    assert response.status_code == 400
    assert "There is already an organisation with this name" in response.content.decode()


@pytest.mark.django_db
def test_renaming_keeps_the_slug(as_partnership, partnership_admin, org):
    slug = org.slug
    as_partnership.post(reverse("admin_organisation_rename", args=[slug]), {"name": "Renamed"})
    org.refresh_from_db()
    assert (org.name, org.slug) == ("Renamed", slug)
    [event] = events("organisation.changed")
    assert event.actor == partnership_admin


@pytest.mark.django_db
def test_deactivating_an_organisation_deactivates_its_people(
    as_partnership, partnership_admin, org, practitioner, lead
):
    as_partnership.post(reverse("admin_organisation_deactivate", args=[org.slug]))
    org.refresh_from_db()
    assert not org.is_active
    assert not User.objects.filter(organisation=org, is_active=True).exists()
    assert events("organisation.deactivated")[0].actor == partnership_admin
    assert len(events("user.deactivated")) == 2
    response = as_partnership.post(reverse("admin_user_reactivate", args=[practitioner.pk]))
    assert response.status_code == 400  # the organisation first


# ---- accounts created outside these pages ---------------------------------------------------


@pytest.mark.django_db
def test_createsuperuser_is_audited(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", NEW)
    call_command("createsuperuser", email="root@example.org", full_name="Root", interactive=False)
    [event] = events("user.created")
    assert (event.actor_email, event.details["email"]) == ("system", "root@example.org")
    assert event.details["is_superuser"] is True


@pytest.mark.django_db
def test_a_user_created_in_a_shell_is_audited_once(org):
    User.objects.create_user("shell@example.org", password=NEW, full_name="Shell")
    [event] = events("user.created")
    assert event.details["email"] == "shell@example.org"
    assert not events("user.password_changed")


@pytest.mark.django_db
def test_seed_demo_writes_one_event_per_account_and_organisation():
    call_command("seed_demo", force=True, stdout=io.StringIO())
    users = User.objects.count()
    assert len(events("user.created")) == users
    assert len(events("organisation.created")) == Organisation.objects.count()
    call_command("seed_demo", force=True, stdout=io.StringIO())
    assert len(events("user.created")) == users
    assert len(events("user.password_reset")) == users
    assert not events("user.password_changed")
