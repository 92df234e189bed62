"""What people do in the browser, step by step. Each function takes the Playwright page.

These run on the browser's thread: no ORM here. Tests prepare data before a journey and
check the database after it.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page

from tests.e2e.browser import goto, navigate, screenshot

PASSWORD = "correct horse battery staple"  # tests/factories.py UserFactory
DATE_FIELDS = ("consent_date", "share_date", "review_date")
STEP_URL = re.compile(r"/decisions/[0-9a-f-]{36}/step/(?P<step>[\w-]+)/")


def sign_in(page: Page, email: str) -> None:
    goto(page, "/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    navigate(page, page.get_by_role("button", name="Sign in").click)


def start_decision(page: Page) -> str:
    """From 'My decisions' to the first question; returns the new decision's reference."""
    navigate(page, page.get_by_role("link", name="Start a new decision").click)
    navigate(page, page.get_by_role("button", name="Start now").click)
    return page.locator(".govuk-caption-l .isg-caption-reference").inner_text().strip()


def current_step(page: Page) -> str | None:
    match = STEP_URL.search(page.url)
    return match["step"] if match else None


def fill_answers(page: Page, values: dict) -> None:
    """Answer one question page with tests/factories.py ROUTES values, as a mouse user."""
    for name, value in values.items():
        if value in ("", []) and name not in DATE_FIELDS:
            continue  # left blank, as a person would (an optional or not-applicable answer)
        if name in DATE_FIELDS:
            day, month, year = value.split("-")[::-1] if value else ("", "", "")
            for part, text in enumerate((day, month, year)):
                page.locator(f"input[name='{name}_{part}']").fill(text)
        elif isinstance(value, list):
            for item in value:
                page.locator(f"input[type=checkbox][name='{name}'][value='{item}']").check()
        elif page.locator(f"input[type=radio][name='{name}']").count():
            page.locator(f"input[type=radio][name='{name}'][value='{value}']").check()
        else:
            page.locator(f"[name='{name}']").fill(value)


def save_and_continue(page: Page) -> None:
    """The page's main button: after a change from check your answers it says where it goes."""
    name = re.compile(r"^Save and (continue|go back to check your answers)$")
    navigate(page, page.get_by_role("button", name=name).click)


def answer_route(page: Page, route: list[tuple[str, dict]], *, shots: str = "") -> list[str]:
    """Answer each question of the route, in order, through the outcome page on the way.
    Returns the outcome headings seen. With `shots`, screenshots the pages (name prefix)."""
    outcomes = []
    for step_id, values in route:
        if "/outcome/" in page.url:
            outcomes.append(page.get_by_role("heading", level=1).inner_text())
            if shots:
                screenshot(page, f"{shots}-outcome")
            navigate(page, page.get_by_role("link", name="Continue").click)
        assert current_step(page) == step_id, f"expected question {step_id}, at {page.url}"
        if shots and step_id in ("context", "purpose"):
            screenshot(page, f"{shots}-question-{step_id}")
        fill_answers(page, values)
        save_and_continue(page)
    assert "/check/" in page.url, f"expected check your answers, at {page.url}"
    return outcomes


def submit(page: Page) -> str:
    """Submit from check your answers; returns the confirmation panel's heading."""
    button = page.get_by_role("button", name=re.compile(r"^Submit (decision|for approval)$"))
    navigate(page, button.click)
    assert "/submitted/" in page.url, page.url
    return page.locator(".govuk-panel__title").inner_text()


def download_pdf(page: Page, link_name: str) -> tuple[str, str, bytes]:
    """Click the PDF link; returns (Content-Type, suggested file name, the file's bytes)."""
    link = page.get_by_role("link", name=link_name)
    with page.expect_response(re.compile(r"/pdf/$")) as response, page.expect_download() as dl:
        link.click()
    download = dl.value
    return (
        response.value.headers["content-type"],
        download.suggested_filename,
        Path(download.path()).read_bytes(),
    )


def decide(page: Page, email: str, route: list[tuple[str, dict]], *, shots: str = "") -> dict:
    """A practitioner's whole decision: sign in, answer, check, submit, download the PDF,
    view the record."""
    sign_in(page, email)
    reference = start_decision(page)
    outcomes = answer_route(page, route, shots=shots)
    if shots:
        screenshot(page, f"{shots}-check-answers")
    confirmation = submit(page)
    if shots:
        screenshot(page, f"{shots}-confirmation")
    content_type, filename, pdf = download_pdf(page, "Download the record (PDF)")
    navigate(page, page.get_by_role("link", name="View the record").click)
    record_heading = page.get_by_role("heading", level=1).inner_text()
    if shots:
        screenshot(page, f"{shots}-record")
    return {
        "reference": reference,
        "outcomes": outcomes,
        "confirmation": confirmation,
        "content_type": content_type,
        "filename": filename,
        "pdf": pdf,
        "record_heading": record_heading,
    }


