"""Report exports that run in the background: who asked, for what, and where the file is."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ExportKind(models.TextChoices):
    CSV = "csv", "CSV of decisions"
    PDF = "pdf", "PDF management report"
    RECORDS = "records", "Zip of decision record PDFs"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Being prepared"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    # The file was deleted after settings.ISG_EXPORT_RETENTION_DAYS (the row stays, as a record).
    DELETED = "deleted", "Deleted"


class Export(models.Model):
    """One export too big to build while the manager waits; built by a background task.

    The file is kept by decisions.reports.storage (a private folder, or a private bucket),
    named by `public_id` only, so neither its name nor its URL carries personal data. Only its
    owner may download it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exports"
    )
    organisation = models.ForeignKey(
        "decisions.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(max_length=10, choices=ExportKind.choices)
    # The report filters as submitted and cleaned (dates ISO, organisation slug or "all").
    filters = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    decision_count = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=120, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"

    @property
    def is_ready(self) -> bool:
        return self.status == ExportStatus.READY
