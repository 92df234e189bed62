"""Report summaries: what each submitted decision adds to the report counts, kept in the same
transaction as the change (one call from each write in services and signoff), and rebuilt
from the decisions by `manage.py rebuild_report_summaries`.

A report then sums a few hundred summary rows (decisions.reports.figures) instead of counting
a year of decisions. Each decision's current share is stored beside it (ReportContribution),
so a change takes away exactly what the decision added before and adds what it adds now;
the summary rows are incremented with an upsert, which concurrent writers serialise on the
row, never a read-modify-write.

Answers are found as the reports find them (by field name, wherever any stored pack keeps
it): decisions.reports.fields uses the same places for drill-downs and exports.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from decisions.guidance.engine import Pack
from decisions.models import (
    Approval,
    Decision,
    GuidancePack,
    ReportContribution,
    ReportSummary,
    ReviewAction,
)

# The answers reports count, filter by and export.
REPORTED = (
    "direction",
    "concern_level",
    "purpose_categories",
    "consent",
    "lawful_reason",
    "gdpr_article6",
    "special_category_condition",
    "recipient_org",
    "method",
    "share_date",
)
MULTI_VALUED = ("purpose_categories", "lawful_reason")

Place = tuple[str, str]  # (step id, field name) in Decision.answers
# (organisation id, period, its first day "YYYY-MM-DD", outcome, status, direction, figure,
# value). Every count is kept twice: for its UK day (period DAY) and for its month (MONTH, dated
# the 1st), so a report reads month rows for the whole months of its period and day rows only
# for the days of a month it covers in part.
Key = tuple[int, str, str, str, str, str, str, str]
DAY, MONTH = "d", "m"

# Stored packs never change, so where a pack keeps each field is worked out once per digest.
_places_by_digest: dict[str, dict[str, list[Place]]] = {}


def _field_places(pack: Pack) -> dict[str, list[Place]]:
    """Reported field -> where its answer may sit: first the questions asked again after
    advice that replace it ("I'm not sure", then the same question), then the field itself."""
    places: dict[str, list[Place]] = {}
    for name in REPORTED:
        try:
            step = pack.step_of(name)
        except KeyError:
            continue
        settlers = [(pack.step_of(other).id, other) for other in pack.settled_by(name)]
        places[name] = [*settlers, (step.id, name)]
    return places


def answer_steps() -> dict[str, list[Place]]:
    """Reported field -> every place any stored pack keeps its answer (current pack's first)."""
    rows = GuidancePack.objects.order_by("-is_current", "-loaded_at").values_list("pk", "digest")
    places: dict[str, list[Place]] = {name: [] for name in REPORTED}
    for pk, digest in rows:
        if digest not in _places_by_digest:
            _places_by_digest[digest] = _field_places(GuidancePack.objects.get(pk=pk).pack)
        for name, found in _places_by_digest[digest].items():
            places[name] += [place for place in found if place not in places[name]]
    return places


def _answer(answers: Mapping[str, Any], where: list[Place]) -> Any:
    """The first answer found (as SQL COALESCE over the same places does)."""
    for step, name in where:
        values = answers.get(step)
        if isinstance(values, dict) and values.get(name) is not None:
            return values[name]
    return None


def _text(value: Any) -> str:
    """An answer as SQL reads it as text: a string as it is, anything else as its JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def contribution(
    *,
    organisation_id: int,
    submitted_at: datetime | None,
    outcome: str,
    status: str,
    version: int,
    answers: Mapping[str, Any],
    approvals: Iterable[tuple[str, datetime, datetime]],
    places: dict[str, list[Place]],
) -> Counter[Key]:
    """What one decision adds to the summaries: nothing until it is submitted (a report counts
    every submitted version, dated by its latest submission in UK time)."""
    if submitted_at is None:
        return Counter()
    direction = _answer(answers, places["direction"])
    day = timezone.localtime(submitted_at).date()
    rest = (outcome, status, "" if direction is None else _text(direction))
    periods = [
        (organisation_id, DAY, day.isoformat(), *rest),
        (organisation_id, MONTH, day.replace(day=1).isoformat(), *rest),
    ]
    found: Counter[Key] = Counter()

    def add(figure: str, value: str = "") -> None:
        for base in periods:
            found[(*base, figure, value)] += 1

    add("decisions")
    if version > 1:
        add("amendment")
    gdpr = _answer(answers, places["gdpr_article6"])
    if gdpr is not None and _text(gdpr) != "":
        add("gdpr_article6", _text(gdpr))
    for name in MULTI_VALUED:
        chosen = _answer(answers, places[name])
        if isinstance(chosen, list):
            for value in sorted({_text(v) for v in chosen}):
                add(name, value)
    recipient = _answer(answers, places["recipient_org"])
    if recipient is not None and _text(recipient).strip(" "):
        add("recipient", _text(recipient).strip(" "))
    returned = False
    for action, at, round_submitted_at in approvals:
        if action == ReviewAction.RETURNED:
            returned = True
        elif action == ReviewAction.APPROVED:
            add("turnaround", str(turnaround_minutes(at - round_submitted_at)))
    if returned:
        add("returned")
    return found


def turnaround_minutes(value: timedelta) -> int:
    """A sign-off time as the summaries keep it: whole minutes under an hour, 5 minutes
    under a day, whole hours from a day on (the page shows days and hours from a day on).
    Kept that coarse, a month's sign-off times are at most 384 values, not one a decision."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return minutes
    return minutes - minutes % (5 if minutes < 24 * 60 else 60)


def _entries(counts: Counter[Key]) -> list[list[Any]]:
    """A contribution as stored: its day rows only (its month rows are the same counts)."""
    return [[*key, n] for key, n in sorted(counts.items()) if n and key[1] == DAY]


def _counts(entries: list[list[Any]]) -> Counter[Key]:
    """A stored contribution, with the month rows of its day rows."""
    found: Counter[Key] = Counter()
    for *key, n in entries:
        month = (key[0], MONTH, key[2][:8] + "01", *key[3:])
        found[tuple(key)] += n  # type: ignore[index]
        found[month] += n  # type: ignore[index]
    return found


def _approvals_of(decision_id: int) -> list[tuple[str, datetime, datetime]]:
    return list(
        Approval.objects.filter(decision_id=decision_id).values_list(
            "action", "at", "record__submitted_at"
        )
    )


_COLUMNS = "organisation_id, period, day, outcome, status, direction, figure, value"


def _apply(changes: Mapping[Key, int]) -> None:
    """Add each change to its summary row (created at need) in one statement; rows that reach
    0 go in a second. Table and column names are this module's own; values are parameters."""
    table = ReportSummary._meta.db_table
    keys = sorted(changes)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(keys))
    upsert = (
        f"INSERT INTO {table} ({_COLUMNS}, n) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({_COLUMNS}) DO UPDATE SET n = {table}.n + EXCLUDED.n"
    )
    with connection.cursor() as cursor:
        cursor.execute(upsert, [value for key in keys for value in (*key, changes[key])])
        emptied = sorted({(key[0], key[2]) for key in keys if changes[key] < 0})
        if emptied:
            days = " OR ".join(["(organisation_id = %s AND day = %s)"] * len(emptied))
            delete = f"DELETE FROM {table} WHERE n <= 0 AND ({days})"  # noqa: S608
            cursor.execute(delete, [value for pair in emptied for value in pair])