def back_through_the_questions(page: Page, email: str, route: list[tuple[str, dict]]) -> dict:
    """Answer the first questions, then follow the Back link to the start page."""
    sign_in(page, email)
    start_decision(page)
    for _step_id, values in route:
        fill_answers(page, values)
        save_and_continue(page)
    seen = {"after_answers": current_step(page), "back": []}
    while current_step(page):
        navigate(page, page.get_by_role("link", name="Back", exact=True).click)
        step = current_step(page)
        checked = page.locator("input:checked").evaluate_all("els => els.map(e => e.value)")
        texts = page.locator("input[type=text]").evaluate_all("els => els.map(e => e.value)")
        seen["back"].append((step, checked, texts))
    seen["ended_at"] = page.get_by_role("heading", level=1).inner_text()
    return seen


def change_from_check_answers(page: Page, email: str, check_url: str, link: str, value: str):
    """On check your answers, follow one Change link, pick another answer, come back."""
    sign_in(page, email)
    goto(page, check_url)
    navigate(page, page.get_by_role("link", name=link, exact=True).click)
    assert page.url.endswith("?return=check"), page.url
    page.locator(f"input[type=radio][value='{value}']").check()
    save_and_continue(page)
    assert page.url.endswith("/check/"), page.url
    return page.locator(".govuk-summary-list__value").all_inner_texts()


def focused(page: Page) -> dict:
    return page.evaluate(
        "() => ({id: document.activeElement.id, classes: [...document.activeElement.classList]})"
    )


def leave_a_question_unanswered(page: Page, email: str) -> dict:
    """Save the first question with no answer; then follow the error summary's link."""
    sign_in(page, email)
    start_decision(page)
    response = navigate(page, page.get_by_role("button", name="Save and continue").click)
    screenshot(page, "error-summary")
    summary = page.locator(".govuk-error-summary")
    seen = {
        "status": response.status if response else None,
        "title": page.title(),
        "summary": summary.inner_text(),
        "focus_on_load": focused(page),
    }
    link = summary.get_by_role("link").first
    seen["link"] = link.get_attribute("href")
    link.click()
    seen["focus_after_link"] = focused(page)
    # ...and the questions can then be answered.
    page.locator("[name='case_reference']").fill("CASE-9")
    page.locator("[name='initials']").fill("EF")
    page.locator("input[type=radio][value='proactive']").check()
    save_and_continue(page)
    seen["then"] = current_step(page)
    return seen


