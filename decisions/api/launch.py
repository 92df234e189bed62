"""Decisions started by a case system, and the one-time link to them.

The case system names the practitioner (by email, within the token's organisation) and the
case; ISG starts a draft for that practitioner and returns a link. Following it still needs
the practitioner's own sign-in: the link is bound to them (anyone else is refused), expires
after ISG_API_LINK_MINUTES and works once. The values the case system sent fill the wizard's
questions until the practitioner answers them (kept in their session from the link on).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from decisions import access, services
from decisions.api.tokens import digest, record_api_event
from decisions.audit import AuditAction, record_event
from decisions.models import ApiToken, Decision, DecisionLaunch, User

LINK_PREFIX = "isgl_"
SESSION_KEY = "isg_api_prefill"
PREFILLED = ("case_reference", "initials", "age_band")


class LaunchRefused(Exception):
    """A start the API refuses; `field` names the value at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Launched:
    decision: Decision
    link_secret: str  # returned once to the case system, kept only as its SHA-256
    expires_at: datetime


def practitioner_in(token: ApiToken, email: str) -> User | None:
    """An active person of the token's organisation who may make decisions, by email."""
    return (
        User.objects.filter(
            organisation=token.organisation,
            email__iexact=email.strip(),
            is_active=True,
            role__in=access.DECIDERS,
        )
        .select_related("organisation")
        .first()
    )


def launch_start(
    *,
    token: ApiToken,
    practitioner_email: str,
    case_reference: str,
    initials: str,
    age_band: str = "",
) -> Launched:
    practitioner = practitioner_in(token, practitioner_email)
    if practitioner is None:
        # The same words whether the address is unknown or belongs to another organisation.
        raise LaunchRefused(
            "practitioner_email",
            "No active practitioner or safeguarding lead with this email address in your "
            "organisation.",
        )
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(minutes=settings.ISG_API_LINK_MINUTES)
    with transaction.atomic():
        decision = services.decision_start(user=practitioner)
        DecisionLaunch.objects.create(
            decision=decision,
            practitioner=practitioner,
            token=token,
            link_hash=digest(secret),
            expires_at=expires_at,
            case_reference=case_reference,
            initials=initials,
            age_band=age_band,
        )
        record_api_event(
            AuditAction.API_DECISION_STARTED,
            token=token,
            obj=decision,
            details={"practitioner": practitioner.pk, "link_expires_at": expires_at},
        )
    return Launched(decision=decision, link_secret=secret, expires_at=expires_at)


class LinkRefused(Exception):
    """A link that cannot be followed: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


def _refusal(launch: DecisionLaunch | None, user: User) -> LinkRefused | None:
    if launch is None:
        return LinkRefused(404, "unknown", "This link is not valid.")
    if launch.decision.organisation_id != user.organisation_id:
        # Another organisation's: as if it did not exist.
        return LinkRefused(404, "other_organisation", "This link is not valid.")
    if launch.practitioner_id != user.pk:
        return LinkRefused(
            403,
            "other_person",
            "This link was made for someone else. Ask your case system to start the decision "
            "for you, or start one in ISG.",
        )
    if launch.used_at is not None:
        return LinkRefused(
            410,
            "used",
            "This link has already been used. Carry on with the decision from 'My decisions'.",
        )
    if launch.expires_at <= timezone.now():
        return LinkRefused(
            410,
            "expired",
            "This link has expired. Carry on with the decision from 'My decisions'.",
        )
    return None


def link_follow(*, user: User, secret: str, session: SessionBase) -> Decision:
    """Use a one-time link: the practitioner's decision, its prefill kept in their session."""
    with transaction.atomic():
        launch = (
            DecisionLaunch.objects.select_for_update()
            .select_related("decision", "token")
            .filter(link_hash=digest(secret[:200]))
            .first()
        )
        refusal = _refusal(launch, user)
        if refusal is None and launch is not None:
            launch.used_at = timezone.now()
            launch.save(update_fields=["used_at"])
            record_event(
                AuditAction.API_LINK_FOLLOWED,
                actor=user,
                obj=launch.decision,
                details={"token": launch.token.name},
            )
    if refusal is not None or launch is None:
        refusal = refusal or LinkRefused(404, "unknown", "This link is not valid.")
        # Its own transaction: the request fails, the event stays. Only the launch's id is
        # kept, so a refusal tells nobody about another person's decision.
        with transaction.atomic():
            record_event(
                AuditAction.API_LINK_REFUSED,
                actor=user,
                object_kind="decisionlaunch" if launch else "",
                object_id=str(launch.pk) if launch else "",
                details={"reason": refusal.reason},
            )
        raise refusal
    prefill = dict(session.get(SESSION_KEY, {}))
    prefill[str(launch.decision.public_id)] = {
        name: getattr(launch, name) for name in PREFILLED if getattr(launch, name)
    }
    session[SESSION_KEY] = prefill
    return launch.decision


def with_prefill(
    session: SessionBase, decision: Decision, initial: dict[str, Any]
) -> dict[str, Any]:
    """The page's starting values with the case system's filled in where nothing is yet."""
    values = session.get(SESSION_KEY, {}).get(str(decision.public_id))
    if not values:
        return initial
    return {
        name: values[name] if value in (None, "", []) and name in values else value
        for name, value in initial.items()
    }
