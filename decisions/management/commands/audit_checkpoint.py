"""Sign the audit chains' heads and keep the checkpoint outside the database (file and/or email)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from decisions.audit import audit_checkpoint
from decisions.audit.checkpoints import CheckpointRefused, checkpoint_file


class Command(BaseCommand):
    help = (
        "Verify the audit log, then sign its head (HMAC-SHA256 with ISG_CHECKPOINT_KEY) and "
        "append the checkpoint to ISG_CHECKPOINT_DIR's file and/or email it to "
        "ISG_CHECKPOINT_EMAILS. Run it from a timer (hourly, say); exits 1 if the log is broken."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoint = audit_checkpoint()
        except (CheckpointRefused, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from exc
        path, recipients = checkpoint_file(), settings.ISG_CHECKPOINT_EMAILS
        kept = [f"appended to {path}"] if path is not None else []
        kept += [f"emailed to {len(recipients)} address(es)"] if recipients else []
        self.stdout.write(
            f"Checkpoint of event #{checkpoint.sequence} (hash {checkpoint.hash}) and "
            f"{len(checkpoint.heads or {})} chain head(s) "
            f"{' and '.join(kept)}."
        )
