"""The flowchart engine: answers -> outcome, for every shipped guidance pack.

Pure Python (no database): packs are read straight from fixtures/guidance/. The table
follows the key-questions flowchart (bathnes section 11; LLR ISA Appendix A).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from decisions.guidance import engine
from decisions.guidance.engine import Pack
from decisions.guidance.schema import read_pack_file

GUIDANCE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "guidance"
PACK_FILES = sorted(GUIDANCE_DIR.glob("*.json"))

# A fixed valid answer for fields whose value does not steer the flowchart.
TEXT_ANSWER = "Example answer"
DATE_ANSWER = "2024-05-01"

# The flowchart questions answered "the way that keeps going": a proactive disclosure with
# a legitimate purpose, about identifiable, confidential information, with informed consent.
# Each table row below changes only what it is about.
ONWARD = {
    "context": {"direction": "proactive"},
    "purpose_legitimate": {"purpose_legitimate": "yes"},
    "identifiable": {"identifiable": "yes"},
    "confidential": {"confidential": "yes"},
    "consent": {"consent": "given"},
    "consent_given_by": {"consent_given_by": "parental_responsibility", "consent_informed": "yes"},
    "lawful_reason": {"lawful_reason": ["statutory_duty"]},
    "proportionality": {"is_proportionate": "yes"},
}


@cache
def load(path: Path) -> Pack:
    return read_pack_file(path)[1]


def fixed_value(field: engine.Field) -> Any:
    if field.kind == "checkboxes":
        return [field.choices[0].value]
    if field.choices:
        return field.choices[0].value
    if field.kind == "date":
        return DATE_ANSWER
    return TEXT_ANSWER


def answers_with(pack: Pack, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """Every step of the pack answered (ONWARD, then a fixed value), with `changes` applied."""
    answers = {
        step.id: {f.name: fixed_value(f) for f in step.fields} for step in pack.steps.values()
    }
    for source in (ONWARD, changes):
        for step_id, values in source.items():
            assert step_id in pack.steps, f"{pack.id} has no step {step_id!r}"
            answers[step_id].update(copy.deepcopy(dict(values)))
    return answers


def only_path(pack: Pack, answers: dict[str, dict]) -> dict[str, dict]:
    """The answers a practitioner would have given: just the steps on the path."""
    return {step_id: answers[step_id] for step_id in engine.walk(pack, answers).path}


def refused_because(lawful_reason: str) -> dict[str, dict]:
    return {"consent": {"consent": "refused"}, "lawful_reason": {"lawful_reason": [lawful_reason]}}


def not_sought_because(reason: str) -> dict[str, dict]:
    return {
        "consent": {"consent": "not_sought"},
        "consent_not_sought_reason": {"consent_not_sought_reason": reason},
        "lawful_reason": {"lawful_reason": ["statutory_duty"]},
    }


# description, answers by step (changes to ONWARD), outcome kind, needs approval, a reason
# fmt: off
TABLE = [
    (
        "no legitimate purpose",
        {"purpose_legitimate": {"purpose_legitimate": "no"}},
        "do_not_share", False, "no clear and legitimate purpose",
    ),
    (
        "not identifiable",
        {"identifiable": {"identifiable": "no"}},
        "can_share", False, "does not identify anyone",
    ),
    (
        "not confidential",
        {"confidential": {"confidential": "no"}},
        "can_share", False, "is not confidential",
    ),
    (
        "consent given and understood",
        {},
        "share_with_consent", False, "Informed consent to share was given",
    ),
    (
        "consent given but not understood, public interest",
        {
            "consent_given_by": {"consent_informed": "no"},
            "lawful_reason": {"lawful_reason": ["public_interest_child"]},
        },
        "share_without_consent", True, "consent given was not informed",
    ),
    (
        "consent refused, public interest",
        refused_because("public_interest_child"),
        "share_without_consent", True, "Consent was refused",
    ),
    (
        "not sought: child at risk, statutory duty",
        not_sought_because("child_risk"),
        "share_without_consent", True, "a child at increased risk of significant harm",
    ),
    (
        "not sought: adult at risk, statutory duty",
        not_sought_because("adult_risk"),
        "share_without_consent", True, "an adult at risk of serious harm",
    ),
    (
        "not sought: serious crime, statutory duty",
        not_sought_because("serious_crime"),
        "share_without_consent", True, "prosecution of a serious crime",
    ),
    (
        "not sought: unjustified delay, statutory duty",
        not_sought_because("delay"),
        "share_without_consent", True, "unjustified delay",
    ),
    (
        "cannot obtain: lacks capacity, vital interests",
        {
            "consent": {"consent": "cannot_obtain"},
            "consent_unobtainable_reason": {"consent_unobtainable_reason": "lacks_capacity"},
            "lawful_reason": {"lawful_reason": ["vital_interests"]},
        },
        "share_without_consent", True, "lacks capacity to consent",
    ),
    (
        "consent refused, no other lawful reason",
        refused_because("none"),
        "do_not_share", False, "no other lawful reason",
    ),
    (
        "lawful reason but not proportionate",
        {**refused_because("public_interest_child"),
         "proportionality": {"is_proportionate": "no"}},
        "do_not_share", False, "would not be a proportionate response",
    ),
    (
        "do not share in answer to a request",
        {"context": {"direction": "request"}, "purpose_legitimate": {"purpose_legitimate": "no"}},
        "do_not_share", True, "no clear and legitimate purpose",
    ),
    (
        "do not share, proactive",
        {"context": {"direction": "proactive"}, "purpose_legitimate": {"purpose_legitimate": "no"}},
        "do_not_share", False, "no clear and legitimate purpose",
    ),
]
# fmt: on


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize(
    ("changes", "kind", "needs_approval", "reason"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_answers_lead_to_outcome(pack_file, changes, kind, needs_approval, reason):
    pack = load(pack_file)
    result = engine.walk(pack, answers_with(pack, changes))
    assert result.complete
    assert result.outcome is not None
    assert result.outcome.kind == kind
    assert result.needs_approval is needs_approval
    assert any(reason in line for line in result.reasons), result.reasons


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_consent_not_understood_goes_on_to_lawful_reason(pack_file):
    pack = load(pack_file)
    answers = answers_with(pack, {"consent_given_by": {"consent_informed": "no"}})
    answers.pop("lawful_reason")
    result = engine.walk(pack, answers)
    assert result.path[-1] == "consent_given_by"
    assert result.next_step == "lawful_reason"
    assert result.outcome is None


# -- Every path of every pack ------------------------------------------------------------


def condition_fields(condition: Any) -> Iterator[str]:
    if not isinstance(condition, Mapping):
        return
    for group in ("all", "any"):
        for part in condition.get(group, []):
            yield from condition_fields(part)
    if "not" in condition:
        yield from condition_fields(condition["not"])
    if "field" in condition:
        yield condition["field"]


def steering_fields(pack: Pack) -> set[str]:
    """Fields named by any condition: every rule's, and outcomes' needs_approval."""
    conditions = [rule.when for step in pack.steps.values() for rule in step.next]
    conditions += [outcome.needs_approval for outcome in pack.outcomes.values()]
    return {name for condition in conditions for name in condition_fields(condition)}


def possible_values(field: engine.Field) -> list[Any]:
    if field.kind == "checkboxes":
        return [[choice.value] for choice in field.choices] + [[]]
    if field.choices:
        return [choice.value for choice in field.choices]
    return [fixed_value(field)]


def step_answers(pack: Pack, step_id: str) -> Iterator[dict[str, Any]]:
    """Every combination of values of the step's steering fields; other fields fixed."""
    steering = steering_fields(pack)
    fields = pack.steps[step_id].fields
    options = [possible_values(f) if f.name in steering else [fixed_value(f)] for f in fields]
    for combination in itertools.product(*options):
        yield {f.name: value for f, value in zip(fields, combination, strict=True)}


