"""A practitioner's whole decision with the keyboard alone: Tab, Space and Enter (plus
typing into text boxes). Every element Tab passes must show where the focus is."""

from __future__ import annotations

from datetime import date

import pytest

from decisions.models import Decision, Status
from tests.e2e import journeys
from tests.e2e.evidence import outcome_title, pdf_text

pytestmark = pytest.mark.e2e

# Share with consent, answering every radio question with its first option: with Tab alone,
# focus enters a radio group on its first option (choosing another one takes arrow keys).
KEYBOARD_ROUTE = [
    ("context", {"direction": "proactive"}),
    (
        "subject",
        {
            "case_reference": "KB-42",
            "initials": "CD",
            "subject_type": "child",
            "age_band": "under_12",
        },
    ),
    ("concern", {"concern_level": "significant_harm"}),
    (
        "purpose",
        {
            "purpose_categories": ["s47_child_protection", "early_help"],
            "purpose_description": "Disclosure in class; the MASH needs to know.",
        },
    ),
    ("purpose_legitimate", {"purpose_legitimate": "yes"}),
    ("identifiable", {"identifiable": "yes"}),
    ("confidential", {"confidential": "yes"}),
    ("consent", {"consent": "given"}),
    ("consent_given_by", {"consent_given_by": "child", "consent_informed": "yes"}),
    (
        "what_to_share",
        {
            "data_categories": ["names"],
            "special_category": "yes",
            "fact_and_opinion": "What was said is fact; the worry is opinion.",
        },
    ),
    ("recipient", {"recipient_org": "Children's social care", "recipient_role": "MASH worker"}),
    ("method", {"method": "secure_email", "method_security": "Secure email."}),
    ("share_date", {"share_date": date.today().isoformat()}),
    ("informed", {"informed": "told"}),
    ("third_parties", {"third_parties": "yes", "third_parties_protection": "Names removed."}),
    ("withheld", {}),
    ("advice", {"advice_from": "none"}),
    ("follow_up", {}),
]


def test_a_practitioner_completes_a_decision_with_the_keyboard_alone(browser, practitioner):
    title = outcome_title("share_with_consent")

    seen = browser.run(journeys.keyboard_only_decision, practitioner.email, KEYBOARD_ROUTE)

    assert seen["outcomes"] == [title]
    assert seen["confirmation"] == "Decision recorded"
    decision = Decision.objects.get()
    assert decision.outcome == "share_with_consent"
    assert decision.status == Status.SUBMITTED
    assert decision.answers["subject"]["case_reference"] == "KB-42"
    assert decision.reference in pdf_text(seen["pdf"])
    assert decision.reference in seen["record_heading"]
