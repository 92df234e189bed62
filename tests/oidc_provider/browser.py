"""Signing someone in to ISG in Chromium through the test provider's real login page.

For browser journeys (tests/e2e/): runs on the browser's thread, so no ORM here.

    from tests.oidc_provider.browser import sign_in_through_provider
    sign_in_through_provider(page, "pat@lcc.example.org", next_path="/decisions/")
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from playwright.sync_api import Page

from tests.e2e.browser import goto, landed, navigate
from tests.oidc_provider.fixtures import PASSWORD


def sign_in_through_provider(
    page: Page, email: str, *, password: str = PASSWORD, next_path: str = ""
) -> None:
    """From ISG's sign-in page (with `next_path`) to the page ISG lands on after it.

    ISG's pages get the usual checks (accessibility, no server error); the provider's own
    login page is not ISG's and gets none."""
    goto(page, "/accounts/login/" + (f"?{urlencode({'next': next_path})}" if next_path else ""))
    isg = page.url.split("/accounts/login/")[0]
    navigate(
        page, page.get_by_role("button", name="Continue with your organisation's account").click
    )
    page.get_by_label("Work email address").fill(email)
    navigate(page, page.get_by_role("button", name="Continue", exact=True).click)
    page.get_by_role("button", name=re.compile(r"^Continue to ")).click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/openid/authorize"))
    page.get_by_label("Username").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in to the provider").click()
    # Through the provider's redirects and ISG's callback, to the page ISG shows.
    page.wait_for_url(re.compile("^" + re.escape(isg) + "/"))
    landed(page)
