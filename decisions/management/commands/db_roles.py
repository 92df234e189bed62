"""Least-privilege PostgreSQL roles: an owner that runs migrations, an application role that serves.

Triggers on the evidence tables stop mistakes, not a hostile session: any session can set
`pgtrigger.ignore`, and a table's owner can disable its triggers. Privileges cannot be talked
round that way. The application role gets SELECT and INSERT only on the evidence tables (every
AppendOnly model: audit events, decision records, approvals, verification results), UPDATE on
the chain-head row's table only, and the usual read/write on the working tables; it owns
nothing. Prints the SQL (for psql, as a superuser) or applies it with --apply; --check reports
what differs from it. Details: docs/security-database.md.
"""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from decisions.audit.partitions import ARCHIVE_SCHEMA
from decisions.audit.partitions import PARENT as AUDIT_TABLE
from decisions.models import AuditArchive, AuditChain, LegalHold
from decisions.models.base import AppendOnly

NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
WORKING = ("SELECT", "INSERT", "UPDATE", "DELETE")
EVIDENCE = ("SELECT", "INSERT")
# The chains' head rows are moved forward by every audit append (decisions.audit.record);
# INSERT starts the chain of an organisation's first event.
CHAIN_HEAD = ("SELECT", "INSERT", "UPDATE")
# Django reads which migrations ran; only the owner, migrating, writes it.
READ_ONLY_TABLES = ("django_migrations",)
CHECKED = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def evidence_tables() -> list[str]:
    """Every table whose rows are evidence: the AppendOnly models'."""
    models = apps.get_app_config("decisions").get_models()
    return sorted(m._meta.db_table for m in models if issubclass(m, AppendOnly))


def expected_privileges(table: str) -> tuple[str, ...]:
    if table.startswith(f"{AUDIT_TABLE}_"):
        return ()  # an audit partition: reached through its parent only (audit.partitions)
    if table == AuditArchive._meta.db_table:
        return ("SELECT",)  # written by `archive_audit`, run as the owner, only
    if table == LegalHold._meta.db_table:
        return ("SELECT", "INSERT", "UPDATE")  # placed and released, never deleted
    if table in evidence_tables():
        return EVIDENCE
    if table == AuditChain._meta.db_table:
        return CHAIN_HEAD
    if table in READ_ONLY_TABLES:
        return ("SELECT",)
    return WORKING


def _name(value: str, what: str) -> str:
    """A role or schema name, quoted; refused unless plain (so it is safe in SQL and literals)."""
    if not NAME.match(value):
        raise CommandError(f"{what} {value!r}: use lower-case letters, digits and _ only")
    return f'"{value}"'


def _create_role(name: str) -> str:
    # LOGIN without a password: set one with psql's \password. Left alone if it exists, so the
    # SQL can be run again after every migrate by a role that may not create roles.
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') "
        f'THEN CREATE ROLE "{name}" LOGIN; END IF; END $$'
    )


def role_statements(
    *, owner: str, app: str, schema: str = "public", reassign_from: str | None = None
) -> list[str]:
    """The SQL, in order; run it in one transaction so no moment has looser grants."""
    if owner == app:
        raise CommandError("The owner and the application role must be different roles")
    o, a, s = _name(owner, "Owner role"), _name(app, "Application role"), _name(schema, "Schema")
    statements = [_create_role(owner), _create_role(app)]
    if reassign_from:
        # The old single login owned everything, and an owner can disable triggers, grant
        # itself any privilege or drop the tables: hand it all (database too) to the owner.
        statements.append(f"REASSIGN OWNED BY {_name(reassign_from, 'Role')} TO {o}")
    evidence = ", ".join(f'"{table}"' for table in evidence_tables())
    head = f'"{AuditChain._meta.db_table}"'
    read_only = ", ".join(f'"{table}"' for table in READ_ONLY_TABLES)
    working = ", ".join(WORKING)
    statements += [
        # Only the owner creates objects: no one else can plant a table or a function that
        # a migration, run as the owner, would then pick up.
        f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC",
        f"REVOKE ALL ON SCHEMA {s} FROM {a}",
        f"GRANT USAGE ON SCHEMA {s} TO {a}",
        f"GRANT USAGE, CREATE ON SCHEMA {s} TO {o}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {a}",
        f"GRANT {working} ON ALL TABLES IN SCHEMA {s} TO {a}",
        f"REVOKE UPDATE, DELETE ON TABLE {evidence} FROM {a}",
        f"REVOKE DELETE ON TABLE {head} FROM {a}",
        f"REVOKE INSERT, UPDATE, DELETE ON TABLE {read_only} FROM {a}",
        # The audit table's monthly partitions: reached through the parent only.
        "DO $$ DECLARE p text; BEGIN FOR p IN SELECT inhrelid::regclass::text FROM pg_inherits "  # noqa: S608
        f"WHERE inhparent = to_regclass('{AUDIT_TABLE}') LOOP "
        f"EXECUTE format('REVOKE ALL ON TABLE %s FROM {a}', p); END LOOP; END $$",
        f'REVOKE INSERT ON TABLE "{AuditArchive._meta.db_table}" FROM {a}',
        f'REVOKE DELETE ON TABLE "{LegalHold._meta.db_table}" FROM {a}',
        # Archived months (decisions.audit.archive): read-only, for checking old records.
        f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_namespace WHERE nspname = '{ARCHIVE_SCHEMA}') "
        f"THEN EXECUTE 'GRANT USAGE ON SCHEMA {ARCHIVE_SCHEMA} TO {a}'; "
        f"EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA {ARCHIVE_SCHEMA} TO {a}'; END IF; END $$",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {a}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {a}",
        # Tables a later migration creates get the working grants at once; run this command
        # again after every migrate, so a new evidence table is narrowed to SELECT, INSERT.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT {working} ON TABLES TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {a}",
    ]
    return statements


