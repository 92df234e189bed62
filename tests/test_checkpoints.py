"""Signed checkpoints of the chain head, kept outside the database, catch what the chain cannot:
a rewrite with recomputed hashes and a cut tail with the head moved back; and a tampered
checkpoint file is caught by its signatures."""

from __future__ import annotations

import json
import stat
from io import StringIO

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from decisions.audit import audit_verify, record_event, verify_chain
from decisions.audit.canonical import event_hash
from decisions.audit.checkpoints import FILE_NAME
from decisions.audit.tasks import audit_checkpoint_task
from decisions.models import AuditChain, AuditEvent

pytestmark = pytest.mark.django_db

KEY = "test-checkpoint-key-0123456789abcdef"


@pytest.fixture
def keyed(settings, tmp_path):
    settings.ISG_CHECKPOINT_KEY = KEY
    settings.ISG_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    settings.ISG_CHECKPOINT_EMAILS = []
    return tmp_path / "checkpoints" / FILE_NAME


@pytest.fixture
def events(practitioner):
    return [record_event("test.event", actor=practitioner, details={"n": n}) for n in range(6)]


def checkpoint() -> str:
    out = StringIO()
    call_command("audit_checkpoint", stdout=out)
    return out.getvalue()


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def verify_fails(path) -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", "--no-record", "--checkpoint", str(path), stdout=StringIO())
    return str(failure.value)


def tamper(sql: str, params: list) -> None:
    """As a database owner could: with the append-only trigger switched off (PostgreSQL)."""
    with pgtrigger.ignore("decisions.AuditEvent:append_only"), connection.cursor() as cursor:
        cursor.execute(sql, params)


def rewrite_from(position: int, action: str = "test.rewritten") -> None:
    """Change the test events' chain from `position` on and recompute every hash: the chain
    stays intact."""
    key = AuditEvent.objects.filter(action="test.event").first().chain
    chain = AuditEvent.objects.filter(chain=key)
    previous = chain.get(position=position - 1).hash
    for event in chain.filter(position__gte=position).order_by("position"):
        event.previous_hash = previous
        if event.position == position:
            event.action = action
        event.hash = event_hash(event)
        tamper(
            "UPDATE decisions_auditevent SET action = %s, previous_hash = %s, hash = %s "
            "WHERE id = %s",
            [event.action, event.previous_hash, event.hash, event.pk],
        )
        previous = event.hash
    AuditChain.objects.filter(key=key).update(hash=previous)


# ---- taking checkpoints ------------------------------------------------------------------


def test_a_checkpoint_is_one_signed_line_naming_the_head(keyed, events):
    assert f"Checkpoint of event #{events[-1].sequence}" in checkpoint()
    [line] = lines(keyed)
    assert (line["sequence"], line["hash"]) == (events[-1].sequence, events[-1].hash)
    assert line["heads"][events[-1].chain] == [6, events[-1].hash]
    assert len(line["signature"]) == 64 and line["created_at"].endswith("+00:00")


def test_the_checkpoint_file_is_readable_by_its_owner_only(keyed, events):
    checkpoint()
    assert stat.S_IMODE(keyed.stat().st_mode) == 0o600


def test_each_checkpoint_is_appended(keyed, events, practitioner):
    checkpoint()
    record_event("test.later", actor=practitioner)
    checkpoint()
    last = events[-1].sequence
    assert [line["sequence"] for line in lines(keyed)] == [last, last + 1]


def test_a_checkpoint_can_be_emailed(settings, keyed, events, mailoutbox):
    settings.ISG_CHECKPOINT_EMAILS = ["governance@example.org"]
    checkpoint()
    [mail] = mailoutbox
    assert mail.to == ["governance@example.org"]
    assert mail.subject == f"ISG audit checkpoint: event #{events[-1].sequence}"
    assert json.dumps(lines(keyed)[0], sort_keys=True, separators=(",", ":")) in mail.body


def test_without_a_key_no_checkpoint_is_taken(settings, keyed, events):
    settings.ISG_CHECKPOINT_KEY = ""
    with pytest.raises(CommandError, match="ISG_CHECKPOINT_KEY must be set"):
        checkpoint()


