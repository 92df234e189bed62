"""The audit log's rows and verification results. Only decisions.audit writes them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from decisions.models.base import (
    AppendOnly,
    AppendOnlyQuerySet,
    refuse_truncate,
    refuse_update_and_delete,
)


class AuditEvent(AppendOnly):
    """One thing that happened. Append-only; hash-chained by decisions.audit."""

    objects = AppendOnlyQuerySet.as_manager()

    # Global, unique and increasing (a database sequence on PostgreSQL; gaps where a transaction
    # rolled back): the audit pages page by it. The hash chains run per chain, by `position`.
    sequence = models.PositiveBigIntegerField(unique=True)
    # Never earlier than the event before it in its chain (decisions.audit).
    created_at = models.DateTimeField()
    # The chain the event belongs to: "org-<id>" for an organisation's events, "platform" for
    # events without one, "legacy" for the single chain written before per-organisation chains
    # (migration 0009). `position` numbers a chain's events 1, 2, 3... without gaps; legacy
    # events have none (their place is their sequence number, gap-free in that segment).
    chain = models.CharField(max_length=24)
    position = models.PositiveBigIntegerField(null=True, blank=True)
    # Indexed on its own (Meta) so that deleting a user need not scan the log for references.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    actor_email = models.CharField(max_length=254, blank=True)
    # The composite indexes in Meta lead with the organisation, so its FK needs none of its own.
    organisation = models.ForeignKey(
        "decisions.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    role = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=80)  # dotted: "decision.submitted"
    object_kind = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    reference = models.CharField(max_length=20, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    # Unique through a constraint, not unique=True: that would also build a varchar_pattern_ops
    # ("_like") index on PostgreSQL, which no query uses (nothing searches hashes by prefix).
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-sequence"]
        # The audit pages read newest first with a keyset cursor (sequence < n), filtered by
        # organisation, person (by the email recorded, which failed sign-ins also carry),
        # action, record reference or record id: one index per filter.
        indexes = [
            models.Index(fields=["organisation", "-sequence"], name="audit_org_seq"),
            models.Index(
                fields=["organisation", "action", "-sequence"], name="audit_org_action_seq"
            ),
            models.Index(fields=["actor_email", "-sequence"], name="audit_person_seq"),
            models.Index(fields=["action", "-sequence"], name="audit_action_seq"),
            models.Index(fields=["reference", "-sequence"], name="audit_reference_seq"),
            models.Index(fields=["object_id", "-sequence"], name="audit_object_seq"),
            # Date filters: within one chain time follows the sequence, so each chain's first
            # and last event of a date range are one probe each (decisions.audit.queries).
            models.Index(fields=["chain", "created_at", "sequence"], name="audit_chain_time_seq"),
            models.Index(fields=["actor"], name="audit_actor"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["hash"], name="audit_hash_unique"),
            # Verification walks each chain by position; an append checks nothing lies past
            # its chain's head. One event per place in a chain, so a chain cannot fork.
            models.UniqueConstraint(fields=["chain", "position"], name="audit_chain_position"),
            models.CheckConstraint(
                condition=models.Q(position__isnull=False) | models.Q(chain="legacy"),
                name="audit_chained_has_position",
            ),
        ]
        # On PostgreSQL the database itself refuses to change or remove events, whatever the
        # client (decisions.models.base.AppendOnly only guards the ORM); the app's role has no
        # UPDATE, DELETE or TRUNCATE privilege either, which no session setting can bypass.
        triggers = [refuse_update_and_delete(), refuse_truncate()]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"


class AuditChain(models.Model):
    """The head of one hash chain: an append to the chain locks this row, so it never forks.

    One row per organisation that has events ("org-<id>"), one for events without an
    organisation ("platform"), and, in a database that had events before migration 0009, the
    frozen head of the single chain of those days ("legacy"; its position is the sequence
    number of its last event). Organisations never wait for each other's appends.
    """

    key = models.CharField(max_length=24, primary_key=True)
    position = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"chain {self.key} at position {self.position}"


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
        triggers = [refuse_update_and_delete()]

    def __str__(self) -> str:
        return "intact" if self.ok else f"broken at #{self.broken_sequence}"
