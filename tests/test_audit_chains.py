"""Audit chains per organisation: the fast walk builds the same canonical bytes as the writer,
the single chain written before migration 0009 stays verifiable as the "legacy" segment that
every new chain's genesis commits to, chains are walked in parallel processes with the same
findings, and one organisation's appends never wait for another's."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import StringIO

import pgtrigger
import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from decisions.audit import record_event, verify_chain
from decisions.audit.canonical import (
    GENESIS_HASH,
    LEGACY_CHAIN,
    canonical,
    canonical_body,
    chain_genesis,
    event_hash,
)
from decisions.audit.checkpoints import (
    Checkpoint,
    CheckpointsCheck,
    checkpoint_key,
    verify_checkpoints,
)
from decisions.audit.walk import canonical_row
from decisions.models import AuditChain, AuditEvent
from tests.factories import OrganisationFactory, UserFactory

POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(
    not POSTGRES, reason="parallel walks and row locks are PostgreSQL's; SQLite serialises all"
)

# Text as the database keeps it (no NUL, no lone surrogates), with the characters JSON escapes.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        st.sampled_from('"\\\x01\x1f\x7f\u2028é✓😀\n\t'),
    ),
    max_size=30,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def _event(values: dict, chain: str, position: int | None) -> AuditEvent:
    return AuditEvent(chain=chain, position=position, **values)


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequence=st.integers(1, 2**62),
    created=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    actor=st.none() | st.integers(1, 2**31),
    organisation=st.none() | st.integers(1, 2**31),
    texts=st.lists(TEXT, min_size=9, max_size=9),
    ip=st.none() | st.ip_addresses().map(str),
    details=st.dictionaries(TEXT, JSON, max_size=4),
    legacy=st.booleans(),
    position=st.integers(1, 2**62),
)
def test_the_fast_walk_builds_the_bytes_the_writer_hashed(
    sequence, created, actor, organisation, texts, ip, details, legacy, position
):
    email, role, action, kind, object_id, reference, agent, request, previous = texts
    values = {
        "sequence": sequence,
        "created_at": created,
        "actor_id": actor,
        "actor_email": email,
        "organisation_id": organisation,
        "role": role,
        "action": action,
        "object_kind": kind,
        "object_id": object_id,
        "reference": reference,
        "ip_address": ip,
        "user_agent": agent,
        "request_id": request,
        "details": details,
        "previous_hash": previous,
    }
    chain = LEGACY_CHAIN if legacy else "org-7"
    event = _event(values, chain, None if legacy else position)
    row = (
        sequence, created.isoformat(timespec="microseconds"), actor, email, organisation, role,
        action, kind, object_id, reference, ip, agent, request, json.dumps(details), previous,
        "", None if legacy else position,
    )  # fmt: skip
    assert canonical_row(row, chain) == canonical(event)
    # Legacy events are hashed exactly as before chains were split: no chain, no position.
    if legacy:
        assert canonical(event) == canonical_body(values)


@pytest.mark.django_db
def test_events_with_awkward_text_verify_after_a_round_trip(practitioner, outsider):
    # On PostgreSQL the walk has the database JSON-escape the text: it must agree with Python.
    awkward = 'quote " backslash \\ controls \x01\x1f\x7f line\u2028sep é ✓ 😀 \n\t'
    for user in (practitioner, outsider, None):
        event = record_event(
            "test.awkward",
            actor=user,
            actor_email="system",
            object_kind=awkward[:40],
            object_id=awkward[:64],
            reference='R\\"1',
            details={awkward: [awkward, 1, 2.5, None, True, {"z": 1, "a": awkward}]},
        )
        stored = AuditEvent.objects.get(pk=event.pk)
        assert event_hash(stored) == stored.hash == event.hash
    assert verify_chain().ok


# ---- the legacy segment ----------------------------------------------------------------------


def legacy_events(count: int) -> list[AuditEvent]:
    """A chain as ISG wrote it before migration 0009, and its head, as the migration leaves it.

    The events the test's fixtures recorded are removed first: the legacy chain is numbered
    from #1 and comes before every chained event.
    """
    with pgtrigger.ignore("decisions.AuditEvent:append_only"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM decisions_auditevent")
        cursor.execute("DELETE FROM decisions_auditchain")
    previous, start = GENESIS_HASH, datetime(2026, 1, 1, tzinfo=UTC)
    written = []
    for n in range(1, count + 1):
        event = AuditEvent(
            sequence=n,
            created_at=start + timedelta(minutes=n),
            actor_email="legacy@example.org",
            action="test.legacy",
            details={"n": n},
            previous_hash=previous,
            chain=LEGACY_CHAIN,
        )
        event.hash = event_hash(event)
        event.save()
        written.append(event)
        previous = event.hash
    AuditChain.objects.create(
        key=LEGACY_CHAIN, position=count, hash=previous, created_at=written[-1].created_at
    )
    if POSTGRES:  # what the migration does: number new events after the old ones
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval('decisions_auditevent_sequence_seq', "
                "GREATEST(%s, (SELECT last_value FROM decisions_auditevent_sequence_seq)))",
                [count],
            )
    return written


@pytest.fixture
def legacy():
    return legacy_events(4)


@pytest.mark.django_db
def test_new_chains_start_from_a_genesis_that_commits_to_the_legacy_head(legacy, practitioner):
    event = record_event("test.new", actor=practitioner)
    assert event.previous_hash == chain_genesis(event.chain, legacy[-1].hash)
    assert event.sequence > legacy[-1].sequence
    assert event.created_at >= legacy[-1].created_at
    check = verify_chain()
    assert check.ok
    assert check.heads[LEGACY_CHAIN] == (4, legacy[-1].hash)


@pytest.mark.django_db
def test_a_changed_legacy_event_is_named_as_before(legacy, practitioner):
    record_event("test.new", actor=practitioner)
    with pgtrigger.ignore("decisions.AuditEvent:append_only"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE decisions_auditevent SET action = 'forged' WHERE sequence = %s",
            [legacy[1].sequence],
        )
    check = verify_chain()
    assert (check.ok, check.broken_sequence) == (False, legacy[1].sequence)
    assert check.problem == "hash mismatch: its contents are not what was written"


@pytest.mark.django_db
def test_a_legacy_head_moved_changes_every_chains_genesis(legacy, practitioner):
    record_event("test.new", actor=practitioner)
    AuditChain.objects.filter(key=LEGACY_CHAIN).update(position=3, hash=legacy[2].hash)
    check = verify_chain()
    assert not check.ok
    assert "rows past the chain head" in check.problem or "genesis" in check.problem


def _signed(checkpoint: Checkpoint) -> Checkpoint:
    signature = hmac.new(checkpoint_key(), checkpoint.payload(), "sha256").hexdigest()
    return replace(checkpoint, signature=signature)


@pytest.mark.django_db
def test_checkpoints_written_before_the_split_still_verify(
    settings, tmp_path, legacy, practitioner
):
    settings.ISG_CHECKPOINT_KEY = "test-checkpoint-key-0123456789abcdef"
    # A line as audit_checkpoint wrote it for the single chain: no "heads".
    old = _signed(Checkpoint(4, legacy[-1].hash, "2026-01-01T00:05:00+00:00"))
    assert json.loads(old.line()).keys() == {"sequence", "hash", "created_at", "signature"}
    record_event("test.new", actor=practitioner)
    check = verify_chain()
    assert check.ok
    path = tmp_path / "old.jsonl"
    path.write_text(old.line() + "\n")
    assert verify_checkpoints(path, heads=check.heads) == CheckpointsCheck(1)
    # Rewritten from the third legacy event on: the old checkpoint no longer matches.
    path.write_text(_signed(Checkpoint(3, "a" * 64, old.created_at)).line() + "\n")
    found = verify_checkpoints(path, heads=check.heads)
    assert (found.sequence, "its hash differs" in found.problem) == (3, True)


# ---- the migration -----------------------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_single_chain_verifiable_and_anchors_new_chains_to_it():
    with pgtrigger.ignore("decisions.AuditEvent:append_only"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM decisions_auditevent")  # what the fixtures recorded
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("decisions", "0008_rendered_pdfs")])
        previous = _write_a_chain_before_0009(
            executor.loader.project_state([("decisions", "0008_rendered_pdfs")]).apps
        )
    finally:
        executor = MigrationExecutor(connection)  # whatever happened, back to the present
        executor.migrate(leaves)

    legacy = AuditChain.objects.get(key=LEGACY_CHAIN)
    assert (legacy.position, legacy.hash) == (3, previous)
    assert set(AuditEvent.objects.values_list("chain", flat=True)) == {LEGACY_CHAIN}
    user = UserFactory(organisation=OrganisationFactory())
    event = record_event("test.after_0009", actor=user)
    assert event.sequence > 3  # the sequence continues after the old events
    assert event.previous_hash == chain_genesis(event.chain, previous)
    out = StringIO()
    call_command("verify_audit", "--no-record", stdout=out)
    events = AuditEvent.objects.count()
    assert f"Audit log intact: {events} events in " in out.getvalue()
    assert verify_chain().heads[LEGACY_CHAIN] == (3, previous)


def _write_a_chain_before_0009(old_apps) -> str:
    """Three events and the single head row, as ISG wrote them then; the head hash."""
    old_event = old_apps.get_model("decisions", "AuditEvent")
    old_head = old_apps.get_model("decisions", "AuditChainHead")
    previous, start = GENESIS_HASH, datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(1, 4):
        values = {
            "sequence": n,
            "created_at": start + timedelta(minutes=n),
            "actor_id": None,
            "actor_email": "old@example.org",
            "organisation_id": None,
            "role": "",
            "action": "test.before_0009",
            "object_kind": "",
            "object_id": "",
            "reference": "",
            "ip_address": None,
            "user_agent": "",
            "request_id": "",
            "details": {"n": n},
            "previous_hash": previous,
        }
        digest = hashlib.sha256(canonical_body(values)).hexdigest()
        old_event.objects.create(**values, hash=digest)
        previous = digest
    old_head.objects.update_or_create(
        id=1, defaults={"sequence": 3, "hash": previous, "created_at": start + timedelta(minutes=3)}
    )
    return previous


# ---- walking chains in parallel ----------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_chains_walked_in_parallel_processes_give_the_same_findings():
    users = [UserFactory(organisation=OrganisationFactory()) for _ in range(3)]
    written = [
        record_event("test.parallel", actor=u, details={"n": n}) for n in range(5) for u in users
    ]
    alone, parallel = verify_chain(workers=1), verify_chain(workers=3)
    assert alone.ok and parallel.ok
    assert (alone.checked, alone.heads) == (parallel.checked, parallel.heads)
    target = written[7]
    with pgtrigger.ignore("decisions.AuditEvent:append_only"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE decisions_auditevent SET action = 'forged' WHERE id = %s", [target.pk]
        )
    alone, parallel = verify_chain(workers=1), verify_chain(workers=3)
    assert not alone.ok
    assert (alone.problem, alone.broken_sequence) == (parallel.problem, parallel.broken_sequence)
    assert alone.broken_sequence == target.sequence


# ---- organisations never wait for each other --------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_organisation_appends_while_another_holds_its_chain_head():
    mine, theirs = (UserFactory(organisation=OrganisationFactory()) for _ in range(2))
    record_event("test.first", actor=mine)
    held, release, failures = threading.Event(), threading.Event(), []

    def hold_my_chain() -> None:
        try:
            with transaction.atomic():
                record_event("test.held", actor=mine)  # my head is locked until commit
                held.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            failures.append(repr(exc))
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold_my_chain)
    thread.start()
    assert held.wait(10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        other = record_event("test.unblocked", actor=theirs)  # would time out if it waited
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    finally:
        release.set()
        thread.join()
    assert failures == []
    assert other.position == 1
    assert verify_chain().ok
