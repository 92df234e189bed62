"""`manage.py db_roles`: the application's database role may read and append evidence, never
change or remove it, whatever it sets in its session; the app still works under that role."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import ProgrammingError, connection, connections, transaction
from django.db.models import F

from decisions import services, signoff
from decisions.audit import audit_verify, record_event, verify_chain
from decisions.management.commands.db_roles import evidence_tables, privilege_problems
from decisions.models import (
    Approval,
    AuditArchive,
    AuditChain,
    AuditEvent,
    AuditVerification,
    DecisionRecord,
    Role,
    Status,
)
from tests.factories import OrganisationFactory, UserFactory, answered_decision

POSTGRES = connection.vendor == "postgresql"
postgres_only = pytest.mark.skipif(
    not POSTGRES, reason="roles and privileges are PostgreSQL's: SQLite has neither"
)
EVIDENCE = [AuditEvent, DecisionRecord, Approval, AuditVerification, AuditArchive]


def script(*args: str) -> str:
    out = StringIO()
    call_command("db_roles", "--owner", "isg_owner", "--app", "isg_app", *args, stdout=out)
    return out.getvalue()


# ---- the SQL (any database) ----------------------------------------------------------------


def test_the_evidence_tables_are_every_append_only_models_table():
    assert evidence_tables() == sorted(m._meta.db_table for m in EVIDENCE)


def test_the_app_role_keeps_only_select_and_insert_on_evidence():
    sql = script()
    tables = ", ".join(f'"{t}"' for t in evidence_tables())
    assert f'REVOKE UPDATE, DELETE ON TABLE {tables} FROM "isg_app";' in sql
    assert "TRUNCATE" not in sql and "GRANT ALL" not in sql


def test_the_chain_head_alone_keeps_update():
    assert 'REVOKE DELETE ON TABLE "decisions_auditchain" FROM "isg_app";' in script()


def test_tables_the_owner_creates_later_get_the_working_grants():
    assert (
        'ALTER DEFAULT PRIVILEGES FOR ROLE "isg_owner" IN SCHEMA "public" '
        'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "isg_app";'
    ) in script()


def test_the_old_single_login_can_hand_everything_to_the_owner():
    assert 'REASSIGN OWNED BY "isg" TO "isg_owner";' in script("--reassign-from", "isg")


def test_the_sql_runs_in_one_transaction():
    sql = script()
    assert sql.splitlines()[2] == "BEGIN;" and sql.rstrip().endswith("COMMIT;")


@pytest.mark.parametrize("name", ["isg-app", "ISG", 'x"; DROP TABLE y; --', ""])
def test_a_role_name_that_is_not_plain_is_refused(name):
    with pytest.raises(CommandError, match="lower-case letters"):
        call_command("db_roles", "--owner", "isg_owner", "--app", name, stdout=StringIO())


def test_the_owner_and_the_app_must_be_different_roles():
    with pytest.raises(CommandError, match="must be different"):
        call_command("db_roles", "--owner", "isg", "--app", "isg", stdout=StringIO())


@pytest.mark.skipif(POSTGRES, reason="checks the refusal on SQLite")
def test_applying_needs_postgresql():
    with pytest.raises(CommandError, match="need PostgreSQL"):
        script("--apply")


# ---- PostgreSQL: connected as the application role -----------------------------------------


@dataclass(frozen=True)
class Roles:
    owner: str
    app: str
    password: str


@pytest.fixture(scope="module")
def roles(django_db_setup, django_db_blocker) -> Iterator[Roles]:
    """Two roles of the test's own (unique names), granted on the test database by the command.

    The tables stay owned by `postgres`, which made the test database: the app role owns
    nothing, as in production after `--reassign-from`.
    """
    if not POSTGRES:
        pytest.skip("roles and privileges are PostgreSQL's: SQLite has neither")
    suffix = secrets.token_hex(4)
    made = Roles(f"isg_owner_t{suffix}", f"isg_app_t{suffix}", secrets.token_hex(16))
    with django_db_blocker.unblock():
        call_command(
            "db_roles", "--owner", made.owner, "--app", made.app, "--apply", stdout=StringIO()
        )
        with connection.cursor() as cursor:
            # A password, so the test passes whatever the server's authentication method.
            cursor.execute(f'ALTER ROLE "{made.app}" PASSWORD %s', [made.password])
    yield made
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for role in (made.app, made.owner):
            cursor.execute(f'DROP OWNED BY "{role}"')  # its grants and default privileges
            cursor.execute(f'DROP ROLE "{role}"')


@contextmanager
def as_app(roles: Roles) -> Iterator[None]:
    """Run the block on a new connection logged in as the app role; roll it all back after.

    Django's default connection is swapped, so the services, the ORM and `connection` all use
    it. Nothing on the superuser's connection may hold the chain-head lock meanwhile, hence
    the lock timeout rather than a test that hangs.
    """
    original = connections["default"]
    settings_dict = {
        **original.settings_dict,
        "USER": roles.app,
        "PASSWORD": roles.password,
        "OPTIONS": {**original.settings_dict["OPTIONS"], "options": "-c lock_timeout=10s"},
    }
    app_connection = original.__class__(settings_dict, alias="default")
    connections["default"] = app_connection
    try:
        with transaction.atomic():
            yield
            transaction.set_rollback(True)
    finally:
        app_connection.close()
        connections["default"] = original


def refused(sql: str) -> str:
    """Run `sql` as the app role, in a savepoint; return the database's refusal."""
    with (
        pytest.raises(ProgrammingError) as refusal,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        for statement in sql.split(";"):
            cursor.execute(statement)
    return str(refusal.value)


def append_only_pgid(model) -> str:
    trigger = next(t for t in model._meta.triggers if t.name == "append_only")
    return trigger.get_pgid(model)


@postgres_only
@pytest.mark.django_db
def test_the_connection_really_is_the_app_role(roles):
    with as_app(roles), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, usesuper FROM pg_user WHERE usename = current_user")
        assert cursor.fetchone() == (roles.app, False)


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize("model", EVIDENCE, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    "sql",
    ["UPDATE {table} SET id = id", "DELETE FROM {table}", "TRUNCATE {table} CASCADE"],
    ids=["update", "delete", "truncate"],
)
def test_the_app_role_may_not_change_or_remove_evidence(roles, model, sql):
    with as_app(roles):
        message = refused(sql.format(table=model._meta.db_table))
    assert "permission denied" in message


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize("model", EVIDENCE, ids=lambda m: m.__name__)
def test_switching_the_trigger_off_in_the_session_does_not_help_the_app_role(roles, model):
    table = model._meta.db_table
    with as_app(roles):
        # What django-pgtrigger's ignore() does, and what any session may do.
        bypass = f"SET LOCAL pgtrigger.ignore = '{{{append_only_pgid(model)}}}'"
        message = refused(f"{bypass}; DELETE FROM {table}")  # noqa: S608 - names from models
    assert "permission denied" in message


@postgres_only
@pytest.mark.django_db
def test_the_app_role_may_not_disable_triggers_or_become_the_owner(roles):
    with as_app(roles):
        assert "must be owner" in refused("ALTER TABLE decisions_auditevent DISABLE TRIGGER ALL")
        assert "permission denied" in refused(f'SET ROLE "{roles.owner}"')
        assert "permission denied" in refused("CREATE TABLE planted (id int)")


@postgres_only
@pytest.mark.django_db
def test_the_app_runs_its_services_as_the_app_role(roles):
    with as_app(roles):
        org = OrganisationFactory(name="Role Test Agency")
        practitioner = UserFactory(organisation=org, role=Role.PRACTITIONER)
        lead = UserFactory(organisation=org, role=Role.LEAD)
        decision = answered_decision(practitioner, "share_without_consent", submit=True)
        assert decision.status == Status.AWAITING_APPROVAL
        approval = signoff.decision_approve(decision=decision, user=lead)
        services.decision_viewed(decision=decision, user=lead)
        event = record_event("test.as_app_role", actor=lead)
        check = verify_chain()
        result = audit_verify(user=lead)
    assert approval.pk and event.sequence
    assert (check.ok, check.records_checked) == (True, 1)
    assert result.ok


@postgres_only
@pytest.mark.django_db
def test_the_app_role_may_start_and_move_a_chain_head(roles):
    with as_app(roles):
        org = OrganisationFactory(name="New Chain Agency")
        event = record_event("test.first", actor=None, actor_email="system", organisation=org)
        moved = AuditChain.objects.filter(key=event.chain).update(created_at=F("created_at"))
    assert (event.position, moved) == (1, 1)


@postgres_only
@pytest.mark.django_db
def test_the_check_finds_the_grants_as_the_command_set_them(roles):
    assert privilege_problems(owner=roles.owner, app=roles.app) == []


@postgres_only
@pytest.mark.django_db
def test_the_check_names_a_privilege_granted_by_hand(roles):
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT DELETE ON decisions_auditevent TO "{roles.app}"')
    problems = privilege_problems(owner=roles.owner, app=roles.app)
    assert problems == [f"decisions_auditevent: {roles.app} has ['DELETE'] too many, lacks []"]
    with pytest.raises(CommandError, match="1 privilege problem"):
        call_command(
            "db_roles", "--owner", roles.owner, "--app", roles.app, "--check", stderr=StringIO()
        )


@postgres_only
@pytest.mark.django_db
def test_the_check_names_an_app_role_that_can_act_as_the_owner(roles):
    with connection.cursor() as cursor:
        cursor.execute(f'GRANT "{roles.owner}" TO "{roles.app}"')
    problems = privilege_problems(owner=roles.owner, app=roles.app)
    assert f"{roles.app} is a member of {roles.owner}, so can act as it" in problems