def role_script(**names: Any) -> str:
    body = ";\n".join(role_statements(**names))
    return (
        "-- ISG database roles (manage.py db_roles). Run as a superuser, or as the owner of the\n"
        "-- database, after every migrate.\n"
        f"BEGIN;\n{body};\nCOMMIT;\n"
    )


def _fetch(sql: str, params: dict[str, str]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _role_problems(params: dict[str, str]) -> list[str]:
    rows = _fetch(
        "SELECT rolsuper, rolcreaterole, pg_has_role(%(app)s, "
        "(SELECT oid FROM pg_roles WHERE rolname = %(owner)s), 'USAGE') "
        "FROM pg_roles WHERE rolname = %(app)s",
        params,
    )
    if not rows:
        return [f"role {params['app']} does not exist"]
    superuser, createrole, acts_as_owner = rows[0]
    problems = []
    if superuser or createrole:
        problems.append(f"{params['app']} is a superuser or may create roles")
    if acts_as_owner:
        problems.append(f"{params['app']} is a member of {params['owner']}, so can act as it")
    schema_rows = _fetch(
        "SELECT has_schema_privilege(%(app)s, n.oid, 'CREATE'), "
        "pg_has_role(%(app)s, n.nspowner, 'USAGE'), "
        "(SELECT pg_has_role(%(app)s, datdba, 'USAGE') FROM pg_database "
        " WHERE datname = current_database()) "
        "FROM pg_namespace n WHERE n.nspname = %(schema)s",
        params,
    )
    if schema_rows and any(schema_rows[0]):
        problems.append(
            f"{params['app']} may create in, or owns, schema {params['schema']} or the database"
        )
    return problems


def privilege_problems(*, owner: str, app: str, schema: str = "public") -> list[str]:
    """How the database differs from role_statements: one line per problem (PostgreSQL)."""
    params = {"owner": owner, "app": app, "schema": schema}
    problems = _role_problems(params)
    if problems and problems[0].endswith("does not exist"):
        return problems
    # Built from the CHECKED constants only; the names travel as parameters.
    checks = ", ".join(f"has_table_privilege(%(app)s, c.oid, '{p}')" for p in CHECKED)
    rows = _fetch(
        f"SELECT c.relname, pg_has_role(%(app)s, c.relowner, 'USAGE'), {checks} "  # noqa: S608
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
        params,
    )
    for table, owns, *granted in rows:
        if owns:
            problems.append(f"{table}: {app} owns it (or may act as its owner)")
            continue
        has = {p for p, ok in zip(CHECKED, granted, strict=True) if ok}
        expected = set(expected_privileges(table))
        if has != expected:
            extra, missing = sorted(has - expected), sorted(expected - has)
            problems.append(f"{table}: {app} has {extra or 'nothing'} too many, lacks {missing}")
    return problems


class Command(BaseCommand):
    help = (
        "Print (or --apply, or --check) the PostgreSQL grants for an owner role that runs "
        "migrations and an application role that may only read and append evidence."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", required=True, help="role that owns the tables")
        parser.add_argument("--app", required=True, help="role the web app and worker use")
        parser.add_argument("--schema", default="public")
        parser.add_argument(
            "--reassign-from",
            metavar="ROLE",
            help="hand everything ROLE owns (the old single login) to the owner first",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--apply", action="store_true", help="run the SQL on this database")
        mode.add_argument(
            "--check", action="store_true", help="report how the database differs; exit 1 if so"
        )

    def handle(self, *args: Any, owner: str, app: str, schema: str, **options: Any) -> None:
        names = {"owner": owner, "app": app, "schema": schema}
        if not (options["apply"] or options["check"]):
            script = role_script(**names, reassign_from=options["reassign_from"])
            self.stdout.write(script, ending="")
            return
        if connection.vendor != "postgresql":
            raise CommandError("--apply and --check need PostgreSQL (DATABASE_URL)")
        if options["check"]:
            self._check(**names)
            return
        missing = [t for t in evidence_tables() if t not in connection.introspection.table_names()]
        if missing:
            raise CommandError(f"Run migrate first: no table {', '.join(missing)}")
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in role_statements(**names, reassign_from=options["reassign_from"]):
                cursor.execute(statement)
        self.stdout.write(f"Grants applied: {app} may read and append evidence, not change it.")

    def _check(self, **names: str) -> None:
        problems = privilege_problems(**names)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} privilege problem(s) for role {names['app']}")
        self.stdout.write(f"Privileges of {names['app']} are as db_roles sets them.")
