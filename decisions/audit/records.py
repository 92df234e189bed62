"""Checking every decision record against the digest its submission event put in the chain.

`decision_submit` writes the SHA-256 of the record's content (DecisionRecord.content_digest)
into the details of the "decision.submitted" event, so a record changed, added or removed
behind the app's back no longer agrees with the hash-chained log. Problems name records by id,
reference and round only: never by anything about the people concerned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from decisions.audit.actions import AuditAction
from decisions.audit.archived import archived_submissions
from decisions.models import AuditArchive, AuditEvent, DecisionRecord
from decisions.models.decisions import RECORD_DIGEST_FIELDS, record_digest

DIGEST_KEY = "record_digest"


@dataclass(frozen=True)
class RecordsCheck:
    """Records that agree with their events, or the first that does not and why."""

    checked: int
    # Records submitted before digests were kept: their events carry none, so they are
    # reported as not covered rather than as broken.
    unsealed: int = 0
    problem: str = ""
    sequence: int | None = None  # the submission event concerned, when there is one

    @property
    def ok(self) -> bool:
        return not self.problem


def _submission_events(public_ids: set[str], up_to: int) -> dict[tuple[str, Any], tuple]:
    rows = list(
        AuditEvent.objects.filter(
            action=AuditAction.DECISION_SUBMITTED, object_id__in=public_ids, sequence__lte=up_to
        ).values_list("object_id", "sequence", "details")
    )
    # Rounds submitted in months since archived have their events in the archive
    # (decisions.audit.archive); a decision may have rounds on both sides.
    rows += [
        (e.object_id, e.sequence, e.details)
        for e in archived_submissions(object_ids=sorted(public_ids))
    ]
    return {
        (oid, details.get("round")): (seq, details.get(DIGEST_KEY)) for oid, seq, details in rows
    }


def _name(row: dict[str, Any]) -> str:
    return f"decision record {row['pk']} ({row['decision__reference']} round {row['round']})"


def _check_batch(rows: list[dict[str, Any]], up_to: int) -> tuple[int, int, RecordsCheck | None]:
    """(matched, unsealed, the first problem) for one batch of records."""
    events = _submission_events({str(r["decision__public_id"]) for r in rows}, up_to)
    matched = unsealed = 0
    for row in rows:
        found = events.get((str(row["decision__public_id"]), row["round"]))
        if found is None:
            problem = f"{_name(row)} has no submission event: it was not submitted through ISG"
            return matched, unsealed, RecordsCheck(matched, unsealed, problem)
        sequence, digest = found
        if digest is None:
            unsealed += 1
        elif digest != record_digest(row):
            problem = (
                f"{_name(row)} does not match the digest in its submission event "
                f"#{sequence}: the record was changed after it was submitted"
            )
            return matched, unsealed, RecordsCheck(matched, unsealed, problem, sequence)
        else:
            matched += 1
    return matched, unsealed, None


def _missing_record(up_to: int, chunk_size: int) -> RecordsCheck | None:
    """The first sealed submission event whose record is gone, if any."""
    events = AuditEvent.objects.filter(
        action=AuditAction.DECISION_SUBMITTED, sequence__lte=up_to, details__has_key=DIGEST_KEY
    ).order_by("sequence")
    after = 0
    while batch := list(
        events.filter(sequence__gt=after).values_list("sequence", "object_id", "details")[
            :chunk_size
        ]
    ):
        present = {
            (str(public_id), round_)
            for public_id, round_ in DecisionRecord.objects.filter(
                decision__public_id__in={oid for _, oid, _ in batch}
            ).values_list("decision__public_id", "round")
        }
        for sequence, oid, details in batch:
            if (oid, details.get("round")) not in present:
                problem = (
                    f"submission event #{sequence} has no decision record (round "
                    f"{details.get('round')}): the record was removed"
                )
                return RecordsCheck(0, 0, problem, sequence)
        after = batch[-1][0]
    return None


def verify_records(*, up_to: int, chunk_size: int = 2000) -> RecordsCheck:
    """Check every record against the submission events up to event #`up_to` (the head)."""
    fields = ("pk", "decision__public_id", *RECORD_DIGEST_FIELDS)
    records = DecisionRecord.objects.order_by("pk").values(*fields)
    matched = unsealed = 0
    after = 0
    while rows := list(records.filter(pk__gt=after)[:chunk_size]):
        batch_matched, batch_unsealed, problem = _check_batch(rows, up_to)
        matched, unsealed = matched + batch_matched, unsealed + batch_unsealed
        if problem is not None:
            return RecordsCheck(matched, unsealed, problem.problem, problem.sequence)
        after = rows[-1]["pk"]
    sealed_events = AuditEvent.objects.filter(
        action=AuditAction.DECISION_SUBMITTED, sequence__lte=up_to, details__has_key=DIGEST_KEY
    ).count()
    archived = AuditArchive.objects.values_list("manifest", flat=True)
    sealed_events += sum(manifest.get("sealed_submissions", 0) for manifest in archived)
    if sealed_events != matched:
        missing = _missing_record(up_to, chunk_size) or _missing_archived_record()
        if missing is not None:
            return RecordsCheck(matched, unsealed, missing.problem, missing.sequence)
    return RecordsCheck(matched, unsealed)


def _missing_archived_record() -> RecordsCheck | None:
    """The first sealed submission event in an archived month whose record is gone, if any
    (read only when the counts say something is missing)."""
    events = [e for e in archived_submissions() if DIGEST_KEY in e.details]
    present = {
        (str(public_id), round_)
        for public_id, round_ in DecisionRecord.objects.filter(
            decision__public_id__in={e.object_id for e in events}
        ).values_list("decision__public_id", "round")
    }
    for event in events:
        if (event.object_id, event.details.get("round")) not in present:
            problem = (
                f"archived submission event #{event.sequence} has no decision record (round "
                f"{event.details.get('round')}): the record was removed"
            )
            return RecordsCheck(0, 0, problem, event.sequence)
    return None
