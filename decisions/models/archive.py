"""Archived months of the audit log, and legal holds that stop archiving (issue 13).

On PostgreSQL the audit table is partitioned by month (decisions.audit.partitions). A month
old enough is archived by detaching its partition into the `audit_archive` schema and writing
its rows to a file, with a manifest signed under ISG_CHECKPOINT_KEY; the manifest is kept here
too, so verification can start each chain where its archived part ends. Nothing is deleted:
the archived table stays in the database, read-only, until someone decides otherwise outside
ISG. An organisation under a legal hold is never archived.
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models

from decisions.models.base import AppendOnly, AppendOnlyQuerySet, refuse_update_and_delete


class AuditArchive(AppendOnly):
    """One month of the audit log, archived: where it went and the signed manifest."""

    month = models.DateField(unique=True, help_text="The first day of the month archived")
    archived_at = models.DateTimeField()
    by = models.CharField(max_length=254, help_text="Who ran the archive (the OS user)")
    table = models.CharField(max_length=120, help_text="schema.table holding the rows now")
    events = models.PositiveBigIntegerField()
    file = models.CharField(max_length=500, blank=True, help_text="The exported rows, if any")
    file_sha256 = models.CharField(max_length=64, blank=True)
    # The manifest as signed: per chain, the first and last archived event (position, hash,
    # sequence, time); the row count; the file's digest. `signature` is HMAC-SHA256 of the
    # canonical JSON of `manifest` under ISG_CHECKPOINT_KEY.
    manifest = models.JSONField()
    signature = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["month"]
        triggers = [refuse_update_and_delete()]

    def __str__(self) -> str:
        return f"audit events of {self.month:%B %Y}, archived"


class LegalHold(models.Model):
    """A hold on an organisation's audit events: while it is in force, none are archived.

    Placed and released by an administrator of the organisation, each with a reason, each an
    audit event. A released hold stays as a row: the history of holds is itself evidence.
    """

    organisation = models.ForeignKey(
        "decisions.Organisation", on_delete=models.PROTECT, related_name="legal_holds"
    )
    reason = models.CharField(max_length=500)
    placed_at = models.DateTimeField()
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    release_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        # Released, never removed (the app's role has no DELETE on it either: db_roles).
        triggers = [
            pgtrigger.Protect(name="never_deleted", operation=pgtrigger.Delete),
        ]
        constraints = [
            # One hold in force per organisation: a second would add nothing but confusion.
            models.UniqueConstraint(
                fields=["organisation"],
                condition=models.Q(released_at__isnull=True),
                name="one_legal_hold_in_force",
            ),
            models.CheckConstraint(
                condition=models.Q(released_at__isnull=True)
                | (models.Q(released_by__isnull=False) & ~models.Q(release_reason="")),
                name="legal_hold_release_has_who_and_why",
            ),
        ]

    def __str__(self) -> str:
        state = "in force" if self.in_force else "released"
        return f"legal hold on {self.organisation} ({state})"

    @property
    def in_force(self) -> bool:
        return self.released_at is None
