"""Properties of every edition's routing, over answers generated page by page (hypothesis).

Each example walks a pack the way a practitioner does: at each next page hypothesis picks
answers among the page's choices (a fixed text or date for free text), and keeps them only
if the page accepts them (engine.step_errors). So the examples explore real paths, and what
holds for them holds for the answers the wizard can store.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisions.guidance import engine
from decisions.guidance.engine import Pack
from decisions.guidance.schema import read_pack_file

GUIDANCE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "guidance"
EDITIONS = sorted(GUIDANCE_DIR.glob("*.json"))

TEXT = "Example answer"
DATE = "2024-05-01"
SERIOUS = ("significant_harm", "adult_serious_harm")
# The flowchart's questions (bathnes section 11): each offers "I'm not sure" when first asked.
FLOWCHART_FIELDS = (
    "purpose_legitimate",
    "identifiable",
    "confidential",
    "consent",
    "lawful_reason",
    "is_proportionate",
)

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@cache
def load(path: Path) -> Pack:
    return read_pack_file(path)[1]


def field_values(f: engine.Field) -> st.SearchStrategy[Any]:
    optional = not f.required
    if f.kind == "checkboxes":
        exclusive = [c.value for c in f.choices if c.exclusive]
        others = [c.value for c in f.choices if not c.exclusive]
        options = [st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True)]
        options += [st.just([value]) for value in exclusive]
        if optional:
            options.append(st.just([]))
        return st.one_of(options)
    if f.choices:
        values = [c.value for c in f.choices] + ([""] if optional else [])
        return st.sampled_from(values)
    fixed = DATE if f.kind == "date" else TEXT
    return st.sampled_from([fixed, ""]) if optional else st.just(fixed)


_REACHABLE: dict[tuple[str, int, str], set[str]] = {}


def reachable(pack: Pack, node: str) -> set[str]:
    key = (pack.id, pack.version, node)
    if key not in _REACHABLE:
        _REACHABLE[key] = engine.reachable(pack, node)
    return _REACHABLE[key]


@st.composite
def journeys(draw: st.DrawFn, pack: Pack) -> tuple[dict[str, dict], engine.Walk]:
    """Answers accepted page by page until the walk ends.

    Each example first draws an outcome to head for, and prefers answers from which it can
    still be reached, so that the examples spread over every outcome rather than mostly
    taking the first exit.
    """
    target = draw(st.sampled_from(sorted(pack.outcomes)))
    answers: dict[str, dict] = {}
    for _ in range(len(pack.steps) + 1):
        result = engine.walk(pack, answers)
        if result.complete:
            return answers, result
        step_id = result.next_step
        fields = engine.visible_fields(pack, step_id, answers)
        accepted = None
        for _attempt in range(25):
            values = {f.name: draw(field_values(f)) for f in fields}
            if engine.step_errors(pack, step_id, values, answers):
                continue
            accepted = values
            after = engine.node_after(pack, {**answers, step_id: values}, step_id)
            if result.outcome is not None or target in reachable(pack, after):
                break
        assert accepted is not None, f"no accepted answers found for {step_id!r}"
        answers[step_id] = accepted
    raise AssertionError("the walk did not end")


def outcomes_met(pack: Pack, answers: dict[str, dict], result: engine.Walk) -> list[str]:
    met = []
    for step_id in result.path:
        node = engine.node_after(pack, answers, step_id)
        while node in pack.outcomes:
            met.append(node)
            node = pack.outcomes[node].next
    return met


def ticked(values: dict[str, Any], name: str) -> list[Any]:
    value = values.get(name)
    return value if isinstance(value, list) else []


# Answers that contradict each other (the items 3, 5, 6, 7 and 11): none may be stored.
CONTRADICTIONS = {
    "the law requires me to share, then none of these": lambda v: (
        v.get("consent_not_sought_reason") == "legal_duty" and "none" in ticked(v, "lawful_reason")
    ),
    "an exclusive choice with others": lambda v: any(
        len(ticked(v, name)) > 1 and set(ticked(v, name)) & {"none", "not_sure"}
        for name in ("lawful_reason", "purpose_categories")
    ),
    "not special category, then health data shared": lambda v: (
        v.get("special_category_condition") == "not_special"
        and set(ticked(v, "data_categories")) & {"health", "injury_photos"}
    ),
    "consent from a parent for an adult": lambda v: (
        v.get("age_band") == "adult"
        and "parent" in (v.get("consent_given_by"), v.get("refused_by"))
    ),
    "consent from a child under 12": lambda v: (
        v.get("age_band") == "under_12" and v.get("consent_given_by") == "the_person"
    ),
    "an attorney for a child": lambda v: (
        v.get("age_band") != "adult"
        and "attorney" in (v.get("consent_given_by"), v.get("refused_by"))
    ),
    "best interests without a lack of capacity": lambda v: (
        "best_interests" in ticked(v, "lawful_reason")
        and v.get("consent_unobtainable_reason") != "lacks_capacity"
    ),
    "told in confidence, yet not confidential": lambda v: (
        v.get("informant") == "in_confidence" and v.get("confidential") == "no"
    ),
    "not personal data, yet identifiable": lambda v: (
        v.get("gdpr_article6") == "not_personal_data" and v.get("identifiable") != "no"
    ),
    "a court order, then none of these": lambda v: (
        v.get("requester_legal_basis") == "court_order" and "none" in ticked(v, "lawful_reason")
    ),
}


@pytest.mark.parametrize("edition", EDITIONS, ids=lambda p: p.stem)
def test_every_path_ends_in_exactly_one_outcome(edition):
    pack = load(edition)

    @EXAMPLES
    @given(journeys(pack))
    def check(journey: tuple[dict[str, dict], engine.Walk]) -> None:
        answers, result = journey
        assert result.complete and result.outcome is not None
        assert outcomes_met(pack, answers, result) == [result.outcome.id]
        assert result.sign_off in engine.SIGN_OFF_KINDS

    check()


@pytest.mark.parametrize("edition", EDITIONS, ids=lambda p: p.stem)
def test_no_path_at_serious_harm_ends_in_not_sharing_without_advice_and_sign_off(edition):
    pack = load(edition)

    @EXAMPLES
    @given(journeys(pack))
    def check(journey: tuple[dict[str, dict], engine.Walk]) -> None:
        _answers, result = journey
        values = result.values
        if values.get("concern_level") in SERIOUS and result.outcome.kind == "do_not_share":
            assert result.sign_off == "before"
            assert values.get("lead_advice_from") and values.get("lead_advice")
            assert result.prompts, "a referral prompt on the outcome page"

    check()


@pytest.mark.parametrize("edition", EDITIONS, ids=lambda p: p.stem)
def test_every_sharing_path_records_an_article_6_basis(edition):
    pack = load(edition)

    @EXAMPLES
    @given(journeys(pack))
    def check(journey: tuple[dict[str, dict], engine.Walk]) -> None:
        _answers, result = journey
        if result.outcome.kind in engine.SHARING_KINDS:
            assert result.values.get("gdpr_article6")
            special = set(ticked(result.values, "data_categories")) & {"health", "injury_photos"}
            if special:
                assert result.values.get("special_category_condition") != "not_special"

    check()


@pytest.mark.parametrize("edition", EDITIONS, ids=lambda p: p.stem)
def test_no_accepted_answers_contradict_each_other(edition):
    pack = load(edition)

    @EXAMPLES
    @given(journeys(pack))
    def check(journey: tuple[dict[str, dict], engine.Walk]) -> None:
        _answers, result = journey
        found = [name for name, holds in CONTRADICTIONS.items() if holds(result.values)]
        assert not found

    check()


@pytest.mark.parametrize("edition", EDITIONS, ids=lambda p: p.stem)
def test_every_question_on_a_path_can_be_answered_not_sure(edition):
    pack = load(edition)

    @EXAMPLES
    @given(journeys(pack))
    def check(journey: tuple[dict[str, dict], engine.Walk]) -> None:
        answers, result = journey
        for step_id in result.path:
            before = {s: answers[s] for s in result.path[: result.path.index(step_id)]}
            asked = {**engine.values_before(pack, answers, step_id), **answers[step_id]}
            for f in pack.steps[step_id].fields:
                if f.name not in FLOWCHART_FIELDS:
                    continue
                assert engine.NOT_SURE in [c.value for c in f.choices], f.name
                if not (f.required or engine.holds(f.required_when, asked)):
                    continue  # not asked on this path (confidential, once nothing identifies)
                unsure = [engine.NOT_SURE] if f.kind == "checkboxes" else engine.NOT_SURE
                # only this question unsure (another on the page would take its advice first)
                page = {
                    name: "yes" if value == engine.NOT_SURE else value
                    for name, value in answers[step_id].items()
                }
                unsure_here = {**before, step_id: {**page, f.name: unsure}}
                advice = engine.node_after(pack, unsure_here, step_id)
                recheck = pack.steps[advice].next[0].goto
                assert pack.steps[recheck].recall, (step_id, advice, recheck)
                assert any(g.settles == f.name for g in pack.steps[recheck].fields)

    check()


@pytest.mark.parametrize("edition", EDITIONS, ids=lambda p: p.stem)
def test_only_the_urgent_route_is_signed_off_afterwards(edition):
    pack = load(edition)

    @EXAMPLES
    @given(journeys(pack))
    def check(journey: tuple[dict[str, dict], engine.Walk]) -> None:
        _answers, result = journey
        assert (result.sign_off == "after") is (result.outcome.id == "share_now")
        if result.outcome.id == "share_now":
            assert result.outcome_at <= 8
            assert result.values.get("urgent_justification")

    check()
