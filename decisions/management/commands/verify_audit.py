"""Walk the whole audit hash chain; exit non-zero naming the first broken event and why."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from decisions.audit import audit_verify, verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain (gaps, altered events, wrong predecessors, a cut-off "
        "tail). Keeps the result for the leads' audit page unless --no-record."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="only check: store no result and write no audit event",
        )

    def handle(self, *args: Any, no_record: bool, **options: Any) -> None:
        if no_record:
            check = verify_chain()
            ok, checked, last = check.ok, check.checked, check.last_sequence
            broken, problem, last_hash = check.broken_sequence, check.problem, check.last_hash
        else:
            result = audit_verify(user=None)
            ok, checked, last = result.ok, result.checked, result.last_sequence
            broken, problem, last_hash = result.broken_sequence, result.problem, result.last_hash
        if not ok:
            raise CommandError(
                f"Audit log BROKEN at event #{broken}: {problem} "
                f"({checked} events verified before it)"
            )
        self.stdout.write(
            f"Audit log intact: {checked} events, #1 to #{last}. Head hash {last_hash}"
        )
