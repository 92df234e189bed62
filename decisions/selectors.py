"""Reads that views share: a user's decisions, fetching one safely, the lead's queue.

Who may see what is decided in decisions.access; these only shape the queries.
"""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404

from decisions import access
from decisions.audit import record_refusal
from decisions.models import Approval, Decision, User


def own_decisions(user: User) -> QuerySet[Decision]:
    """What 'My decisions' lists: the user's own, newest change first."""
    return access.visible_decisions(user).filter(created_by=user).order_by("-updated_at")


def decision_for(user: User, public_id: uuid.UUID | str) -> Decision:
    """The decision if this user may see it; 404 otherwise, so nothing leaks that it exists."""
    try:
        return access.visible_decisions(user).get(public_id=public_id)
    except (Decision.DoesNotExist, ValueError) as exc:
        # Logged (and committed) although the request fails; the event holds only the id sent.
        record_refusal(
            user=user, reason="not_found", object_kind="decision", object_id=str(public_id)[:64]
        )
        raise Http404("No such decision") from exc


def own_editable_decision(user: User, public_id: uuid.UUID | str) -> Decision:
    """A decision the user may work on in the wizard: their own (404 for anyone else's)."""
    decision = decision_for(user, public_id)
    if not access.is_decider(decision, user):
        record_refusal(
            user=user,
            reason="not_own_decision",
            object_kind="decision",
            object_id=str(decision.public_id),
        )
        raise Http404("No such decision")
    return decision


def decision_versions(user: User, decision: Decision) -> list[Decision]:
    """Every version of a decision's reference that this user may see, oldest first."""
    return list(
        access.visible_decisions(user).filter(reference=decision.reference).order_by("version")
    )


def approval_queue(user: User) -> QuerySet[Decision]:
    """Decisions awaiting this user's review, oldest submission first."""
    return (
        access.reviewable_decisions(user)
        .select_related("organisation", "created_by")
        .order_by("submitted_at")
    )


def recent_reviews(user: User) -> QuerySet[Approval]:
    """Approvals and returns this user may see, newest first."""
    return access.visible_reviews(user).select_related("decision", "record", "by").order_by("-at")