@cache
def complete_paths(path: Path) -> list[tuple[dict[str, dict], engine.Walk]]:
    """Depth-first over the answer tree: (answers, walk) for each way through the pack."""
    pack = load(path)
    found = []

    def explore(answers: dict[str, dict]) -> None:
        result = engine.walk(pack, answers)
        if result.complete:
            found.append((answers, result))
            return
        for values in step_answers(pack, result.next_step):
            explore({**answers, result.next_step: values})

    explore({})
    return found


def outcomes_met(pack: Pack, answers: dict[str, dict], result: engine.Walk) -> list[str]:
    """The outcomes on the route, found rule by rule (not from walk's single outcome)."""
    met = []
    for step_id in result.path:
        node = engine.node_after(pack, answers, step_id)
        while node in pack.outcomes:
            met.append(node)
            node = pack.outcomes[node].next
    return met


PATH_PARAMS = [pytest.param(p, id=f"{p.stem}-{len(complete_paths(p))}-paths") for p in PACK_FILES]


@pytest.mark.parametrize("pack_file", PATH_PARAMS)
def test_every_path_meets_exactly_one_outcome(pack_file):
    pack = load(pack_file)
    paths = complete_paths(pack_file)
    wrong = [
        (result.path, met)
        for answers, result in paths
        if len(met := outcomes_met(pack, answers, result)) != 1 or met[0] != result.outcome.id
    ]
    assert paths, f"{pack.id}: no complete path found"
    assert not wrong, f"{pack.id}: {len(wrong)} of {len(paths)} paths: {wrong[:3]}"


