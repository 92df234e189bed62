"""Every page, for every role, on a phone (375 px) and on a desktop (1280 px).

Each page gets the accessibility check (axe-core, at each width: the stacked tables and the
collapsed menu are only there on a phone) and three layout checks: nothing scrolls sideways,
the OFFICIAL-SENSITIVE marking is never cut short, and on a phone the header, the menu and
the immediate-risk reminder take at most a third of the first screen. What was measured is
written to test-output/e2e-layout.json; the README's screenshots are taken here too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page

from decisions import services, signoff
from decisions.models import Export, ExportStatus
from decisions.reports import exports
from tests.e2e.browser import (
    OUTPUT,
    SCREENSHOTS,
    check_accessible_at_width,
    page_name,
    screenshot,
    screenshot_screen,
)
from tests.e2e.journeys import sign_in
from tests.factories import answered_decision
from tests.reports_data import PERIOD

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}
CHECK_ANSWERS_MAX_HEIGHT = 3000
LAYOUT_REPORT = OUTPUT / "e2e-layout.json"
FOLLOW = "follow "  # a page reached by the first link matching this selector on the page before

# What the layout checks read from a page. "chrome" is how far down the first screen the
# header, the menu and the safety banner reach; "wide" names what sticks out sideways.
LAYOUT = """() => {
  const doc = document.documentElement;
  const below = (selector) => [...document.querySelectorAll(selector)]
    .map((el) => el.getBoundingClientRect().bottom + window.scrollY);
  const describe = (el) => `<${el.tagName.toLowerCase()} class="${el.getAttribute("class") || ""}">`
    + ` ${(el.innerText || "").trim().slice(0, 40)}`;
  const wide = [...document.body.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    .filter((el) => !el.closest(".govuk-visually-hidden, .govuk-skip-link, dialog:not([open])"))
    .slice(0, 5).map(describe);
  const markings = [...document.querySelectorAll(".isg-tag--marking")].map((el) => {
    const box = el.getBoundingClientRect();
    return {text: el.innerText.trim(), scrollWidth: el.scrollWidth, clientWidth: el.clientWidth,
            left: box.left, right: box.right};
  });
  return {
    scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, innerHeight: window.innerHeight,
    height: document.body.scrollHeight,
    chrome: Math.round(Math.max(0, ...below(
      "header.govuk-header, .govuk-service-navigation, .isg-safety-strip"))),
    banner: document.querySelectorAll(".isg-safety-strip").length,
    wide, markings,
  };
}"""


def measure(page: Page) -> dict:
    return page.evaluate(LAYOUT)


def layout_problems(where: str, m: dict) -> list[str]:
    problems = []
    if m["scrollWidth"] > m["innerWidth"]:
        problems.append(
            f"{where}: scrolls sideways ({m['scrollWidth']} px wide in {m['innerWidth']} px): "
            + "; ".join(m["wide"])
        )
    for tag in m["markings"]:
        if tag["text"] != "OFFICIAL-SENSITIVE":
            problems.append(f"{where}: the marking reads {tag['text']!r}")
        if tag["scrollWidth"] > tag["clientWidth"] or tag["left"] < 0:
            problems.append(f"{where}: the marking is clipped ({tag})")
        if tag["right"] > m["innerWidth"]:
            problems.append(f"{where}: the marking runs off the screen ({tag})")
    if m["innerWidth"] <= PHONE["width"] and m["chrome"] > m["innerHeight"] / 3:
        problems.append(
            f"{where}: the header, menu and banner reach {m['chrome']} px down a "
            f"{m['innerHeight']} px screen (more than a third)"
        )
    return problems


def visit_every_page(
    page: Page, email: str | None, pages: list[tuple[str, int, bool]], shots: dict
) -> dict:
    """Sign in (unless email is None), then every page at 375 px and at 1280 px: each page's
    status, axe-core, and the layout checks. Returns what was measured and every problem."""
    if email:
        sign_in(page, email)
    rows, problems = [], []
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        for path, status, banner in pages:
            if path.startswith(FOLLOW):  # a link on the page before, e.g. a report's figure
                link = page.locator(path.removeprefix(FOLLOW)).first
                if not link.count():
                    problems.append(f"no {path.removeprefix(FOLLOW)} on {page.url}")
                    continue
                path = link.get_attribute("href") or ""
            response = page.goto(path)
            where = f"{path} at {size['width']} px"
            got = response.status if response else None
            if got != status:
                problems.append(f"{where}: answered {got}, expected {status} ({page.url})")
            try:
                check_accessible_at_width(page)
            except AssertionError as failure:
                problems.append(str(failure))
            m = measure(page)
            problems += layout_problems(where, m)
            if bool(m["banner"]) != banner:
                problems.append(f"{where}: the safety banner is {'missing' if banner else 'shown'}")
            rows.append(
                {
                    "path": path,
                    "page": page_name(page),
                    "width": size["width"],
                    "status": got,
                    "height": m["height"],
                    "chrome": m["chrome"],
                    "banner": bool(m["banner"]),
                    "markings": len(m["markings"]),
                }
            )
            shot = shots.get((path, size["width"]))
            if shot:  # (name, at most this many pixels from the top)
                screenshot_screen(page, shot[0], height=min(m["height"], shot[1]))
    return {"rows": rows, "problems": problems}


def record_pdf(page: Page, email: str, path: str) -> bytes:
    sign_in(page, email)
    response = page.request.get(path)
    assert response.ok, f"{path} answered {response.status}"
    return response.body()


def check_answers_height(page: Page, email: str, path: str) -> dict:
    sign_in(page, email)
    page.set_viewport_size(DESKTOP)
    response = page.goto(path)
    assert response is not None and response.status == 200, page.url
    check_accessible_at_width(page)
    screenshot(page, "check-answers-1280")
    return measure(page)


def save_layout(role: str, rows: list[dict]) -> None:
    """test-output/e2e-layout.json: per role, every page visited, its width and heights."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    report = json.loads(LAYOUT_REPORT.read_text()) if LAYOUT_REPORT.exists() else {}
    report[role] = rows
    LAYOUT_REPORT.write_text(json.dumps(report, indent=2))


@pytest.fixture
def site(org, practitioner, lead, manager, admin_user) -> dict[str, str]:
    """One of everything a page shows, made through the services; their URLs by name."""
    admin_user.partnership_wide = True  # sees the list of organisations too
    admin_user.save(update_fields=["partnership_wide"])
    draft = services.decision_start(user=practitioner)
    services.decision_answer(
        decision=draft,
        user=practitioner,
        step_id="context",
        values={"case_reference": "CASE-9", "initials": "CD", "direction": "proactive"},
    )
    consenting = answered_decision(practitioner, "share_with_consent")
    recorded = answered_decision(practitioner, "can_share", submit=True)
    waiting = answered_decision(practitioner, "share_without_consent", submit=True)
    approved = answered_decision(practitioner, "share_without_consent", submit=True)
    signoff.decision_approve(decision=approved, user=lead, comments="Agreed: share today.")
    export = exports.export_queue(
        user=manager, filters=replace(PERIOD, organisation=org), kind="csv", count=3
    )
    # A finished export (the page people download from); no worker runs here.
    Export.objects.filter(pk=export.pk).update(
        status=ExportStatus.READY,
        file_name=f"{export.public_id}.csv",
        size=2048,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    person = practitioner.pk
    return {
        "draft step": reverse("step", args=[draft.public_id, "context"]),
        "discard": reverse("discard", args=[draft.public_id]),
        "outcome": reverse("outcome", args=[consenting.public_id]),
        "check answers": reverse("check_answers", args=[consenting.public_id]),
        "confirmation": reverse("confirmation", args=[recorded.public_id]),
        "record": reverse("record", args=[recorded.public_id]),
        "amend": reverse("amend", args=[recorded.public_id]),
        "reconsider": reverse("reconsider", args=[recorded.public_id]),
        "waiting record": reverse("record", args=[waiting.public_id]),
        "review": reverse("review_approval", args=[waiting.public_id]),
        "record access": reverse("review_record_access", args=[approved.public_id]),
        "export": reverse("report_export", args=[export.public_id]),
        "organisation": reverse("admin_organisation", args=[org.slug]),
        "rename": reverse("admin_organisation_rename", args=[org.slug]),
        "deactivate organisation": reverse("admin_organisation_deactivate", args=[org.slug]),
        "invite": reverse("admin_user_invite", args=[org.slug]),
        "person": reverse("admin_user", args=[person]),
        "role": reverse("admin_user_role", args=[person]),
        "move": reverse("admin_user_organisation", args=[person]),
        "deactivate person": reverse("admin_user_deactivate", args=[person]),
        "reset security code": reverse("admin_user_mfa_reset", args=[person]),
    }


# (path, expected status, safety banner shown). The banner is on the deciding pages only.
EVERYONE = [
    ("/accounts/password/change/", 200, False),
    ("/accounts/password/change/done/", 200, False),
    ("/accessibility/", 200, False),
    ("/privacy/", 200, False),
    ("/no-such-page/", 404, False),
]


def pages_for(role: str, site: dict[str, str]) -> list[tuple[str, int, bool]]:
    if role == "anonymous":
        return [
            ("/accounts/login/", 200, False),
            ("/accounts/password/reset/", 200, False),
            ("/accounts/password/reset/sent/", 200, False),
            ("/accounts/password/reset/done/", 200, False),
            ("/accessibility/", 200, False),
            ("/privacy/", 200, False),
            ("/no-such-page/", 404, False),
        ]
    if role == "practitioner":
        return [
            ("/", 200, True),  # My decisions
            ("/decisions/", 200, True),
            ("/decisions/new/", 200, True),
            (site["draft step"], 200, True),
            (site["outcome"], 200, True),
            (site["check answers"], 200, True),
            (site["confirmation"], 200, True),
            (site["record"], 200, False),
            (site["amend"], 200, False),
            (site["reconsider"], 200, False),
            (site["discard"], 200, False),
            ("/verify/", 200, False),
            ("/accounts/security-code/set-up/", 200, False),
            *EVERYONE,
        ]
    if role == "lead":
        return [
            ("/", 200, False),  # the approvals queue: something is waiting
            ("/decisions/", 200, True),
            ("/review/approvals/", 200, False),
            (site["review"], 200, False),
            (site["waiting record"], 200, False),
            ("/review/audit/", 200, False),
            (site["record access"], 200, False),
            ("/verify/", 200, False),
            *EVERYONE,
        ]
    if role == "manager":
        return [
            ("/", 200, False),  # reports
            ("/reports/", 200, False),
            (f"{FOLLOW}a[href^='/reports/decisions/']", 200, False),
            ("/reports/exports/", 200, False),
            (site["export"], 200, False),
            (site["record"], 200, False),
            *EVERYONE,
        ]
    assert role == "admin"
    return [
        ("/", 200, False),
        ("/administration/", 200, False),
        (site["organisation"], 200, False),
        ("/administration/organisations/new/", 200, False),
        (site["rename"], 200, False),
        (site["deactivate organisation"], 200, False),
        (site["invite"], 200, False),
        (site["person"], 200, False),
        (site["role"], 200, False),
        (site["move"], 200, False),
        (site["deactivate person"], 200, False),
        (site["reset security code"], 200, False),
        ("/accounts/confirm-password/", 200, False),
        ("/review/approvals/", 200, False),
        (site["review"], 200, False),
        ("/review/audit/", 200, False),
        (site["record access"], 200, False),
        ("/reports/", 200, False),
        ("/reports/exports/", 200, False),
        *EVERYONE,
    ]


def screenshots_for(role: str, site: dict[str, str]) -> dict[tuple[str, int], tuple[str, int]]:
    """The README's screenshots: (path, width) -> (name, the top so many pixels)."""
    return {
        "practitioner": {(site["draft step"], PHONE["width"]): ("question-375", PHONE["height"])},
        "lead": {
            ("/review/approvals/", DESKTOP["width"]): ("lead-queue", 3000),
            (site["review"], DESKTOP["width"]): ("review", 2900),
        },
    }.get(role, {})


@pytest.mark.parametrize("role", ["anonymous", "practitioner", "lead", "manager", "admin"])
def test_every_page_fits_a_phone_and_a_desktop_and_passes_axe(
    browser, site, role, practitioner, lead, manager, admin_user
):
    email = {
        "anonymous": None,
        "practitioner": practitioner.email,
        "lead": lead.email,
        "manager": manager.email,
        "admin": admin_user.email,
    }[role]
    pages = pages_for(role, site)

    seen = browser.run(visit_every_page, email, pages, screenshots_for(role, site))

    save_layout(role, seen["rows"])
    for row in seen["rows"]:
        print(
            f"{role:12} {row['width']:>5} px  {row['status']}  header+banner {row['chrome']:>4} px"
            f"  page {row['height']:>5} px  {row['page']}"
        )
    assert not seen["problems"], "\n".join(seen["problems"])
    assert len(seen["rows"]) == 2 * len(pages)


def test_check_your_answers_for_a_share_with_consent_decision_is_under_3000_px_at_1280(
    browser, practitioner
):
    decision = answered_decision(practitioner, "share_with_consent")

    m = browser.run(
        check_answers_height,
        practitioner.email,
        reverse("check_answers", args=[decision.public_id]),
    )

    print(f"Check your answers (share with consent) at 1280 px: {m['height']} px tall")
    save_layout("check answers, share with consent, 1280 px", [{"height": m["height"]}])
    assert m["height"] < CHECK_ANSWERS_MAX_HEIGHT, f"{m['height']} px tall"


def test_page_one_of_a_record_pdf_as_a_picture(browser, practitioner):
    """For the README: pdftoppm (poppler-utils) draws page 1; without it, no picture."""
    decision = answered_decision(practitioner, "share_with_consent", submit=True)

    pdf = browser.run(
        record_pdf, practitioner.email, reverse("record_pdf", args=[decision.public_id])
    )

    assert pdf.startswith(b"%PDF-")
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    source = SCREENSHOTS / "record.pdf"
    source.write_bytes(pdf)
    picture = SCREENSHOTS / "pdf-page-1"
    subprocess.run(  # noqa: S603 - poppler's pdftoppm on a PDF this test saved
        [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", source, picture],
        check=True,
        timeout=60,
    )
    source.unlink()
    assert Path(f"{picture}.png").stat().st_size > 0
