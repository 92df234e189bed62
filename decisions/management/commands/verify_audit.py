"""Walk the whole audit hash chain; exit non-zero naming the first broken event and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from decisions.audit import ChainCheck, verify_chain
from decisions.audit.verify import audit_verify_and_keep


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chains (gaps, altered events, wrong predecessors, a cut-off "
        "tail, rows past the head), every decision record against its submission event, and "
        "the signed checkpoints (--checkpoint FILE, else ISG_CHECKPOINT_DIR's file). Keeps the "
        "result for the leads' audit page unless --no-record."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="only check: store no result and write no audit event",
        )
        parser.add_argument(
            "--workers",
            type=int,
            metavar="N",
            help="walk the chains in N processes (default: one per core, when the log has "
            "50,000 events or more; PostgreSQL)",
        )
        parser.add_argument(
            "--checkpoint",
            metavar="FILE",
            type=Path,
            help="check the chain against every signed checkpoint in FILE (JSON lines, as "
            "written by audit_checkpoint or copied from its emails)",
        )

    def handle(
        self,
        *args: Any,
        no_record: bool,
        checkpoint: Path | None,
        workers: int | None = None,
        **options: Any,
    ) -> None:
        if checkpoint is not None and not checkpoint.is_file():
            raise CommandError(f"No checkpoint file at {checkpoint}")
        try:
            if no_record:
                check = verify_chain(checkpoints=checkpoint, workers=workers)
            else:
                _, check = audit_verify_and_keep(user=None, checkpoints=checkpoint, workers=workers)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if not check.ok:
            where = f" at event #{check.broken_sequence}" if check.broken_sequence else ""
            raise CommandError(
                f"Audit log BROKEN{where}: {check.problem} "
                f"({check.checked} events verified before it)"
            )
        self.stdout.write(
            f"Audit log intact: {check.checked} events in {len(check.heads)} chain(s), up to "
            f"#{check.last_sequence}. Newest hash {check.last_hash}"
        )
        self.stdout.write(self._coverage(check))

    def _coverage(self, check: ChainCheck) -> str:
        lines = [f"Decision records matching their submission events: {check.records_checked}."]
        if check.unsealed_records:
            lines.append(
                f"Decision records submitted before record digests were kept (not covered): "
                f"{check.unsealed_records}."
            )
        if check.checkpoint_file:
            lines.append(
                f"Signed checkpoints agreeing with the chain: {check.checkpoints_checked} "
                f"({check.checkpoint_file})."
            )
        else:
            lines.append("No checkpoint file checked (--checkpoint FILE or ISG_CHECKPOINT_DIR).")
        return "\n".join(lines)
