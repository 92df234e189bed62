"""Checking a printed decision record: its verification code against the audit chain.

Every page of a record's PDF carries a verification code: the first 16 hex digits of the
SHA-256 digest of the record's content (DecisionRecord.content_digest), which the record's
"decision.submitted" audit event also holds. A reader with the paper enters the code (or
scans the QR code beside it); ISG finds the submission event, checks that the event itself
is unaltered (its hash) and that the stored record still has the digest the event holds.
A match means the printed record is the one submitted, unchanged since.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from decisions import access
from decisions.audit import AuditAction
from decisions.audit.archived import archived_submissions
from decisions.audit.canonical import event_hash
from decisions.models import AuditEvent, Decision, DecisionRecord, User

CODE_DIGITS = 16
DIGEST_KEY = "record_digest"
_CODE = re.compile(r"[0-9A-F]{16}")


def verification_code(digest: str) -> str:
    """A record's code as printed: 16 hex digits of its digest in four groups of four."""
    head = digest[:CODE_DIGITS].upper()
    return "-".join(head[i : i + 4] for i in range(0, CODE_DIGITS, 4))


def normalise(code: str) -> str:
    """The code as typed (any case, spaces or dashes) as 16 hex digits, or "" if it is not one."""
    digits = re.sub(r"[\s\-]", "", code or "").upper()
    return digits if _CODE.fullmatch(digits) else ""


@dataclass(frozen=True)
class Verification:
    """What a code found: the decision and round, and whether record and chain agree."""

    decision: Decision | None
    record: DecisionRecord | None
    matches: bool
    problem: str = ""


NOT_FOUND = Verification(None, None, False, "No record you can see has this code.")


def verify_code(user: User, code: str) -> Verification:
    """Find the record with this code among those `user` may see, and check it."""
    digits = normalise(code)
    if not digits:
        return NOT_FOUND
    events = AuditEvent.objects.filter(
        action=AuditAction.DECISION_SUBMITTED,
        details__record_digest__startswith=digits.lower(),
    ).order_by("sequence")
    visible = access.visible_decisions(user)
    # 64 bits of digest: another record sharing them is vanishingly unlikely, but only one
    # this user may see counts, so nothing says a record of another organisation exists.
    # A record submitted in a month since archived is sealed by an event in the archive.
    candidates = list(events[:5]) or archived_submissions(digest_prefix=digits.lower())[:5]
    found = ((event, visible.filter(public_id=event.object_id).first()) for event in candidates)
    event, decision = next(((e, d) for e, d in found if d is not None), (None, None))
    if event is None or decision is None:
        return NOT_FOUND
    record = decision.records.filter(round=event.details.get("round")).first()
    if record is None:
        return Verification(decision, None, False, "The record this code names is missing.")
    if event_hash(event) != event.hash:
        return Verification(
            decision, record, False, "The audit event that sealed this record has been altered."
        )
    if record.content_digest() != event.details.get(DIGEST_KEY):
        return Verification(
            decision,
            record,
            False,
            "The stored record no longer matches what was submitted: it has been changed.",
        )
    return Verification(decision, record, True)
