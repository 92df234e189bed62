"""Delete export files older than ISG_EXPORT_RETENTION_DAYS (run daily, e.g. from a timer)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from decisions.reports.tasks import exports_prune, prune_exports


class Command(BaseCommand):
    help = (
        "Delete report export files older than ISG_EXPORT_RETENTION_DAYS; each export is marked "
        "deleted and each deletion is an audit event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="queue the prune for the task worker (manage.py db_worker) instead of now",
        )

    def handle(self, *args: Any, enqueue: bool, **options: Any) -> None:
        if enqueue:
            result = prune_exports.enqueue()
            self.stdout.write(f"Queued the export prune (task {result.id}).")
            return
        deleted = exports_prune()
        days = settings.ISG_EXPORT_RETENTION_DAYS
        self.stdout.write(f"Deleted {deleted} export file(s) older than {days} days.")
