"""Submitted records of an organisation as the API gives them: the same key facts as the PDF
(decisions.snapshot.key_facts), the outcome, reasons, lawful basis, recipient and sign-off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from decisions.models import ApiToken, Approval, Decision, DecisionRecord
from decisions.snapshot import KEY_FACTS, key_facts

LABELS = dict(KEY_FACTS)


def organisation_records(
    token: ApiToken, *, reference: str = "", updated_since: datetime | None = None
) -> QuerySet[Decision]:
    """Decisions of the token's organisation submitted at least once, oldest change first (so
    a case system can page through changes since its last poll)."""
    decisions = Decision.objects.filter(
        organisation_id=token.organisation_id, submitted_at__isnull=False
    )
    if reference:
        decisions = decisions.filter(reference=reference)
    if updated_since is not None:
        decisions = decisions.filter(updated_at__gte=updated_since)
    return decisions.order_by("updated_at", "pk").prefetch_related(
        Prefetch("records", queryset=DecisionRecord.objects.order_by("-round")),
        Prefetch(
            "approvals", queryset=Approval.objects.select_related("by", "record").order_by("at")
        ),
    )


def latest_record(decision: Decision) -> DecisionRecord:
    return decision.records.all()[0]  # prefetched newest first; every listed one has one


def record_json(decision: Decision) -> dict[str, Any]:
    record = latest_record(decision)
    facts = dict(key_facts(record.snapshot))

    def fact(name: str) -> str:
        return facts.get(LABELS[name], "")

    return {
        "decision_id": decision.public_id,
        "reference": decision.reference,
        "version": decision.version,
        "display_reference": decision.display_reference,
        "status": decision.status,
        "status_label": decision.get_status_display(),
        "updated_at": decision.updated_at,
        "round": record.round,
        "submitted_at": record.submitted_at,
        "case_reference": fact("case_reference"),
        "outcome": record.outcome,
        "outcome_title": record.outcome_title,
        "outcome_summary": record.outcome_summary,
        "reasons": [str(reason) for reason in record.reasons],
        "lawful_basis": {
            "lawful_reason": fact("lawful_reason"),
            "gdpr_article6": fact("gdpr_article6"),
            "special_category_condition": fact("special_category_condition"),
        },
        "recipient": {
            "organisation": fact("recipient_org"),
            "role": fact("recipient_role"),
            "share_date": fact("share_date"),
            "method": fact("method"),
        },
        "key_facts": [{"label": label, "answer": answer} for label, answer in facts.items()],
        "sign_off": {
            "needs_approval": record.needs_approval,
            "reviews": [
                {
                    "action": approval.action,
                    "round": approval.record.round,
                    "at": approval.at,
                    "by": approval.by.full_name,
                }
                for approval in decision.approvals.all()
            ],
        },
    }
