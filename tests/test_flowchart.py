"""The flowchart engine: answers -> outcome, and what the question pages need, for every
shipped edition (and the version 1 packs that old decisions still use).

Pure Python (no database): editions are resolved straight from fixtures/guidance/. The
routing table from the sources is tests/test_routing_cases.py; this file tests the engine.
"""

from __future__ import annotations

import copy
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
V1_FILES = sorted((GUIDANCE_DIR / "archive").glob("*-v1.json"))

# A fixed valid answer for fields whose value does not steer the flowchart.
TEXT_ANSWER = "Example answer"
DATE_ANSWER = "2024-05-01"

# The questions answered "the way that keeps going": a proactive disclosure about a child in
# need, no immediate risk, a legitimate purpose, identifiable and confidential information,
# and informed consent from a parent of a child under 12. Each test changes only what it is
# about.
ONWARD = {
    "context": {"direction": "proactive"},
    "subject": {
        "subject_type": "child",
        "age_band": "under_12",
        "concern_level": "child_in_need",
        "immediate_risk": "no",
    },
    "purpose": {"purpose_legitimate": "yes"},
    "information": {"identifiable": "yes", "confidential": "yes", "informant": "own_work"},
    "consent": {"consent": "given"},
    "consent_given": {"consent_given_by": "parent", "consent_informed": "yes"},
    "lawful_reason": {"lawful_reason": ["public_interest_child"]},
    "legal_duty": {"duty_response": "comply"},
    "proportionality": {"is_proportionate": "yes"},
    "record": {"advice_from": "none"},
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


REFUSED_PUBLIC_INTEREST = {
    "consent": {"consent": "refused"},
    "consent_refused": {"refused_by": "parent"},
    "lawful_reason": {"lawful_reason": ["public_interest_child"]},
}


@pytest.fixture(params=PACK_FILES, ids=lambda p: p.stem)
def any_pack(request) -> Pack:
    return load(request.param)


@pytest.fixture
def pack() -> Pack:
    return load(GUIDANCE_DIR / "key-questions-2024.json")


# -- Every route of every edition ---------------------------------------------------------


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


def steering(pack: Pack, node: str) -> frozenset[str]:
    """Fields named by a rule or sign-off condition at `node` or anywhere after it."""
    conditions: list[Any] = []
    for later in engine.reachable(pack, node):
        if later in pack.outcomes:
            conditions += [rule.when for rule in pack.outcomes[later].sign_off]
        else:
            conditions += [rule.when for rule in pack.steps[later].next]
    names = {name for condition in conditions for name in condition_fields(condition)}
    settled = {f.settles for s in pack.steps.values() for f in s.fields if f.settles in names}
    return frozenset(names | settled | {f for n in settled for f in pack.settled_by(n)})


def options(field: engine.Field, steers: bool) -> list[Any]:
    if not steers or not field.choices:
        return [fixed_value(field)]
    if field.kind == "checkboxes":
        return [[choice.value] for choice in field.choices]
    return [choice.value for choice in field.choices] + ([] if field.required else [""])


def step_answers(pack: Pack, step_id: str, steers: frozenset[str]) -> Iterator[dict[str, Any]]:
    values: list[dict[str, Any]] = [{}]
    for f in pack.steps[step_id].fields:
        values = [{**v, f.name: o} for v in values for o in options(f, f.name in steers)]
    yield from values


@cache
def routes(path: Path) -> list[tuple[dict[str, dict], engine.Walk]]:
    """One (answers, walk) for each distinct way to an outcome, answered on to the end.

    Depth-first over the values of the fields that steer what comes later, skipping answers
    the pages refuse. Two partial answers that leave the same next step and the same steering
    values continue identically, so only the first is explored further; the others, like
    every route once it has met its outcome (nothing steers after it), are finished with the
    first answers the pages accept.
    """
    pack = load(path)
    found: list[tuple[dict[str, dict], engine.Walk]] = []
    seen: set[Any] = set()

    def explore(answers: dict[str, dict]) -> None:
        result = engine.walk(pack, answers)
        if result.outcome is not None or result.complete:
            found.append(finish(pack, answers))
            return
        steers = steering(pack, result.next_step)
        known = {k: str(v) for k, v in result.values.items() if k in steers}
        key = (result.next_step, tuple(sorted(known.items())))
        if key in seen:
            found.append(finish(pack, answers))
            return
        seen.add(key)
        for values in step_answers(pack, result.next_step, steers):
            if not engine.step_errors(pack, result.next_step, values, answers):
                explore({**answers, result.next_step: values})

    explore({})
    return found


def finish(pack: Pack, answers: dict[str, dict]) -> tuple[dict[str, dict], engine.Walk]:
    answers = dict(answers)
    while not (result := engine.walk(pack, answers)).complete:
        step_id = result.next_step
        accepted = (
            v
            for v in step_answers(
                pack, step_id, frozenset(f.name for f in pack.steps[step_id].fields)
            )
            if not engine.step_errors(pack, step_id, v, answers)
        )
        answers[step_id] = next(accepted)
    return answers, result


def outcomes_met(pack: Pack, answers: dict[str, dict], result: engine.Walk) -> list[str]:
    """The outcomes on the route, found rule by rule (not from walk's single outcome)."""
    met = []
    for step_id in result.path:
        node = engine.node_after(pack, answers, step_id)
        while node in pack.outcomes:
            met.append(node)
            node = pack.outcomes[node].next
    return met


ROUTE_PARAMS = [pytest.param(p, id=p.stem) for p in PACK_FILES]


@pytest.mark.parametrize("pack_file", ROUTE_PARAMS)
def test_every_route_meets_exactly_one_outcome(pack_file):
    pack = load(pack_file)
    found = routes(pack_file)
    wrong = [
        (result.path, met)
        for answers, result in found
        if len(met := outcomes_met(pack, answers, result)) != 1 or met[0] != result.outcome.id
    ]
    assert len(found) > 100, f"{pack.id}: only {len(found)} routes found"
    assert not wrong, f"{pack.id}: {len(wrong)} of {len(found)} routes: {wrong[:3]}"


@pytest.mark.parametrize("pack_file", ROUTE_PARAMS)
def test_every_route_is_complete_and_starts_at_the_start(pack_file):
    pack = load(pack_file)
    for _answers, result in routes(pack_file):
        assert result.complete
        assert result.path[0] == pack.start
        assert result.nodes()[0] == pack.start


@pytest.mark.parametrize("pack_file", ROUTE_PARAMS)
def test_every_route_records_a_reason_for_each_decision(pack_file):
    pack = load(pack_file)
    for _answers, result in routes(pack_file):
        deciding = [s for s in result.path if len(pack.steps[s].next) > 1]
        assert len(result.reasons) >= len(deciding), result.path
        assert all(isinstance(line, str) and line.strip() for line in result.reasons)


@pytest.mark.parametrize("pack_file", ROUTE_PARAMS)
def test_every_outcome_is_reachable(pack_file):
    pack = load(pack_file)
    met = {result.outcome.id for _answers, result in routes(pack_file)}
    assert met == set(pack.outcomes)


@pytest.mark.parametrize("pack_file", ROUTE_PARAMS)
def test_every_step_is_on_some_route(pack_file):
    pack = load(pack_file)
    visited = {step for _answers, result in routes(pack_file) for step in result.path}
    assert visited == set(pack.steps)


# -- The version 1 packs that old decisions were made with --------------------------------

V1_ROUTES = [
    # description, answers by step (changes to every step's first choice), outcome, approval
    ("no legitimate purpose", {"purpose_legitimate": {"purpose_legitimate": "no"}}, "do_not_share"),
    ("not identifiable", {"identifiable": {"identifiable": "no"}}, "can_share"),
    (
        "consent refused, public interest",
        {"consent": {"consent": "refused"}},
        "share_without_consent",
    ),
]


def v1_answers(pack: Pack, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    answers = {s.id: {f.name: fixed_value(f) for f in s.fields} for s in pack.steps.values()}
    answers["context"]["direction"] = "proactive"
    answers["consent_given_by"]["consent_informed"] = "yes"
    answers["lawful_reason"]["lawful_reason"] = ["public_interest_child"]
    for step_id, values in changes.items():
        answers[step_id].update(values)
    return answers


@pytest.mark.parametrize("v1_file", V1_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize(("changes", "kind"), [pytest.param(*r[1:], id=r[0]) for r in V1_ROUTES])
def test_a_version_1_pack_still_walks_as_it_did(v1_file, changes, kind):
    pack = load(v1_file)
    result = engine.walk(pack, v1_answers(pack, changes))
    assert result.complete
    assert result.outcome.kind == kind
    # v1 said needs_approval: only sharing without consent (and refusing a request) needed it
    assert result.needs_approval is (kind == "share_without_consent")
    assert result.sign_off == ("before" if kind == "share_without_consent" else "none")


@pytest.mark.parametrize("v1_file", V1_FILES, ids=lambda p: p.stem)
def test_a_version_1_refusal_of_a_request_still_needs_approval(v1_file):
    pack = load(v1_file)
    answers = v1_answers(pack, {"purpose_legitimate": {"purpose_legitimate": "no"}})
    answers["context"]["direction"] = "request"
    assert engine.walk(pack, answers).needs_approval is True


@pytest.mark.parametrize("v1_file", V1_FILES, ids=lambda p: p.stem)
def test_a_version_1_pack_has_the_legacy_sections(v1_file):
    pack = load(v1_file)
    assert [s.id for s in pack.sections] == ["context", "flowchart", "how", "record"]
    assert pack.superseded is False


# -- Walking ------------------------------------------------------------------------------


def test_walk_stops_at_the_first_unanswered_step(pack):
    answers = answers_with(pack, {})
    del answers["purpose"]
    result = engine.walk(pack, answers)
    assert result.path == ["context", "subject"]
    assert result.next_step == "purpose"
    assert result.complete is False
    assert result.outcome is None


def test_walk_of_no_answers_waits_at_the_start(pack):
    result = engine.walk(pack, {})
    assert result.path == []
    assert result.next_step == pack.start
    assert result.reasons == []
    assert result.sign_off == "none"


def test_walk_ignores_answers_off_the_path(pack):
    result = engine.walk(pack, answers_with(pack, REFUSED_PUBLIC_INTEREST))
    assert "consent_given" not in result.path
    assert "request_details" not in result.path
    assert result.outcome.id == "share_without_consent"


def test_answers_on_steps_off_the_path_do_not_steer_the_walk(pack):
    # A stray "request" on a step the path skips must not make a proactive refusal need approval
    answers = answers_with(pack, {"purpose": {"purpose_legitimate": "no"}})
    answers["request_details"]["direction"] = "request"
    assert engine.walk(pack, answers).needs_approval is False


def test_walk_values_hold_the_answers_on_the_path(pack):
    result = engine.walk(pack, answers_with(pack, {}))
    assert result.values["consent"] == "given"
    assert "refused_by" not in result.values


def test_a_re_asked_answer_settles_the_first(pack):
    answers = answers_with(
        pack,
        {
            "consent": {"consent": "not_sure"},
            "consent_recheck": {"consent_after_advice": "given"},
        },
    )
    result = engine.walk(pack, answers)
    assert result.path[4:8] == ["consent", "advice_consent", "consent_recheck", "consent_given"]
    assert result.values["consent"] == "given"
    assert result.outcome.id == "share_with_consent"


def test_node_after_a_not_sure_step_is_its_advice_even_once_settled(pack):
    answers = answers_with(
        pack,
        {"consent": {"consent": "not_sure"}, "consent_recheck": {"consent_after_advice": "given"}},
    )
    assert engine.node_after(pack, answers, "consent") == "advice_consent"
    assert engine.node_after(pack, answers, "consent_recheck") == "consent_given"


def test_sign_off_is_after_on_the_urgent_route(pack):
    answers = answers_with(pack, {"subject": {"immediate_risk": "yes"}})
    result = engine.walk(pack, answers)
    assert result.outcome.id == "share_now"
    assert result.sign_off == "after"
    assert result.needs_approval is True


def test_prompts_are_those_whose_condition_holds(pack):
    answers = answers_with(
        pack,
        {"subject": {"concern_level": "significant_harm"}, "purpose": {"purpose_legitimate": "no"}},
    )
    result = engine.walk(pack, answers)
    texts = [prompt.text for prompt in result.prompts]
    assert any("refer it to children's social care" in text for text in texts)
    assert not any("adult social care" in text for text in texts)
    assert all(prompt.citations for prompt in result.prompts)


def test_values_before_a_step_leave_it_and_later_steps_out(pack):
    answers = answers_with(pack, {})
    values = engine.values_before(pack, answers, "consent")
    assert values["identifiable"] == "yes"
    assert "consent" not in values


# -- Changing answers ---------------------------------------------------------------------


def test_changing_consent_to_refused_drops_who_gave_it(pack):
    given = only_path(pack, answers_with(pack, {}))
    answers = only_path(pack, answers_with(pack, REFUSED_PUBLIC_INTEREST))
    answers["consent_given"] = given["consent_given"]
    assert engine.dropped_steps(pack, answers) == ["consent_given"]


def test_nothing_is_dropped_while_answers_stay_on_the_path(pack):
    answers = only_path(pack, answers_with(pack, REFUSED_PUBLIC_INTEREST))
    assert engine.dropped_steps(pack, answers) == []


def test_changing_to_a_request_keeps_the_later_answers_that_still_apply(pack):
    # The new request_details step is unanswered, but subject, purpose... still follow it:
    # dropping them would throw away the whole decision (services discard dropped steps).
    answers = only_path(pack, answers_with(pack, {}))
    answers["context"] = {**answers["context"], "direction": "request"}
    assert engine.dropped_steps(pack, answers) == []


def test_node_after_names_the_outcome_a_step_leads_to(pack):
    answers = answers_with(pack, {"purpose": {"purpose_legitimate": "no"}})
    assert engine.node_after(pack, answers, "purpose") == "do_not_share"


def test_node_after_names_the_next_step(pack):
    answers = answers_with(pack, REFUSED_PUBLIC_INTEREST)
    assert engine.node_after(pack, answers, "consent") == "consent_refused"


def test_node_after_the_last_step_is_the_end(pack):
    assert engine.node_after(pack, answers_with(pack, {}), "record") == engine.END


def test_answered_step_is_on_the_path(pack):
    answers = only_path(pack, answers_with(pack, {}))
    del answers["purpose"]
    assert engine.is_on_path(pack, answers, "subject") is True


def test_next_step_is_on_the_path(pack):
    answers = only_path(pack, answers_with(pack, {}))
    del answers["purpose"]
    assert engine.is_on_path(pack, answers, "purpose") is True


def test_step_beyond_the_next_one_is_not_on_the_path(pack):
    answers = only_path(pack, answers_with(pack, {}))
    del answers["purpose"]
    assert engine.is_on_path(pack, answers, "information") is False


def test_step_on_another_branch_is_not_on_the_path(pack):
    answers = only_path(pack, answers_with(pack, {}))
    assert engine.is_on_path(pack, answers, "request_details") is False


def test_nodes_place_the_outcome_after_the_step_that_led_to_it(pack):
    result = engine.walk(pack, answers_with(pack, {"information": {"identifiable": "no"}}))
    nodes = result.nodes()
    assert nodes[result.outcome_at] == "can_share"
    assert nodes[nodes.index("information") + 1] == "can_share"
    assert nodes[nodes.index("can_share") + 1] == "what_to_share"
    assert nodes.count("can_share") == 1
    assert len(nodes) == len(result.path) + 1


def test_nodes_end_with_the_outcome_when_the_next_step_is_unanswered(pack):
    answers = answers_with(pack, {"information": {"confidential": "no"}})
    del answers["what_to_share"]
    result = engine.walk(pack, answers)
    assert result.nodes()[-2:] == ["information", "can_share"]
    assert result.next_step == "what_to_share"


def test_nodes_without_an_outcome_are_the_path(pack):
    answers = answers_with(pack, {})
    del answers["consent"]
    result = engine.walk(pack, answers)
    assert result.nodes() == result.path


def test_after_and_before_follow_the_nodes(pack):
    result = engine.walk(pack, answers_with(pack, {"information": {"identifiable": "no"}}))
    assert result.after("information") == "can_share"
    assert result.before("what_to_share") == "can_share"
    assert result.before("context") is None
    assert result.after("record") == engine.END


def test_reasons_follow_the_path_in_order(pack):
    result = engine.walk(pack, answers_with(pack, {"information": {"confidential": "no"}}))
    assert result.reasons == [
        "You are sharing on your own initiative.",
        "No one is at immediate risk, so the key questions follow.",
        "There is a clear and legitimate purpose for sharing.",
        "The information is not confidential.",
    ]


def test_sign_off_reason_follows_the_route_reasons(pack):
    answers = answers_with(pack, REFUSED_PUBLIC_INTEREST)
    result = engine.walk(pack, answers)
    assert result.reasons[-1].startswith("Sharing without consent must be approved")


def test_choose_takes_the_first_rule_that_holds(pack):
    rule = engine.choose(pack.steps["consent"], {"consent": "not_sought"})
    assert rule.goto == "consent_not_sought_reason"


def test_choose_falls_back_to_the_rule_without_when(pack):
    rule = engine.choose(pack.steps["consent"], {"consent": "refused"})
    assert rule.when is None
    assert rule.goto == "consent_refused"


# -- What the question pages need ---------------------------------------------------------


def test_step_errors_accept_a_good_answer(pack):
    answers = only_path(pack, answers_with(pack, {}))
    values = {"lawful_reason": ["public_interest_child", "vital_interests"]}
    assert engine.step_errors(pack, "lawful_reason", values, answers) == {}


def test_step_errors_refuse_an_exclusive_choice_with_others(pack):
    errors = engine.step_errors(
        pack, "lawful_reason", {"lawful_reason": ["none", "vital_interests"]}, {}
    )
    assert errors == {
        "lawful_reason": "Select 'None of these' or 'I'm not sure' on its own, or only the "
        "reasons that apply"
    }


def test_step_errors_require_a_conditionally_required_field(pack):
    errors = engine.step_errors(
        pack, "request_details", {"requester_legal_basis": "other", "requester_org": "X"}, {}
    )
    assert errors["requester_legal_basis_other"] == "Enter the legal basis they gave"
    assert "requester_role" in errors  # an always-required field left blank


def test_step_errors_leave_an_unneeded_conditional_field_alone(pack):
    values = {
        "requester_org": "Police",
        "requester_role": "Detective",
        "requester_legal_basis": "cda1998_s115",
        "requester_legal_basis_other": "",
    }
    assert engine.step_errors(pack, "request_details", values, {}) == {}


def test_step_errors_apply_refusals_over_earlier_answers(pack):
    answers = only_path(pack, answers_with(pack, {"subject": {"age_band": "adult"}}))
    values = {
        "consent_given_by": "parent",
        "consent_informed": "yes",
        "consent_how": "signed",
        "consent_date": DATE_ANSWER,
    }
    errors = engine.step_errors(pack, "consent_given", values, answers)
    assert "A parent cannot decide about consent for an adult" in errors["consent_given_by"]


def test_step_errors_ignore_fields_the_page_does_not_ask(pack):
    answers = only_path(pack, answers_with(pack, {"purpose": {"purpose_legitimate": "no"}}))
    values = {"not_sharing_reasons": "No purpose."}
    assert engine.step_errors(pack, "not_sharing_reasons", values, answers) == {}


def test_visible_fields_ask_for_the_requester_only_on_a_request(pack):
    proactive = only_path(pack, answers_with(pack, {"purpose": {"purpose_legitimate": "no"}}))
    request = copy.deepcopy(proactive)
    request["context"]["direction"] = "request_public"
    names = [f.name for f in engine.visible_fields(pack, "not_sharing_reasons", proactive)]
    assert names == ["not_sharing_reasons"]
    names = [f.name for f in engine.visible_fields(pack, "not_sharing_reasons", request)]
    assert "requester_response" in names


def test_visible_fields_ask_for_a_lead_at_significant_harm(pack):
    answers = only_path(
        pack,
        answers_with(
            pack,
            {
                "subject": {"concern_level": "significant_harm"},
                "purpose": {"purpose_legitimate": "no"},
            },
        ),
    )
    names = [f.name for f in engine.visible_fields(pack, "not_sharing_reasons", answers)]
    assert names == ["not_sharing_reasons", "lead_advice_from", "lead_advice"]


def test_prefill_takes_the_recipient_from_the_requester(pack):
    answers = only_path(pack, answers_with(pack, {"context": {"direction": "request"}}))
    answers["request_details"] = {
        "requester_org": "Leicestershire Police",
        "requester_role": "Detective constable",
        "requester_legal_basis": "cda1998_s115",
        "requester_legal_basis_other": "",
    }
    assert engine.prefill(pack, "recipient", answers) == {
        "recipient_org": "Leicestershire Police",
        "recipient_role": "Detective constable",
    }
    assert engine.prefill(pack, "purpose", answers) == {"purpose_categories": ["crime"]}


def test_prefill_suggests_no_purpose_for_a_member_of_the_public(pack):
    answers = only_path(pack, answers_with(pack, {"context": {"direction": "request_public"}}))
    assert engine.prefill(pack, "purpose", answers) == {"purpose_legitimate": "no"}


def test_prefill_gives_nothing_without_a_source(pack):
    answers = only_path(pack, answers_with(pack, {}))
    assert engine.prefill(pack, "recipient", answers) == {}


def test_revealed_by_names_the_choice_a_field_depends_on(pack):
    step = pack.steps["request_details"]
    assert engine.revealed_by(step, "requester_legal_basis_other") == (
        "requester_legal_basis",
        "other",
    )
    assert engine.revealed_by(step, "requester_org") is None
    assert engine.revealed_by(pack.steps["purpose"], "purpose_other") == (
        "purpose_categories",
        "other",
    )


def test_progress_counts_the_sections_on_the_likely_path(pack):
    answers = only_path(pack, answers_with(pack, {}))
    walk = engine.walk(pack, answers)
    assert engine.progress(pack, walk, "context") == (1, 6, "About the request")
    assert engine.progress(pack, walk, "consent") == (4, 6, "Consent")
    assert engine.progress(pack, walk, "share_with_consent") == (4, 6, "Consent")
    assert engine.progress(pack, walk, "record") == (6, 6, "Record")


def test_progress_projects_unanswered_questions_along_their_last_rule(pack):
    answers = only_path(pack, answers_with(pack, {}))
    partial = {s: answers[s] for s in ["context", "subject", "purpose", "information"]}
    walk = engine.walk(pack, partial)
    assert walk.next_step == "consent"
    # consent unanswered: its last rule (refused) leads on through the lawful reason section
    assert engine.progress(pack, walk, "consent") == (4, 7, "Consent")


def test_progress_of_a_refusal_is_short(pack):
    answers = only_path(pack, answers_with(pack, {"purpose": {"purpose_legitimate": "no"}}))
    walk = engine.walk(pack, answers)
    assert engine.progress(pack, walk, "not_sharing_reasons") == (3, 3, "Record")


def test_likely_path_of_a_complete_walk_is_its_nodes(pack):
    walk = engine.walk(pack, answers_with(pack, {}))
    assert engine.likely_path(pack, walk) == walk.nodes()


def test_pack_field_step_of_and_settled_by(pack):
    assert pack.field("gdpr_article6").kind == "radio"
    assert pack.step_of("gdpr_article6").id == "data_protection_basis"
    assert pack.settled_by("consent") == ["consent_after_advice"]
    with pytest.raises(KeyError):
        pack.field("nothing")


def test_every_edition_shares_one_flowchart(any_pack, pack):
    assert list(any_pack.steps) == list(pack.steps)
    assert list(any_pack.outcomes) == list(pack.outcomes)
    for step_id, step in pack.steps.items():
        assert any_pack.steps[step_id].next == step.next


# -- Conditions ---------------------------------------------------------------------------

TICKED = {"consent": "given", "lawful_reason": ["statutory_duty", "vital_interests"]}

# description, condition, expected
# fmt: off
CONDITIONS = [
    ("no condition always holds", None, True),
    ("equals matches", {"field": "consent", "equals": "given"}, True),
    ("equals differs", {"field": "consent", "equals": "refused"}, False),
    ("equals on a missing field", {"field": "absent", "equals": "given"}, False),
    ("not equals on a missing field", {"not": {"field": "absent", "equals": "given"}}, True),
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
