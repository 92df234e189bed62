"""Single sign-on against a real OpenID Connect provider (django-oidc-provider, in a second
process: tests/oidc_provider/), through ISG's real views."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from decisions.audit import AuditAction
from decisions.models import AuditEvent, Role
from tests.factories import OrganisationFactory, UserFactory
from tests.oidc_provider import fixtures

# The local identity provider (a session fixture), and ISG allowed to reach it over HTTP.
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
def invited(org):
    """An invited practitioner: no password yet."""
    user = UserFactory(organisation=org, role=Role.PRACTITIONER, email=f"pat@{DOMAIN}")
    user.set_unusable_password()
    user.save()
    return user


def test_an_invited_user_signs_in_through_the_provider(oidc_provider, provider, invited):
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


def refused(response, words: str) -> None:
    assert response.status_code in (400, 403)
    assert "You could not be signed in" in response.content.decode()
    assert words in response.content.decode()


def test_isg_mfa_is_skipped_for_an_sso_session(oidc_provider, provider, invited, settings):
    settings.ISG_MFA_REQUIRED = True
    oidc_provider.add_user(invited.email)
    client = Client()
    oidc_provider.sign_in(client, invited.email)
    assert client.get(reverse("my_decisions")).status_code == 200


def test_a_password_session_still_needs_isg_mfa(invited, settings):
    settings.ISG_MFA_REQUIRED = True
    client = Client()
    client.force_login(invited)
    assert client.get(reverse("my_decisions"))["Location"].startswith(reverse("mfa_setup"))


def test_someone_without_an_isg_account_is_refused_with_a_clear_message(
    oidc_provider,
    provider,
):
    oidc_provider.add_user(f"stranger@{DOMAIN}")
    client = Client()
    response = oidc_provider.sign_in(client, f"stranger@{DOMAIN}")
    refused(response, f"There is no ISG account for stranger@{DOMAIN}")
    assert "invite you" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    [event] = events(AuditAction.SSO_REFUSED)
    assert event.details["reason"] == "unknown"
    assert event.actor_email == "unknown"  # a stranger's address is not kept
    assert event.organisation == provider.organisation
    assert not events(AuditAction.SSO_SIGNED_IN)


def test_a_token_for_another_audience_is_refused(oidc_provider, org, invited):
    oidc_provider.register(org, domains=[DOMAIN], client_id="isg-wrong-audience")
    oidc_provider.add_user(invited.email)
    response = oidc_provider.sign_in(Client(), invited.email)
    refused(response, "meant for another service")
    assert not response.wsgi_request.user.is_authenticated
    [event] = events(AuditAction.SSO_REFUSED)
    assert (event.details["reason"], event.details["detail"]) == ("token", "audience")


def test_an_expired_token_is_refused(oidc_provider, org, invited):
    oidc_provider.register(org, domains=[DOMAIN], client_id="isg-expired")
    oidc_provider.add_user(invited.email)
    response = oidc_provider.sign_in(Client(), invited.email)
    refused(response, "it may have expired")
    [event] = events(AuditAction.SSO_REFUSED)
    assert (event.details["reason"], event.details["detail"]) == ("token", "expired")


def test_an_account_of_another_organisation_is_refused(oidc_provider, provider, other_org):
    outsider = UserFactory(organisation=other_org, email=f"moved@{DOMAIN}")
    oidc_provider.add_user(outsider.email)
    response = oidc_provider.sign_in(Client(), outsider.email)
    refused(response, "not in the organisation whose sign-in service you used")
    assert other_org.name not in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated
    [event] = events(AuditAction.SSO_REFUSED)
    assert event.details["reason"] == "other_organisation"
    assert event.organisation == other_org


def test_a_deactivated_account_is_refused(oidc_provider, provider, invited):
    invited.is_active = False
    invited.save()
    oidc_provider.add_user(invited.email)
    refused(oidc_provider.sign_in(Client(), invited.email), "deactivated")


def test_the_providers_answer_decides_not_the_typed_address(oidc_provider, provider, org):
    """Typed an address at the organisation's domain, signed in at the provider as someone
    whose address is at a domain the organisation does not serve: refused."""
    elsewhere = UserFactory(organisation=org, email="pat@elsewhere.example.com")
    oidc_provider.add_user(elsewhere.email)
    client = Client()
    client.post(reverse("sso_start"), {"email": f"anyone@{DOMAIN}"})
    response = client.get(reverse("sso_go", args=[provider.public_id]))
    callback = oidc_provider.authorize(response["Location"], elsewhere.email)
    response = client.get(callback.removeprefix("http://testserver"))
    refused(response, "that it does not sign in to ISG")
    assert events(AuditAction.SSO_REFUSED)[0].details["reason"] == "domain"


def test_a_callback_cannot_be_used_twice(oidc_provider, provider, invited):
    oidc_provider.add_user(invited.email)
    client = Client()
    client.post(reverse("sso_start"), {"email": invited.email})
    response = client.get(reverse("sso_go", args=[provider.public_id]))
    callback = oidc_provider.authorize(response["Location"], invited.email).removeprefix(
        "http://testserver"
    )
    assert client.get(callback).status_code == 302
    client.logout()
    response = client.get(callback)
    refused(response, "expired or was already used")
    assert response.status_code == 400


def test_a_forged_callback_is_refused(provider):
    response = Client().get(reverse("sso_callback"), {"code": "made-up", "state": "made-up"})
    refused(response, "expired or was already used")
    assert events(AuditAction.SSO_REFUSED)[0].details["reason"] == "state"


def test_a_provider_error_is_shown_plainly(provider):
    client = Client()
    client.post(reverse("sso_start"), {"email": f"pat@{DOMAIN}"})
    location = client.get(reverse("sso_go", args=[provider.public_id]))["Location"]
    state = location.split("state=")[1].split("&")[0]
    response = client.get(reverse("sso_callback"), {"error": "access_denied", "state": state})
    refused(response, "did not sign you in")


def test_sign_out_ends_the_session_and_offers_the_providers_sign_out(
    oidc_provider,
    provider,
    invited,
):
    import requests

    oidc_provider.add_user(invited.email)
    client = Client()
    oidc_provider.sign_in(client, invited.email)
    response = client.post(reverse("sso_sign_out"))
    assert response.status_code == 200
    url = response.context["end_session_url"]
    assert url.startswith(provider.end_session_endpoint + "?")
    assert "id_token_hint=" in url
    assert "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2Faccounts%2Flogin%2F" in url
    assert client.get(reverse("my_decisions")).status_code == 302  # signed out of ISG
    [event] = events(AuditAction.SSO_SIGNED_OUT)
    assert event.actor == invited
    assert event.details["end_session_offered"] is True
    assert events(AuditAction.SIGNED_OUT)
    # The provider accepts it and sends the browser back to ISG's sign-in page.
    back = requests.get(url, allow_redirects=False, timeout=20)
    assert back.status_code == 302
    assert back.headers["Location"] == "http://testserver/accounts/login/"


def test_a_timed_out_sso_session_is_an_sso_sign_out_event(oidc_provider, provider, invited):
    oidc_provider.add_user(invited.email)
    client = Client()
    oidc_provider.sign_in(client, invited.email)
    client.post(reverse("logout"))
    [event] = events(AuditAction.SSO_SIGNED_OUT)
    assert event.details["end_session_offered"] is False


def test_the_role_follows_the_group_claim(oidc_provider, org, invited):
    oidc_provider.register(
        org,
        domains=[DOMAIN],
        group_claim="groups",
        role_mapping="isg-managers = manager\nisg-leads = lead",
    )
    oidc_provider.add_user(invited.email, groups=("isg-leads", "staff"))
    oidc_provider.sign_in(Client(), invited.email)
    invited.refresh_from_db()
    assert invited.role == Role.LEAD
    [event] = events(AuditAction.SSO_ROLE_MAPPED)
    assert event.details["changes"] == {"role": [Role.PRACTITIONER, Role.LEAD]}
    assert not events(AuditAction.USER_CHANGED)  # logged once, by the SSO event


def test_a_group_never_changes_an_administrators_role(oidc_provider, org):
    oidc_provider.register(
        org, domains=[DOMAIN], group_claim="groups", role_mapping="isg-leads = lead"
    )
    admin = UserFactory(organisation=org, role=Role.ADMIN, email=f"admin@{DOMAIN}")
    oidc_provider.add_user(admin.email, groups=("isg-leads",))
    oidc_provider.sign_in(Client(), admin.email)
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_an_address_at_a_domain_without_sso_is_told_to_use_a_password(provider):
    response = Client().post(reverse("sso_start"), {"email": "pat@nowhere.example.com"})
    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()
    assert "Sign in with your email address and password instead" in response.content.decode()


def test_a_switched_off_provider_is_not_offered(provider):
    provider.is_enabled = False
    provider.save()
    assert Client().post(reverse("sso_start"), {"email": f"pat@{DOMAIN}"}).status_code == 400
    assert Client().get(reverse("sso_go", args=[provider.public_id])).status_code == 404


def test_a_provider_whose_secret_is_not_set_says_so(oidc_provider, org):
    provider = oidc_provider.register(
        org, domains=[DOMAIN], client_secret_env="ISG_OIDC_SECRET_NOT_SET"
    )
    response = Client().get(reverse("sso_go", args=[provider.public_id]))
    refused(response, "not ready yet")


@pytest.mark.django_db
def test_the_sign_in_page_offers_no_sso_when_no_organisation_has_it():
    assert reverse("sso_start") not in Client().get(reverse("login")).content.decode()


def test_the_sign_in_page_offers_the_organisations_account(provider):
    response = Client().get(reverse("login"))
    assert "Sign in with your organisation's account" in response.content.decode()
    assert reverse("sso_start") in response.content.decode()


def test_the_start_pages_carry_no_personal_data_in_urls(provider):
    client = Client()
    response = client.post(reverse("sso_start"), {"email": f"pat@{DOMAIN}"})
    location = client.get(response.context["go"])["Location"]
    assert "pat" not in response.context["go"]
    assert "pat%40" not in location and "pat@" not in location


def test_an_sso_user_confirms_with_the_provider_before_administration(
    oidc_provider,
    org,
    settings,
):
    import time

    provider = oidc_provider.register(org, domains=[DOMAIN])
    admin = UserFactory(organisation=org, role=Role.ADMIN, email=f"admin@{DOMAIN}")
    oidc_provider.add_user(admin.email)
    client = Client()
    oidc_provider.sign_in(client, admin.email)
    session = client.session
    session["isg_authenticated_at"] = time.time() - 3600
    session.save()
    page = reverse("admin_sso", args=[org.slug])
    confirm = client.get(page)["Location"]
    assert confirm.startswith(reverse("confirm_password"))
    assert reverse("sso_confirm") in client.get(confirm).content.decode()
    location = client.get(reverse("sso_confirm"), {"next": page})["Location"]
    assert "prompt=login" in location
    callback = oidc_provider.authorize(location, admin.email)
    response = client.get(callback.removeprefix("http://testserver"))
    assert response["Location"] == page
    assert client.get(page).status_code == 200
    [event] = events(AuditAction.SSO_REAUTHENTICATED)
    assert event.actor == admin
    assert event.details["provider"] == str(provider.public_id)


def test_confirming_as_someone_else_is_refused(oidc_provider, org):
    oidc_provider.register(org, domains=[DOMAIN])
    admin = UserFactory(organisation=org, role=Role.ADMIN, email=f"admin@{DOMAIN}")
    other = UserFactory(organisation=org, email=f"other@{DOMAIN}")
    oidc_provider.add_user(admin.email)
    oidc_provider.add_user(other.email)
    client = Client()
    oidc_provider.sign_in(client, admin.email)
    location = client.get(reverse("sso_confirm"))["Location"]
    response = client.get(
        oidc_provider.authorize(location, other.email).removeprefix("http://testserver")
    )
    refused(response, "someone other than the person signed in")
    assert response.wsgi_request.user == admin
    assert not events(AuditAction.SSO_REAUTHENTICATED)


def test_another_organisations_provider_is_never_used_for_this_one(oidc_provider, org):
    """Two organisations, two providers: each address goes to its own organisation's."""
    second = OrganisationFactory(name="Rutland County Council")
    oidc_provider.register(org, domains=[DOMAIN])
    theirs = oidc_provider.register(second, domains=["rutland.example.org"])
    response = Client().post(reverse("sso_start"), {"email": "someone@rutland.example.org"})
    assert response.context["provider"] == theirs


