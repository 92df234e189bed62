"""Every permission rule, one function per question ("may this user see this record?").

Only active users in an organisation are given anything (administrators need no
organisation). Views, selectors, services and reports ask here; none of them decides access
on its own, so the rules cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from decisions.models import (
    Approval,
    AuditEvent,
    Decision,
    Export,
    Organisation,
    Role,
    Status,
    User,
)

# Who may open which group of pages.
DECIDERS = (Role.PRACTITIONER, Role.LEAD)
RECORD_READERS = (Role.PRACTITIONER, Role.LEAD, Role.MANAGER, Role.ADMIN)
REVIEWERS = (Role.LEAD, Role.ADMIN)
REPORTERS = (Role.MANAGER, Role.ADMIN)

# Decisions that have taken effect: they can be amended or reconsidered.
IN_EFFECT = (Status.SUBMITTED, Status.APPROVED, Status.REVIEW_AFTER)
# Decisions a lead signs off: before they take effect, or (the urgent route) after.
AWAITING_REVIEW = (Status.AWAITING_APPROVAL, Status.REVIEW_AFTER)


def is_active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def has_role(user: User, roles: Iterable[str]) -> bool:
    return is_active(user) and user.role in tuple(roles)


def page_refusal(user: User, roles: Iterable[str]) -> str:
    """Why a signed-in user may not open a page for `roles` ("" if they may)."""
    if not has_role(user, roles):
        return "role"
    if user.role != Role.ADMIN and user.organisation_id is None:
        return "no_organisation"
    return ""


# ------------------------------------------------------------- decisions ----


def visible_decisions(user: User) -> QuerySet[Decision]:
    """Practitioners see their own; leads and managers their organisation's; admins all."""
    # The pack's JSON body is left out: GuidancePack.pack parses it once per process by digest.
    decisions = Decision.objects.select_related("organisation", "created_by", "pack").defer(
        "pack__data"
    )
    if not is_active(user):
        return decisions.none()
    if user.role == Role.ADMIN:
        return decisions
    if user.role in (Role.LEAD, Role.MANAGER):
        return decisions.filter(organisation_id=user.organisation_id)
    if user.role == Role.PRACTITIONER:
        return decisions.filter(created_by=user, organisation_id=user.organisation_id)
    return decisions.none()


def is_decider(decision: Decision, user: User) -> bool:
    """The person who made the decision (only they change, amend or reconsider it)."""
    return is_active(user) and decision.created_by_id == user.pk


def change_refusal(
    decision: Decision, user: User, *, verb: str, statuses: Iterable[str], status_message: str
) -> str:
    """Why `user` may not `verb` this decision in its current status ("" if they may)."""
    if not is_decider(decision, user):
        return f"Only the person who made this decision can {verb} it."
    if decision.status not in tuple(statuses):
        return status_message
    return ""


def may_amend(decision: Decision, user: User) -> bool:
    return is_decider(decision, user) and decision.status in IN_EFFECT


# -------------------------------------------------------------- sign-off ----
#
# Every decision that needs sign-off has someone who can give it, so none waits for ever:
# the active safeguarding leads of the decider's organisation; if it has none, the
# partnership's safeguarding leads (leads an administrator marked partnership-wide); if there
# are none of those either, the administrators. A decision that waits past the escalation
# time (decisions.approvals) is opened to the next level too.

APPROVER_LEVELS = ("organisation", "partnership", "administrators")


def _approvers_at(level: str, organisation_id: int | None) -> QuerySet[User]:
    users = User.objects.filter(is_active=True)
    if level == "organisation":
        return users.filter(role=Role.LEAD, organisation_id=organisation_id)
    if level == "partnership":
        return users.filter(role=Role.LEAD, partnership_wide=True)
    return users.filter(role=Role.ADMIN)


def approver_level(decision: Decision) -> str:
    """The first level with someone other than the decider to approve this decision."""
    for level in APPROVER_LEVELS:
        if _approvers_at(level, decision.organisation_id).exclude(pk=decision.created_by_id):
            return level
    return APPROVER_LEVELS[-1]


def is_escalated(decision: Decision) -> bool:
    """Waiting for approval longer than settings.ISG_APPROVAL_ESCALATE_HOURS."""
    limit = timedelta(hours=settings.ISG_APPROVAL_ESCALATE_HOURS)
    return bool(
        decision.status in AWAITING_REVIEW
        and decision.submitted_at
        and timezone.now() - decision.submitted_at > limit
    )


def approvers(decision: Decision) -> QuerySet[User]:
    """Who may approve or return this decision (never its decider); once it is escalated, the
    next level too."""
    first = APPROVER_LEVELS.index(approver_level(decision))
    levels = APPROVER_LEVELS[first : first + (2 if is_escalated(decision) else 1)]
    chosen = User.objects.none()
    for level in levels:
        chosen = chosen | _approvers_at(level, decision.organisation_id)
    return chosen.exclude(pk=decision.created_by_id).distinct()


def review_refusal(decision: Decision, user: User) -> str:
    """Why `user` may not approve or return this decision now ("" if they may)."""
    if not has_role(user, (Role.LEAD, Role.ADMIN)):
        return "Only a safeguarding lead can approve or return a decision."
    record = decision.latest_record()
    if decision.created_by_id == user.pk or (record and record.submitted_by_id == user.pk):
        return (
            "You cannot approve or return your own decision. Another safeguarding lead of your "
            "organisation must review it."
        )
    if not approvers(decision).filter(pk=user.pk).exists():
        return (
            "Only a safeguarding lead of the organisation that made this decision can approve "
            "or return it."
        )
    if decision.status not in AWAITING_REVIEW or record is None:
        return (
            f"This decision is not awaiting approval (its status is "
            f"'{decision.get_status_display()}'), so nothing was changed."
        )
    return ""


