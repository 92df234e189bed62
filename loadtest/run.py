"""The load test (`make loadtest`): two web nodes, a PostgreSQL primary and a streaming standby,
a mix of practitioners, leads and managers; throughput and p95 per page type, the primary's
write rate and what the standby served; a chart. Loopback only, bounded in time and requests.

1. A throwaway primary + standby (tests/pgcluster.py), migrated, guidance loaded, seeded
   (loadtest/seed.py), with the database cache (createcachetable) as production would have.
2. Two gunicorn nodes on two free loopback ports with production settings (DEBUG off,
   `--preload`, isg.wsgi), DATABASE_URL -> the primary, DATABASE_REPLICA_URL -> the standby.
   Only what plain HTTP on loopback needs is relaxed (no TLS redirect, cookies not Secure,
   no collectstatic manifest) and MFA is off (the users sign in with a password).
3. locust, headless (loadtest/locustfile.py), for LOADTEST_SECONDS or LOADTEST_MAX_REQUESTS.
4. The figures: printed, in bench/results/loadtest.json and as bench/results/loadtest.png.

Environment: LOADTEST_SECONDS=90, LOADTEST_USERS=20, LOADTEST_MAX_REQUESTS=30000,
LOADTEST_ORGANISATIONS=8, LOADTEST_DECISIONS=15 (seeded per organisation),
LOADTEST_WORKERS=2 (gunicorn workers per node).
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pgcluster import PgCluster, free_port  # noqa: E402

BIN = Path(sys.executable).parent
SECONDS = int(os.environ.get("LOADTEST_SECONDS", "90"))
USERS = int(os.environ.get("LOADTEST_USERS", "20"))
MAX_REQUESTS = int(os.environ.get("LOADTEST_MAX_REQUESTS", "30000"))
ORGANISATIONS = int(os.environ.get("LOADTEST_ORGANISATIONS", "8"))
DECISIONS = int(os.environ.get("LOADTEST_DECISIONS", "15"))
WORKERS = int(os.environ.get("LOADTEST_WORKERS", "2"))
NODES = 2
# Users sign in during this first part of the run (a PBKDF2 hash each, once a day in real use):
# the primary's and the CPU figures are measured after it.
WARMUP = max(5, SECONDS // 4)
RESULTS = ROOT / "bench" / "results"

PRIMARY_STATS = """
SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, tup_returned + tup_fetched,
       pg_current_wal_lsn() - '0/0'::pg_lsn,
       (SELECT count(*) FROM decisions_auditevent),
       (SELECT count(*) FROM decisions_decisionrecord),
       (SELECT count(*) FROM decisions_approval)
FROM pg_stat_database WHERE datname = current_database()
"""
STANDBY_STATS = """
SELECT xact_commit, tup_returned + tup_fetched FROM pg_stat_database
WHERE datname = current_database()
"""


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants, reaped ones included."""
    import psutil

    try:
        root = psutil.Process(pid)
        total = sum(root.cpu_times()[:4])  # user, system, children_user, children_system
        for child in root.children(recursive=True):
            with suppress(psutil.NoSuchProcess):
                total += sum(child.cpu_times()[:2])
    except psutil.NoSuchProcess:
        return 0.0
    return total


def worker_rss_mb(masters: list[int]) -> float:
    """The mean resident memory of the gunicorn workers (not the masters), in MB."""
    import psutil

    sizes = []
    for pid in masters:
        with suppress(psutil.NoSuchProcess):
            sizes += [child.memory_info().rss for child in psutil.Process(pid).children()]
    return round(sum(sizes) / len(sizes) / 2**20, 1) if sizes else 0.0


def postmaster(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split()[0])