@pytest.mark.parametrize("pack_file", PATH_PARAMS)
def test_every_path_is_complete_and_starts_at_the_start(pack_file):
    pack = load(pack_file)
    for _answers, result in complete_paths(pack_file):
        assert result.complete
        assert result.next_step is None
        assert result.path[0] == pack.start
        assert result.nodes()[0] == pack.start


@pytest.mark.parametrize("pack_file", PATH_PARAMS)
def test_every_path_records_reasons(pack_file):
    for _answers, result in complete_paths(pack_file):
        assert isinstance(result.reasons, list)
        assert result.reasons, f"no reasons on {result.nodes()}"
        assert all(isinstance(line, str) and line.strip() for line in result.reasons)


@pytest.mark.parametrize("pack_file", PATH_PARAMS)
def test_every_outcome_kind_is_reachable(pack_file):
    paths = complete_paths(pack_file)
    kinds = {result.outcome.kind for _answers, result in paths if result.outcome}
    assert kinds == set(engine.OUTCOME_KINDS), f"{len(paths)} paths reach {sorted(kinds)}"


# -- Engine behaviours (on the newest pack) -----------------------------------------------


@pytest.fixture
def pack() -> Pack:
    return load(PACK_FILES[-1])


def test_walk_stops_at_the_first_unanswered_step(pack):
    answers = answers_with(pack, {})
    del answers["concern"]
    result = engine.walk(pack, answers)
    assert result.path == ["context", "subject"]
    assert result.next_step == "concern"
    assert result.complete is False
    assert result.outcome is None


def test_walk_of_no_answers_waits_at_the_start(pack):
    result = engine.walk(pack, {})
    assert result.path == []
    assert result.next_step == pack.start
    assert result.reasons == []


def test_walk_ignores_answers_off_the_path(pack):
    answers = answers_with(pack, refused_because("public_interest_child"))
    result = engine.walk(pack, answers)
    assert "consent_given_by" not in result.path
    assert "request_details" not in result.path
    assert result.outcome.kind == "share_without_consent"


def test_answers_on_steps_off_the_path_do_not_steer_the_walk(pack):
    # A stray "request" on a step the path skips must not make a proactive refusal need approval
    answers = answers_with(pack, {"purpose_legitimate": {"purpose_legitimate": "no"}})
    answers["request_details"]["direction"] = "request"
    assert engine.walk(pack, answers).needs_approval is False


def test_changing_consent_to_refused_drops_who_gave_it(pack):
    given = only_path(pack, answers_with(pack, {}))
    answers = only_path(pack, answers_with(pack, refused_because("public_interest_child")))
    answers["consent_given_by"] = given["consent_given_by"]
    assert engine.dropped_steps(pack, answers) == ["consent_given_by"]


def test_nothing_is_dropped_while_answers_stay_on_the_path(pack):
    answers = only_path(pack, answers_with(pack, refused_because("vital_interests")))
    assert engine.dropped_steps(pack, answers) == []


def test_changing_to_a_request_keeps_the_later_answers_that_still_apply(pack):
    # The new request_details step is unanswered, but subject, purpose... still follow it:
    # dropping them would throw away the whole decision (services discard dropped steps).
    answers = only_path(pack, answers_with(pack, {}))
    answers["context"] = {"direction": "request"}
    assert engine.dropped_steps(pack, answers) == []


def test_node_after_names_the_outcome_a_step_leads_to(pack):
    answers = answers_with(pack, {"purpose_legitimate": {"purpose_legitimate": "no"}})
    assert engine.node_after(pack, answers, "purpose_legitimate") == "do_not_share"


def test_node_after_names_the_next_step(pack):
    answers = answers_with(pack, refused_because("public_interest_child"))
    assert engine.node_after(pack, answers, "consent") == "lawful_reason"


def test_node_after_the_last_step_is_the_end(pack):
    answers = answers_with(pack, {})
    assert engine.node_after(pack, answers, "follow_up") == engine.END


def test_answered_step_is_on_the_path(pack):
    answers = only_path(pack, answers_with(pack, {}))
    del answers["concern"]
    assert engine.is_on_path(pack, answers, "subject") is True


def test_next_step_is_on_the_path(pack):
    answers = only_path(pack, answers_with(pack, {}))
    del answers["concern"]
    assert engine.is_on_path(pack, answers, "concern") is True


