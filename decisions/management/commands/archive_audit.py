"""Archive the oldest month of the audit log: detach it, export it, sign its manifest.

    manage.py archive_audit --list
    manage.py archive_audit --month 2024-01 --to /var/lib/isg/audit-archive

Run as the database owner (it detaches and moves a table) with ISG_CHECKPOINT_KEY set (the
manifest is signed with it). Refused, saying why, for a month that is too recent, not the
oldest live one, or holding events of an organisation under a legal hold. Nothing is deleted:
decisions.audit.archive says what happens, docs/scaling.md when to run it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from decisions.audit.archive import ArchiveRefused, archive_cutoff, archive_month, oldest_month
from decisions.audit.partitions import is_partitioned
from decisions.models import AuditArchive


def _month(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError as exc:
        raise CommandError(f"--month {value!r}: write it as YYYY-MM, e.g. 2024-01") from exc


class Command(BaseCommand):
    help = "Archive the oldest month of the audit log (PostgreSQL), with a signed manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="the month to archive, YYYY-MM (the oldest live one)")
        parser.add_argument("--to", type=Path, help="folder for the month's rows (gzip'd JSON)")
        parser.add_argument("--list", action="store_true", help="archived months, and what next")

    def handle(self, *args: Any, month: str | None, to: Path | None, **options: Any) -> None:
        if not is_partitioned():
            raise CommandError(
                "Archiving needs the partitioned audit table (PostgreSQL); this database keeps "
                "one table, and nothing was archived."
            )
        if options["list"] or not month:
            for archive in AuditArchive.objects.order_by("month"):
                self.stdout.write(
                    f"{archive.month:%Y-%m}: {archive.events} events in {archive.table}"
                    + (f", file {archive.file}" if archive.file else "")
                )
            oldest = oldest_month()
            self.stdout.write(
                f"Oldest live month: {oldest:%Y-%m}; months before {archive_cutoff():%Y-%m} may "
                "be archived."
                if oldest
                else "No live months."
            )
            return
        try:
            archive = archive_month(_month(month), directory=to)
        except (ArchiveRefused, ImproperlyConfigured) as exc:
            raise CommandError(f"Not archived: {exc}") from exc
        self.stdout.write(
            f"Archived {archive.month:%B %Y}: {archive.events} events, now in {archive.table}"
            + (f"; rows in {archive.file} (SHA-256 {archive.file_sha256})" if archive.file else "")
            + f"; manifest signed ({archive.signature[:16]}...)."
        )
