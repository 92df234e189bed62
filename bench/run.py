"""Benchmarks for report exports: `make bench` (or `.venv/bin/python bench/run.py`).

Builds a throwaway database (a temporary SQLite file, or with BENCH_DB=postgres a fresh
PostgreSQL database on 127.0.0.1 that is dropped afterwards), fills it with 100,000 submitted
decisions by bulk_create (not the services: they would take an hour), then measures:

  * the CSV export of all 100,000, streamed to /dev/null: wall time, and peak memory
    (Python allocations by tracemalloc, in a second run because tracing slows it down, and
    the process's peak RSS); the same for 10,000 rows shows memory does not grow with size;
  * the PDF management report of the 100,000 (figures aggregated in the database);
  * record PDFs, per record, which is what a zip of records costs.

These measurements set the cost model in decisions.reports.exports (COST, BACKGROUND_SECONDS).
Then bench/wizard.py, in its own process with production-like settings: a question page's GET
and POST against a bare view, their SQL statements, and a record PDF first rendered vs stored.
Then bench/server.py: the app and the floor served by gunicorn (one user, 4 users, throughput,
a fresh worker, audited writes against a plain INSERT). Then bench/reports.py (PostgreSQL
only): the reports page at 1,000,000 decisions, the audit log at 1,000,000 events and
43 / 1,043 / 3,043 staff, and its date filter.
Options (environment): BENCH_DB=sqlite|postgres, BENCH_DECISIONS=100000,
BENCH_PARTS=exports,wizard,server,reports.
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import KIND, setup_database  # noqa: E402

DECISIONS = int(os.environ.get("BENCH_DECISIONS", "100000"))


URL, cleanup = setup_database()
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isg.settings")
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from decisions import services  # noqa: E402
from decisions.guidance.store import pack_load_files  # noqa: E402
from decisions.models import (  # noqa: E402
    Approval,
    Decision,
    DecisionRecord,
    ExportKind,
    GuidancePack,
    Organisation,
    ReviewAction,
    Role,
    Status,
    User,
)
from decisions.reports import documents, exports  # noqa: E402
from decisions.reports.filters import ReportFilters, counted_decisions  # noqa: E402
from tests.factories import ROUTES  # noqa: E402

OUTCOMES = list(ROUTES)
PURPOSES = ["s47_child_protection", "s17_child_in_need", "early_help", "cse", "crime", "other"]
RECIPIENTS = ["Children's social care", "Leicestershire Police", "School", "GP surgery", "MASH"]
NOW = datetime.now(UTC)


def answers_for(rng: random.Random, outcome: str) -> dict:
    answers = {step: dict(values) for step, values in ROUTES[outcome]}
    answers["context"]["direction"] = rng.choice(["proactive", "request"])
    answers["purpose"]["purpose_categories"] = rng.sample(PURPOSES, rng.randint(1, 2))
    if "recipient" in answers:
        answers["recipient"]["recipient_org"] = rng.choice(RECIPIENTS)
    return answers


def fill(org: Organisation, user: User, pack: GuidancePack) -> None:
    """DECISIONS submitted decisions over the last year; a tenth approved."""
    rng = random.Random(42)
    batch: list[Decision] = []
    for n in range(1, DECISIONS + 1):
        outcome = rng.choice(OUTCOMES)
        batch.append(
            Decision(
                public_id=uuid.uuid4(),
                reference=f"ISG-2000-{n:06d}",  # a year the services never number
                organisation=org,
                created_by=user,
                pack=pack,
                status=Status.APPROVED if n % 10 == 0 else Status.SUBMITTED,
                outcome=outcome,
                needs_approval=n % 10 == 0,
                answers=answers_for(rng, outcome),
                case_reference=f"CASE-{n}",
                submitted_at=NOW - timedelta(minutes=rng.randint(60, 360 * 24 * 60)),
            )
        )
        if len(batch) == 5000:
            Decision.objects.bulk_create(batch)
            batch = []
    Decision.objects.bulk_create(batch)
    approved = Decision.objects.filter(status=Status.APPROVED).values_list("pk", "submitted_at")
    records = [
        DecisionRecord(decision_id=pk, round=1, pack_id=pack.pack_id, pack_version=pack.version,
                       pack_edition=pack.edition, pack_digest=pack.digest, answers={},
                       snapshot={}, outcome="share_without_consent", outcome_title="",
                       outcome_summary="", reasons=[], needs_approval=True, submitted_by=user,
                       submitted_at=at)
        for pk, at in approved
    ]  # fmt: skip
    DecisionRecord.objects.bulk_create(records, batch_size=5000)
    Approval.objects.bulk_create(
        (
            Approval(decision_id=r.decision_id, record_id=r.pk, action=ReviewAction.APPROVED,
                     by=user, at=r.submitted_at + timedelta(hours=rng.randint(1, 72)))
            for r in DecisionRecord.objects.all()
        ),
        batch_size=5000,
    )  # fmt: skip


def csv_to_devnull(manager: User, filters: ReportFilters) -> int:
    decisions = counted_decisions(manager, filters)
    written = 0
    with open(os.devnull, "wb") as sink:
        for chunk in documents.csv_chunks(decisions, aggregate_only=False):
            written += sink.write(chunk)
    return written


def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def traced_peak(function, *args) -> int:
    tracemalloc.start()
    function(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    print(f"ISG export benchmark: {DECISIONS:,} decisions, {KIND} ({engine})")
    call_command("migrate", verbosity=0)
    call_command("createcachetable")  # production settings: the database cache
    pack_load_files(sorted(settings.GUIDANCE_DIR.glob("*.json")))
    org = Organisation.objects.create(name="Bench Council", slug="bench", kind="local_authority")
    manager = User.objects.create_user("manager@bench.example", full_name="Bench Manager",
                                       organisation=org, role=Role.MANAGER)  # fmt: skip
    practitioner = User.objects.create_user("pat@bench.example", full_name="Bench Practitioner",
                                            organisation=org, role=Role.PRACTITIONER)  # fmt: skip
    pack = GuidancePack.objects.get(is_current=True)

    seconds, _ = timed(fill, org, practitioner, pack)
    print(f"  filled in {seconds:.1f} s (bulk_create)")
    year = ReportFilters(date_from=date.today() - timedelta(days=366), date_to=date.today(),
                         organisation=org)  # fmt: skip
    counted = counted_decisions(manager, year).count()
    rss_before = max_rss_mb()

    seconds, size = timed(csv_to_devnull, manager, year)
    per_row_us = seconds / counted * 1e6
    rss_after = max_rss_mb()
    peak = traced_peak(csv_to_devnull, manager, year)
    small = ReportFilters(date_from=date.today() - timedelta(days=36), date_to=date.today(),
                          organisation=org)  # fmt: skip
    small_count = counted_decisions(manager, small).count()
    small_peak = traced_peak(csv_to_devnull, manager, small)

    pdf_seconds, content = timed(documents.report_pdf, manager, year)

    made = []
    for outcome in ("share_without_consent", "share_with_consent", "do_not_share", "can_share") * 3:
        decision = services.decision_start(user=practitioner, pack=pack)
        for step_id, values in ROUTES[outcome]:
            services.decision_answer(decision=decision, user=practitioner, step_id=step_id,
                                     values=values)  # fmt: skip
        decision.refresh_from_db()
        services.decision_submit(decision=decision, user=practitioner)
        made.append(decision.pk)
    from decisions import pdf

    records = Decision.objects.filter(pk__in=made).select_related("organisation", "pack")
    pdf.render_record(records[0], records[0].latest_record())  # warm up fonts
    start = time.perf_counter()
    for decision in records:
        pdf.render_record(decision, decision.latest_record())
    per_record = (time.perf_counter() - start) / len(made)

    print()
    print(f"  CSV export of {counted:,} decisions to /dev/null")
    print(f"    wall time            {seconds:.2f} s  ({per_row_us:.0f} us a row, "
          f"{size / 1e6:.1f} MB written)")  # fmt: skip
    print(f"    peak Python memory   {peak / 1e6:.1f} MB (tracemalloc)")
    print(f"    peak RSS             {rss_after:.0f} MB for the process "
          f"(was {rss_before:.0f} MB before the export)")  # fmt: skip
    print(f"    for comparison       {small_count:,} decisions: peak {small_peak / 1e6:.1f} MB")
    print(f"  PDF management report of {counted:,} decisions: {pdf_seconds:.2f} s "
          f"({len(content) / 1e3:.0f} kB)")  # fmt: skip
    print(f"  Decision record PDF: {per_record:.3f} s each (zip of N records ~ N x this)")
    print()
    print("  cost model against what was measured (warns when off by more than 50%)")
    measured = {
        ExportKind.CSV: (seconds, counted),
        ExportKind.PDF: (pdf_seconds, counted),
        ExportKind.RECORDS: (per_record * len(made), len(made)),
    }
    for kind, (took, count) in measured.items():
        predicted = exports.estimate_seconds(kind, count)
        off = abs(predicted - took) / took
        verdict = "WARNING: off by more than 50%" if off > 0.5 else "within 50%"
        print(f"    {kind:8s} {count:>9,} decisions: model {predicted:7.2f} s, measured "
              f"{took:7.2f} s ({off:.0%} off) {verdict}")  # fmt: skip
    print()
    for kind in exports.COST:
        fixed, per = exports.COST[kind]
        limit = (exports.BACKGROUND_SECONDS - fixed) / per
        print(
            f"  cost model {kind:8s} {fixed:.2f} s + {per * 1e6:,.0f} us each: background "
            f"above {limit:,.0f} decisions (BACKGROUND_SECONDS={exports.BACKGROUND_SECONDS})"
        )


if __name__ == "__main__":
    parts = os.environ.get("BENCH_PARTS", "exports,wizard,server,reports").split(",")
    try:
        if "exports" in parts:
            main()
    finally:
        cleanup()
    for part in ("wizard", "server", "reports"):  # each in its own process: production
        if part in parts:  # settings (reports: PostgreSQL only)
            print()
            script = str(Path(__file__).with_name(f"{part}.py"))
            subprocess.run([sys.executable, script], check=True)  # noqa: S603 - our own script