def refresh(decision: Decision) -> None:
    """Bring the summaries up to date with `decision` as saved, in the caller's transaction.
    Call it after every write that changes a submitted decision (a draft never submitted
    adds nothing, so this costs no query for one)."""
    if decision.submitted_at is None:
        return
    with transaction.atomic(savepoint=False):  # the caller's transaction, or one of its own
        new = contribution(
            organisation_id=decision.organisation_id,
            submitted_at=decision.submitted_at,
            outcome=decision.outcome,
            status=decision.status,
            version=decision.version,
            answers=decision.answers,
            approvals=_approvals_of(decision.pk),
            places=answer_steps(),
        )
        stored = (
            ReportContribution.objects.select_for_update().filter(decision_id=decision.pk).first()
        )
        old = _counts(stored.entries) if stored else Counter()
        changes = {key: new[key] - old[key] for key in new.keys() | old.keys()}
        changes = {key: n for key, n in changes.items() if n}
        if changes:
            _apply(changes)
        if stored is None:
            ReportContribution.objects.create(decision_id=decision.pk, entries=_entries(new))
        elif changes:
            stored.entries = _entries(new)
            stored.save(update_fields=["entries"])


BATCH = 5000


def rebuild() -> tuple[int, int]:
    """Throw the summaries away and count them again from every submitted decision.
    Returns (decisions counted, summary rows).

    On PostgreSQL both tables are locked first (reports can still read them): a change to a
    decision made meanwhile waits for the rebuild in its refresh(), then takes away what the
    rebuild counted for it and adds what it adds now, so nothing is counted twice or lost."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in (ReportContribution, ReportSummary):
                    cursor.execute(f"LOCK TABLE {model._meta.db_table} IN EXCLUSIVE MODE")
        ReportSummary.objects.all().delete()
        ReportContribution.objects.all().delete()
        places = answer_steps()
        approvals: dict[int, list[tuple[str, datetime, datetime]]] = defaultdict(list)
        for decision_id, *row in (
            Approval.objects.filter(decision__submitted_at__isnull=False)
            .values_list("decision_id", "action", "at", "record__submitted_at")
            .iterator(chunk_size=BATCH)
        ):
            approvals[decision_id].append(tuple(row))  # type: ignore[arg-type]
        totals: Counter[Key] = Counter()
        contributions: list[tuple[int, str]] = []
        counted = 0
        rows = (
            Decision.objects.filter(submitted_at__isnull=False)
            .order_by()
            .values_list(
                "pk", "organisation_id", "submitted_at", "outcome", "status", "version", "answers"
            )
            .iterator(chunk_size=BATCH)
        )
        for pk, organisation_id, submitted_at, outcome, status, version, answers in rows:
            found = contribution(
                organisation_id=organisation_id,
                submitted_at=submitted_at,
                outcome=outcome,
                status=status,
                version=version,
                answers=answers,
                approvals=approvals.get(pk, ()),
                places=places,
            )
            totals.update(found)
            counted += 1
            contributions.append((pk, json.dumps(_entries(found))))
            if len(contributions) >= BATCH:
                _write_contributions(contributions)
                contributions = []
        _write_contributions(contributions)
        summaries = [(*key, n) for key, n in sorted(totals.items()) if n]
        _write_summaries(summaries)
        return counted, len(summaries)


def _copy_or_insert(table: str, columns: list[str], rows: list[tuple]) -> None:
    """Many rows at once, past the ORM (which costs more than the counting): COPY on
    PostgreSQL, executemany elsewhere. The table and column names are this module's own."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            # Strings quoted, so an empty string is not read as NULL.
            csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
            buffer.seek(0)
            cursor.copy_expert(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer
            )
        else:
            marks = ", ".join(["%s"] * len(columns))
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            cursor.executemany(insert, rows)


def _write_contributions(rows: list[tuple[int, str]]) -> None:
    _copy_or_insert(ReportContribution._meta.db_table, ["decision_id", "entries"], rows)


def _write_summaries(rows: list[tuple]) -> None:
    columns = [c.strip() for c in _COLUMNS.split(",")] + ["n"]
    for start in range(0, len(rows), BATCH * 10):
        _copy_or_insert(ReportSummary._meta.db_table, columns, rows[start : start + BATCH * 10])


def summary_rows() -> Counter[Key]:
    """Every summary row as {key: n}, to compare the kept table with a rebuilt one."""
    return Counter(
        {
            (org, period, day.isoformat(), outcome, status, direction, figure, value): n
            for org, period, day, outcome, status, direction, figure, value, n in (
                ReportSummary.objects.values_list(
                    "organisation_id",
                    "period",
                    "day",
                    "outcome",
                    "status",
                    "direction",
                    "figure",
                    "value",
                    "n",
                )
            )
        }
    )
