"""A practitioner's decision in a real browser: every outcome, back, change, submit, PDF."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from decisions.models import Decision, Status
from tests.e2e import journeys
from tests.e2e.evidence import outcome_title, pdf_text
from tests.factories import ROUTES, answered_decision

pytestmark = pytest.mark.e2e

STATUS_AFTER_SUBMIT = {
    "do_not_share": Status.SUBMITTED,
    "can_share": Status.SUBMITTED,
    "share_with_consent": Status.SUBMITTED,
    "share_without_consent": Status.AWAITING_APPROVAL,
}


@pytest.mark.parametrize("outcome", list(ROUTES))
def test_a_practitioner_reaches_each_outcome_submits_and_downloads_the_pdf(
    browser, practitioner, outcome
):
    title = outcome_title(outcome)

    seen = browser.run(journeys.decide, practitioner.email, ROUTES[outcome], shots=outcome)

    decision = Decision.objects.get(reference=seen["reference"].split()[0])
    assert seen["outcomes"] == [title]
    assert decision.outcome == outcome
    assert decision.status == STATUS_AFTER_SUBMIT[outcome]
    assert seen["content_type"] == "application/pdf"
    assert seen["pdf"].startswith(b"%PDF-")
    assert decision.reference in seen["filename"]
    assert decision.reference in pdf_text(seen["pdf"])
    assert decision.reference in seen["record_heading"]


def test_the_back_link_goes_back_question_by_question_keeping_the_answers(browser, practitioner):
    first_two = ROUTES["can_share"][:2]  # context, subject

    seen = browser.run(journeys.back_through_the_questions, practitioner.email, first_two)

    assert seen["after_answers"] == "purpose"
    subject, context = seen["back"][0], seen["back"][1]
    assert subject[0] == "subject"
    assert {"child", "12_15"} <= set(subject[1])
    assert context[:2] == ("context", ["proactive"])
    assert {"CASE-123", "AB"} <= set(context[2])
    assert seen["back"][-1][0] is None  # the start page
    assert seen["ended_at"] == "Decide whether to share information"


def test_an_answer_changed_from_check_answers_is_saved_and_shown_there(browser, practitioner):
    decision = answered_decision(practitioner, "can_share")
    check_url = reverse("check_answers", args=[decision.public_id])
    link = "Change has the person been told that their information is being shared?"

    answers = browser.run(
        journeys.change_from_check_answers, practitioner.email, check_url, link, "will_be_told"
    )

    assert "They will be told" in answers
    decision.refresh_from_db()
    assert decision.answers["informed"]["informed"] == "will_be_told"
    assert decision.status == Status.DRAFT


def test_a_missing_answer_shows_the_error_summary_and_focus_moves_to_it(browser, practitioner):
    seen = browser.run(journeys.leave_a_question_unanswered, practitioner.email)

    assert seen["status"] == 400
    assert seen["title"].startswith("Error: ")
    assert "There is a problem" in seen["summary"]
    assert "govuk-error-summary" in seen["focus_on_load"]["classes"]
    assert seen["link"] == "#id_case_reference"
    assert seen["focus_after_link"]["id"] == "id_case_reference"
    assert seen["then"] == "subject"


def test_a_wrong_password_shows_the_error_summary_and_focus_moves_to_it(browser, practitioner):
    seen = browser.run(journeys.wrong_password, practitioner.email)

    assert seen["status"] == 200  # Django's LoginView answers 200 to a failed sign-in
    assert "There is a problem" in seen["summary"]
    assert "govuk-error-summary" in seen["focus_on_load"]["classes"]


def test_the_footer_pages_and_the_error_pages_pass_the_checks(browser, practitioner):
    missing = reverse("record", args=[uuid.uuid4()])

    seen = browser.run(
        journeys.footer_and_error_pages, practitioner.email, missing, reverse("reports")
    )

    assert "ccessibility" in seen["Accessibility"]
    assert "rivacy" in seen["Privacy"]
    assert seen[missing][0] == 404
    assert seen[reverse("reports")][0] == 403