def may_review(decision: Decision, user: User) -> bool:
    """Whether to offer the approve/return form (the services ask review_refusal again)."""
    return (
        decision.status in AWAITING_REVIEW
        and decision.created_by_id != user.pk
        and has_role(user, (Role.LEAD, Role.ADMIN))
        and approvers(decision).filter(pk=user.pk).exists()
    )


def _organisations_without_leads() -> QuerySet[Organisation]:
    leads = User.objects.filter(role=Role.LEAD, is_active=True, organisation__isnull=False)
    return Organisation.objects.exclude(pk__in=leads.values("organisation_id"))


def reviewable_decisions(user: User) -> QuerySet[Decision]:
    """Decisions awaiting approval that this user may see in the queue: a lead's organisation's;
    for partnership leads also those of organisations with no active lead; all for admins."""
    decisions = Decision.objects.filter(status__in=AWAITING_REVIEW)
    if has_role(user, (Role.ADMIN,)):
        return decisions
    if not has_role(user, (Role.LEAD,)):
        return decisions.none()
    own = decisions.filter(organisation_id=user.organisation_id)
    if user.partnership_wide:
        waited = timezone.now() - timedelta(hours=settings.ISG_APPROVAL_ESCALATE_HOURS)
        return (
            own
            | decisions.filter(organisation__in=_organisations_without_leads())
            | decisions.filter(submitted_at__lt=waited)
        )
    return own


def visible_reviews(user: User) -> QuerySet[Approval]:
    reviews = Approval.objects.all()
    if has_role(user, (Role.ADMIN,)):
        return reviews
    if has_role(user, (Role.LEAD,)):
        return reviews.filter(decision__organisation_id=user.organisation_id)
    return reviews.none()


# ------------------------------------------------------------- audit log ----


def visible_events(user: User) -> QuerySet[AuditEvent]:
    """Leads see the events of their own organisation's people; administrators see all."""
    events = AuditEvent.objects.order_by("-sequence")
    if has_role(user, (Role.ADMIN,)):
        return events
    if has_role(user, (Role.LEAD,)) and user.organisation_id is not None:
        return events.filter(organisation_id=user.organisation_id)
    return events.none()


def audit_people(user: User) -> QuerySet[User]:
    """The people whose events this user may filter the audit log by."""
    people = User.objects.order_by("email")
    if has_role(user, (Role.ADMIN,)):
        return people
    if has_role(user, (Role.LEAD,)):
        return people.filter(organisation_id=user.organisation_id)
    return people.none()


def may_choose_organisation(user: User) -> bool:
    """Administrators filter the audit log and reports across organisations."""
    return has_role(user, (Role.ADMIN,))


# --------------------------------------------------------------- reports ----


def reportable_organisations(user: User) -> QuerySet[Organisation]:
    """Managers report on their own organisation; partnership managers and admins on any."""
    if not has_role(user, REPORTERS):
        return Organisation.objects.none()
    if user.role == Role.ADMIN or user.partnership_wide:
        return Organisation.objects.all()
    return Organisation.objects.filter(pk=user.organisation_id)


def is_aggregate_only(user: User, organisation: Organisation | None) -> bool:
    """Aggregates only (no references, names, small counts) beyond the user's organisation.

    `organisation` is the one the report is filtered to, None for all it may cover.
    """
    if user.role == Role.ADMIN or not user.partnership_wide:
        return False  # admins see everything; a manager's reports never leave their own
    return organisation is None or organisation.pk != user.organisation_id


def reports_cover_all(user: User) -> bool:
    """Whether a report starts from every organisation (partnership managers, admins)."""
    return bool(user.partnership_wide or user.role == Role.ADMIN or not user.organisation_id)


def may_run_reports(user: User) -> bool:
    return has_role(user, REPORTERS)


def visible_exports(user: User) -> QuerySet[Export]:
    """A user's own exports; nobody sees another person's."""
    if not is_active(user):
        return Export.objects.none()
    return Export.objects.filter(owner=user)


# -------------------------------------------------------- administration ----
# Administrators manage the people of their own organisation. Partnership administrators
# (marked partnership-wide, or in no organisation, like an account from `createsuperuser`)
# manage every organisation's people and the list of organisations itself.


def may_administer(user: User) -> bool:
    return has_role(user, (Role.ADMIN,))


def administers_every_organisation(user: User) -> bool:
    return may_administer(user) and bool(user.partnership_wide or user.organisation_id is None)


def administered_organisations(user: User) -> QuerySet[Organisation]:
    if administers_every_organisation(user):
        return Organisation.objects.all()
    if may_administer(user):
        return Organisation.objects.filter(pk=user.organisation_id)
    return Organisation.objects.none()


def administered_users(user: User) -> QuerySet[User]:
    """The accounts this administrator may see and change (their own among them)."""
    people = User.objects.select_related("organisation").order_by("email")
    if administers_every_organisation(user):
        return people
    if may_administer(user):
        return people.filter(organisation_id=user.organisation_id)
    return people.none()
