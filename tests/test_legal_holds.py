"""Legal holds on an organisation's audit events (administration): administrators of the
organisation only (another organisation's a 404), a reason each way, every change audited,
a post from an out-of-date page refused. And the archive commands on SQLite say why not."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from decisions.audit import AuditAction
from decisions.audit.holds import HoldRefused, place_hold
from decisions.models import AuditEvent, LegalHold, Role
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def url(org) -> str:
    return reverse("admin_legal_hold", args=[org.slug])


def test_other_roles_are_refused(org, practitioner, lead, manager):
    for person in (practitioner, lead, manager):
        client = client_for(person)
        assert client.get(url(org)).status_code == 403, person.role
        assert client.post(url(org), {"reason": "x", "hold": "none"}).status_code == 403
    assert not LegalHold.objects.exists()


def test_another_organisations_administrator_gets_404(org, other_org):
    theirs = client_for(UserFactory(organisation=other_org, role=Role.ADMIN))
    assert theirs.get(url(org)).status_code == 404
    assert theirs.post(url(org), {"reason": "x", "hold": "none"}).status_code == 404
    assert not LegalHold.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(org):
    response = Client().get(url(org))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_placing_and_releasing_a_hold_each_need_a_reason_and_are_audited(org, admin_user):
    client = client_for(admin_user)
    page = client.get(url(org)).content.decode()
    assert "There is no legal hold" in page and "Place a legal hold" in page
    assert url(org) in client.get(reverse("admin_organisation", args=[org.slug])).content.decode()

    response = client.post(url(org), {"reason": "  ", "hold": "none"})
    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()
    assert "Enter the reason" in response.content.decode()
    assert not LegalHold.objects.exists()

    response = client.post(url(org), {"reason": "Case review 2026/7", "hold": "none"})
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert hold.in_force and hold.placed_by == admin_user
    placed = AuditEvent.objects.get(action=AuditAction.LEGAL_HOLD_PLACED)
    assert placed.details["reason"] == "Case review 2026/7" and placed.organisation_id == org.pk
    page = client.get(url(org)).content.decode()
    assert "A legal hold is in force" in page and "Release the legal hold" in page

    response = client.post(url(org), {"reason": "Review concluded", "hold": str(hold.pk)})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert not hold.in_force and hold.released_by == admin_user
    assert AuditEvent.objects.filter(action=AuditAction.LEGAL_HOLD_RELEASED).count() == 1


def test_a_post_from_an_out_of_date_page_is_refused_not_reversed(org, admin_user):
    hold = place_hold(actor=admin_user, organisation=org, reason="Inquiry")
    client = client_for(admin_user)
    # The page said "no hold" when it was opened: posting it must not release this one.
    response = client.post(url(org), {"reason": "Another", "hold": "none"})
    assert response.status_code == 400
    assert "changed after you opened this page" in response.content.decode()
    hold.refresh_from_db()
    assert hold.in_force
    # A tampered hold id is refused the same way.
    response = client.post(url(org), {"reason": "Another", "hold": "99999"})
    assert response.status_code == 400
    hold.refresh_from_db()
    assert hold.in_force


def test_one_hold_in_force_per_organisation(org, admin_user):
    place_hold(actor=admin_user, organisation=org, reason="Inquiry")
    with pytest.raises(HoldRefused, match="already under a legal hold"):
        place_hold(actor=admin_user, organisation=org, reason="Again")
    assert LegalHold.objects.count() == 1


def test_an_over_long_or_control_character_reason_gets_the_error_summary(org, admin_user):
    client = client_for(admin_user)
    for reason in ("x" * 501, "review\x00"):
        response = client.post(url(org), {"reason": reason, "hold": "none"})
        assert response.status_code == 400
        assert "govuk-error-summary" in response.content.decode()
    assert not LegalHold.objects.exists()


@pytest.mark.skipif(
    connection.vendor == "postgresql", reason="SQLite's answer (tests/test_audit_archive.py: PG)"
)
def test_on_sqlite_the_archive_commands_say_why_not():
    with pytest.raises(CommandError, match="needs the partitioned audit table"):
        call_command("archive_audit", "--month", "2024-01", stdout=StringIO())
    out = StringIO()
    call_command("audit_partitions", stdout=out)
    assert "one table" in out.getvalue()
