"""How many question pages the common journeys take, measured, against the targets.

A question page is a step the practitioner answers: the outcome page and check-your-answers
are not counted. The urgent route is counted up to the page that tells them to share. The
measured counts are written in docs/guidance-rules.md; a test keeps that table honest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.test_routing_cases import EDITIONS, decide, load, subject

DOCS = Path(__file__).resolve().parents[1] / "docs" / "guidance-rules.md"

TEEN = subject(age_band="12_15")
BY_THEMSELVES = {"consent_given": {"consent_given_by": "the_person"}}
ADULT = subject(subject_type="parent_carer", age_band="adult")
REQUEST = {"context": {"direction": "request"}}
NOT_SOUGHT = {
    "consent": {"consent": "not_sought"},
    "consent_not_sought_reason": {"consent_not_sought_reason": "child_risk"},
}
URGENT = subject(concern_level="significant_harm", immediate_risk="yes")


class Journey(NamedTuple):
    name: str
    changes: dict[str, dict[str, Any]]
    outcome: str
    target: int | None  # most question pages allowed (None: measured, no target)
    before_outcome: bool = False  # count only the pages before the outcome


JOURNEYS = [
    Journey("Share with consent: a parent, for a child under 12", {}, "share_with_consent", 12),
    Journey(
        "Share with consent: an adult, for themselves",
        {**ADULT, **BY_THEMSELVES},
        "share_with_consent",
        12,
    ),
    Journey(
        "Share with consent: a competent young person of 12 to 15",
        {**TEEN, **BY_THEMSELVES},
        "share_with_consent",
        12,
    ),
    Journey(
        "Share with consent: a parent, with the young person's view", TEEN, "share_with_consent", 12
    ),
    Journey("Share with consent: an organisation's request", REQUEST, "share_with_consent", None),
    Journey(
        "Request answered without consent: not sought, public interest",
        {**REQUEST, **NOT_SOUGHT},
        "share_without_consent",
        15,
    ),
    Journey(
        "Request answered without consent: refused, public interest",
        {**REQUEST, "consent": {"consent": "refused"}},
        "share_without_consent",
        15,
    ),
    Journey(
        "Request answered without consent: a parent refused for a young person",
        {
            **REQUEST,
            **TEEN,
            "consent": {"consent": "refused"},
            "young_person_view": {"young_person_view": "not_competent"},
        },
        "share_without_consent",
        15,
    ),
    Journey(
        "Request answered without consent: a statutory duty (section 47)",
        {
            **REQUEST,
            "request_details": {"requester_legal_basis": "ca1989_s47"},
            **NOT_SOUGHT,
            "lawful_reason": {"lawful_reason": ["statutory_duty"]},
        },
        "share_legal_duty",
        15,
    ),
    Journey(
        "Request answered without consent: a statutory power (section 115)",
        {
            **REQUEST,
            "request_details": {"requester_legal_basis": "cda1998_s115"},
            **NOT_SOUGHT,
            "lawful_reason": {"lawful_reason": ["statutory_power"]},
        },
        "share_without_consent",
        15,
    ),
    Journey(
        "No legitimate purpose: on my own initiative",
        {"purpose": {"purpose_legitimate": "no"}},
        "do_not_share",
        6,
    ),
    Journey(
        "No legitimate purpose: an organisation's request",
        {**REQUEST, "purpose": {"purpose_legitimate": "no"}},
        "do_not_share",
        6,
    ),
    Journey(
        "No legitimate purpose: a member of the public",
        {"context": {"direction": "request_public"}},
        "do_not_share",
        6,
    ),
    Journey(
        "No legitimate purpose: an organisation's request, significant harm",
        {
            **REQUEST,
            **subject(concern_level="significant_harm"),
            "purpose": {"purpose_legitimate": "no"},
        },
        "do_not_share",
        6,
    ),
    Journey("Urgent: share now, until told to share", URGENT, "share_now", 8, True),
    Journey(
        "Urgent: share now, an organisation's request, until told to share",
        {**REQUEST, **URGENT},
        "share_now",
        8,
        True,
    ),
    Journey("Urgent: share now, the whole record", URGENT, "share_now", None),
]


def pages(pack_file: Path, journey: Journey) -> int:
    _answers, result = decide(load(pack_file), journey.changes)
    assert result.outcome.id == journey.outcome, result.reasons
    return result.outcome_at if journey.before_outcome else len(result.path)


@pytest.mark.parametrize("edition", EDITIONS, ids=lambda p: p.stem)
@pytest.mark.parametrize("journey", [pytest.param(j, id=j.name) for j in JOURNEYS])
def test_the_journey_is_short_enough(edition, journey):
    measured = pages(edition, journey)
    if journey.target is not None:
        assert measured <= journey.target


@pytest.mark.parametrize("journey", [pytest.param(j, id=j.name) for j in JOURNEYS])
def test_every_edition_takes_the_same_pages(journey):
    assert len({pages(edition, journey) for edition in EDITIONS}) == 1


@pytest.mark.parametrize("journey", [pytest.param(j, id=j.name) for j in JOURNEYS])
def test_docs_state_the_measured_count(journey):
    measured = pages(EDITIONS[-1], journey)
    target = "none" if journey.target is None else f"at most {journey.target}"
    row = f"| {journey.name} | {measured} | {target} |"
    assert row in DOCS.read_text(encoding="utf-8"), f"docs/guidance-rules.md should list: {row}"
