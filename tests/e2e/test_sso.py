"""A practitioner signs in through their organisation's sign-in service (the local OpenID
Connect provider, tests/oidc_provider/) in Chromium, and signs out of both."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from decisions.audit import AuditAction
from decisions.models import AuditEvent, IdentityProvider, Role
from tests.e2e import journeys
from tests.e2e.browser import goto, landed, navigate
from tests.factories import UserFactory
from tests.oidc_provider import fixtures
from tests.oidc_provider.browser import sign_in_through_provider

pytestmark = pytest.mark.e2e
oidc_provider = fixtures.oidc_provider

DOMAIN = "lcc.example.org"


def sign_in_and_out_with_the_organisations_account(page: Page, email: str):
    """On the browser's thread: no ORM. The provider's own pages are not ISG's, so they get
    no accessibility checks; every ISG page does (landed/navigate)."""
    seen: dict[str, str] = {}
    sign_in_through_provider(page, email)
    seen["signed_in_page"] = page.locator("h1").inner_text()
    seen["header"] = page.locator("header").inner_text()
    navigate(page, page.get_by_role("button", name="Sign out").click)
    seen["signed_out"] = page.locator("h1").inner_text()
    page.get_by_role("button", name="Sign out of your organisation's account").click()
    page.wait_for_url(re.compile(r"/accounts/login/$"))
    landed(page)
    seen["back_at"] = page.url
    goto(page, "/decisions/")
    seen["after_sign_out"] = page.url
    return seen


def continue_page(page: Page, email: str) -> str:
    goto(page, "/accounts/sso/")
    page.get_by_label("Work email address").fill(email)
    navigate(page, page.get_by_role("button", name="Continue", exact=True).click)
    return page.locator("h1").inner_text()


def test_a_practitioner_signs_in_with_their_organisations_account(
    browser, live_server, oidc_provider, org, settings
):
    settings.ISG_SSO_ALLOW_HTTP = True
    settings.ISG_MFA_REQUIRED = True  # ISG's own second factor is skipped: the provider's counts
    oidc_provider.allow(live_server.url)
    oidc_provider.register(org, domains=[DOMAIN])
    person = UserFactory(organisation=org, email=f"pat@{DOMAIN}")
    person.set_unusable_password()
    person.save()
    oidc_provider.add_user(person.email)

    seen = browser.run(sign_in_and_out_with_the_organisations_account, person.email)

    assert browser.run(continue_page, person.email) == f"Sign in with your {org.name} account"
    assert seen["signed_in_page"] == "My decisions"
    assert person.email in seen["header"]
    assert seen["signed_out"] == "You have signed out of ISG"
    assert seen["back_at"] == f"{live_server.url}/accounts/login/"
    assert "/accounts/login/" in seen["after_sign_out"]
    assert AuditEvent.objects.filter(action=AuditAction.SSO_SIGNED_IN, actor=person).count() == 1
    signed_out = AuditEvent.objects.get(action=AuditAction.SSO_SIGNED_OUT, actor=person)
    assert signed_out.details["end_session_offered"] is True


def administer_single_sign_on(page: Page, email: str, slug: str, issuer: str) -> dict[str, str]:
    """A partnership administrator sets up an organisation's provider from its issuer alone."""
    seen: dict[str, str] = {}
    journeys.sign_in(page, email)
    goto(page, f"/administration/organisations/{slug}/")
    navigate(page, page.get_by_role("link", name="Single sign-on").click)
    navigate(page, page.get_by_role("button", name="Set up single sign-on").click)
    navigate(page, page.get_by_role("button", name="Save single sign-on").click)  # empty: errors
    seen["error_summary"] = page.locator(".govuk-error-summary").inner_text()
    page.get_by_label("Name of the sign-in service").fill("Test identity provider")
    page.get_by_label("Issuer").fill(issuer)
    page.get_by_label("Client ID").fill("isg")
    page.get_by_label("Environment variable holding the client secret").fill(fixtures.SECRET_ENV)
    page.get_by_label("Email domains").fill(DOMAIN)
    navigate(page, page.get_by_role("button", name="Save single sign-on").click)
    seen["saved"] = page.locator(".govuk-notification-banner").inner_text()
    seen["summary"] = page.locator("main").inner_text()
    return seen


def test_a_partnership_administrator_sets_up_single_sign_on(
    browser, live_server, oidc_provider, org, other_org, settings
):
    settings.ISG_SSO_ALLOW_HTTP = True
    admin = UserFactory(
        organisation=other_org, role=Role.ADMIN, partnership_wide=True, email="padmin@example.org"
    )

    seen = browser.run(administer_single_sign_on, admin.email, org.slug, oidc_provider.issuer)

    assert "Enter the name of the sign-in service" in seen["error_summary"]
    assert "Single sign-on saved." in seen["saved"]
    assert f"{live_server.url}/accounts/sso/callback/" in seen["summary"]
    provider = IdentityProvider.objects.get(organisation=org)
    assert provider.jwks_uri == f"{oidc_provider.issuer}/jwks"
