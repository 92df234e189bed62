"""Guidance packs: the shipped packs are valid and faithful to their sources; bad packs are
refused with a PackError that names the problem (docs/guidance-packs.md, "Validation").
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from decisions.guidance.schema import KNOWN_SOURCE_FILES, PackError, load_pack, read_pack_file

GUIDANCE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "guidance"
PACK_FILES = sorted(GUIDANCE_DIR.glob("*.json"))
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


def all_citations(data: dict[str, Any]) -> list[dict[str, Any]]:
    citations = [rule["citation"] for rule in data.get("golden_rules", [])]
    for item in data["steps"] + data["outcomes"]:
        citations += item.get("citations", [])
        if item.get("quote"):
            citations.append(item["quote"]["citation"])
    return citations


# -- The shipped packs --------------------------------------------------------------------


def test_there_are_packs_to_check():
    assert PACK_FILES, f"no guidance packs in {GUIDANCE_DIR}"


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_shipped_pack_loads(pack_file):
    data, pack = read_pack_file(pack_file)
    assert pack.id == data["id"] == pack_file.stem
    assert pack.start in pack.steps
    assert len(pack.outcomes) == 4


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_shipped_pack_field_names_are_unique(pack_file):
    _, pack = read_pack_file(pack_file)
    names = [f.name for step in pack.steps.values() for f in step.fields]
    repeated = sorted({name for name in names if names.count(name) > 1})
    assert not repeated


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


def test_every_known_source_file_is_in_shared_guidance():
    missing = sorted(f for f in KNOWN_SOURCE_FILES if not (shared_guidance() / f).is_file())
    assert not missing


@pytest.mark.parametrize("pack_file", PACK_FILES, ids=lambda p: p.stem)
def test_golden_rules_are_quoted_verbatim_from_their_source(pack_file):
    sources_dir = shared_guidance()
    _, pack = read_pack_file(pack_file)
    assert len(pack.golden_rules) == 7
    misquoted = []
    for rule in pack.golden_rules:
        source_file = pack.sources[rule["citation"]["source"]]["file"]
        source_text = collapse((sources_dir / source_file).read_text(encoding="utf-8"))
        if collapse(rule["text"]) not in source_text:
            misquoted.append((rule["number"], source_file))
    assert not misquoted, f"golden rules not found verbatim in their source: {misquoted}"


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
    assert "outcome 'dont_share': field 'consent' may not be answered" in refused(data)


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
