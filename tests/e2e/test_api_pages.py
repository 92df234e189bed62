"""In Chromium (axe-core on every page, no CSP or console errors): an administrator creates
an API token and a webhook, with the error summary on the way; a practitioner follows a case
system's link, signs in and lands on the first question filled in. With and without
JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from decisions.models import ApiToken, Webhook
from tests.api_helpers import api_client, token_secret
from tests.e2e import journeys
from tests.e2e.browser import goto, navigate

pytestmark = pytest.mark.e2e


def administrator_sets_up_a_case_system(page: Page, email: str, slug: str) -> dict:
    journeys.sign_in(page, email)
    goto(page, f"/administration/organisations/{slug}/")
    navigate(page, page.get_by_role("link", name="Case systems: API tokens and webhooks").click)
    navigate(page, page.get_by_role("button", name="Create a token").click)
    navigate(page, page.get_by_role("button", name="Create token").click)  # nothing filled in
    summary = page.locator(".govuk-error-summary").inner_text()
    page.get_by_label("Name").fill("Mosaic (live)")
    page.get_by_label("Start decisions for practitioners").check()
    navigate(page, page.get_by_role("button", name="Create token").click)
    token = page.get_by_label("API token").input_value()
    navigate(page, page.get_by_role("link", name="Back to tokens and webhooks").click)
    listed = page.locator("main").inner_text()
    navigate(page, page.get_by_role("button", name="Add a webhook").click)
    page.get_by_label("URL").fill("https://cases.example.org/isg")
    navigate(page, page.get_by_role("button", name="Add webhook").click)
    secret = page.get_by_label("Signing secret").input_value()
    return {"summary": summary, "token": token, "listed": listed, "secret": secret}


@pytest.mark.parametrize("javascript", [True, False])
def test_an_administrator_creates_a_token_and_a_webhook(browser, org, admin_user, javascript):
    seen = browser.run(
        administrator_sets_up_a_case_system, admin_user.email, org.slug, javascript=javascript
    )
    assert "Enter a name for the token" in seen["summary"]
    token = ApiToken.objects.get()
    assert seen["token"].startswith(token.prefix) and token.name == "Mosaic (live)"
    assert token.prefix in seen["listed"] and seen["token"] not in seen["listed"]
    assert seen["secret"] == Webhook.objects.get().secret


def practitioner_follows_the_link(page: Page, link: str, email: str) -> dict:
    goto(page, link)  # to the sign-in page first
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(journeys.PASSWORD)
    navigate(page, page.get_by_role("button", name="Sign in").click)
    return {
        "url": page.url,
        "case_reference": page.get_by_label("Case reference from your own system").input_value(),
        "initials": page.get_by_label("Initials of the person").input_value(),
    }


def test_a_practitioner_follows_a_case_systems_link(browser, org, practitioner, live_server):
    response = api_client(token_secret(org)).post(
        "/api/v1/decisions/",
        {"practitioner_email": practitioner.email, "case_reference": "MOS-4411", "initials": "JS"},
        "application/json",
    )
    link = response.json()["continue_url"].removeprefix("http://testserver")
    seen = browser.run(practitioner_follows_the_link, link, practitioner.email)
    assert seen["url"].endswith("/step/context/")
    assert (seen["case_reference"], seen["initials"]) == ("MOS-4411", "JS")
