"""The audit table's monthly partitions: create the coming months, list them, check them.

Run daily from a timer, as the database owner (it creates tables), like prune_exports:
`manage.py audit_partitions`. `--check` exits non-zero when next month has no partition yet or
events sit in the default partition, for monitoring. PostgreSQL only (SQLite keeps one table).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from decisions.audit.partitions import (
    MONTHS_AHEAD,
    PartitionRefused,
    ensure_partitions,
    is_partitioned,
    month_of,
    next_month,
    partitions,
)


class Command(BaseCommand):
    help = "Create the audit table's partitions for this month and the next few; list them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ahead", type=int, default=MONTHS_AHEAD, help="months ahead")
        parser.add_argument("--list", action="store_true", help="list the live partitions")
        parser.add_argument(
            "--check", action="store_true", help="create nothing; fail if anything is amiss"
        )

    def handle(self, *args: Any, ahead: int, list: bool, check: bool, **options: Any) -> None:  # noqa: A002
        if not is_partitioned():
            self.stdout.write("The audit log is one table here (SQLite): no partitions to keep.")
            return
        if not check:
            try:
                created = ensure_partitions(ahead)
            except PartitionRefused as exc:
                raise CommandError(str(exc)) from exc
            for name in created:
                self.stdout.write(f"Created {name}.")
        found = partitions()
        if list or check:
            for partition in found:
                label = f"{partition.month:%B %Y}" if partition.month else "default"
                self.stdout.write(f"{partition.name}: {label}, about {partition.rows} events")
        if check:
            wanted = next_month(month_of(timezone.now().date()))
            months = {p.month for p in found}
            problems = []
            if wanted not in months:
                problems.append(f"no partition for {wanted:%B %Y} yet: run audit_partitions")
            if found[-1].rows:
                problems.append(
                    f"{found[-1].rows} event(s) in the default partition: see docs/scaling.md"
                )
            if problems:
                raise CommandError("; ".join(problems))
            self.stdout.write("Partitions are in order.")
