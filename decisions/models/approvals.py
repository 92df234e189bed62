"""Sign-off of decisions (one review per submitted round) and audit-chain verification results."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models

from decisions.models.audit import AppendOnlyQuerySet
from decisions.models.decisions import AppendOnly, Decision, DecisionRecord


class ReviewAction(models.TextChoices):
    APPROVED = "approved", "Approved"
    RETURNED = "returned", "Returned for changes"


class Approval(AppendOnly):
    """A safeguarding lead's approval or return of one submitted round of a decision.

    Append-only, and one per round: a returned decision comes back as a new round, so the
    history of every round (submission, then its review) stays on the record.
    """

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="approvals")
    record = models.ForeignKey(DecisionRecord, on_delete=models.PROTECT, related_name="approvals")
    action = models.CharField(max_length=20, choices=ReviewAction.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    comments = models.TextField(blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["decision", "at"]
        constraints = [
            # A round is reviewed once: a second approval of the same round cannot be stored.
            models.UniqueConstraint(fields=["record"], name="one_review_per_round"),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} round {self.record.round}"


class AuditVerification(AppendOnly):
    """The result of one walk of the audit hash chain (`manage.py verify_audit` or in the app)."""

    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    ok = models.BooleanField()
    checked = models.PositiveBigIntegerField(help_text="Events walked")
    last_sequence = models.PositiveBigIntegerField(help_text="Last event that verified")
    last_hash = models.CharField(max_length=64, blank=True)
    broken_sequence = models.PositiveBigIntegerField(null=True, blank=True)
    problem = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return "intact" if self.ok else f"broken at #{self.broken_sequence}"
