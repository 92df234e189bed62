"""Administration of an organisation's single sign-on: who may, what is checked, the audit."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from decisions.audit import AuditAction
from decisions.models import AuditEvent, IdentityProvider, Organisation, Role
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.oidc_provider import fixtures
from tests.oidc_provider.fixtures import SECRET_ENV

# The local identity provider (a session fixture), and ISG allowed to reach it over HTTP.
oidc_provider = fixtures.oidc_provider
sso_http = fixtures.sso_http

PAGES = [("admin_sso", "GET"), ("admin_sso_edit", "GET"), ("admin_sso_disable", "POST")]
PAGES += [("admin_sso_enable", "POST"), ("admin_sso_edit", "POST")]


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def visit(client: Client, name: str, method: str, org: Organisation):
    address = reverse(name, args=[org.slug])
    return client.post(address) if method == "POST" else client.get(address)


def form(issuer: str, **changes: str) -> dict[str, str]:
    return {
        "name": "Microsoft Entra ID",
        "issuer": issuer,
        "client_id": "isg",
        "client_secret_env": SECRET_ENV,
        "email_domains": "lcc.example.org\nLeicester.example.org",
        "scopes": "openid email profile",
        "group_claim": "",
        "role_mapping": "",
        **changes,
    }


@pytest.fixture
def as_admin(admin_user):
    """An administrator of `org` only."""
    return client_for(admin_user)


@pytest.fixture
def as_partnership(other_org):
    admin = UserFactory(
        organisation=other_org, role=Role.ADMIN, partnership_wide=True, email="padmin@example.org"
    )
    return client_for(admin)


@pytest.mark.django_db
@pytest.mark.parametrize("name,method", PAGES)
@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.LEAD, Role.MANAGER])
def test_other_roles_are_refused(name, method, role, org):
    someone = UserFactory(organisation=org, role=role, email=f"{role}-x@example.org")
    assert visit(client_for(someone), name, method, org).status_code == 403
    assert not IdentityProvider.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name,method", PAGES)
def test_another_organisations_pages_are_404(name, method, as_admin, other_org):
    assert visit(as_admin, name, method, other_org).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("name,method", PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(name, method, client, org):
    assert visit(client, name, method, org)["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("name,method", PAGES)
def test_an_old_password_entry_is_asked_for_again(name, method, admin_user, org):
    client = client_for(admin_user)
    session = client.session
    session["isg_authenticated_at"] -= 16 * 60
    session.save()
    assert visit(client, name, method, org)["Location"].startswith(reverse("confirm_password"))


@pytest.mark.django_db
def test_the_organisation_page_links_to_single_sign_on(as_admin, org):
    page = as_admin.get(reverse("admin_organisation", args=[org.slug])).content.decode()
    assert reverse("admin_sso", args=[org.slug]) in page
    assert "Not set up" in page


@pytest.mark.django_db
def test_the_page_shows_what_to_register_with_the_provider(as_partnership, org):
    page = as_partnership.get(reverse("admin_sso", args=[org.slug])).content.decode()
    assert "http://testserver/accounts/sso/callback/" in page
    assert "Set up single sign-on" in page


@pytest.mark.usefixtures("sso_http")
def test_a_partnership_administrator_sets_it_up_from_the_issuer_alone(
    oidc_provider, as_partnership, org
):
    response = as_partnership.post(
        reverse("admin_sso_edit", args=[org.slug]), form(oidc_provider.issuer)
    )
    assert response["Location"] == reverse("admin_sso", args=[org.slug])
    provider = IdentityProvider.objects.get(organisation=org)
    assert provider.issuer == oidc_provider.issuer
    assert provider.token_endpoint == f"{oidc_provider.issuer}/token"
    assert provider.jwks_uri == f"{oidc_provider.issuer}/jwks"
    assert provider.end_session_endpoint == f"{oidc_provider.issuer}/end-session"
    assert provider.domains == ["lcc.example.org", "leicester.example.org"]
    [event] = events(AuditAction.SSO_PROVIDER_CREATED)
    assert (event.object_kind, event.object_id) == ("organisation", str(org.pk))
    assert event.details["settings"]["client_secret_env"] == SECRET_ENV
    assert "isg-test-client-secret" not in str(event.details)
    page = as_partnership.get(reverse("admin_sso", args=[org.slug])).content.decode()
    assert "set</dd>" in page or ": set" in page


@pytest.mark.usefixtures("sso_http")
def test_a_change_is_one_event_with_what_changed(oidc_provider, as_partnership, org):
    address = reverse("admin_sso_edit", args=[org.slug])
    as_partnership.post(address, form(oidc_provider.issuer))
    provider = IdentityProvider.objects.get(organisation=org)
    values = form(oidc_provider.issuer, name="Entra")
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        values[name] = getattr(provider, name)
    values["end_session_endpoint"] = provider.end_session_endpoint
    as_partnership.post(address, values)
    [event] = events(AuditAction.SSO_PROVIDER_CHANGED)
    assert event.details["changes"] == {"name": ["Microsoft Entra ID", "Entra"]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field,value,message",
    [
        ("client_secret_env", "SECRET_KEY", "starts ISG_OIDC_SECRET_"),
        ("email_domains", "not a domain!", "Enter domains like example.org"),
        ("role_mapping", "isg-admins = admin", "practitioner, lead or manager"),
        ("scopes", "email", "Include the scope openid"),
        ("issuer", "http://login.example.org/", "must be an https:// address"),
        ("name", "", "Enter the name of the sign-in service"),
    ],
)
def test_bad_input_gets_an_error_summary_and_saves_nothing(
    as_partnership, org, field, value, message
):
    values = {**form("https://login.example.org/"), field: value}
    response = as_partnership.post(reverse("admin_sso_edit", args=[org.slug]), values)
    assert response.status_code == 400
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert message in page
    assert not IdentityProvider.objects.exists()
    assert not events(AuditAction.SSO_PROVIDER_CREATED)


@pytest.mark.usefixtures("sso_http")
def test_an_issuer_without_a_discovery_document_is_an_error_on_the_page(as_partnership, org):
    values = form("http://127.0.0.1:9/nothing-here")
    response = as_partnership.post(reverse("admin_sso_edit", args=[org.slug]), values)
    assert response.status_code == 400
    assert "could not read the discovery document" in response.content.decode()
    assert not IdentityProvider.objects.exists()


@pytest.mark.usefixtures("sso_http")
def test_a_domain_served_by_another_organisation_is_refused(
    oidc_provider, as_partnership, org, other_org
):
    oidc_provider.register(other_org, domains=["lcc.example.org"])
    response = as_partnership.post(
        reverse("admin_sso_edit", args=[org.slug]), form(oidc_provider.issuer)
    )
    assert response.status_code == 400
    assert "already served by" in response.content.decode()
    assert not IdentityProvider.objects.filter(organisation=org).exists()


@pytest.mark.usefixtures("sso_http")
def test_switching_off_and_on_is_audited(oidc_provider, as_partnership, org):
    provider = oidc_provider.register(org, domains=["lcc.example.org"])
    as_partnership.post(reverse("admin_sso_disable", args=[org.slug]))
    provider.refresh_from_db()
    assert not provider.is_enabled
    as_partnership.post(reverse("admin_sso_enable", args=[org.slug]))
    provider.refresh_from_db()
    assert provider.is_enabled
    assert len(events(AuditAction.SSO_PROVIDER_DISABLED)) == 1
    assert len(events(AuditAction.SSO_PROVIDER_ENABLED)) == 1


@pytest.mark.django_db
def test_a_get_cannot_switch_it_off(as_admin, org):
    assert as_admin.get(reverse("admin_sso_disable", args=[org.slug])).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,method",
    [("admin_sso_edit", "GET"), ("admin_sso_edit", "POST"), ("admin_sso_enable", "POST")],
)
def test_an_organisations_own_administrator_cannot_set_it_up_or_switch_it_on(
    name, method, as_admin, org
):
    """Whoever controls the provider can sign in as anyone in the organisation."""
    assert visit(as_admin, name, method, org).status_code == 403
    assert not IdentityProvider.objects.exists()


@pytest.mark.usefixtures("sso_http")
def test_an_organisations_own_administrator_can_switch_it_off(oidc_provider, as_admin, org):
    provider = oidc_provider.register(org, domains=["lcc.example.org"])
    page = as_admin.get(reverse("admin_sso", args=[org.slug])).content.decode()
    assert "Switch off single sign-on" in page
    assert "Change single sign-on" not in page
    as_admin.post(reverse("admin_sso_disable", args=[org.slug]))
    provider.refresh_from_db()
    assert not provider.is_enabled
    [event] = events(AuditAction.SSO_PROVIDER_DISABLED)
    assert event.organisation == org
