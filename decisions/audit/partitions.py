"""The audit table's monthly partitions (PostgreSQL; SQLite keeps one table).

Migration 0014 made `decisions_auditevent` a table partitioned by range of `created_at`, one
partition per calendar month (UTC) plus a default partition that catches an event whose month
has no partition yet, so an append never fails for want of one. `ensure_partitions` creates
the coming months ahead of time: `manage.py audit_partitions`, run daily like the other
timers (and by every migrate), keeps three months ready.

PostgreSQL enforces a unique constraint on a partitioned table only if it includes the
partition key, so "one event per place in a chain", unique sequence numbers and unique hashes
are unique indexes on each partition. Across months a chain cannot fork either: its events
only move forward in time (decisions.audit.record) and each append locks the chain's head
row, which names the one next place; `verify_audit` checks both, whatever wrote the rows.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date

from django.db import connections, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

PARENT = "decisions_auditevent"
DEFAULT = "decisions_auditevent_default"
ARCHIVE_SCHEMA = "audit_archive"
MONTHS_AHEAD = 3
# Unique on each partition (see the module's docstring), and the indexes chain walks use.
UNIQUE_PER_PARTITION = (
    ("chain_position", "chain, position"),
    ("sequence", "sequence"),
    ("hash", "hash"),
)
_NAME = re.compile(r"^decisions_auditevent_y(\d{4})m(\d{2})$")


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


def month_from_name(name: str) -> date | None:
    match = _NAME.match(name)
    return date(int(match[1]), int(match[2]), 1) if match else None


def create_partition_sql(month: date, table: str = PARENT) -> list[str]:
    """The statements that create one month's partition and its unique indexes."""
    name = partition_name(month)
    start, end = month.isoformat(), next_month(month).isoformat()
    statements = [
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
        f"FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')"
    ]
    statements += unique_indexes_sql(name)
    statements.append(close_sql(name))
    return statements


def unique_indexes_sql(name: str) -> list[str]:
    return [
        f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_{suffix} ON {name} ({columns})"
        for suffix, columns in UNIQUE_PER_PARTITION
    ]


def close_sql(name: str) -> str:
    """A partition is reached through its parent only, whose privileges then apply: revoke
    whatever default privileges gave anyone on it (the owner keeps its own). `name` is one
    of ours (partition_name), never user input."""
    return (
        "DO $$ DECLARE r text; BEGIN FOR r IN SELECT DISTINCT CASE WHEN a.grantee = 0 "  # noqa: S608
        "THEN 'PUBLIC' ELSE a.grantee::regrole::text END FROM pg_class c, aclexplode(c.relacl) a "
        f"WHERE c.oid = to_regclass('{name}') AND a.grantee <> c.relowner LOOP "
        f"EXECUTE format('REVOKE ALL ON TABLE {name} FROM %s', r); END LOOP; END $$"
    )


def is_partitioned(using: str = "default") -> bool:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
        row = cursor.fetchone()
    return bool(row and row[0] == "p")


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None for the default partition
    rows: int  # an estimate (the planner's), except for the default partition: counted


def partitions(using: str = "default") -> list[Partition]:
    """The live partitions, oldest month first, the default partition last."""
    if not is_partitioned(using):
        return []
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, GREATEST(c.reltuples, 0)::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [PARENT],
        )
        rows = cursor.fetchall()
        cursor.execute(f"SELECT count(*) FROM {DEFAULT}")  # noqa: S608 - a constant
        default_rows = cursor.fetchone()[0]
    found = [Partition(name, month_from_name(name), estimate) for name, estimate in rows]
    months = sorted((p for p in found if p.month), key=lambda p: p.month)  # type: ignore[arg-type, return-value]
    return [*months, Partition(DEFAULT, None, default_rows)]


class PartitionRefused(RuntimeError):
    """A month's partition could not be created (its events already sit in the default one)."""


def ensure_partitions(
    months_ahead: int = MONTHS_AHEAD, *, today: date | None = None, using: str = "default"
) -> list[str]:
    """Create this month's partition and the next `months_ahead`; return those created.

    A month that cannot be made (its events already sit in the default partition) does not
    stop the later ones: they are made, and then PartitionRefused names it."""
    if not is_partitioned(using):
        return []
    first = month_of(today or timezone.now().date())
    existing = {p.month for p in partitions(using)}
    created, refused = [], []
    month = first
    for _ in range(months_ahead + 1):
        if month not in existing:
            try:
                with transaction.atomic(using=using), connections[using].cursor() as cursor:
                    # Creating a partition locks the audit table: wait a little, never long.
                    cursor.execute("SET LOCAL lock_timeout = '5s'")
                    for statement in create_partition_sql(month):
                        cursor.execute(statement)
            except DatabaseError as exc:
                refused.append(f"{month:%B %Y} ({str(exc).strip()})")
            else:
                created.append(partition_name(month))
        month = next_month(month)
    if refused:
        raise PartitionRefused(
            f"made {len(created)} partition(s), but not: {'; '.join(refused)}. A month whose "
            "events are already in the default partition cannot have its own; see "
            "docs/scaling.md ('The audit table'). A busy table: run it again."
        )
    return created


def partitions_after_migrate(sender: object, using: str = "default", **kwargs: object) -> None:
    """post_migrate: every migrate makes this month's and the next three months' partitions
    (a no-op on SQLite, and while the table is not partitioned); the daily job does the same."""
    try:
        ensure_partitions(using=using)
    except PartitionRefused as exc:  # reported, not fatal: `audit_partitions --check` says it
        warnings.warn(str(exc), RuntimeWarning, stacklevel=2)