def test_the_page_asked_for_is_where_the_sign_in_ends(oidc_provider, provider, invited):
    oidc_provider.add_user(invited.email)
    response = oidc_provider.sign_in(Client(), invited.email, next_url=reverse("start"))
    assert response["Location"] == reverse("start")


def test_a_next_address_on_another_site_is_ignored(oidc_provider, provider, invited):
    oidc_provider.add_user(invited.email)
    response = oidc_provider.sign_in(Client(), invited.email, next_url="https://evil.example/")
    assert response["Location"] == reverse("home")


def test_only_an_sso_session_can_confirm_with_the_provider(provider, practitioner):
    client = Client()
    assert client.get(reverse("sso_confirm")).status_code == 404
    client.force_login(practitioner)
    assert client.get(reverse("sso_confirm")).status_code == 404


def test_sign_out_of_a_password_session_goes_to_the_sign_in_page(practitioner):
    client = Client()
    client.force_login(practitioner)
    response = client.post(reverse("sso_sign_out"))
    assert response["Location"] == reverse("login")
    assert not events(AuditAction.SSO_SIGNED_OUT)
    assert client.get(reverse("my_decisions")).status_code == 302


def test_sign_in_as_sets_everything_up_for_other_tests(oidc_provider, practitioner):
    """The helper the API's end-to-end test uses (tests/oidc_provider/fixtures.py)."""
    client = Client()
    response = oidc_provider.sign_in_as(client, practitioner, next_url=reverse("start"))
    assert response["Location"] == reverse("start")
    assert client.get(reverse("my_decisions")).wsgi_request.user == practitioner


def test_switching_the_provider_off_ends_its_sessions_at_their_next_request(
    oidc_provider, provider, invited, admin_user
):
    from decisions.sso.services import provider_set_enabled

    oidc_provider.add_user(invited.email)
    client = Client()
    oidc_provider.sign_in(client, invited.email)
    assert client.get(reverse("my_decisions")).status_code == 200
    provider_set_enabled(actor=admin_user, provider=provider, enabled=False)
    response = client.get(reverse("my_decisions"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?signed_out=sso")
    assert not client.get(reverse("my_decisions")).wsgi_request.user.is_authenticated
    assert "switched off" in client.get(response["Location"]).content.decode()


def test_confirming_needs_a_sign_in_at_the_provider_just_now():
    import time

    from decisions.sso.views import _signed_in_just_now

    assert _signed_in_just_now(time.time() - 10)
    assert not _signed_in_just_now(time.time() - 3600)  # a remembered sign-in of an hour ago
    assert not _signed_in_just_now(None)  # no auth_time: nothing was confirmed
    assert not _signed_in_just_now("yesterday")
