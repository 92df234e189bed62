"""Sign-off of decisions: one review per submitted round."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from decisions.models.base import AppendOnly, AppendOnlyQuerySet, refuse_update_and_delete
from decisions.models.decisions import Decision, DecisionRecord


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
        triggers = [refuse_update_and_delete()]

    def __str__(self) -> str:
        return f"{self.get_action_display()} round {self.record.round}"
