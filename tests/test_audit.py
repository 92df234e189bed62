"""The audit log: gap-free hash chain, one transaction with its change, refused by the database
when changed, safe under concurrent writers, and the events that sign-in, refusals and
administrative changes leave."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import DatabaseError, OperationalError, connection, connections, transaction
from django.test import Client
from django.urls import reverse

from decisions import services
from decisions.audit import (
    AuditChainBroken,
    RequestMeta,
    current_request,
    record_event,
    verify_chain,
)
from decisions.audit.canonical import GENESIS_HASH, chain_genesis, event_hash
from decisions.guidance.store import pack_load_files
from decisions.models import AuditChain, AuditEvent, Organisation, Role
from tests.conftest import client_for
from tests.factories import OrganisationFactory, UserFactory, answered_decision

POSTGRES = connection.vendor == "postgresql"
PASSWORD = "correct horse battery staple"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def chain(key: str | None = None) -> list[AuditEvent]:
    """The events of one chain in position order (all events by sequence without a key)."""
    if key is None:
        return list(AuditEvent.objects.order_by("sequence"))
    return list(AuditEvent.objects.filter(chain=key).order_by("position"))


@pytest.fixture(autouse=True)
def no_throttle_state():
    # Anonymous refusals are throttled in the cache (decisions.audit.noise), which outlives
    # a test: start each one with none counted.
    cache.clear()


@pytest.fixture
def request_meta():
    def use(**values):
        token = current_request.set(RequestMeta(**values))
        return token

    tokens = []
    yield lambda **values: tokens.append(use(**values))
    for token in reversed(tokens):
        current_request.reset(token)


# ---- the chain --------------------------------------------------------------------------


@pytest.mark.django_db
def test_events_are_numbered_one_by_one_without_gaps_in_their_chain(practitioner):
    answered_decision(practitioner, "can_share", submit=True)
    events_ = chain(f"org-{practitioner.organisation_id}")
    assert [e.position for e in events_] == list(range(1, len(events_) + 1))
    sequences = [e.sequence for e in events_]
    assert sequences == sorted(set(sequences))  # global numbers: unique and increasing


@pytest.mark.django_db
def test_each_event_stores_the_hash_of_the_one_before_in_its_chain(practitioner):
    answered_decision(practitioner, "can_share")
    key = f"org-{practitioner.organisation_id}"
    hashes = [chain_genesis(key, GENESIS_HASH)] + [e.hash for e in chain(key)]
    assert [e.previous_hash for e in chain(key)] == hashes[:-1]


@pytest.mark.django_db
def test_each_organisation_and_the_platform_have_chains_of_their_own(practitioner, outsider):
    mine = record_event("test.mine", actor=practitioner)
    theirs = record_event("test.theirs", actor=outsider)
    platform = record_event("test.platform", actor=None, actor_email="system")
    assert (mine.chain, theirs.chain, platform.chain) == (
        f"org-{practitioner.organisation_id}",
        f"org-{outsider.organisation_id}",
        "platform",
    )
    assert (mine.position, theirs.position) == (1, 1)
    assert platform.position == AuditEvent.objects.filter(chain="platform").count()
    assert mine.sequence < theirs.sequence < platform.sequence
    assert mine.previous_hash == chain_genesis(mine.chain, GENESIS_HASH)
    assert verify_chain().ok


@pytest.mark.django_db
def test_an_events_hash_still_matches_after_a_round_trip_through_the_database(
    practitioner, request_meta
):
    request_meta(ip_address="2001:DB8::1", user_agent="Browser/1.0 ünïcode", request_id="ab12")
    written = record_event(
        "test.round_trip",
        actor=practitioner,
        details={"float": 0.1, "nested": {"list": [1, "two", None]}, "text": "café – ✓"},
    )
    stored = AuditEvent.objects.get(pk=written.pk)
    assert event_hash(stored) == stored.hash == written.hash


@pytest.mark.django_db
def test_an_ipv4_mapped_address_is_stored_as_ipv4(practitioner, request_meta):
    request_meta(ip_address="::ffff:192.0.2.7")
    event = record_event("test.ip", actor=practitioner)
    assert AuditEvent.objects.get(pk=event.pk).ip_address == "192.0.2.7"


@pytest.mark.django_db
def test_something_that_is_not_an_ip_address_is_not_stored(practitioner, request_meta):
    request_meta(ip_address="not-an-address")
    event = record_event("test.ip", actor=practitioner)
    assert AuditEvent.objects.get(pk=event.pk).ip_address is None


@pytest.mark.django_db
def test_nul_characters_are_removed_so_the_database_accepts_the_event(practitioner, request_meta):
    request_meta(user_agent="evil\x00agent")
    event = record_event("test.nul", actor=practitioner, details={"note": "a\x00b"})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.user_agent, stored.details["note"]) == ("evilagent", "ab")
    assert event_hash(stored) == stored.hash


@pytest.mark.django_db
def test_the_chain_head_follows_the_newest_event(practitioner):
    event = record_event("test.head", actor=practitioner)
    head = AuditChain.objects.get(key=event.chain)
    assert (head.position, head.hash, head.created_at) == (
        event.position,
        event.hash,
        event.created_at,
    )


@pytest.mark.django_db
def test_an_event_is_never_timed_before_the_one_before_it(practitioner, monkeypatch):
    first = record_event("test.first", actor=practitioner)
    monkeypatch.setattr(
        "decisions.audit.record.timezone.now", lambda: first.created_at - timedelta(minutes=5)
    )
    second = record_event("test.clock_stepped_back", actor=practitioner)
    assert second.created_at == first.created_at


@pytest.mark.django_db
def test_a_change_that_rolls_back_leaves_no_event_and_no_gap(practitioner):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.decision_start(user=practitioner)
        raise RuntimeError("crash after the change and its event")
    assert not events("decision.started")
    assert verify_chain().ok
    key = f"org-{practitioner.organisation_id}"
    assert record_event("test.next", actor=practitioner).position == len(chain(key))


# ---- the database refuses changes ----------------------------------------------------------


def _only_event_id(practitioner) -> int:
    return record_event("test.target", actor=practitioner).pk


@pytest.mark.django_db
def test_the_database_refuses_a_raw_sql_update_of_an_event(practitioner):
    event_id = _only_event_id(practitioner)
    if POSTGRES:
        with (
            pytest.raises(DatabaseError, match="Cannot update or delete"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "UPDATE decisions_auditevent SET action = 'forged' WHERE id = %s", [event_id]
            )
    else:  # SQLite has no such trigger: the models refuse instead.
        with pytest.raises(PermissionError):
            AuditEvent.objects.filter(pk=event_id).update(action="forged")
    assert AuditEvent.objects.get(pk=event_id).action == "test.target"


@pytest.mark.django_db
def test_the_database_refuses_a_raw_sql_delete_of_an_event(practitioner):
    event_id = _only_event_id(practitioner)
    if POSTGRES:
        with (
            pytest.raises(DatabaseError, match="Cannot update or delete"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM decisions_auditevent WHERE id = %s", [event_id])
    else:
        with pytest.raises(PermissionError):
            AuditEvent.objects.filter(pk=event_id).delete()
    assert AuditEvent.objects.filter(pk=event_id).exists()


@pytest.mark.django_db
def test_the_database_refuses_to_truncate_the_audit_table(practitioner):
    _only_event_id(practitioner)
    if POSTGRES:
        with (
            pytest.raises(DatabaseError, match="Cannot truncate"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            # The test database lets its own flush through (tests/conftest.py); undo that.
            cursor.execute("SET LOCAL pgtrigger.ignore = '{}'")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending
            cursor.execute("TRUNCATE decisions_auditevent")
    else:
        with pytest.raises(PermissionError):
            AuditEvent.objects.all().delete()
    assert AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_row_forged_past_the_chain_head_stops_writes_with_an_explanation(practitioner):
    head = record_event("test.before", actor=practitioner)
    forged = AuditEvent(
        sequence=head.sequence + 1000,
        created_at=head.created_at,
        action="test.forged",
        previous_hash=head.hash,
        hash="f" * 64,
        chain=head.chain,
        position=head.position + 1,
    )
    forged.save()
    with pytest.raises(AuditChainBroken, match="rows past its head.*verify_audit"):
        record_event("test.after", actor=practitioner)
    # The failed write left none.
    assert AuditChain.objects.get(key=head.chain).position == head.position
    assert not AuditEvent.objects.filter(action="test.after").exists()
    # Another organisation's chain is not held up by it.
    elsewhere = record_event("test.elsewhere", actor=None, actor_email="system")
    assert elsewhere.position == AuditEvent.objects.filter(chain=elsewhere.chain).count()


@pytest.mark.django_db
def test_an_event_without_a_place_in_its_chain_is_refused_by_the_database(practitioner):
    head = record_event("test.before", actor=practitioner)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent(
            sequence=head.sequence + 1000,
            created_at=head.created_at,
            action="test.forged",
            previous_hash=head.hash,
            hash="e" * 64,
            chain=head.chain,
        ).save()
    assert not AuditEvent.objects.filter(action="test.after").exists()


@pytest.mark.django_db
def test_an_event_cannot_be_saved_again_through_the_orm(practitioner):
    event = record_event("test.orm", actor=practitioner)
    event.action = "forged"
    with pytest.raises(PermissionError):
        event.save()


# ---- concurrent writers -----------------------------------------------------------------

# PostgreSQL: 20 threads x 50 audited writes. SQLite (the test database is shared-cache
# in-memory, where a locked table fails at once rather than waiting) serialises writers
# with its lock: fewer threads, and a writer that loses the race retries its whole
# transaction, which must leave nothing behind.
THREADS, WRITES = (20, 50) if POSTGRES else (4, 10)


def _audited_writes(decision, user, failures: list[str]) -> None:
    try:
        for _ in range(WRITES):
            while True:
                try:
                    services.decision_viewed(decision=decision, user=user)
                    break
                except OperationalError as exc:
                    if POSTGRES or "locked" not in str(exc):
                        raise
                    time.sleep(0.001)
    except Exception as exc:  # noqa: BLE001 - reported by the test
        failures.append(repr(exc))
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_a_chain_without_gaps_or_forks(settings):
    pack_load_files(sorted(settings.GUIDANCE_DIR.glob("*.json")))
    org = OrganisationFactory(name="Concurrency Agency")
    users = [UserFactory(organisation=org, role=Role.PRACTITIONER) for _ in range(THREADS)]
    decisions = [services.decision_start(user=user) for user in users]
    before = AuditEvent.objects.filter(chain=f"org-{org.pk}").count()
    failures: list[str] = []
    threads = [
        threading.Thread(target=_audited_writes, args=(d, u, failures))
        for d, u in zip(decisions, users, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    all_events = chain(f"org-{org.pk}")
    assert len(all_events) == before + THREADS * WRITES
    assert [e.position for e in all_events] == list(range(1, len(all_events) + 1))
    sequences = [e.sequence for e in all_events]
    assert sequences == sorted(set(sequences))  # the global number follows the chain's order
    assert len({e.previous_hash for e in all_events}) == len(all_events)  # no fork
    assert verify_chain().ok


# ---- sign-in, sign-out, administrative changes ---------------------------------------------


@pytest.mark.django_db
def test_signing_in_is_an_event(practitioner):
    Client().post(reverse("login"), {"username": practitioner.email, "password": PASSWORD})
    [event] = events("auth.signed_in")
    assert (event.actor, event.organisation) == (practitioner, practitioner.organisation)


@pytest.mark.django_db
def test_a_failed_sign_in_to_an_account_records_the_accounts_email_and_organisation(
    practitioner,
):
    Client().post(reverse("login"), {"username": practitioner.email, "password": "wrong"})
    [event] = events("auth.sign_in_failed")
    assert (event.actor, event.actor_email) == (None, practitioner.email)
    assert event.organisation == practitioner.organisation


@pytest.mark.django_db
def test_a_failed_sign_in_with_an_unknown_address_does_not_keep_the_address():
    Client().post(reverse("login"), {"username": "stranger@example.net", "password": "wrong"})
    [event] = events("auth.sign_in_failed")
    assert event.actor_email == "unknown"
    assert "stranger" not in str(event.details)


@pytest.mark.django_db
def test_signing_out_is_an_event(practitioner):
    client_for(practitioner).post(reverse("logout"))
    [event] = events("auth.signed_out")
    assert event.actor == practitioner


@pytest.mark.django_db
def test_changing_a_users_role_is_an_event_naming_the_change(practitioner):
    practitioner.role = Role.LEAD
    practitioner.save()
    [event] = events("user.changed")
    assert event.details["changes"] == {"role": ["practitioner", "lead"]}


@pytest.mark.django_db
def test_moving_a_user_to_another_organisation_is_an_event(practitioner, other_org):
    practitioner.organisation = other_org
    practitioner.save()
    [event] = events("user.changed")
    assert event.details["changes"]["organisation_id"][1] == other_org.pk


@pytest.mark.django_db
def test_recording_the_last_sign_in_time_is_not_an_administrative_change(practitioner):
    Client().post(reverse("login"), {"username": practitioner.email, "password": PASSWORD})
    assert not events("user.changed")


@pytest.mark.django_db
def test_deactivating_an_organisation_is_an_event(org):
    org.is_active = False
    org.save()
    [event] = events("organisation.changed")
    assert event.details["changes"] == {"is_active": [True, False]}


@pytest.mark.django_db
def test_a_new_organisation_alone_is_not_a_change_event():
    Organisation.objects.create(name="New Agency", slug="new-agency", kind="charity")
    assert not events("organisation.changed")


# ---- refusals ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_opening_another_organisations_record_is_refused_and_logged(practitioner, outsider):
    decision = answered_decision(practitioner, "can_share", submit=True)
    response = client_for(outsider).get(reverse("record", args=[decision.public_id]))
    assert response.status_code == 404
    [event] = events("access.refused")
    assert (event.actor, event.object_id) == (outsider, str(decision.public_id))
    assert event.details["reason"] == "not_found"


@pytest.mark.django_db
def test_a_refusal_does_not_reveal_the_reference_of_another_organisations_record(
    practitioner, outsider
):
    decision = answered_decision(practitioner, "can_share", submit=True)
    client_for(outsider).get(reverse("record", args=[decision.public_id]))
    [event] = events("access.refused")
    assert event.reference == ""
    assert decision.reference not in str(event.details)


@pytest.mark.django_db
def test_a_page_refused_for_the_role_is_logged(manager):
    response = client_for(manager).get(reverse("my_decisions"))
    assert response.status_code == 403
    [event] = events("access.refused")
    assert event.details == {"reason": "role", "view": "my_decisions"}


@pytest.mark.django_db
def test_a_form_sent_without_its_csrf_token_gets_a_clear_page_and_is_logged(practitioner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(practitioner)
    response = client.post(reverse("start"))
    assert response.status_code == 403
    assert b"Your form could not be sent" in response.content
    [event] = events("access.refused")
    assert event.details == {"reason": "csrf", "view": "start"}
