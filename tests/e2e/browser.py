"""Debian's Chromium for the browser tests, and the checks every page a journey visits gets.

The browser runs on a thread of its own. Playwright's sync API keeps an asyncio loop running
on the thread that drives it, and Django refuses ORM calls on such a thread
(SynchronousOnlyOperation), including pytest-django's flush after each live-server test. With
the browser on its own thread, tests and fixtures use the ORM freely before and after a
journey, and one browser serves the whole session.

Every page a journey lands on goes through `landed()`: it must not be a server error, and
axe-core's WCAG 2.0/2.1/2.2 A and AA rules must find nothing. Every journey also fails on
a JavaScript error, a Content-Security-Policy violation or a failed static asset.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

T = TypeVar("T")

CHROMIUM = os.environ.get("ISG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1024, "height": 768}
TIMEOUT_MS = 15_000

OUTPUT = Path(settings.BASE_DIR) / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
FAILURES = OUTPUT / "e2e-failures"

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
AXE_VERSION = re.search(r"axe v([\d.]+)", AXE_SOURCE[:200]).group(1)  # type: ignore[union-attr]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AXE_RUN = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html,
                                summary: n.failureSummary})),
  }));
}"""

# Pages with form errors answer 400 by design, and the 403/404 pages are visited on purpose;
# a failed static asset is caught from its response instead (Problems.on_response).
EXPECTED_CONSOLE = re.compile(r"^Failed to load resource: the server responded with a status of 4")

# Every distinct page checked this session: its structure -> what axe found (see check_accessible).
CHECKED: dict[str, dict[str, Any]] = {}
_javascript: dict[int, bool] = {}  # id(context) -> JavaScript enabled
_probe: list[Page] = []  # the page that shows no-JavaScript HTML to axe (made when needed)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A page's structure: every element's tag, id, classes and role, without text or values.
STRUCTURE = """() => [...document.querySelectorAll("*")].map((el) =>
    `${el.tagName}#${el.id}.${el.getAttribute("class") || ""}[${el.getAttribute("role") || ""}]`
  ).join("|")"""


def page_name(page: Page) -> str:
    """A page's URL path (no query) and title, with ids and references taken out."""
    path = UUID.sub("<id>", re.sub(r"^https?://[^/]+|[?#].*$", "", page.url))
    title = re.sub(r"ISG-\d{4}-\d+", "<reference>", page.title())
    return f"{path} | {title}"


def format_violations(where: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"axe-core {AXE_VERSION}: {len(violations)} WCAG A/AA violation(s) on {where}"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    at {node['target']}: {node['html'][:200]}")
            lines.append("      " + (node["summary"] or "").replace("\n", "\n      "))
    return "\n".join(lines)


def _with_axe(page: Page) -> Page:
    # page.evaluate goes through the DevTools protocol, which the page's CSP
    # (script-src 'self') does not govern; add_script_tag(content=...) would be an inline
    # <script> and is refused. A context with bypass_csp would hide the app's own CSP faults.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return page


def axe_violations(page: Page) -> list[dict[str, Any]]:
    return _with_axe(page).evaluate(AXE_RUN, WCAG_TAGS)


def axe_rules(page: Page) -> list[str]:
    """The ids of the rules WCAG_TAGS selects in the vendored axe-core."""
    script = "(tags) => axe.getRules(tags).map((r) => r.ruleId).sort()"
    return _with_axe(page).evaluate(script, WCAG_TAGS)


def _violations_without_javascript(page: Page) -> list[dict[str, Any]]:
    """axe needs timers, which never fire in a page with JavaScript disabled. So the page's
    HTML, as served, is shown at its own URL in a JavaScript-enabled page of the same browser
    with its <script> elements removed: the DOM and CSS a user without JavaScript gets."""
    html = re.sub(r"<script\b[^>]*>.*?</script>", "", page.content(), flags=re.S | re.I)
    url = page.url.split("#")[0]
    if not _probe:
        _probe.append(page.context.browser.new_page(viewport=VIEWPORT))  # type: ignore[union-attr]
    probe = _probe[0]
    probe.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    try:
        probe.goto(url)
    finally:
        probe.unroute(url)
    assert not probe.evaluate("document.body.classList.contains('govuk-frontend-supported')")
    return axe_violations(probe)


def check_accessible(page: Page) -> None:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA rules: any violation fails, naming the rule and
    the elements. A page whose structure was checked before in this session (the same
    question reached on another route, say) reuses that result: same elements, same verdict."""
    javascript = _javascript.get(id(page.context), True)
    name = page_name(page)
    mode = "JavaScript" if javascript else "no JavaScript"
    structure = UUID.sub("<id>", page.evaluate(STRUCTURE))
    key = hashlib.sha256(f"{mode}|{name}|{structure}".encode()).hexdigest()
    if key not in CHECKED:
        violations = axe_violations(page) if javascript else _violations_without_javascript(page)
        CHECKED[key] = {"page": name, "mode": mode, "violations": violations}
    violations = CHECKED[key]["violations"]
    if violations:
        raise AssertionError(format_violations(f"{page.url} ({page.title()}, {mode})", violations))


def check_accessible_at_width(page: Page) -> None:
    """check_accessible, once per viewport width: media queries change what axe-core sees (the
    stacked tables and the collapsed menu on a phone), so a page checked at 1280 px is checked
    again at 375 px. Recorded in the report with its width."""
    width = (page.viewport_size or VIEWPORT)["width"]
    name = page_name(page)
    mode = f"JavaScript, {width} px wide"
    structure = UUID.sub("<id>", page.evaluate(STRUCTURE))
    key = hashlib.sha256(f"{mode}|{name}|{structure}".encode()).hexdigest()
    if key not in CHECKED:
        CHECKED[key] = {"page": name, "mode": mode, "violations": axe_violations(page)}
    violations = CHECKED[key]["violations"]
    if violations:
        raise AssertionError(format_violations(f"{page.url} ({page.title()}, {mode})", violations))


def landed(page: Page, response: Response | None = None) -> None:
    """Checks for every page a journey arrives at."""
    if response is not None:
        assert response.status < 500, f"{page.url} answered {response.status}"
    check_accessible(page)


def goto(page: Page, path: str) -> Response | None:
    response = page.goto(path)
    landed(page, response)
    return response


def navigate(page: Page, action: Callable[[], Any]) -> Response | None:
    """Do something that loads a new page (click, press Enter), wait for it, check it."""
    with page.expect_navigation() as navigation:
        action()
    response = navigation.value
    landed(page, response)
    return response


def screenshot(page: Page, name: str, *, height: int | None = None) -> None:
    """test-output/screenshots/<name>.png: the whole page, or only its top `height` pixels."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height} if height else None
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True, clip=clip)


