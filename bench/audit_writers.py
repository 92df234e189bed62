"""The audit chain under concurrent writers, and verification speed: `make bench-audit`.

Creates a fresh PostgreSQL database on 127.0.0.1 (dropped afterwards; the audit chains are
PostgreSQL's concern: SQLite serialises every writer anyway), migrates it, then:

  1. 32 writer processes spread over 8 organisations (4 each) append for BENCH_AUDIT_SECONDS
     (default 10) through the app's own services: each transaction changes the writer's
     decision (a working-table UPDATE, as saving an answer does) and then records its audit
     event with `services.decision_viewed`, last, as the services do. Figures: events/s, and
     p50/p95/worst of each whole transaction. Goal: >= 1,000 events/s, p95 <= 100 ms.
  2. The same 32 writers in one organisation (one chain). Goal: >= 500 events/s.
  After each, forks and gaps are counted in SQL (two events of a chain with one predecessor;
  positions missing from a chain), and verify_chain must pass: goal 0, 0 and intact.
  Then one writer alone: one chain's ceiling here (its head is locked until the commit is
  flushed, so a chain commits at most once per WAL flush).
  3. BENCH_AUDIT_EVENTS (default 1,000,000) events written straight into the table with COPY,
     in 9 chains (8 organisations and the platform), hashed with the app's canonical form; then
     `verify_chain` over all of them, on one core and on every core. Goal: >= 150,000 events/s.

Bounded: about 2 x 10 s of writers, ~1 minute to build the events, seconds to verify.
Options (environment): BENCH_AUDIT_SECONDS, BENCH_AUDIT_WRITERS=32, BENCH_AUDIT_EVENTS,
BENCH_PG (server URL without a database name).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["BENCH_DB"] = "postgres"

from bench.databases import setup_database  # noqa: E402

SECONDS = float(os.environ.get("BENCH_AUDIT_SECONDS", "10"))
WRITERS = int(os.environ.get("BENCH_AUDIT_WRITERS", "32"))
ORGANISATIONS = 8
EVENTS = int(os.environ.get("BENCH_AUDIT_EVENTS", "1000000"))

URL, cleanup = setup_database("audit")
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isg.settings")
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from decisions import services  # noqa: E402
from decisions.audit import verify_chain  # noqa: E402
from decisions.audit.canonical import GENESIS_HASH, chain_genesis, chain_key  # noqa: E402
from decisions.audit.walk import canonical_row  # noqa: E402
from decisions.guidance.store import pack_load_files  # noqa: E402
from decisions.models import AuditChain, Decision, Organisation, Role, User  # noqa: E402


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def setup_writers(spread: bool) -> list[tuple[int, int]]:
    """(user id, decision id) per writer: over 8 organisations, or all in a new one."""
    stamp = time.time_ns()
    count = ORGANISATIONS if spread else 1
    orgs = [
        Organisation.objects.create(name=f"Bench {stamp} {n}", slug=f"bench-{stamp}-{n}")
        for n in range(count)
    ]
    pairs = []
    for n in range(WRITERS):
        user = User(
            email=f"writer{n}-{stamp}@example.org",
            full_name=f"Writer {n}",
            organisation=orgs[n % count],
            role=Role.PRACTITIONER,
        )
        user.set_unusable_password()
        user.save()
        decision = services.decision_start(user=user)
        pairs.append((user.pk, decision.pk))
    return pairs


def writer(args: tuple[int, int, float, object, bool]) -> list[float]:
    """Append until the deadline; the duration of each transaction, in seconds.

    The floor: the same transaction with a plain INSERT into an unchained table instead of
    the audit event, what the machine does with no chain at all.
    """
    user_id, decision_id, deadline, start, floor = args
    connections.close_all()  # never the parent's connection: a fresh one per process
    user = User.objects.get(pk=user_id)
    decision = Decision.objects.get(pk=decision_id)
    start.wait()
    times = []
    while time.time() < deadline:
        began = time.perf_counter()
        with transaction.atomic():
            Decision.objects.filter(pk=decision_id).update(updated_at=timezone.now())
            if floor:
                with connection.cursor() as cursor:
                    cursor.execute(FLOOR_INSERT, [user_id, timezone.now()])
            else:
                services.decision_viewed(decision=decision, user=user)
        times.append(time.perf_counter() - began)
    connections.close_all()
    return times


FLOOR_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_plain_event (id bigserial PRIMARY KEY, actor_id bigint, "
    "created_at timestamptz, details jsonb DEFAULT '{}')"
)
FLOOR_INSERT = "INSERT INTO bench_plain_event (actor_id, created_at) VALUES (%s, %s)"


def forks_and_gaps() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) - COUNT(DISTINCT (chain, previous_hash)) FROM decisions_auditevent"
        )
        forks = cursor.fetchone()[0]
        cursor.execute(
            "SELECT COALESCE(SUM(top - n), 0) FROM (SELECT chain, MAX(COALESCE(position, "
            "sequence)) AS top, COUNT(*) AS n FROM decisions_auditevent GROUP BY chain) c"
        )
        gaps = cursor.fetchone()[0]
    return forks, gaps


def timed(pairs: list[tuple[int, int]], floor: bool) -> tuple[list[float], float]:
    connections.close_all()
    context = get_context("fork")
    start = context.Manager().Event()
    deadline = time.time() + SECONDS + 2  # the processes start and connect first
    with context.Pool(len(pairs)) as pool:
        result = pool.map_async(writer, [(u, d, deadline, start, floor) for u, d in pairs])
        time.sleep(2)
        start.set()
        began = time.time()
        per_writer = result.get()
        elapsed = time.time() - began
    return sorted(t for ts in per_writer for t in ts), elapsed


def run_writers(label: str, spread: bool, goal_rate: float, goal_p95: float | None) -> None:
    pairs = setup_writers(spread)
    floor, floor_elapsed = timed(pairs, floor=True)
    times, elapsed = timed(pairs, floor=False)
    rate = len(times) / elapsed
    floor_rate = len(floor) / floor_elapsed
    p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
    forks, gaps = forks_and_gaps()
    intact = verify_chain().ok
    print(
        f"{label}: {len(times)} events in {elapsed:.1f} s = {rate:,.0f} events/s "
        f"(goal >= {goal_rate:,.0f}: {verdict(rate >= goal_rate)})"
    )
    p95_goal = ""
    if goal_p95:
        p95_goal = f" (goal <= {goal_p95 * 1000:.0f} ms: {verdict(p95 <= goal_p95)})"
    print(
        f"  per transaction p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms{p95_goal}, "
        f"worst {times[-1] * 1000:.1f} ms"
    )
    print(
        f"  floor (same transactions, a plain INSERT instead of the chained event): "
        f"{floor_rate:,.0f} events/s, p50 {floor[len(floor) // 2] * 1000:.1f} ms, "
        f"p95 {floor[int(len(floor) * 0.95)] * 1000:.1f} ms; chained / floor "
        f"{rate / floor_rate:.2f}"
    )
    print(
        f"  forks {forks}, gaps {gaps}, verify_audit {'intact' if intact else 'BROKEN'} "
        f"(goal 0, 0, intact: {verdict(forks == 0 and gaps == 0 and intact)})"
    )


def ceiling() -> None:
    """One writer alone, one append after another: the rate one chain cannot exceed here.

    The head's row lock is held until the commit is flushed to disk (it must be: the next
    append links to this one), so a chain commits at most once per WAL flush, whatever the
    number of writers; organisations' chains flush together (group commit).
    """
    pairs = setup_writers(False)[:1]
    times, elapsed = timed(pairs, floor=False)
    print(
        f"one writer alone in one chain: {len(times) / elapsed:,.0f} events/s, p50 "
        f"{times[len(times) // 2] * 1000:.1f} ms per transaction (commit included): the "
        "ceiling of one chain on this machine's disk"
    )


COLUMNS = (
    "sequence, created_at, actor_id, actor_email, organisation_id, role, action, object_kind, "
    "object_id, reference, ip_address, user_agent, request_id, details, previous_hash, hash, "
    "chain, position"
)


def build_events(count: int) -> float:
    """`count` chained events in 9 chains, by COPY; returns the seconds it took."""
    began = time.perf_counter()
    orgs = list(Organisation.objects.order_by("pk").values_list("pk", flat=True)[:ORGANISATIONS])
    keys = [chain_key(o) for o in orgs] + [chain_key(None)]
    heads = {h.key: h for h in AuditChain.objects.all()}
    state = {}
    legacy = heads.get("legacy")
    for org, key in zip([*orgs, None], keys, strict=True):
        head = heads.get(key)
        genesis = chain_genesis(key, legacy.hash if legacy else GENESIS_HASH)
        state[key] = [org, head.position if head else 0, head.hash if head else genesis]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(sequence), 0) FROM decisions_auditevent")
        sequence = cursor.fetchone()[0]
    moment = datetime.now(UTC) + timedelta(seconds=1)
    step = timedelta(microseconds=7)
    batch = 100_000
    raw = connection.connection
    with transaction.atomic():
        for first in range(0, count, batch):
            buffer = io.StringIO()
            for n in range(first, min(count, first + batch)):
                key = keys[n % len(keys)]
                org, position, previous = state[key]
                sequence += 1
                position += 1
                moment += step
                created = moment.isoformat(timespec="microseconds")
                details = {"n": n, "note": "bench ✓"} if n % 3 else {}
                row = (
                    sequence, created, None, "bench@example.org", org, "practitioner",
                    "decision.viewed", "decision", f"{n:032x}", f"ISG-2026-{n % 999999:06d}",
                    "192.0.2.7", "Bench/1.0", f"{n:016x}", details, previous, "", position,
                )  # fmt: skip
                digest = hashlib.sha256(canonical_row(row, key)).hexdigest()
                state[key] = [org, position, digest]
                fields = [
                    str(sequence), created, "\\N", row[3], "\\N" if org is None else str(org),
                    row[5], row[6], row[7], row[8], row[9], row[10], row[11], row[12],
                    json.dumps(details).replace("\\", "\\\\"), previous, digest, key,
                    str(position),
                ]  # fmt: skip
                buffer.write("\t".join(fields) + "\n")
            buffer.seek(0)
            raw.cursor().copy_expert(
                f"COPY decisions_auditevent ({COLUMNS}) FROM STDIN",  # noqa: S608
                buffer,
            )
        for key, (_, position, digest) in state.items():
            AuditChain.objects.update_or_create(
                key=key, defaults={"position": position, "hash": digest, "created_at": moment}
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval('decisions_auditevent_sequence_seq', %s, true)", [sequence]
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE decisions_auditevent")
    return time.perf_counter() - began


def index_sizes() -> None:
    with connection.cursor() as cursor:
        # Partitioned (migration 0014): each index is one per month; summed by the parent's
        # index name (or the per-month unique index's suffix).
        cursor.execute(
            "SELECT COALESCE(parent.relname, regexp_replace(i.relname, "
            "'^decisions_auditevent_(y[0-9]+m[0-9]+|default)_', '')), "
            "sum(pg_relation_size(i.oid))::bigint FROM pg_partition_tree('decisions_auditevent') t "
            "JOIN pg_index x ON x.indrelid = t.relid JOIN pg_class i ON i.oid = x.indexrelid "
            "LEFT JOIN pg_inherits h ON h.inhrelid = i.oid "
            "LEFT JOIN pg_class parent ON parent.oid = h.inhparent "
            "WHERE t.isleaf GROUP BY 1 ORDER BY 2 DESC"
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM pg_partition_tree('decisions_auditevent') WHERE isleaf"
        )
        (months,) = cursor.fetchone()
    total = sum(size for _, size in rows)
    print(
        f"  {len(rows)} indexes on the audit table ({months} partitions), {total / 2**20:,.0f} MiB:"
    )
    for name, size in rows:
        print(f"    {name}: {size / 2**20:,.0f} MiB")


def run_verify() -> None:
    seconds = build_events(EVENTS)
    total = connection.cursor()
    total.execute("SELECT COUNT(*) FROM decisions_auditevent")
    events = total.fetchone()[0]
    print(f"verify_audit over {events:,} events (built by COPY in {seconds:.0f} s):")
    index_sizes()
    cores = len(os.sched_getaffinity(0))
    for workers in (1, cores):
        connections.close_all()
        began = time.perf_counter()
        check = verify_chain(workers=workers)
        elapsed = time.perf_counter() - began
        rate = check.checked / elapsed
        print(
            f"  {workers} process(es): {check.checked:,} events in {elapsed:.1f} s = "
            f"{rate:,.0f} events/s, {'intact' if check.ok else 'BROKEN: ' + check.problem} "
            f"(goal >= 150,000: {verdict(rate >= 150_000 and check.ok)})"
        )


def main() -> None:
    try:
        call_command("migrate", verbosity=0)
        call_command("createcachetable")  # production settings: the database cache
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_TABLE)
        pack_load_files(sorted(Path(settings.GUIDANCE_DIR).glob("*.json")))
        print(
            f"Audit chain benchmark, PostgreSQL, {len(os.sched_getaffinity(0))} cores, "
            f"{WRITERS} writers, {SECONDS:.0f} s each"
        )
        run_writers(f"{WRITERS} writers over {ORGANISATIONS} organisations", True, 1000, 0.100)
        run_writers(f"{WRITERS} writers in one organisation", False, 500, None)
        ceiling()
        if EVENTS:
            run_verify()
    finally:
        cleanup()


if __name__ == "__main__":
    main()