def test_a_checkpoint_kept_nowhere_is_refused(settings, keyed, events):
    settings.ISG_CHECKPOINT_DIR = ""
    with pytest.raises(CommandError, match="kept nowhere"):
        checkpoint()


def test_a_broken_log_is_not_checkpointed(keyed, events):
    second = events[1].sequence
    tamper("UPDATE decisions_auditevent SET role = 'admin' WHERE sequence = %s", [second])
    with pytest.raises(CommandError, match=f"broken at event #{second}"):
        checkpoint()
    assert not keyed.exists()


def test_a_log_that_disagrees_with_its_checkpoints_gets_no_new_one(keyed, events):
    checkpoint()
    rewrite_from(3)
    with pytest.raises(CommandError, match="rewritten"):
        checkpoint()
    assert len(lines(keyed)) == 1


def test_the_task_takes_a_checkpoint_for_a_scheduler(settings, keyed, events):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    result = audit_checkpoint_task.enqueue()
    assert result.return_value["sequence"] == events[-1].sequence
    assert len(lines(keyed)) == 1


# ---- checking against them ---------------------------------------------------------------


def test_an_intact_log_agrees_with_its_checkpoints(keyed, events, practitioner):
    checkpoint()
    record_event("test.later", actor=practitioner)
    checkpoint()
    out = StringIO()
    call_command("verify_audit", "--no-record", "--checkpoint", str(keyed), stdout=out)
    assert "Signed checkpoints agreeing with the chain: 2" in out.getvalue()


def test_a_rewrite_with_recomputed_hashes_passes_the_chain_but_not_a_checkpoint(
    settings, keyed, events
):
    checkpoint()
    rewrite_from(3)
    settings.ISG_CHECKPOINT_DIR = ""
    assert verify_chain().ok  # the chain alone is fooled
    message = verify_fails(keyed)
    assert f"BROKEN at event #{events[-1].sequence}" in message
    assert "its hash differs, so the log was rewritten up to there" in message


def test_a_cut_tail_with_the_head_moved_back_is_caught(keyed, events):
    checkpoint()
    fourth = events[3]
    tamper("DELETE FROM decisions_auditevent WHERE sequence > %s", [fourth.sequence])
    AuditChain.objects.filter(key=fourth.chain).update(position=fourth.position, hash=fourth.hash)
    message = verify_fails(keyed)
    assert f"events 5 to 6 of chain {fourth.chain} are missing" in message
    assert "cut short" in message


def test_a_checkpoint_whose_hash_was_edited_has_a_wrong_signature(keyed, events):
    checkpoint()
    line = lines(keyed)[0]
    keyed.write_text(json.dumps({**line, "hash": events[2].hash, "sequence": 3}) + "\n")
    message = verify_fails(keyed)
    assert f"{FILE_NAME} line 1 has a wrong signature" in message


def test_a_checkpoint_signed_with_another_key_is_refused(settings, keyed, events):
    settings.ISG_CHECKPOINT_KEY = "another-key-of-at-least-32-characters!!"
    checkpoint()
    settings.ISG_CHECKPOINT_KEY = KEY
    assert "wrong signature" in verify_fails(keyed)


def test_a_line_that_is_not_a_checkpoint_is_named(keyed, events):
    checkpoint()
    with keyed.open("a") as handle:
        handle.write("not json\n")
    assert f"{FILE_NAME} line 2 is not a checkpoint" in verify_fails(keyed)


def test_the_in_app_check_uses_the_configured_checkpoint_file(keyed, events):
    checkpoint()
    rewrite_from(2)
    result = audit_verify(user=None)
    assert not result.ok
    assert "rewritten" in result.problem


def test_a_missing_checkpoint_file_is_an_error(keyed, events, tmp_path):
    with pytest.raises(CommandError, match="No checkpoint file"):
        call_command("verify_audit", "--checkpoint", str(tmp_path / "nowhere.jsonl"))
