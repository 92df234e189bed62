"""Reads that views share: which decisions a user may see, and fetching one safely."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404

from decisions.audit import record_refusal
from decisions.models import Decision, Role, User


def visible_decisions(user: User) -> QuerySet[Decision]:
    """Practitioners see their own; leads and managers their organisation's; admins all."""
    decisions = Decision.objects.select_related("organisation", "created_by", "pack")
    if not user.is_active:
        return decisions.none()
    if user.role == Role.ADMIN:
        return decisions
    if user.role in (Role.LEAD, Role.MANAGER):
        return decisions.filter(organisation_id=user.organisation_id)
    return decisions.filter(created_by=user, organisation_id=user.organisation_id)


def own_decisions(user: User) -> QuerySet[Decision]:
    """What 'My decisions' lists: the user's own, newest change first."""
    return visible_decisions(user).filter(created_by=user).order_by("-updated_at")


def decision_for(user: User, public_id: uuid.UUID | str) -> Decision:
    """The decision if this user may see it; 404 otherwise, so nothing leaks that it exists."""
    try:
        return visible_decisions(user).get(public_id=public_id)
    except (Decision.DoesNotExist, ValueError) as exc:
        # Logged (and committed) although the request fails; the event holds only the id sent.
        record_refusal(
            user=user, reason="not_found", object_kind="decision", object_id=str(public_id)[:64]
        )
        raise Http404("No such decision") from exc


def own_editable_decision(user: User, public_id: uuid.UUID | str) -> Decision:
    """A decision the user may work on in the wizard: their own (404 for anyone else's)."""
    decision = decision_for(user, public_id)
    if decision.created_by_id != user.pk:
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
    return list(visible_decisions(user).filter(reference=decision.reference).order_by("version"))
