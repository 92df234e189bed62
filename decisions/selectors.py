"""Reads that views share: a user's decisions, fetching one safely, the lead's queue.

Who may see what is decided in decisions.access; these only shape the queries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from decisions import access
from decisions.audit import record_refusal
from decisions.durations import describe_duration
from decisions.guidance import engine
from decisions.models import Approval, Decision, GuidancePack, Status, User

# The most decisions the approvals queue lists at once (search finds the rest).
QUEUE_LIMIT = 500


def own_decisions(user: User) -> QuerySet[Decision]:
    """What 'My decisions' lists: the user's own, newest change first."""
    mine = access.visible_decisions(user).filter(created_by=user).exclude(status=Status.DISCARDED)
    return mine.order_by("-updated_at")


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


def drafts_with_same_case(decision: Decision) -> list[Decision]:
    """The decider's other open drafts for the same case reference (a warning, not a bar)."""
    if not decision.case_reference:
        return []
    others = Decision.objects.filter(
        created_by_id=decision.created_by_id,
        case_reference__iexact=decision.case_reference,
        status__in=(Status.DRAFT, Status.RETURNED),
    ).exclude(pk=decision.pk)
    return list(others.order_by("-updated_at")[:5])


def decision_versions(user: User, decision: Decision) -> list[Decision]:
    """Every version of a decision's reference that this user may see, oldest first."""
    return list(
        access.visible_decisions(user).filter(reference=decision.reference).order_by("version")
    )


# A request or concern that makes a decision urgent for its reviewer, by the field and the
# answer that marks it (the words are shown in the queue).
URGENT_ANSWERS = {
    ("concern_level", "significant_harm"): "Significant harm",
    ("requester_legal_basis", "ca1989_s47"): "Section 47 enquiry",
    ("requester_legal_basis", "court_order"): "Court order",
}


@dataclass(frozen=True)
class QueueItem:
    """A decision awaiting review, with what a lead needs to triage it."""

    decision: Decision
    requester: str
    concern: str
    waiting: timedelta
    urgent_because: tuple[str, ...]

    @property
    def urgent(self) -> bool:
        return bool(self.urgent_because)

    @property
    def waiting_words(self) -> str:
        return describe_duration(self.waiting)


def _packs(decisions: list[Decision]) -> dict[int, engine.Pack]:
    """The parsed pack of each decision, reading each stored pack once (not once per row)."""
    ids = {d.pack_id for d in decisions}
    stored_packs = GuidancePack.objects.filter(pk__in=ids).defer("data")  # parsed by digest
    return {stored.pk: stored.pack for stored in stored_packs}


def _label(pack: engine.Pack, values: dict[str, Any], name: str) -> str:
    if not values.get(name):
        return ""
    try:
        return pack.field(name).choice_label(str(values[name]))
    except KeyError:
        return str(values[name])


def triage(decision: Decision, pack: engine.Pack, now: datetime) -> QueueItem:
    values = engine.flat_answers(decision.answers)
    if values.get("direction") == "request":
        requester = str(values.get("requester_org") or "A request")
    else:
        requester = "Shared on the decider's own initiative"
    reasons = tuple(
        words for (name, value), words in URGENT_ANSWERS.items() if values.get(name) == value
    )
    return QueueItem(
        decision=decision,
        requester=requester,
        concern=_label(pack, values, "concern_level"),
        waiting=now - (decision.submitted_at or now),
        urgent_because=reasons,
    )


def approval_queue(user: User, *, search: str = "") -> list[QueueItem]:
    """Decisions awaiting this user's review: urgent ones first, then the longest waiting."""
    decisions = access.reviewable_decisions(user).select_related("organisation", "created_by")
    search = search.strip()
    if search:
        decisions = decisions.filter(
            Q(reference__iexact=search) | Q(case_reference__icontains=search)
        )
    rows = list(decisions.order_by("submitted_at")[:QUEUE_LIMIT])
    packs, now = _packs(rows), timezone.now()
    items = [triage(d, packs[d.pack_id], now) for d in rows]
    return sorted(items, key=lambda item: (not item.urgent, item.decision.submitted_at))


def waiting_count(user: User) -> int:
    """How many decisions wait for this user's review (the menu shows it to leads)."""
    return access.reviewable_decisions(user).exclude(created_by=user).count()


def recent_reviews_of_own(user: User, *, days: int = 14) -> list[Approval]:
    """Approvals and returns of the user's own decisions lately ("My decisions" shows them)."""
    since = timezone.now() - timedelta(days=days)
    reviews = Approval.objects.filter(decision__created_by=user, at__gte=since)
    return list(reviews.select_related("decision", "by").order_by("-at")[:10])


def recent_reviews(user: User) -> QuerySet[Approval]:
    """Approvals and returns this user may see, newest first."""
    return access.visible_reviews(user).select_related("decision", "record", "by").order_by("-at")
