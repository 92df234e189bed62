"""Fixtures for the browser tests: the live server, one Chromium, and the data a journey needs.

Data is made with the ORM in fixtures and tests, on the test's own thread; the browser runs
on its own thread (tests/e2e/browser.py), so the two never meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

from decisions.guidance.store import pack_load_files
from tests.e2e.browser import Chromium, clear_screenshots, write_report


def load_guidance() -> None:
    pack_load_files(sorted(settings.GUIDANCE_DIR.glob("*.json")))


@pytest.fixture(scope="session")
def chromium(live_server):
    clear_screenshots()
    browser = Chromium(live_server.url)
    yield browser
    try:
        write_report(browser.rules())
    finally:
        browser.close()


@dataclass
class Browser:
    chromium: Chromium
    test_name: str

    def run(self, journey, *args: Any, javascript: bool = True, **kwargs: Any):
        """Run journey(page, *args, **kwargs) in a fresh browser context; returns its result."""
        return self.chromium.run(
            journey, *args, javascript=javascript, name=self.test_name, **kwargs
        )


@pytest.fixture
def browser(chromium, guidance, request) -> Browser:
    return Browser(chromium, request.node.name)


@pytest.fixture
def guidance(live_server) -> None:
    """live_server makes every test transactional: the database is emptied after each one,
    so the packs the session loaded (tests/conftest.py) are loaded again for each test."""
    load_guidance()


@pytest.fixture(scope="package", autouse=True)
def _guidance_for_the_tests_after_these(django_db_blocker):
    """Leave the database as tests/conftest.py's django_db_setup made it: with the packs."""
    yield
    with django_db_blocker.unblock():
        load_guidance()
