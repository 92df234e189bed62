"""Count the report summaries again from the decisions (after a restore, or to check them)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from decisions import report_summaries


class Command(BaseCommand):
    help = (
        "Rebuild the report summary table from every submitted decision. Services keep it up "
        "to date as decisions change; run this after restoring data, or with --check to see "
        "whether the kept table equals a rebuilt one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="compare the kept table with a rebuilt one and exit 1 if they differ",
        )

    def handle(self, *args: Any, check: bool, **options: Any) -> None:
        kept = report_summaries.summary_rows() if check else None
        started = time.perf_counter()
        decisions, rows = report_summaries.rebuild()
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Counted {decisions:,} decisions into {rows:,} summary rows in {seconds:.1f} s."
        )
        if kept is not None:
            rebuilt = report_summaries.summary_rows()
            differ = (kept.keys() | rebuilt.keys()) - {
                key for key in kept.keys() & rebuilt.keys() if kept[key] == rebuilt[key]
            }
            if differ:
                self.stderr.write(f"The kept summaries differed in {len(differ):,} rows.")
                raise SystemExit(1)
            self.stdout.write("The kept summaries were the same as the rebuilt ones.")
