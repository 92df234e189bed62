"""Administration (/administration/): who may use it; every change audited once, by its actor."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
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
def as_admin(admin_user):
    return client_for(admin_user)


@pytest.fixture
def as_partnership(partnership_admin):
    return client_for(partnership_admin)


# Every administration page, with what it is about: "org" (the admin's own organisation),
# or "person" (a practitioner in it).
PAGES = [
    ("admin_index", None),
    ("admin_organisation", "org"),
    ("admin_organisation_create", None),
    ("admin_organisation_rename", "org"),
    ("admin_organisation_deactivate", "org"),
    ("admin_organisation_reactivate", "org"),
    ("admin_user_invite", "org"),
    ("admin_user", "person"),
    ("admin_user_role", "person"),
    ("admin_user_organisation", "person"),
    ("admin_user_deactivate", "person"),
    ("admin_user_reactivate", "person"),
    ("admin_user_invite_again", "person"),
    ("admin_user_mfa_reset", "person"),
]
POST_ONLY = {"admin_user_invite_again"}


def url(name: str, about: str | None, org: Organisation, person: User) -> str:
    if about == "org":
        return reverse(name, args=[org.slug])
    if about == "person":
        return reverse(name, args=[person.pk])
    return reverse(name)


def visit(client: Client, name: str, address: str):
    return client.post(address) if name in POST_ONLY else client.get(address)


# ---- who may open the pages -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name,about", PAGES)
@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.LEAD, Role.MANAGER])
def test_other_roles_are_refused(name, about, role, org, practitioner):
    someone = UserFactory(organisation=org, role=role, email=f"{role}-x@example.org")
    response = visit(client_for(someone), name, url(name, about, org, practitioner))
    assert response.status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("name,about", [p for p in PAGES if p[1]])
def test_another_organisations_records_are_404(name, about, as_admin, other_org, outsider):
    response = visit(as_admin, name, url(name, about, other_org, outsider))
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("name,about", PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(name, about, client, org, practitioner):
    response = visit(client, name, url(name, about, org, practitioner))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("name,about", PAGES)
def test_an_old_password_entry_is_asked_for_again(name, about, admin_user, org, practitioner):
    client = client_for(admin_user)
    session = client.session
    session["isg_authenticated_at"] -= 16 * 60
    session.save()
    response = visit(client, name, url(name, about, org, practitioner))
    assert response["Location"].startswith(reverse("confirm_password"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,about",
    [
        ("admin_organisation_create", None),
        ("admin_organisation_rename", "org"),
        ("admin_organisation_deactivate", "org"),
        ("admin_user_organisation", "person"),
    ],
)
def test_pages_about_organisations_are_for_partnership_administrators(
    name, about, as_admin, org, practitioner
):
    assert visit(as_admin, name, url(name, about, org, practitioner)).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("name,about", [p for p in PAGES if p[0] not in POST_ONLY])
def test_every_page_opens_for_a_partnership_administrator(
    name, about, as_partnership, org, practitioner
):
    if name == "admin_user_reactivate":
        practitioner.is_active = False
        practitioner.save()
    response = as_partnership.get(url(name, about, org, practitioner))
    assert response.status_code == 200
    assert "<h1" in response.content.decode()


@pytest.mark.django_db
def test_the_header_links_administrators_to_administration(as_admin, as_practitioner):
    assert "Administration" in as_admin.get(reverse("reports")).content.decode()
    assert "/administration/" not in as_practitioner.get(reverse("my_decisions")).content.decode()


# ---- organisations and people ---------------------------------------------------------------


@pytest.mark.django_db
def test_an_administrator_goes_straight_to_their_organisation(as_admin, org):
    response = as_admin.get(reverse("admin_index"))
    assert response["Location"] == reverse("admin_organisation", args=[org.slug])


@pytest.mark.django_db
def test_a_partnership_administrator_sees_every_organisation(as_partnership, org, other_org):
    page = as_partnership.get(reverse("admin_index")).content.decode()
    assert org.name in page and other_org.name in page


@pytest.mark.django_db
def test_people_are_searched_by_email_address(as_admin, org, practitioner, lead, outsider):
    page = as_admin.get(reverse("admin_organisation", args=[org.slug]), {"q": "lead@"})
    text = page.content.decode()
    assert lead.email in text
    assert practitioner.email not in text
    assert outsider.email not in text


@pytest.mark.django_db
def test_people_are_shown_25_a_page(as_admin, org):
    for n in range(30):
        UserFactory(organisation=org, email=f"person{n:02}@example.org")
    address = reverse("admin_organisation", args=[org.slug])
    first = as_admin.get(address).content.decode()
    second = as_admin.get(address, {"page": 2}).content.decode()
    assert "person00@" in first and "person29@" not in first
    assert "person29@" in second
    assert "Next" in first


@pytest.mark.django_db
def test_an_overlong_search_gets_the_error_summary(as_admin, org):
    response = as_admin.get(reverse("admin_organisation", args=[org.slug]), {"q": "x" * 300})
    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()


# ---- inviting -------------------------------------------------------------------------------


def invite(client: Client, org: Organisation, **values):
    data = {"email": "new.person@example.org", "full_name": "New Person", "role": "practitioner"}
    return client.post(reverse("admin_user_invite", args=[org.slug]), {**data, **values})


@pytest.mark.django_db
def test_an_invitation_creates_an_account_without_a_password_and_emails_a_link(
    as_admin, org, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(as_admin, org)
    person = User.objects.get(email="new.person@example.org")
    assert response["Location"] == reverse("admin_user", args=[person.pk])
    assert not person.has_usable_password()
    assert person.organisation == org
    [message] = mail.outbox
    assert message.to == ["new.person@example.org"]
    assert message.subject == "ISG: an account has been set up for you"
    assert "/accounts/password/reset/" in message.body


@pytest.mark.django_db
def test_an_invitation_is_audited_once_with_the_administrator_as_actor(as_admin, org, admin_user):
    invite(as_admin, org)
    [created] = events("user.created")[-1:]
    assert created.actor == admin_user
    assert created.details["invited"] is True
    assert not AuditEvent.objects.filter(action="user.created", actor_email="system").filter(
        object_id=str(User.objects.get(email="new.person@example.org").pk)
    )
    [sent] = events("user.invited")
    assert sent.actor == admin_user


@pytest.mark.django_db
def test_the_invitation_link_lets_them_choose_a_password(
    as_admin, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(as_admin, org)
    link = re.search(r"/accounts/password/reset/\S+/\S+/", mail.outbox[0].body).group(0)
    client = Client()
    page = client.get(link, follow=True)
    assert "Choose your password" in page.content.decode()
    client.post(page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    person = User.objects.get(email="new.person@example.org")
    assert person.check_password(NEW)
    assert events("user.password_reset")[-1].details == {"first_password": True}


@pytest.mark.django_db
def test_inviting_an_existing_address_gets_the_error_summary(as_admin, org, practitioner):
    response = invite(as_admin, org, email=practitioner.email.upper())
    assert response.status_code == 400
    assert "There is already an account with this email address" in response.content.decode()


@pytest.mark.django_db
def test_an_empty_invitation_gets_an_error_for_each_question(as_admin, org):
    response = as_admin.post(reverse("admin_user_invite", args=[org.slug]), {})
    page = response.content.decode()
    assert response.status_code == 400
    for message in ("Enter their email address", "Enter their full name", "Select a role"):
        assert message in page


@pytest.mark.django_db
def test_a_new_invitation_can_be_sent_until_a_password_is_chosen(
    as_admin, org, practitioner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(as_admin, org)
    person = User.objects.get(email="new.person@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        as_admin.post(reverse("admin_user_invite_again", args=[person.pk]))
    assert len(mail.outbox) == 2
    refused = as_admin.post(reverse("admin_user_invite_again", args=[practitioner.pk]), follow=True)
    assert "already chosen a password" in refused.content.decode()


# ---- roles, organisations, deactivation ------------------------------------------------------


@pytest.mark.django_db
def test_making_someone_a_safeguarding_lead_is_audited_once_by_the_administrator(
    as_admin, admin_user, practitioner
):
    as_admin.post(reverse("admin_user_role", args=[practitioner.pk]), {"role": "lead"})
    practitioner.refresh_from_db()
    assert practitioner.role == Role.LEAD
    [event] = events("user.changed")
    assert event.actor == admin_user
    assert event.details["changes"] == {"role": ["practitioner", "lead"]}


@pytest.mark.django_db
def test_an_administrator_cannot_change_their_own_role(as_admin, admin_user):
    response = as_admin.post(reverse("admin_user_role", args=[admin_user.pk]), {"role": "lead"})
    assert response.status_code == 400
    assert "You cannot change the role or organisation of your own account" in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_an_unknown_role_gets_the_error_summary(as_admin, practitioner):
    response = as_admin.post(reverse("admin_user_role", args=[practitioner.pk]), {"role": "king"})
    assert response.status_code == 400
    assert "Select a role" in response.content.decode()


@pytest.mark.django_db
def test_only_partnership_administrators_mark_someone_partnership_wide(
    as_admin, as_partnership, lead
):
    as_admin.post(
        reverse("admin_user_role", args=[lead.pk]), {"role": "lead", "partnership_wide": "on"}
    )
    lead.refresh_from_db()
    assert not lead.partnership_wide
    as_partnership.post(
        reverse("admin_user_role", args=[lead.pk]), {"role": "lead", "partnership_wide": "on"}
    )
    lead.refresh_from_db()
    assert lead.partnership_wide


@pytest.mark.django_db
def test_an_administrator_cannot_change_a_partnership_wide_account(as_admin, org):
    wide = UserFactory(organisation=org, role=Role.MANAGER, partnership_wide=True)
    response = as_admin.post(reverse("admin_user_deactivate", args=[wide.pk]))
    assert response.status_code == 400
    wide.refresh_from_db()
    assert wide.is_active


@pytest.mark.django_db
def test_a_partnership_administrator_moves_someone_to_another_organisation(
    as_partnership, partnership_admin, practitioner, other_org
):
    as_partnership.post(
        reverse("admin_user_organisation", args=[practitioner.pk]), {"organisation": other_org.pk}
    )
    practitioner.refresh_from_db()
    assert practitioner.organisation == other_org
    [event] = events("user.changed")
    assert event.actor == partnership_admin


@pytest.mark.django_db
def test_deactivating_someone_ends_their_session_and_is_audited(as_admin, admin_user, practitioner):
    theirs = client_for(practitioner)
    response = as_admin.post(reverse("admin_user_deactivate", args=[practitioner.pk]))
    assert response["Location"] == reverse("admin_user", args=[practitioner.pk])
    assert theirs.get(reverse("my_decisions"))["Location"].startswith(reverse("login"))
    [event] = events("user.deactivated")
    assert event.actor == admin_user
    assert not events("user.changed")


@pytest.mark.django_db
def test_an_administrator_cannot_deactivate_themselves(as_admin, admin_user):
    response = as_admin.post(reverse("admin_user_deactivate", args=[admin_user.pk]))
    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()


@pytest.mark.django_db
def test_reactivating_someone_is_audited(as_admin, admin_user, practitioner):
    practitioner.is_active = False
    practitioner.save()
    as_admin.post(reverse("admin_user_reactivate", args=[practitioner.pk]))
    practitioner.refresh_from_db()
    assert practitioner.is_active
    assert events("user.reactivated")[0].actor == admin_user


@pytest.mark.django_db
def test_nobody_is_invited_to_a_deactivated_organisation(as_partnership, org):
    org.is_active = False
    org.save()
    response = invite(as_partnership, org)
    assert response.status_code == 400
    assert not User.objects.filter(email="new.person@example.org").exists()
