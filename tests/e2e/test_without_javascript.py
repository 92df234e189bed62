"""The whole practitioner journey with JavaScript disabled (locked-down council and NHS PCs)."""

from __future__ import annotations

import pytest

from decisions.models import Decision, Status
from tests.e2e import journeys
from tests.e2e.evidence import outcome_title, pdf_text
from tests.factories import ROUTES

pytestmark = pytest.mark.e2e


def test_the_whole_practitioner_journey_works_without_javascript(browser, practitioner):
    # The longest route: every kind of question (radios, checkboxes, text, dates).
    route = ROUTES["share_without_consent"]
    title = outcome_title("share_without_consent")

    seen = browser.run(
        journeys.whole_journey_without_javascript, practitioner.email, route, javascript=False
    )

    assert seen["error"]["status"] == 400
    assert "There is a problem" in seen["error"]["summary"]
    assert seen["error"]["link"] == "#id_case_reference"
    assert seen["error"]["focus_after_link"] == "id_case_reference"
    assert (seen["back_to"], seen["back_kept"]) == ("context", ["proactive"])
    assert seen["outcomes"] == [title]
    assert seen["changed_back_at"].endswith("/check/")
    assert seen["confirmation"] == "Decision submitted for approval"
    decision = Decision.objects.get()
    assert decision.status == Status.AWAITING_APPROVAL
    assert decision.answers["informed"]["informed"] == "will_be_told"
    assert seen["content_type"] == "application/pdf"
    assert decision.reference in pdf_text(seen["pdf"])
