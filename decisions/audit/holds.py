"""Legal holds: while one is in force on an organisation, none of its audit events is archived.

Placed and released by an administrator of the organisation (decisions.accounts.legal_holds),
each with a reason, each in one transaction with its audit event. `archive_audit` locks the
holds table while it works, so a hold placed meanwhile waits for it and then applies.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from decisions.audit.actions import AuditAction
from decisions.audit.record import record_event
from decisions.models import LegalHold, Organisation, User


class HoldRefused(ValueError):
    """Not done; the message says why, in words for the page."""


def hold_in_force(organisation: Organisation) -> LegalHold | None:
    return LegalHold.objects.filter(organisation=organisation, released_at__isnull=True).first()


def place_hold(*, actor: User, organisation: Organisation, reason: str) -> LegalHold:
    try:
        with transaction.atomic():
            hold = LegalHold.objects.create(
                organisation=organisation, reason=reason, placed_at=timezone.now(), placed_by=actor
            )
            record_event(
                AuditAction.LEGAL_HOLD_PLACED,
                actor=actor,
                obj=hold,
                details={"organisation": organisation.pk, "reason": reason},
            )
    except IntegrityError as exc:  # one in force per organisation (a second click, or a race)
        raise HoldRefused(f"{organisation.name} is already under a legal hold") from exc
    return hold


def release_hold(*, actor: User, hold: LegalHold, reason: str) -> LegalHold:
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if locked.released_at is not None:
            raise HoldRefused("This legal hold has already been released")
        locked.released_at = timezone.now()
        locked.released_by = actor
        locked.release_reason = reason
        locked.save(update_fields=["released_at", "released_by", "release_reason"])
        record_event(
            AuditAction.LEGAL_HOLD_RELEASED,
            actor=actor,
            obj=locked,
            details={"organisation": locked.organisation_id, "reason": reason},
        )
    return locked