def screenshot_screen(page: Page, name: str, *, height: int | None = None) -> None:
    """test-output/screenshots/<name>.png at the page's own width (a phone's, say): the first
    screen, or the top `height` pixels of the whole page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = (page.viewport_size or VIEWPORT)["width"]
    clip = {"x": 0, "y": 0, "width": width, "height": height} if height else None
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=bool(height), clip=clip)


class Problems:
    """What a journey must never meet: JS errors, CSP violations, failed static assets."""

    def __init__(self, context: BrowserContext) -> None:
        self.found: list[str] = []
        context.on("console", self.on_console)
        context.on("weberror", lambda error: self.found.append(f"JavaScript error: {error.error}"))
        context.on("response", self.on_response)
        context.on("requestfailed", self.on_request_failed)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not EXPECTED_CONSOLE.match(message.text):
            self.found.append(
                f"console error on {message.page and message.page.url}: {message.text}"
            )

    def on_response(self, response: Response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            self.found.append(f"{response.status} for {response.url}")

    def on_request_failed(self, request: Request) -> None:
        # A link or form that answers with a download (the PDF, the CSV) aborts its
        # navigation: that is how Chromium hands the response to the download manager.
        if request.resource_type == "document" and request.failure == "net::ERR_ABORTED":
            return
        self.found.append(f"request failed: {request.url} ({request.failure})")


class Chromium:
    """One headless Chromium, driven from its own thread."""

    def __init__(self, base_url: str) -> None:
        if not os.access(CHROMIUM, os.X_OK):
            raise RuntimeError(
                f"The browser tests need Debian's Chromium at {CHROMIUM}: "
                "`make chromium` (apt-get install -y chromium), or set ISG_CHROMIUM."
            )
        self.base_url = base_url
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._thread.submit(self._launch).result()

    def _launch(self) -> None:
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )

    def run(
        self,
        journey: Callable[..., T],
        *args: Any,
        javascript: bool = True,
        name: str,
        **kwargs: Any,
    ) -> T:
        """journey(page, *args, **kwargs) in a fresh browser context (no cookies), on the
        browser's thread; what it returns, or what it raises, comes back to the test."""
        return self._thread.submit(self._run, journey, args, kwargs, javascript, name).result()

    def _run(
        self,
        journey: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        javascript: bool,
        name: str,
    ) -> T:
        context = self._browser.new_context(
            base_url=self.base_url,
            java_script_enabled=javascript,
            viewport=VIEWPORT,
            accept_downloads=True,
            locale="en-GB",
        )
        context.set_default_timeout(TIMEOUT_MS)
        _javascript[id(context)] = javascript
        problems = Problems(context)
        page = context.new_page()
        try:
            result = journey(page, *args, **kwargs)
            assert not problems.found, "The browser reported:\n" + "\n".join(problems.found)
            return result
        except BaseException as error:
            if problems.found:
                error.add_note("The browser also reported:\n" + "\n".join(problems.found))
            FAILURES.mkdir(parents=True, exist_ok=True)
            safe_name = re.sub(r"[^\w.-]", "_", name)
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=FAILURES / f"{safe_name}.png")
            raise
        finally:
            _javascript.pop(id(context), None)
            context.close()

    def rules(self) -> list[str]:
        return self.run(axe_rules, name="axe-rules")

    def close(self) -> None:
        def stop() -> None:
            _probe.clear()
            self._browser.close()
            self._playwright.stop()

        self._thread.submit(stop).result()
        self._thread.shutdown()


def write_report(rules: list[str]) -> Path:
    """test-output/e2e-accessibility.json: the axe version, tags, rules and pages checked."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    report = OUTPUT / "e2e-accessibility.json"
    report.write_text(
        json.dumps(
            {
                "axe_core": AXE_VERSION,
                "tags": WCAG_TAGS,
                "rules": rules,
                "pages": sorted(
                    {(c["page"], c["mode"], len(c["violations"])) for c in CHECKED.values()}
                ),
            },
            indent=2,
        )
    )
    return report


def clear_screenshots() -> None:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    shutil.rmtree(FAILURES, ignore_errors=True)
