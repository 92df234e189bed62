"""The shape of decisions/: audit actions are named members, never bare strings, so the audit
log's filter can offer every action that can appear. (Import directions: `lint-imports`.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

from decisions.audit.actions import AuditAction, action_label
from decisions.forms.audit import AuditFilterForm

WRITERS = {"record_event", "log_read", "_log_refusal"}
APP = Path(settings.BASE_DIR) / "decisions"


def _calls_with_a_bare_action(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name in WRITERS and any(
            isinstance(part, ast.Constant | ast.JoinedStr) for part in ast.walk(node.args[0])
        ):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_audit_event_is_written_with_a_bare_action_string():
    offenders = [
        place
        for path in sorted(APP.rglob("*.py"))
        if "migrations" not in path.parts
        for place in _calls_with_a_bare_action(path)
    ]
    assert offenders == []


def test_the_check_finds_a_bare_action_string(tmp_path):
    module = tmp_path / "example.py"
    module.write_text('record_event("decision.viewed", actor=None)\nrecord_event(f"x.{y}")\n')
    assert _calls_with_a_bare_action(module) == ["example.py:1", "example.py:2"]


@pytest.mark.django_db
def test_the_audit_filter_offers_every_action_the_app_writes(lead):
    offered = dict(AuditFilterForm(user=lead).fields["action"].choices)
    for action in AuditAction:
        assert offered[action.value] == action.label


@pytest.mark.parametrize(
    "action",
    [
        AuditAction.REPORT_EXPORTED,
        AuditAction.REPORT_EXPORT_REQUESTED,
        AuditAction.REPORT_EXPORT_FINISHED,
        AuditAction.REPORT_EXPORT_DOWNLOADED,
    ],
)
def test_report_actions_show_in_words(action):
    assert action_label(action.value) != action.value


def test_an_action_this_version_does_not_know_shows_as_stored():
    assert action_label("legacy.something") == "legacy.something"
