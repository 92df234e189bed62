"""Guidance packs: the shipped editions are valid and faithful to their sources; an edition
resolves onto the shared base; bad packs are refused with a PackError that names the problem
(docs/guidance-packs.md, "Validation").
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from decisions.guidance import engine
from decisions.guidance.overlay import pack_diff, resolve, resolve_file
from decisions.guidance.schema import (
    KNOWN_SOURCE_FILES,
    PackError,
    load_pack,
    pack_digest,
    read_pack_file,
)

GUIDANCE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "guidance"
PACK_FILES = sorted(GUIDANCE_DIR.glob("*.json"))
BASE_FILE = GUIDANCE_DIR / "base" / "key-questions.json"
V1_FILES = sorted((GUIDANCE_DIR / "archive").glob("*-v1.json"))
# In CI the repository is a clean clone with shared/ beside it.
SHARED_GUIDANCE = Path(__file__).resolve().parents[2] / "shared" / "guidance"


def shared_guidance() -> Path:
    """The source documents; their absence fails the test (a skip would hide a misquote)."""
    if not SHARED_GUIDANCE.is_dir():
        pytest.fail(
            f"The guidance source documents are missing: expected {SHARED_GUIDANCE} "
            "(shared/guidance/ beside the repository). Golden rules are checked against them."
        )
    return SHARED_GUIDANCE


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def source_text(pack: engine.Pack, source: str) -> str:
    path = shared_guidance() / pack.sources[source]["file"]
    return collapse(path.read_text(encoding="utf-8"))


def all_citations(data: dict[str, Any]) -> list[dict[str, Any]]:
    citations = [rule["citation"] for rule in data.get("golden_rules", [])]
    for item in data["steps"] + data["outcomes"]:
        citations += item.get("citations", [])
        if item.get("quote"):
            citations.append(item["quote"]["citation"])
        for rule in item.get("next", []) if isinstance(item.get("next"), list) else []:
            citations += rule.get("citations", [])
        sign_off = item.get("sign_off")
        for rule in sign_off if isinstance(sign_off, list) else []:
            citations += rule.get("citations", [])
        for prompt in item.get("prompts", []):
            citations += prompt.get("citations", [])
    return citations


def our_words(pack: engine.Pack) -> list[tuple[str, str]]:
    """(where, text) for every help text, hint, summary, prompt and reason: our own words."""
    texts = []
    for step in pack.steps.values():
        texts.append((f"step {step.id} help", step.help))
        texts += [(f"field {f.name} hint", f.hint) for f in step.fields if f.hint]
        texts += [(f"step {step.id} reason", rule.reason) for rule in step.next if rule.reason]
    for outcome in pack.outcomes.values():
        texts.append((f"outcome {outcome.id}", outcome.summary))
        texts += [(f"outcome {outcome.id} prompt", p.text) for p in outcome.prompts]
    return texts


# -- The shipped editions -----------------------------------------------------------------


def test_there_are_packs_to_check():
    assert [p.stem for p in PACK_FILES] == [
        "key-questions-2015",
        "key-questions-2018",
        "key-questions-2024",
    ]


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_shipped_pack_loads(pack_file):
    data, pack = read_pack_file(pack_file)
    assert pack.id == data["id"] == pack_file.stem
    assert pack.start in pack.steps
    assert {o.kind for o in pack.outcomes.values()} == set(engine.OUTCOME_KINDS)


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_each_changed_edition_has_a_new_version(pack_file):
    _, pack = read_pack_file(pack_file)
    old = next(p for p in V1_FILES if p.stem == f"{pack.id}-v1")
    assert pack.version > read_pack_file(old)[1].version


@pytest.mark.parametrize("v1_file", V1_FILES, ids=lambda p: p.stem)
def test_the_version_1_packs_old_records_use_still_load(v1_file):
    data, pack = read_pack_file(v1_file)
    assert pack.version == 1
    assert "base" not in json.loads(v1_file.read_text(encoding="utf-8"))
    assert pack_digest(data) == pack_digest(json.loads(v1_file.read_text(encoding="utf-8")))


def test_only_the_2015_edition_is_superseded():
    superseded = {
        read_pack_file(p)[1].edition for p in PACK_FILES if read_pack_file(p)[1].superseded
    }
    assert superseded == {"2015"}


def test_an_edition_file_is_a_small_overlay_on_the_base():
    base = BASE_FILE.read_text(encoding="utf-8")
    for pack_file in PACK_FILES:
        overlay = json.loads(pack_file.read_text(encoding="utf-8"))
        assert overlay["base"] == "base/key-questions.json"
        assert len(pack_file.read_text(encoding="utf-8")) < len(base) / 10


def test_the_stored_pack_is_the_whole_resolved_pack():
    data, pack = read_pack_file(GUIDANCE_DIR / "key-questions-2024.json")
    assert "base" not in data
    assert len(data["steps"]) == len(pack.steps)
    assert data == resolve_file(GUIDANCE_DIR / "key-questions-2024.json")


def test_safeguarding_partners_request_under_section_16h_except_in_2015():
    for pack_file in PACK_FILES:
        _, pack = read_pack_file(pack_file)
        values = {c.value for c in pack.field("duty_which").choices}
        expected = "ca2004_s14b" if pack.edition == "2015" else "ca2004_s16h"
        assert expected in values
        assert {"ca2004_s14b", "ca2004_s16h"} - {expected} & values == set()


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_shipped_pack_field_names_are_unique(pack_file):
    _, pack = read_pack_file(pack_file)
    names = [f.name for step in pack.steps.values() for f in step.fields]
    repeated = sorted({name for name in names if names.count(name) > 1})
    assert not repeated


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_the_reported_fields_keep_their_names(pack_file):
    _, pack = read_pack_file(pack_file)
    for name in (
        "direction",
        "concern_level",
        "purpose_categories",
        "consent",
        "lawful_reason",
        "gdpr_article6",
        "special_category_condition",
        "recipient_org",
        "method",
        "share_date",
        "case_reference",
        "initials",
        "age_band",
        "subject_type",
    ):
        pack.field(name)


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_shipped_pack_sources_are_known_guidance_files(pack_file):
    _, pack = read_pack_file(pack_file)
    unknown = [s["file"] for s in pack.sources.values() if s["file"] not in KNOWN_SOURCE_FILES]
    assert not unknown


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_shipped_pack_citations_name_its_sources(pack_file):
    data, pack = read_pack_file(pack_file)
    citations = all_citations(data)
    assert citations
    assert {c["source"] for c in citations} <= set(pack.sources)


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_every_rule_that_decides_gives_a_reason_and_cites_its_source(pack_file):
    _, pack = read_pack_file(pack_file)
    for step in pack.steps.values():
        if len(step.next) == 1:
            continue
        for number, rule in enumerate(step.next, start=1):
            assert rule.reason.strip(), f"{step.id} rule {number}"
            assert rule.citations, f"{step.id} rule {number}"
    for outcome in pack.outcomes.values():
        for rule in outcome.sign_off:
            if rule.value != "none":
                assert rule.reason.strip() and rule.citations, outcome.id
        assert outcome.citations, outcome.id
        assert all(prompt.citations for prompt in outcome.prompts), outcome.id


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_every_step_cites_the_guidance(pack_file):
    _, pack = read_pack_file(pack_file)
    assert all(step.citations for step in pack.steps.values())


def test_every_known_source_file_is_in_shared_guidance():
    missing = sorted(f for f in KNOWN_SOURCE_FILES if not (shared_guidance() / f).is_file())
    assert not missing


@pytest.mark.parametrize("pack_file", PACK_FILES + V1_FILES, ids=lambda p: p.stem)
def test_golden_rules_are_quoted_verbatim_from_their_source(pack_file):
    _, pack = read_pack_file(pack_file)
    assert len(pack.golden_rules) == 7
    misquoted = [
        rule["number"]
        for rule in pack.golden_rules
        if collapse(rule["text"]) not in source_text(pack, rule["citation"]["source"])
    ]
    assert not misquoted, f"golden rules not found verbatim in their source: {misquoted}"


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_quotations_are_verbatim_from_their_source(pack_file):
    _, pack = read_pack_file(pack_file)
    misquoted = [
        step.id
        for step in pack.steps.values()
        if step.quote
        and collapse(step.quote["text"]) not in source_text(pack, step.quote["citation"]["source"])
    ]
    assert not misquoted


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_help_texts_are_our_own_words(pack_file):
    # Guidance text appears only as attributed quotations: no run of ten words in a help
    # text, hint, summary, prompt or reason is copied from a source.
    _, pack = read_pack_file(pack_file)
    sources = " ".join(source_text(pack, key).lower() for key in pack.sources)
    copied = []
    for where, text in our_words(pack):
        words = collapse(text).lower().split()
        for i in range(len(words) - 9):
            if " ".join(words[i : i + 10]) in sources:
                copied.append((where, " ".join(words[i : i + 10])))
                break
    assert not copied


# -- Bad packs ----------------------------------------------------------------------------
#
# A minimal valid pack: purpose -> consent -> lawful_reason -> record, two outcomes. Each test
# deep-copies it and breaks one thing.

SOURCE = "bathnes-2018"


def cite(section: str) -> dict[str, str]:
    return {"source": SOURCE, "section": section}


VALID = {
    "id": "test-pack",
    "version": 1,
    "edition": "2018",
    "title": "A test pack",
    "summary": "The smallest pack that exercises the validator.",
    "sources": {
        SOURCE: {
            "file": "bathnes-multi-agency-information-sharing-guidance-2018.txt",
            "title": "B&NES multi-agency information sharing guidance (2018)",
        }
    },
    "golden_rules": [{"number": 1, "text": "Record your decision.", "citation": cite("Section 5")}],
    "start": "purpose",
    "steps": [
        {
            "id": "purpose",
            "section": "flowchart",
            "title": "Is there a clear and legitimate purpose for sharing?",
            "help": "Help.",
            "citations": [cite("Section 11, question 1")],
            "fields": [{"name": "purpose_legitimate", "kind": "yesno", "label": "Purpose"}],
            "next": [
                {"when": {"field": "purpose_legitimate", "equals": "no"}, "goto": "dont_share"},
                {"goto": "consent"},
            ],
        },
        {
            "id": "consent",
            "section": "flowchart",
            "title": "Do you have consent?",
            "help": "Help.",
            "fields": [
                {
                    "name": "consent",
                    "kind": "radio",
                    "label": "Consent",
                    "choices": [
                        {"value": "given", "label": "Given"},
                        {"value": "refused", "label": "Refused"},
                    ],
                }
            ],
            "next": [
                {"when": {"field": "consent", "equals": "given"}, "goto": "share"},
                {"goto": "lawful_reason"},
            ],
        },
        {
            "id": "lawful_reason",
            "section": "flowchart",
            "title": "Is there another lawful reason?",
            "help": "Help.",
            "fields": [
                {
                    "name": "lawful_reason",
                    "kind": "checkboxes",
                    "label": "Lawful reason",
                    "choices": [
                        {"value": "public_interest", "label": "Public interest"},
                        {"value": "none", "label": "None"},
                    ],
                }
            ],
            "next": [
                {"when": {"field": "lawful_reason", "contains": "none"}, "goto": "dont_share"},
                {"goto": "share"},
            ],
        },
        {
            "id": "record",
            "section": "record",
            "title": "Record the reasons",
            "help": "Help.",
            "fields": [{"name": "notes", "kind": "textarea", "label": "Notes"}],
            "next": [{"goto": "end"}],
        },
    ],
    "outcomes": [
        {
            "id": "dont_share",
            "kind": "do_not_share",
            "title": "Do not share",
            "summary": "Summary.",
            "needs_approval": False,
            "next": "record",
        },
        {
            "id": "share",
            "kind": "share_without_consent",
            "title": "You may share",
            "summary": "Summary.",
            "needs_approval": {"field": "purpose_legitimate", "equals": "yes"},
            "next": "record",
        },
    ],
}


@pytest.fixture
def data() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def step(data: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in data["steps"] if s["id"] == step_id)


def outcome(data: dict[str, Any], outcome_id: str) -> dict[str, Any]:
    return next(o for o in data["outcomes"] if o["id"] == outcome_id)


def refused(data: Any) -> str:
    with pytest.raises(PackError) as caught:
        load_pack(data)
    return str(caught.value)


def test_the_test_pack_is_valid(data):
    pack = load_pack(data)
    assert list(pack.steps) == ["purpose", "consent", "lawful_reason", "record"]
    assert set(pack.outcomes) == {"dont_share", "share"}


@pytest.mark.parametrize("not_a_pack", [[], "a pack", None, 1])
def test_pack_that_is_not_an_object_is_refused(not_a_pack):
    assert "must be a JSON object" in refused(not_a_pack)


@pytest.mark.parametrize(
    "key", ["id", "version", "edition", "title", "start", "sources", "steps", "outcomes"]
)
def test_pack_missing_a_key_is_refused(data, key):
    del data[key]
    assert f"missing top-level key {key!r}" in refused(data)


@pytest.mark.parametrize("version", [0, -1, "1", 1.5, None])
def test_bad_version_is_refused(data, version):
    data["version"] = version
    assert "version must be a positive whole number" in refused(data)


def test_boolean_version_is_refused(data):
    # bool is a subclass of int in Python: true must not pass as version 1
    data["version"] = True
    assert "version must be a positive whole number" in refused(data)


def test_source_with_unknown_file_is_refused(data):
    data["sources"][SOURCE]["file"] = "made-up-guidance.txt"
    assert f"source {SOURCE!r} does not name a known guidance file" in refused(data)


def test_citation_with_unknown_source_is_refused(data):
    step(data, "consent")["citations"] = [{"source": "nowhere-2020", "section": "1"}]
    assert "step 'consent': citation" in (message := refused(data))
    assert "names an unknown source" in message


def test_golden_rule_citing_unknown_source_is_refused(data):
    data["golden_rules"][0]["citation"]["source"] = "nowhere-2020"
    assert "golden rule 1: citation" in refused(data)


def test_field_of_unknown_kind_is_refused(data):
    step(data, "record")["fields"][0]["kind"] = "slider"
    assert "field 'notes': unknown kind 'slider'" in refused(data)


def test_radio_without_choices_is_refused(data):
    del step(data, "consent")["fields"][0]["choices"]
    assert "field 'consent': a radio field needs choices" in refused(data)


def test_repeated_choice_values_are_refused(data):
    step(data, "consent")["fields"][0]["choices"][1]["value"] = "given"
    assert "field 'consent': choice values repeat" in refused(data)


def test_choice_that_is_not_an_object_is_refused(data):
    step(data, "consent")["fields"][0]["choices"] = ["given", "refused"]
    assert "field 'consent'" in refused(data)


def test_quote_that_is_not_an_object_is_refused(data):
    step(data, "consent")["quote"] = "Share with informed consent where appropriate."
    assert "step 'consent', quote" in refused(data)


def test_repeated_step_id_is_refused(data):
    data["steps"].append(copy.deepcopy(step(data, "record")))
    assert "step 'record': id used twice" in refused(data)


def test_field_name_used_on_two_steps_is_refused(data):
    step(data, "record")["fields"][0]["name"] = "consent"
    assert "field name 'consent' is used twice" in refused(data)


def test_rule_to_unknown_target_is_refused(data):
    step(data, "consent")["next"][1]["goto"] = "nowhere"
    assert "step 'consent' leads to unknown step 'nowhere'" in refused(data)


def test_outcome_to_unknown_target_is_refused(data):
    outcome(data, "share")["next"] = "nowhere"
    assert "outcome 'share' leads to unknown step 'nowhere'" in refused(data)


def test_last_rule_with_a_condition_is_refused_as_a_dead_end(data):
    step(data, "consent")["next"][1]["when"] = {"field": "consent", "equals": "refused"}
    assert "step 'consent': the last rule must have no 'when'" in refused(data)


def test_start_that_is_not_a_step_is_refused(data):
    data["start"] = "share"
    assert "start 'share' is not a step" in refused(data)


def test_unreachable_step_is_refused(data):
    orphan = copy.deepcopy(step(data, "record"))
    orphan["id"] = "orphan"
    orphan["fields"][0]["name"] = "orphan_notes"
    data["steps"].append(orphan)
    assert "not reachable from the start: orphan" in refused(data)


def test_unreachable_outcome_is_refused(data):
    extra = copy.deepcopy(outcome(data, "dont_share"))
    extra["id"] = "can_share"
    extra["kind"] = "can_share"
    data["outcomes"].append(extra)
    assert "not reachable from the start: can_share" in refused(data)


def test_cycle_is_refused(data):
    step(data, "lawful_reason")["next"][1]["goto"] = "consent"
    assert "cycle: consent -> lawful_reason -> consent" in refused(data)


def test_path_reaching_the_end_without_an_outcome_is_refused(data):
    step(data, "purpose")["next"][0]["goto"] = "record"
    assert "step 'record' reaches the end without an outcome" in refused(data)


def test_path_meeting_two_outcomes_is_refused(data):
    outcome(data, "dont_share")["next"] = "share"
    assert "a path meets a second outcome at 'share'" in refused(data)


def test_condition_naming_unknown_field_is_refused(data):
    step(data, "consent")["next"][0]["when"] = {"field": "agreement", "equals": "given"}
    assert "step 'consent', rule 1: condition names unknown field 'agreement'" in refused(data)


def test_condition_naming_a_later_field_is_refused(data):
    step(data, "purpose")["next"][0]["when"] = {"field": "consent", "equals": "given"}
    assert "field 'consent' may not be answered on every path" in refused(data)


def test_condition_naming_a_field_answered_on_one_branch_only_is_refused(data):
    # record is reached from dont_share straight after purpose, where consent is unasked
    step(data, "record")["next"].insert(
        0, {"when": {"field": "consent", "equals": "given"}, "goto": "end"}
    )
    assert "step 'record', rule 1: field 'consent' may not be answered" in refused(data)


def test_approval_condition_naming_a_field_not_yet_answered_is_refused(data):
    outcome(data, "dont_share")["needs_approval"] = {"field": "consent", "equals": "refused"}
    assert "outcome 'dont_share', sign_off 1: field 'consent' may not be" in refused(data)


def test_condition_with_unknown_choice_value_is_refused(data):
    step(data, "consent")["next"][0]["when"] = {"field": "consent", "equals": "maybe"}
    assert "'consent' has no choice 'maybe'" in refused(data)


def test_condition_with_unknown_yesno_value_is_refused(data):
    step(data, "purpose")["next"][0]["when"] = {"field": "purpose_legitimate", "equals": "n"}
    assert "'purpose_legitimate' has no choice 'n'" in refused(data)


def test_contains_on_a_radio_is_refused(data):
    step(data, "consent")["next"][0]["when"] = {"field": "consent", "contains": "given"}
    assert "'contains' only applies to checkboxes, not 'consent'" in refused(data)


def test_equals_on_checkboxes_is_refused(data):
    # a list of ticked values never equals one value, so the rule could never be taken
    step(data, "lawful_reason")["next"][0]["when"] = {"field": "lawful_reason", "equals": "none"}
    message = refused(data)
    assert "step 'lawful_reason', rule 1" in message
    assert "'equals'" in message


def test_condition_with_two_operators_is_refused(data):
    step(data, "consent")["next"][0]["when"] = {
        "field": "consent",
        "equals": "given",
        "in": ["given"],
    }
    assert "a condition needs exactly one of" in refused(data)


def test_step_id_clashing_with_an_outcome_id_is_refused(data):
    step(data, "record")["id"] = "share"
    assert "ids used for both a step and an outcome or 'end': ['share']" in refused(data)


def test_step_called_end_is_refused(data):
    step(data, "record")["id"] = "end"
    assert "ids used for both a step and an outcome or 'end': ['end']" in refused(data)


# -- Reading pack files -------------------------------------------------------------------


def test_read_pack_file_returns_the_data_and_the_pack(tmp_path):
    path = tmp_path / "test-pack.json"
    path.write_text(json.dumps(VALID), encoding="utf-8")
    data, pack = read_pack_file(path)
    assert data == VALID
    assert pack.id == "test-pack"


def test_read_pack_file_with_invalid_json_names_the_file(tmp_path):
    path = tmp_path / "broken-pack.json"
    path.write_text('{"id": "broken", ', encoding="utf-8")
    with pytest.raises(PackError, match=r"^broken-pack\.json: cannot be read as JSON"):
        read_pack_file(path)


def test_read_pack_file_with_a_bad_pack_names_the_file_and_the_problem(tmp_path):
    bad = copy.deepcopy(VALID)
    bad["version"] = 0
    path = tmp_path / "bad-pack.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(PackError, match=r"^bad-pack\.json: version must be a positive"):
        read_pack_file(path)


# -- The new pack features ------------------------------------------------------------------


def test_exclusive_checkbox_choice_is_read(data):
    pack = load_pack(data)
    assert [c.exclusive for c in pack.field("lawful_reason").choices] == [False, False]
    step(data, "lawful_reason")["fields"][0]["choices"][1]["exclusive"] = True
    assert load_pack(data).field("lawful_reason").choices[1].exclusive is True


def test_exclusive_radio_choice_is_refused(data):
    step(data, "consent")["fields"][0]["choices"][0]["exclusive"] = True
    assert "only a checkbox choice may be exclusive" in refused(data)


def add_field(data: dict[str, Any], step_id: str, **extra: Any) -> dict[str, Any]:
    new = {"name": "details", "kind": "text", "label": "Details", **extra}
    step(data, step_id)["fields"].append(new)
    return new


def test_required_when_makes_a_field_conditionally_required(data):
    add_field(data, "consent", required_when={"field": "consent", "equals": "refused"})
    pack = load_pack(data)
    assert pack.field("details").required is False
    assert engine.step_errors(pack, "consent", {"consent": "refused"}, {"purpose": {}}) == {
        "details": "Answer the question: Details"
    }


def test_required_when_with_required_true_is_refused(data):
    add_field(data, "consent", required=True, required_when={"field": "consent", "equals": "given"})
    assert "must not be required: true" in refused(data)


def test_required_when_naming_an_unknown_field_is_refused(data):
    add_field(data, "consent", required_when={"field": "nothing", "equals": "x"})
    assert "field 'details': condition names unknown field 'nothing'" in refused(data)


def test_required_when_naming_a_later_field_is_refused(data):
    add_field(data, "purpose", required_when={"field": "consent", "equals": "given"})
    assert "field 'consent' is never answered before here" in refused(data)


def test_refusal_of_a_field_on_another_step_is_refused(data):
    step(data, "consent")["refuse"] = [
        {"when": {"field": "consent", "equals": "given"}, "field": "notes", "message": "No."}
    ]
    assert "step 'consent', refuse 1: 'notes' is not a field of this step" in refused(data)


def test_refusal_without_a_message_is_refused(data):
    step(data, "consent")["refuse"] = [
        {"when": {"field": "consent", "equals": "given"}, "field": "consent"}
    ]
    assert "'message' must be non-empty text" in refused(data)


def test_refusal_may_name_a_field_answered_on_some_path_only(data):
    # record follows purpose directly (no consent) on one path: missing counts as unanswered
    step(data, "record")["refuse"] = [
        {"when": {"field": "consent", "equals": "refused"}, "field": "notes", "message": "No."}
    ]
    pack = load_pack(data)
    answers = {"purpose": {"purpose_legitimate": "no"}}
    assert engine.step_errors(pack, "record", {"notes": "x"}, answers) == {}
    answers = {
        "purpose": {"purpose_legitimate": "yes"},
        "consent": {"consent": "refused"},
        "lawful_reason": {"lawful_reason": ["public_interest"]},
    }
    assert engine.step_errors(pack, "record", {"notes": "x"}, answers) == {"notes": "No."}


def test_show_when_naming_a_field_of_the_same_step_is_refused(data):
    add_field(data, "consent", show_when={"field": "consent", "equals": "given"})
    assert "show_when: field 'consent' is never answered before here" in refused(data)


def test_show_when_hides_a_field(data):
    add_field(data, "record", show_when={"field": "consent", "equals": "refused"})
    pack = load_pack(data)
    answers = {"purpose": {"purpose_legitimate": "no"}}
    assert [f.name for f in engine.visible_fields(pack, "record", answers)] == ["notes"]


def test_recall_of_a_field_not_always_answered_is_refused(data):
    step(data, "record")["recall"] = ["consent"]
    assert "recall names 'consent', not answered on every path" in refused(data)


def recheck(data: dict[str, Any], **field_extra: Any) -> None:
    """A re-ask of consent between consent and lawful_reason."""
    step(data, "consent")["next"][1]["goto"] = "consent_recheck"
    data["steps"].insert(
        2,
        {
            "id": "consent_recheck",
            "section": "flowchart",
            "title": "Having taken advice, do you have consent?",
            "help": "Help.",
            "recall": ["purpose_legitimate"],
            "fields": [
                {
                    "name": "consent_again",
                    "kind": "radio",
                    "label": "Consent",
                    "choices": [{"value": "given", "label": "Given"}],
                    "settles": "consent",
                    **field_extra,
                }
            ],
            "next": [
                {"when": {"field": "consent", "equals": "given"}, "goto": "share"},
                {"goto": "lawful_reason"},
            ],
        },
    )


def test_a_re_ask_settles_the_earlier_answer(data):
    recheck(data)
    pack = load_pack(data)
    answers = {
        "purpose": {"purpose_legitimate": "yes"},
        "consent": {"consent": "refused"},
        "consent_recheck": {"consent_again": "given"},
    }
    result = engine.walk(pack, answers)
    assert result.values["consent"] == "given"
    assert result.outcome.id == "share"
    assert pack.steps["consent_recheck"].recall == ("purpose_legitimate",)


def test_settling_an_unknown_value_is_refused(data):
    recheck(data, choices=[{"value": "maybe", "label": "Maybe"}])
    assert "'consent' has no choice 'maybe'" in refused(data)


def test_settling_a_later_field_is_refused(data):
    recheck(data, settles="lawful_reason")
    assert "settles 'lawful_reason', not answered on every path" in refused(data)


def test_prefill_from_a_field_never_answered_before_is_refused(data):
    step(data, "purpose")["prefill"] = [{"field": "purpose_legitimate", "from": "consent"}]
    assert "'consent' is never answered before this step" in refused(data)


def test_prefill_of_an_unknown_value_is_refused(data):
    step(data, "consent")["prefill"] = [{"field": "consent", "value": "maybe"}]
    assert "'consent' has no choice 'maybe'" in refused(data)


def test_prefill_needs_exactly_one_source(data):
    step(data, "consent")["prefill"] = [{"field": "consent", "value": "given", "from": "x"}]
    assert "needs 'field' and one of 'from' or 'value'" in refused(data)


def test_prefill_maps_an_earlier_answer(data):
    step(data, "consent")["prefill"] = [
        {"field": "consent", "from": "purpose_legitimate", "map": {"yes": "given"}}
    ]
    pack = load_pack(data)
    assert engine.prefill(pack, "consent", {"purpose": {"purpose_legitimate": "yes"}}) == {
        "consent": "given"
    }
    assert engine.prefill(pack, "consent", {"purpose": {"purpose_legitimate": "no"}}) == {}


@pytest.mark.parametrize(
    ("sign_off", "message"),
    [
        ("later", "value must be one of none, before, after"),
        (
            [{"when": {"field": "consent", "equals": "given"}, "value": "before"}],
            "the last sign_off rule must have no 'when'",
        ),
        ([], "sign_off must be one of"),
    ],
)
def test_bad_sign_off_is_refused(data, sign_off, message):
    outcome(data, "share")["sign_off"] = sign_off
    del outcome(data, "share")["needs_approval"]
    assert message in refused(data)


def test_sign_off_and_needs_approval_together_are_refused(data):
    outcome(data, "share")["sign_off"] = "before"
    assert "give sign_off or needs_approval, not both" in refused(data)


def test_sign_off_after_is_a_review_once_it_has_taken_effect(data):
    del outcome(data, "share")["needs_approval"]
    outcome(data, "share")["sign_off"] = "after"
    pack = load_pack(data)
    answers = {"purpose": {"purpose_legitimate": "yes"}, "consent": {"consent": "given"}}
    result = engine.walk(pack, answers)
    assert (result.sign_off, result.needs_approval) == ("after", True)


def test_legacy_needs_approval_condition_becomes_sign_off_before(data):
    pack = load_pack(data)
    rules = pack.outcomes["share"].sign_off
    assert [r.value for r in rules] == ["before", "none"]
    assert rules[0].when == {"field": "purpose_legitimate", "equals": "yes"}


def test_prompt_citing_an_unknown_source_is_refused(data):
    outcome(data, "share")["prompts"] = [
        {"text": "Tell them.", "citations": [{"source": "x", "section": "1"}]}
    ]
    assert "outcome 'share', prompt 1: citation" in refused(data)


def test_prompt_shows_when_its_condition_holds(data):
    outcome(data, "share")["prompts"] = [
        {
            "text": "Consent given.",
            "when": {"field": "consent", "equals": "given"},
            "citations": [cite("1")],
        }
    ]
    pack = load_pack(data)
    result = engine.walk(
        pack, {"purpose": {"purpose_legitimate": "yes"}, "consent": {"consent": "given"}}
    )
    assert [p.text for p in result.prompts] == ["Consent given."]


def test_rule_citing_an_unknown_source_is_refused(data):
    step(data, "consent")["next"][0]["citations"] = [{"source": "x", "section": "1"}]
    assert "step 'consent', rule 1: citation" in refused(data)


def test_step_in_an_undeclared_section_is_refused(data):
    data["sections"] = [{"id": "flowchart", "title": "Flowchart"}]
    assert "step 'record': section must be one of flowchart" in refused(data)


def test_repeated_section_ids_are_refused(data):
    data["sections"] = [{"id": "flowchart", "title": "A"}, {"id": "flowchart", "title": "B"}]
    assert "section ids repeat" in refused(data)


def test_superseded_must_be_true_or_false(data):
    data["superseded"] = "yes"
    assert "superseded must be true or false" in refused(data)
    data["superseded"] = True
    assert load_pack(data).superseded is True


# -- Editions: a base and an overlay --------------------------------------------------------

OVERLAY = {
    "base": "base.json",
    "id": "test-pack-2024",
    "version": 2,
    "edition": "2024",
    "golden_rules": [{"number": 1, "text": "Seek advice.", "citation": cite("Section 6")}],
    "steps": {
        "consent": {
            "help": "New help.",
            "+citations": [cite("Section 13")],
            "fields": {"consent": {"choices": {"refused": {"label": "Refused or withdrawn"}}}},
        }
    },
    "outcomes": {"share": {"title": "You may share now"}},
}


def test_an_overlay_changes_only_what_it_names(data):
    resolved = resolve(data, OVERLAY)
    assert resolved["id"] == "test-pack-2024"
    assert resolved["golden_rules"][0]["text"] == "Seek advice."
    assert "base" not in resolved
    consent = step(resolved, "consent")
    assert consent["help"] == "New help."
    assert consent["citations"] == [cite("Section 13")]
    assert consent["fields"][0]["choices"][1] == {
        "value": "refused",
        "label": "Refused or withdrawn",
    }
    assert outcome(resolved, "share")["title"] == "You may share now"
    assert step(resolved, "purpose") == step(data, "purpose")
    assert step(data, "consent")["help"] == "Help.", "the base is left unchanged"
    load_pack(resolved)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"steps": {"nowhere": {"help": "x"}}}, "step 'nowhere', which the base lacks"),
        ({"steps": {"consent": {"fields": {"nothing": {"label": "x"}}}}}, "patches 'nothing'"),
        ({"steps": {"consent": {"+help": ["x"]}}}, "'+help' appends a list to a list"),
        ({"steps": ["consent"]}, "must be an object keyed by id"),
    ],
)
def test_a_bad_overlay_is_refused(data, patch, message):
    with pytest.raises(PackError, match=re.escape(message)):
        resolve(data, {**OVERLAY, **patch})


def test_an_edition_file_is_resolved_onto_its_base(tmp_path, data):
    (tmp_path / "base.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "test-pack-2024.json").write_text(json.dumps(OVERLAY), encoding="utf-8")
    stored, pack = read_pack_file(tmp_path / "test-pack-2024.json")
    assert pack.id == "test-pack-2024"
    assert stored == resolve(data, OVERLAY)


def test_an_edition_whose_base_is_missing_names_the_base(tmp_path):
    (tmp_path / "test-pack-2024.json").write_text(json.dumps(OVERLAY), encoding="utf-8")
    with pytest.raises(PackError, match=r"^base\.json: cannot be read as JSON"):
        read_pack_file(tmp_path / "test-pack-2024.json")


def test_diff_lists_what_changed_between_editions(data):
    lines = pack_diff(data, resolve(data, OVERLAY))
    assert lines[0] == "--- test-pack v1 (2018)"
    assert lines[1] == "+++ test-pack-2024 v2 (2024)"
    assert "id: 'test-pack' -> 'test-pack-2024'" in lines
    assert "steps[consent].help: 'Help.' -> 'New help.'" in lines
    assert any(line.startswith("golden_rules[1].text:") for line in lines)
    assert any(line.startswith("steps[consent].citations: added") for line in lines)
    assert (
        "steps[consent].fields[consent].choices[refused].label: 'Refused' -> 'Refused or withdrawn'"
        in lines
    )


def test_diff_of_an_edition_with_itself_is_empty(data):
    assert pack_diff(data, data)[2:] == ["no differences"]


def test_diff_names_added_and_removed_steps(data):
    changed = copy.deepcopy(data)
    changed["steps"] = [s for s in changed["steps"] if s["id"] != "record"]
    lines = pack_diff(data, changed)
    assert "steps[record]: removed" in lines
