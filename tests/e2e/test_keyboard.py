"""A practitioner's whole decision with the keyboard alone: Tab, Space and Enter (plus
typing into text boxes). Every element Tab passes must show where the focus is."""

from __future__ import annotations

from datetime import date

import pytest

from decisions.models import Decision, Status
from tests.e2e import journeys
from tests.e2e.evidence import outcome_title, pdf_text
from tests.factories import ROUTES, with_values

pytestmark = pytest.mark.e2e

# Share with consent, answering every radio question with its first option: with Tab alone,
# focus enters a radio group on its first option (choosing another one takes arrow keys).
# Share with consent: a parent consents for a child under 12 (no competence question), so
# every radio but the first options is reached with the arrow keys.
KEYBOARD_ROUTE = [
    (step, values)
    for step, values in with_values(
        with_values(
            with_values(
                ROUTES["share_with_consent"], "context", case_reference="KB-42", initials="CD"
            ),
            "subject",
            age_band="under_12",
        ),
        "consent_given",
        consent_given_by="parent",
        consent_date=date.today().isoformat(),
    )
    if step != "competence"
]


def test_a_practitioner_completes_a_decision_with_the_keyboard_alone(browser, practitioner):
    title = outcome_title("share_with_consent")

    seen = browser.run(journeys.keyboard_only_decision, practitioner.email, KEYBOARD_ROUTE)

    assert seen["outcomes"] == [title]
    assert seen["confirmation"] == "Decision recorded"
    decision = Decision.objects.get()
    assert decision.outcome == "share_with_consent"
    assert decision.status == Status.SUBMITTED
    assert decision.answers["context"]["case_reference"] == "KB-42"
    assert decision.reference in pdf_text(seen["pdf"])
    assert decision.reference in seen["record_heading"]