def step(message: str) -> None:
    print(f"[loadtest {time.strftime('%H:%M:%S')}] {message}", flush=True)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def numbers(text: str) -> list[float]:
    return [float(value) for value in text.split("|")]


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def main() -> int:
    started = time.monotonic()
    RESULTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="isg-loadtest-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        step("starting a PostgreSQL primary and streaming standby")
        cluster = stack.enter_context(PgCluster())
        step(f"primary :{cluster.primary_port}, standby :{cluster.standby_port} "
             f"({cluster.started_in:.1f} s)")  # fmt: skip
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "isg.settings",
            "DATABASE_URL": cluster.url(),
            "DATABASE_REPLICA_URL": cluster.url(standby=True),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "STATIC_MANIFEST": "false",
            "ISG_MFA_REQUIRED": "false",
            "ISG_CACHE_BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "ISG_CACHE_LOCATION": "isg_cache",
            "ISG_EXPORTS_DIR": str(work / "exports"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "WARNING",
            "CONN_MAX_AGE": "60",
        }
        step("migrating, loading guidance, seeding")
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "createcachetable")
        manage(env, "load_guidance")
        accounts = work / "accounts.json"
        subprocess.run(  # noqa: S603
            [str(BIN / "python"), "loadtest/seed.py", str(accounts), str(ORGANISATIONS),
             str(DECISIONS)],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        cluster.wait_replayed()

        ports = [free_port() for _ in range(NODES)]
        node_pids = []
        for port in ports:
            log = (work / f"node-{port}.log").open("w")
            node = subprocess.Popen(  # noqa: S603
                [str(BIN / "gunicorn"), "isg.wsgi", "--preload", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(WORKERS), "--timeout", "60"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            stack.callback(node.wait, 20)
            stack.callback(node.terminate)
            node_pids.append(node.pid)
        nodes = [f"http://127.0.0.1:{port}" for port in ports]
        for url in nodes:
            wait_ready(url + "/accounts/login/")
        step(f"{NODES} gunicorn nodes ({WORKERS} workers each): {', '.join(nodes)}")

        processes = {
            "web nodes": node_pids,
            "primary": [postmaster(cluster.primary_dir)],
            "standby": [postmaster(cluster.standby_dir)],
        }
        step(f"locust: {USERS} users, {SECONDS} s or {MAX_REQUESTS} requests; figures of the "
             f"primary and CPU from {WARMUP} s on, once everyone has signed in")  # fmt: skip
        prefix = work / "locust"
        run_started = time.monotonic()
        locust = subprocess.Popen(  # noqa: S603
            [str(BIN / "locust"), "-f", "loadtest/locustfile.py", "--headless",
             "-u", str(USERS), "-r", str(max(1, USERS // 4)), "-t", f"{SECONDS}s",
             "--stop-timeout", "10", "--csv", str(prefix), "--csv-full-history",
             "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT,
            env={**env, "LOADTEST_NODES": ",".join(nodes), "LOADTEST_ACCOUNTS": str(accounts),
                 "LOADTEST_MAX_REQUESTS": str(MAX_REQUESTS)},
        )  # fmt: skip
        stack.callback(lambda: locust.poll() is None and locust.kill())
        time.sleep(WARMUP)
        # The steady window: from here to the end of the run.
        window_start = time.time()
        t0 = time.monotonic()
        cpu_before = {k: sum(map(cpu_seconds, pids)) for k, pids in processes.items()}
        before = numbers(cluster.sql(PRIMARY_STATS))
        standby_before = numbers(cluster.sql(STANDBY_STATS, standby=True))
        locust.wait(timeout=SECONDS + 120)
        elapsed = time.monotonic() - t0
        after = numbers(cluster.sql(PRIMARY_STATS))
        standby_after = numbers(cluster.sql(STANDBY_STATS, standby=True))
        cpu = {k: sum(map(cpu_seconds, pids)) - cpu_before[k] for k, pids in processes.items()}
        lag = cluster.sql("SELECT coalesce(max(replay_lag), '0')::text FROM pg_stat_replication")
        pages = read_stats(prefix.with_name("locust_stats.csv"))
        window_requests = requests_since(prefix.with_name("locust_stats_history.csv"), window_start)
        figures = summarise(pages, before, after, standby_before, standby_after, elapsed, lag)
        figures["run_seconds"] = round(time.monotonic() - run_started, 1)
        figures["requests_per_second"] = round(figures["requests"] / figures["run_seconds"], 1)
        figures["window_requests"] = window_requests
        figures["window_requests_per_second"] = round(window_requests / elapsed, 1)
        requests = max(1, window_requests)
        figures["cpu"] = {
            name: {
                "cpu_seconds": round(used, 1),
                "cores_busy": round(used / elapsed, 2),
                "cpu_ms_per_request": round(1000 * used / requests, 1),
            }
            for name, used in cpu.items()
        }
        primary = figures["primary"]
        if primary["audit_events"]:
            figures["cpu"]["primary"]["cpu_ms_per_audit_event"] = round(
                1000 * cpu["primary"] / primary["audit_events"], 1
            )
        figures["web_worker_rss_mb"] = worker_rss_mb(node_pids)
        figures["load_average_at_end"] = os.getloadavg()[0]
        figures["setup_and_run_seconds"] = round(time.monotonic() - started, 1)
    report(figures)
    chart(figures)
    failures = sum(p["failures"] for p in figures["pages"])
    return 1 if failures > 0.01 * max(1, figures["requests"]) else 0


def requests_since(history: Path, since: float) -> int:
    """Requests made after `since` (wall clock), from locust's per-second history."""
    first = last = None
    with history.open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] != "Aggregated":
                continue
            total = int(row["Total Request Count"])
            if float(row["Timestamp"]) <= since:
                first = total
            last = total
    return (last or 0) - (first or 0)


def read_stats(path: Path) -> list[dict]:
    pages = []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                continue
            pages.append(
                {
                    "page": row["Name"],
                    "method": row["Type"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "per_second": float(row["Requests/s"]),
                    "median_ms": float(row["50%"] or 0),
                    "p95_ms": float(row["95%"] or 0),
                    "max_ms": float(row["Max Response Time"] or 0),
                }
            )
    return sorted(pages, key=lambda p: p["page"])


def summarise(pages, before, after, standby_before, standby_after, elapsed, lag) -> dict:
    delta = [b - a for a, b in zip(before, after, strict=True)]
    commits, inserted, updated, deleted, read_rows, wal, events, records, approvals = delta
    standby_commits, standby_rows = (b - a for a, b in zip(standby_before, standby_after,
                                                             strict=True))  # fmt: skip
    requests = sum(p["requests"] for p in pages)
    return {
        "nodes": NODES,
        "workers_per_node": WORKERS,
        "users": USERS,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_second": round(requests / elapsed, 1),
        "pages": pages,
        "primary": {
            # Every autocommit SELECT counts as a transaction too: rows and WAL measure writes.
            "transactions_per_second": round(commits / elapsed, 1),
            "rows_written_per_second": round((inserted + updated + deleted) / elapsed, 1),
            "wal_kb_per_second": round(wal / 1024 / elapsed, 1),
            "audit_events_per_second": round(events / elapsed, 1),
            "decisions_submitted_per_second": round(records / elapsed, 2),
            "approvals_per_second": round(approvals / elapsed, 2),
            "rows_read_per_second": round(read_rows / elapsed, 1),
            "audit_events": int(events),
            "decisions_submitted": int(records),
            "approvals": int(approvals),
        },
        "standby": {
            "transactions_per_second": round(standby_commits / elapsed, 1),
            "rows_read_per_second": round(standby_rows / elapsed, 1),
            "replay_lag_at_end": lag,
        },
    }


def report(figures: dict) -> None:
    print()
    print(f"ISG load test: {figures['nodes']} nodes x {figures['workers_per_node']} gunicorn "
          f"workers, {figures['users']} users, {figures['run_seconds']} s, "
          f"{figures['requests']} requests ({figures['requests_per_second']}/s)")  # fmt: skip
    print(f"{'page type':44} {'requests':>8} {'fail':>5} {'req/s':>7} {'median':>7} {'p95 ms':>7}")
    for p in figures["pages"]:
        print(f"{p['method'] + ' ' + p['page']:44} {p['requests']:>8} {p['failures']:>5} "
              f"{p['per_second']:>7.2f} {p['median_ms']:>7.0f} {p['p95_ms']:>7.0f}")  # fmt: skip
    primary, standby = figures["primary"], figures["standby"]
    print(f"primary writes: {primary['rows_written_per_second']} rows/s, "
          f"{primary['wal_kb_per_second']} kB WAL/s; "
          f"{primary['audit_events_per_second']} audit events/s, "
          f"{primary['decisions_submitted_per_second']} decisions submitted/s, "
          f"{primary['approvals_per_second']} approvals/s "
          f"({primary['transactions_per_second']} transactions/s, reads included)")  # fmt: skip
    print(f"primary reads: {primary['rows_read_per_second']} rows/s; standby: "
          f"{standby['transactions_per_second']} transactions/s, "
          f"{standby['rows_read_per_second']} rows read/s, "
          f"replay lag at the end {standby['replay_lag_at_end']}")  # fmt: skip
    print(
        f"steady window ({figures['seconds']} s after the sign-ins): "
        f"{figures['window_requests']} requests, {figures['window_requests_per_second']}/s"
    )
    for name, used in figures["cpu"].items():
        extra = (f", {used['cpu_ms_per_audit_event']} ms per audit event"
                 if "cpu_ms_per_audit_event" in used else "")  # fmt: skip
        print(f"CPU {name}: {used['cpu_seconds']} s ({used['cores_busy']} cores busy), "
              f"{used['cpu_ms_per_request']} ms per request{extra}")  # fmt: skip
    print(f"gunicorn worker memory (RSS, mean): {figures['web_worker_rss_mb']} MB")
    print(f"machine load average at the end: {figures['load_average_at_end']:.1f} "
          f"on {os.cpu_count()} cores (shared: figures are lower bounds)")  # fmt: skip
    (RESULTS / "loadtest.json").write_text(json.dumps(figures, indent=2) + "\n")
    took = figures["setup_and_run_seconds"]
    print(f"figures: {RESULTS / 'loadtest.json'}; setup and run {took} s")


def chart(figures: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pages = figures["pages"]
    names = [p["page"] for p in pages]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 0.45 * len(names) + 2), sharey=True)
    left.barh(names, [p["per_second"] for p in pages], color="#1d70b8")
    left.set_xlabel("requests per second")
    right.barh(names, [p["p95_ms"] for p in pages], color="#d4351c")
    right.set_xlabel("p95 response time (ms)")
    for axis in (left, right):
        axis.grid(axis="x", alpha=0.3)
    left.invert_yaxis()
    primary = figures["primary"]
    fig.suptitle(
        f"ISG load test: {figures['nodes']} web nodes x {figures['workers_per_node']} workers, "
        f"primary + standby, {figures['users']} users, {figures['requests_per_second']} req/s; "
        f"primary {primary['rows_written_per_second']} rows written/s, "
        f"{primary['audit_events_per_second']} audit events/s",
        fontsize=10,
    )
    cpu = figures["cpu"]
    fig.text(
        0.01,
        0.005,
        f"CPU per request: web {cpu['web nodes']['cpu_ms_per_request']} ms, primary "
        f"{cpu['primary']['cpu_ms_per_request']} ms, standby "
        f"{cpu['standby']['cpu_ms_per_request']} ms. Shared {os.cpu_count()}-core machine, load "
        f"average {figures['load_average_at_end']:.1f}: response times include waiting for CPU.",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(RESULTS / "loadtest.png", dpi=110)
    print(f"chart: {RESULTS / 'loadtest.png'}")


if __name__ == "__main__":
    sys.exit(main())