def test_step_beyond_the_next_one_is_not_on_the_path(pack):
    answers = only_path(pack, answers_with(pack, {}))
    del answers["concern"]
    assert engine.is_on_path(pack, answers, "purpose") is False


def test_step_on_another_branch_is_not_on_the_path(pack):
    answers = only_path(pack, answers_with(pack, {}))
    assert engine.is_on_path(pack, answers, "request_details") is False


def test_nodes_place_the_outcome_after_the_step_that_led_to_it(pack):
    result = engine.walk(pack, answers_with(pack, {"identifiable": {"identifiable": "no"}}))
    nodes = result.nodes()
    assert nodes[result.outcome_at] == "can_share"
    assert nodes[nodes.index("identifiable") + 1] == "can_share"
    assert nodes[nodes.index("can_share") + 1] == "what_to_share"
    assert nodes.count("can_share") == 1
    assert len(nodes) == len(result.path) + 1


def test_nodes_end_with_the_outcome_when_the_next_step_is_unanswered(pack):
    answers = answers_with(pack, {"confidential": {"confidential": "no"}})
    del answers["what_to_share"]
    result = engine.walk(pack, answers)
    assert result.nodes()[-2:] == ["confidential", "can_share"]
    assert result.next_step == "what_to_share"


def test_nodes_without_an_outcome_are_the_path(pack):
    answers = answers_with(pack, {})
    del answers["consent"]
    result = engine.walk(pack, answers)
    assert result.nodes() == result.path


def test_reasons_follow_the_path_in_order(pack):
    result = engine.walk(pack, answers_with(pack, {"confidential": {"confidential": "no"}}))
    assert result.reasons == [
        "There is a clear and legitimate purpose for sharing.",
        "The information could identify a person.",
        "The information is not confidential.",
    ]


def test_choose_takes_the_first_rule_that_holds(pack):
    rule = engine.choose(pack.steps["consent"], {"consent": "not_sought"})
    assert rule.goto == "consent_not_sought_reason"


def test_choose_falls_back_to_the_rule_without_when(pack):
    rule = engine.choose(pack.steps["consent"], {"consent": "refused"})
    assert rule.when is None
    assert rule.goto == "lawful_reason"


# -- Conditions ---------------------------------------------------------------------------

TICKED = {"consent": "given", "lawful_reason": ["statutory_duty", "vital_interests"]}

# description, condition, expected
# fmt: off
CONDITIONS = [
    ("no condition always holds", None, True),
    ("equals matches", {"field": "consent", "equals": "given"}, True),
    ("equals differs", {"field": "consent", "equals": "refused"}, False),
    ("equals on a missing field", {"field": "absent", "equals": "given"}, False),
    ("in matches", {"field": "consent", "in": ["refused", "given"]}, True),
    ("in misses", {"field": "consent", "in": ["refused", "not_sought"]}, False),
    ("contains a ticked box", {"field": "lawful_reason", "contains": "vital_interests"}, True),
    ("contains an unticked box", {"field": "lawful_reason", "contains": "none"}, False),
    ("contains on a radio value", {"field": "consent", "contains": "given"}, False),
    ("contains_any hits", {"field": "lawful_reason", "contains_any": ["none", "statutory_duty"]},
     True),
    ("contains_any misses", {"field": "lawful_reason", "contains_any": ["none"]}, False),
    ("all true", {"all": [{"field": "consent", "equals": "given"},
                          {"field": "lawful_reason", "contains": "statutory_duty"}]}, True),
    ("all with one false", {"all": [{"field": "consent", "equals": "given"},
                                    {"field": "lawful_reason", "contains": "none"}]}, False),
    ("any with one true", {"any": [{"field": "consent", "equals": "refused"},
                                   {"field": "lawful_reason", "contains": "statutory_duty"}]},
     True),
    ("any all false", {"any": [{"field": "consent", "equals": "refused"},
                               {"field": "lawful_reason", "contains": "none"}]}, False),
    ("not of true", {"not": {"field": "consent", "equals": "given"}}, False),
    ("not of false", {"not": {"field": "consent", "equals": "refused"}}, True),
]
# fmt: on


@pytest.mark.parametrize(
    ("condition", "expected"), [pytest.param(*row[1:], id=row[0]) for row in CONDITIONS]
)
def test_holds(condition, expected):
    assert engine.holds(condition, TICKED) is expected


def test_unknown_operator_raises_value_error():
    with pytest.raises(ValueError, match="unknown condition"):
        engine.holds({"field": "consent", "greater_than": "given"}, TICKED)


def test_condition_without_field_or_group_raises_value_error():
    with pytest.raises(ValueError, match="unknown condition"):
        engine.holds({"equal": "given"}, TICKED)
