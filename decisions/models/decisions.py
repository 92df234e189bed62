"""A decision (the practitioner's working copy) and its records (what was submitted, frozen)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import models

from decisions.models.base import (
    AppendOnly,
    AppendOnlyQuerySet,
    refuse_truncate,
    refuse_update_and_delete,
)
from decisions.models.guidance import GuidancePack
from decisions.models.organisations import Organisation


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    RETURNED = "returned", "Returned for changes"
    APPROVED = "approved", "Approved"
    SUBMITTED = "submitted", "Submitted"
    SUPERSEDED = "superseded", "Superseded by an amendment"
    # Shared at once on the urgent route: in effect, and a lead reviews it after the event.
    REVIEW_AFTER = "review_after", "Shared urgently: awaiting review"
    DISCARDED = "discarded", "Discarded draft"


# Statuses in which the practitioner may still change answers.
EDITABLE = (Status.DRAFT, Status.RETURNED)


class OutcomeKind(models.TextChoices):
    DO_NOT_SHARE = "do_not_share", "Do not share"
    CAN_SHARE = "can_share", "You can share"
    SHARE_WITH_CONSENT = "share_with_consent", "Share with consent"
    SHARE_WITHOUT_CONSENT = "share_without_consent", "Share without consent"


class AgeBand(models.TextChoices):
    UNDER_12 = "under_12", "Under 12"
    AGE_12_15 = "12_15", "12 to 15"
    AGE_16_17 = "16_17", "16 or 17"
    ADULT = "adult", "Adult (18 or over)"


class ReferenceCounter(models.Model):
    """The last reference number issued in a year; its row is locked while a number is taken."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Decision(models.Model):
    """One information-sharing decision while it is worked on, and its place in sign-off.

    What was decided is frozen in DecisionRecord at every submission; this row carries the
    working answers (editable only while a draft or returned) and the workflow status.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(max_length=20, db_index=True)
    version = models.PositiveIntegerField(default=1)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions"
    )
    pack = models.ForeignKey(GuidancePack, on_delete=models.PROTECT, related_name="decisions")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    answers = models.JSONField(default=dict, blank=True)  # step id -> {field -> value}
    # Minimum personal data, copied from the answers for lists: never a name or address.
    case_reference = models.CharField(max_length=40, blank=True)
    subject_initials = models.CharField(max_length=5, blank=True)
    outcome = models.CharField(max_length=30, choices=OutcomeKind.choices, blank=True)
    needs_approval = models.BooleanField(default=False)
    amends = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="amendments"
    )
    amendment_reason = models.TextField(blank=True)
    reconsiders = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reconsiderations"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["reference", "version"], name="unique_ref_version"),
        ]
        indexes = [models.Index(fields=["organisation", "status", "submitted_at"])]

    def __str__(self) -> str:
        return self.display_reference

    @property
    def display_reference(self) -> str:
        return (
            self.reference
            if self.version == 1
            else f"{self.reference} (amendment {self.version - 1})"
        )

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE

    def latest_record(self) -> DecisionRecord | None:
        return self.records.order_by("-round").first()


# What a record's digest covers (decisions.audit verifies it against the digest kept in its
# "decision.submitted" audit event), with the name each value has in the digested JSON.
RECORD_DIGEST_FIELDS = {
    "decision__reference": "reference",
    "decision__version": "version",
    "round": "round",
    "pack_id": "pack_id",
    "pack_version": "pack_version",
    "pack_edition": "pack_edition",
    "pack_digest": "pack_digest",
    "answers": "answers",
    "snapshot": "snapshot",
    "outcome": "outcome",
    "outcome_title": "outcome_title",
    "outcome_summary": "outcome_summary",
    "reasons": "reasons",
    "needs_approval": "needs_approval",
    "submitted_by_id": "submitted_by",
    "submitted_at": "submitted_at",
}


def record_digest(values: Mapping[str, Any]) -> str:
    """SHA-256 of a record's evidential fields (RECORD_DIGEST_FIELDS, as `.values()` reads them).

    Canonical JSON: sorted keys, no spaces, the time in UTC to the microsecond (what both
    databases store), so the same stored record always gives the same digest.
    """
    body = {name: values[field] for field, name in RECORD_DIGEST_FIELDS.items()}
    body["submitted_at"] = body["submitted_at"].astimezone(UTC).isoformat(timespec="microseconds")
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class DecisionRecord(AppendOnly):
    """What was submitted, exactly as the practitioner saw it: one row per submission round."""

    objects = AppendOnlyQuerySet.as_manager()

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="records")
    round = models.PositiveIntegerField()
    pack_id = models.CharField(max_length=80)
    pack_version = models.PositiveIntegerField()
    pack_edition = models.CharField(max_length=20)
    pack_digest = models.CharField(max_length=64)
    answers = models.JSONField()
    # The steps on the path with their question, help, citations and labelled answers.
    snapshot = models.JSONField()
    outcome = models.CharField(max_length=30, choices=OutcomeKind.choices)
    outcome_title = models.CharField(max_length=200)
    outcome_summary = models.TextField()
    reasons = models.JSONField()
    needs_approval = models.BooleanField()
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["decision", "round"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "round"], name="unique_record_round"),
        ]
        # Evidence, like the audit log: PostgreSQL refuses UPDATE, DELETE and TRUNCATE.
        triggers = [refuse_update_and_delete(), refuse_truncate()]

    def __str__(self) -> str:
        return f"{self.decision.reference} round {self.round}"

    def content_digest(self) -> str:
        """The digest of this record as stored: read back, so it is what verification reads.

        Read from the database rather than from the attributes because JSON can come back
        from it in another shape (tuples as lists, numbers normalised).
        """
        stored = type(self).objects.filter(pk=self.pk).values(*RECORD_DIGEST_FIELDS).get()
        return record_digest(stored)
