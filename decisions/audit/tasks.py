"""The background task that checkpoints the audit chain, for a scheduler to enqueue.

`audit_checkpoint_task.enqueue()` (e.g. hourly) does what `manage.py audit_checkpoint` does;
the worker (`manage.py db_worker`) runs it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django_tasks import task

from decisions.audit.verify import audit_checkpoint


@task()
def audit_checkpoint_task() -> dict[str, Any]:
    """Verify the log, sign its head and keep the checkpoint; returns the checkpoint."""
    return asdict(audit_checkpoint())