def wrong_password(page: Page, email: str) -> dict:
    goto(page, "/accounts/login/")
    screenshot(page, "sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill("not the password")
    response = navigate(page, page.get_by_role("button", name="Sign in").click)
    return {
        "status": response.status if response else None,
        "summary": page.locator(".govuk-error-summary").inner_text(),
        "focus_on_load": focused(page),
    }


def footer_and_error_pages(page: Page, email: str, missing_record: str, forbidden: str) -> dict:
    sign_in(page, email)
    seen = {}
    for name in ("Accessibility", "Privacy"):
        navigate(page, page.get_by_role("link", name=name, exact=True).click)
        seen[name] = page.get_by_role("heading", level=1).inner_text()
    for path in (missing_record, forbidden):
        response = goto(page, path)
        seen[path] = (response.status if response else None, page.title())
    return seen


# ---------------------------------------------------------------- without JavaScript ----


def whole_journey_without_javascript(page: Page, email: str, route: list[tuple[str, dict]]):
    """Everything a practitioner does, in a browser with JavaScript disabled."""
    sign_in(page, email)
    reference = start_decision(page)
    seen: dict = {"reference": reference}

    response = navigate(page, page.get_by_role("button", name="Save and continue").click)
    summary = page.locator(".govuk-error-summary")
    link = summary.get_by_role("link").first
    seen["error"] = {
        "status": response.status if response else None,
        "summary": summary.inner_text(),
        "link": link.get_attribute("href"),
    }
    screenshot(page, "no-js-error-summary")
    link.click()  # a plain fragment link: the browser itself moves focus to the field
    seen["error"]["focus_after_link"] = focused(page)["id"]

    first_step, first_values = route[0]
    fill_answers(page, first_values)
    save_and_continue(page)
    navigate(page, page.get_by_role("link", name="Back", exact=True).click)
    seen["back_to"] = current_step(page)
    seen["back_kept"] = page.locator("input:checked").evaluate_all("els => els.map(e => e.value)")
    save_and_continue(page)

    seen["outcomes"] = answer_route(page, route[1:])
    link = "Change has the person been told that their information is being shared?"
    navigate(page, page.get_by_role("link", name=link, exact=True).click)
    page.locator("input[type=radio][value='will_be_told']").check()
    save_and_continue(page)
    seen["changed_back_at"] = page.url
    seen["confirmation"] = submit(page)
    seen["content_type"], seen["filename"], seen["pdf"] = download_pdf(
        page, "Download the record (PDF)"
    )
    return seen


# ---------------------------------------------------------------------- keyboard only ----

# A focus indicator: a visible outline or a box-shadow on the element or, for GOV.UK radios
# and checkboxes (whose <input> is transparent), on its label's ::before (WCAG 2.4.7).
FOCUS = """(selector) => {
  const el = document.activeElement;
  const shows = (s) => s && ((s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0
      && !/transparent|rgba\\(.*,\\s*0\\)/.test(s.outlineColor)) || s.boxShadow !== "none");
  let visible = shows(getComputedStyle(el));
  if (!visible && el.labels && el.labels.length && /radio|checkbox/.test(el.type)) {
    visible = shows(getComputedStyle(el.labels[0], "::before"));
  }
  const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim();
  return {visible, matches: el.matches(selector),
          what: `<${el.tagName.toLowerCase()}${el.id ? " id=" + el.id : ""}`
                + ` class="${el.className}"> ${text.slice(0, 60)}`};
}"""


def tab_to(page: Page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until `selector` has focus; every element passed on the way must show it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS, selector)
        assert focus["visible"], f"no visible focus indicator on {focus['what']} ({page.url})"
        if focus["matches"]:
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def press(page: Page, key: str) -> None:
    navigate(page, lambda: page.keyboard.press(key))


def keyboard_answers(page: Page, values: dict) -> None:
    """Answer a question page with Tab, Space, the arrow keys and Enter (and typing into text
    boxes). Tab reaches a radio group's first option; the arrow keys move to the one wanted."""
    for name, value in values.items():
        if name in DATE_FIELDS:
            for part, text in enumerate(value.split("-")[::-1]):
                tab_to(page, f"input[name='{name}_{part}']")
                page.keyboard.type(text)
        elif isinstance(value, list):
            for item in value:
                tab_to(page, f"input[type=checkbox][name='{name}'][value='{item}']")
                page.keyboard.press("Space")
        elif value and page.locator(f"input[type=radio][name='{name}']").count():
            radios = page.locator(f"input[type=radio][name='{name}']")
            options = radios.evaluate_all("els => els.map(e => [e.value, e.checked])")
            wanted = [v for v, _ in options].index(value)
            # Tab lands on the checked option (a suggested answer), else on the first.
            at = next((i for i, (_, checked) in enumerate(options) if checked), None)
            tab_to(page, f"input[type=radio][name='{name}']")
            if at is None and wanted == 0:
                page.keyboard.press("Space")
            step = wanted - (at or 0)
            for _ in range(abs(step)):
                page.keyboard.press("ArrowDown" if step > 0 else "ArrowUp")
        elif value:
            tab_to(page, f"[name='{name}']")
            page.keyboard.type(value)
    tab_to(page, "button[type=submit].govuk-button")
    press(page, "Enter")


def keyboard_only_decision(page: Page, email: str, route: list[tuple[str, dict]]) -> dict:
    goto(page, "/accounts/login/")
    tab_to(page, "#id_username")
    page.keyboard.type(email)
    tab_to(page, "#id_password")
    page.keyboard.type(PASSWORD)
    tab_to(page, "button[type=submit]")
    press(page, "Enter")
    tab_to(page, "a[href='/decisions/new/'].govuk-button")
    press(page, "Enter")
    tab_to(page, "button.govuk-button--start")
    press(page, "Enter")
    outcomes = []
    for step_id, values in route:
        if "/outcome/" in page.url:
            outcomes.append(page.get_by_role("heading", level=1).inner_text())
            tab_to(page, "a.govuk-button")
            press(page, "Enter")
        assert current_step(page) == step_id, f"expected question {step_id}, at {page.url}"
        keyboard_answers(page, values)
    assert "/check/" in page.url, page.url
    tab_to(page, "button[type=submit].govuk-button")
    press(page, "Enter")
    confirmation = page.locator(".govuk-panel__title").inner_text()
    tab_to(page, "a[href$='/pdf/']")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    pdf = Path(download.value.path()).read_bytes()
    tab_to(page, "a.govuk-link[href^='/decisions/']:not([href$='/pdf/'])")
    press(page, "Enter")
    return {
        "outcomes": outcomes,
        "confirmation": confirmation,
        "pdf": pdf,
        "record_heading": page.get_by_role("heading", level=1).inner_text(),
    }


# ------------------------------------------------------------------ safeguarding lead ----


def open_menu_item(page: Page, name: str) -> None:
    nav = page.get_by_role("navigation", name="Menu")
    # A menu link may carry a count after its name ("Approvals 2 waiting").
    link = nav.get_by_role("link", name=re.compile(rf"^{re.escape(name)}(\s|$)"))
    navigate(page, link.click)


def review(page: Page, reference: str, outcome: str, comments: str = "") -> str:
    """From the approvals queue, approve or return one decision; returns the message shown."""
    navigate(page, page.get_by_role("link", name=reference, exact=True).click)
    page.get_by_label(outcome).check()
    page.get_by_label("Comments").fill(comments)
    navigate(page, page.get_by_role("button", name="Confirm").click)
    return page.locator(".govuk-notification-banner--success").inner_text()


def lead_reviews_and_reads_the_audit_log(
    page: Page, email: str, approve: str, send_back: str
) -> dict:
    sign_in(page, email)
    open_menu_item(page, "Approvals")
    screenshot(page, "lead-approvals")
    seen: dict = {"queue": page.locator("table").first.inner_text()}
    seen["approved"] = review(page, approve, "Approve it: the decision takes effect")

    # Returning without comments is refused, with the error summary; then with comments.
    navigate(page, page.get_by_role("link", name=send_back, exact=True).click)
    page.get_by_label("Return it to the decider for changes").check()
    response = navigate(page, page.get_by_role("button", name="Confirm").click)
    seen["return_error"] = (
        response.status if response else None,
        page.locator(".govuk-error-summary").inner_text(),
        focused(page)["classes"],
    )
    screenshot(page, "lead-review-error")
    page.get_by_label("Comments").fill("Say which lawful reason applies and why now.")
    navigate(page, page.get_by_role("button", name="Confirm").click)
    seen["returned"] = page.locator(".govuk-notification-banner--success").inner_text()

    # Who has looked at the approved record.
    recent = page.locator("table", has=page.locator("caption", has_text="latest approvals"))
    navigate(page, recent.get_by_role("link", name=approve).click)
    navigate(page, page.get_by_role("link", name="Who has accessed this record").click)
    seen["access"] = page.locator("table").inner_text()

    open_menu_item(page, "Audit log")
    page.get_by_label("Action").select_option(label="Decision approved")
    navigate(page, page.get_by_role("button", name="Apply filters").click)
    screenshot(page, "lead-audit-log")
    seen["filtered"] = page.locator("table tbody tr").all_inner_texts()
    with page.expect_download() as dl:
        page.get_by_role("link", name="Download these events (CSV)").click()
    seen["csv"] = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    page.get_by_label("Record reference").fill(send_back)
    navigate(page, page.get_by_role("button", name="Apply filters").click)
    seen["no_match"] = page.locator("main").inner_text()
    navigate(page, page.get_by_role("button", name="Check the audit log now").click)
    seen["verified"] = page.locator(".govuk-notification-banner--success").inner_text()
    return seen


# ------------------------------------------------------------------------ manager ----


def manager_filters_a_report_and_downloads_the_csv(page: Page, email: str, outcome: str):
    sign_in(page, email)
    open_menu_item(page, "Reports")
    seen: dict = {"total_before": page.locator("#total-decisions").inner_text()}

    # A start date after the end date is refused with the error summary.
    start = page.get_by_role("group", name="Start date")
    end_year = page.get_by_role("group", name="End date").get_by_label("Year").input_value()
    start.get_by_label("Year").fill("2099")
    response = navigate(page, page.get_by_role("button", name="Show report").click)
    seen["date_error"] = (
        response.status if response else None,
        page.locator(".govuk-error-summary").inner_text(),
        focused(page)["classes"],
    )
    start = page.get_by_role("group", name="Start date")  # the page has been reloaded
    for part, value in (("Day", "1"), ("Month", "1"), ("Year", end_year)):
        start.get_by_label(part).fill(value)

    page.get_by_label("Outcome").select_option(label=outcome)
    navigate(page, page.get_by_role("button", name="Show report").click)
    screenshot(page, "manager-report")
    screenshot(page, "manager-report-top", height=1500)
    seen["total_after"] = page.locator("#total-decisions").inner_text()

    button = page.get_by_role("button", name="Download decisions (CSV)")
    export = re.compile(r"/reports/export/$")
    with page.expect_response(export) as response, page.expect_download() as dl:
        button.click()
    seen["content_type"] = response.value.headers["content-type"]
    seen["filename"] = dl.value.suggested_filename
    seen["csv"] = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    goto(page, "/reports/exports/")
    seen["exports_heading"] = page.get_by_role("heading", level=1).inner_text()
    return seen


def manager_sees_the_report_charts(page: Page, email: str) -> list[dict]:
    """The reports page's charts, as the browser loaded them (each an image at its own
    address): their addresses, alt text, and drawn sizes."""
    sign_in(page, email)
    goto(page, "/reports/")
    images = page.locator("img.isg-chart")
    images.last.scroll_into_view_if_needed()
    page.wait_for_load_state("load")  # every image loaded (or failed)
    screenshot(page, "manager-report-charts")
    return images.evaluate_all(
        """imgs => imgs.map(img => ({src: img.getAttribute('src'), alt: img.alt,
            complete: img.complete, width: img.naturalWidth, height: img.naturalHeight}))"""
    )


# ----------------------------------------------------- after submitting: back to the decider ----


def open_my_record(page: Page, email: str, reference: str) -> None:
    sign_in(page, email)
    navigate(page, page.get_by_role("link", name=reference, exact=True).click)


def resubmit_a_returned_decision(page: Page, email: str, reference: str) -> dict:
    sign_in(page, email)
    drafts = page.locator("table", has=page.locator("caption", has_text="carry on with"))
    seen = {"drafts": drafts.inner_text()}
    navigate(page, drafts.get_by_role("link", name=f"Continue {reference}").click)
    seen["at"] = page.get_by_role("heading", level=1).inner_text()
    seen["confirmation"] = submit(page)
    return seen


def amend_a_record(page: Page, email: str, reference: str, reason: str) -> dict:
    open_my_record(page, email, reference)
    navigate(page, page.get_by_role("link", name="Correct this record (amend)").click)
    response = navigate(page, page.get_by_role("button", name="Start the amendment").click)
    seen: dict = {"error": (response.status if response else None, focused(page)["classes"])}
    page.get_by_label("Why does this decision need to be corrected?").fill(reason)
    navigate(page, page.get_by_role("button", name="Start the amendment").click)
    link = "Change has the person been told that their information is being shared?"
    navigate(page, page.get_by_role("link", name=link, exact=True).click)
    page.locator("input[type=radio][value='will_be_told']").check()
    save_and_continue(page)
    seen["inset"] = page.locator(".govuk-inset-text").first.inner_text()
    seen["confirmation"] = submit(page)
    navigate(page, page.get_by_role("link", name="View the record").click)
    seen["versions"] = page.get_by_role("heading", name="Versions of this record").count()
    return seen


def reconsider_a_decision(page: Page, email: str, reference: str) -> dict:
    open_my_record(page, email, reference)
    navigate(page, page.get_by_role("link", name="Reconsider with new information").click)
    navigate(page, page.get_by_role("button", name="Start reconsidering").click)
    seen = {"message": page.locator(".govuk-notification-banner").last.inner_text()}
    link = "Change has the person been told that their information is being shared?"
    navigate(page, page.get_by_role("link", name=link, exact=True).click)
    page.locator("input[type=radio][value='not_told_other']").check()
    save_and_continue(page)
    # Not told: the same page now needs the reason, and says so.
    assert "Say why they have not been told" in page.locator(".govuk-error-summary").inner_text()
    page.locator("[name='not_informed_reason']").fill(
        "They have moved away and cannot be contacted yet."
    )
    save_and_continue(page)
    while current_step(page):  # any later answers already given are kept: save them again
        save_and_continue(page)
    seen["confirmation"] = submit(page)
    return seen
