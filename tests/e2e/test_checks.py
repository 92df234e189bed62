"""The checks every journey relies on do fail when they should."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.browser import axe_violations, format_violations, goto

pytestmark = pytest.mark.e2e


def login_page_without_its_email_label(page: Page) -> str:
    goto(page, "/accounts/login/")
    page.evaluate("document.querySelector('label[for=id_username]').remove()")
    # What check_accessible runs and reports, without recording this broken page as checked.
    return format_violations(page.url, axe_violations(page))


def test_a_broken_label_fails_the_accessibility_check_naming_rule_and_element(browser):
    message = browser.run(login_page_without_its_email_label)

    assert "1 WCAG A/AA violation(s) on http://" in message
    assert "- label (critical): Form elements must have labels" in message
    assert "at #id_username:" in message


def inline_script_and_a_missing_stylesheet(page: Page) -> bool:
    goto(page, "/accounts/login/")
    # What an attacker's injected markup would do. (Playwright's add_script_tag(content=...)
    # is refused outright, which is why browser.py loads axe-core with page.evaluate.)
    page.evaluate(
        """() => document.head.append(Object.assign(document.createElement("script"),
                 {textContent: "window.inlineScriptRan = true;"}))"""
    )
    page.evaluate(
        """() => new Promise((resolve) => {
             const link = Object.assign(document.createElement("link"),
                 {rel: "stylesheet", href: "/static/css/no-such-file.css"});
             link.onerror = resolve;
             document.head.append(link);
           })"""
    )
    return page.evaluate("window.inlineScriptRan === true")


def test_csp_violations_and_failed_static_files_fail_the_journey(browser):
    with pytest.raises(AssertionError) as failure:
        browser.run(inline_script_and_a_missing_stylesheet)

    message = str(failure.value)
    assert "violates the following Content Security Policy directive" in message
    assert "404 for http://" in message and "/static/css/no-such-file.css" in message
