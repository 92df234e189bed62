"""ISG served by gunicorn against a bare view served the same way (issue 12): `make bench`
runs it after bench/run.py and bench/wizard.py, or on its own:
`BENCH_DB=postgres .venv/bin/python bench/server.py`.

Production settings (DEBUG false, MFA required and satisfied by a TOTP device) on a throwaway
database; only TLS is off (plain HTTP on loopback), as behind the reverse proxy. The floor is
a login-required view that does nothing (bench/urls.py), behind the same middleware, in the
same gunicorn (bench/settings.py adds it to the app's routes). Each row is 3 interleaved
rounds, shown as the median of the rounds and their range:

  * a question page GET and POST, one user at a time: p50 against the floor's p50;
  * 4 concurrent users: p95 of GET and of POST (goal 25 ms);
  * throughput with 2 sync workers and 4 clients: GET and POST requests a second;
  * the first request of a fresh worker (gunicorn --preload, 1 worker) against a warm one;
  * one audited write: `record_event` alone, and a saved answer (`decision_answer`), against a
    plain INSERT of a row of the same size in a transaction of its own.

The load generator runs on the same 2 cores as the server, as the issue's measurements did;
it is the same for the floor and the app. Options: BENCH_REQUESTS=60 (per measurement).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import KIND, setup_database  # noqa: E402

URL, cleanup = setup_database("server")
ENV = {
    "DATABASE_URL": URL,
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-" + "x" * 50,
    "ALLOWED_HOSTS": "127.0.0.1,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_COOKIES": "false",
    "STATIC_MANIFEST": "false",
    "ISG_MFA_REQUIRED": "true",
    "ISG_BASE_URL": "http://127.0.0.1",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "bench.settings",
}
os.environ.update(ENV)

import warnings  # noqa: E402

import django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from decisions import services  # noqa: E402
from decisions.audit.actions import AuditAction  # noqa: E402
from decisions.audit.record import record_event  # noqa: E402
from decisions.guidance.store import pack_load_files  # noqa: E402
from decisions.models import Organisation, Role, User  # noqa: E402
from tests.factories import ROUTES, as_post  # noqa: E402

ROUNDS = 3
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "60"))
CLIENTS = 4
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving the app (and the floor) on a free loopback port."""

    def __init__(self, workers: int) -> None:
        self.port = free_port()
        command = [GUNICORN, "isg.wsgi", "--preload", "--workers", str(workers),
                   "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **ENV})  # noqa: S603
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # a TCP connect, not a request: none is spent
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise SystemExit("gunicorn did not start")
        # The master listens before its workers have forked; give them time to start, so that
        # a "first request" measures a started worker, not the fork.
        time.sleep(1.5)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class Browser:
    """One signed-in user's HTTP connection (gunicorn's sync workers close each one)."""

    def __init__(self, port: int, cookies: dict[str, str], token: str) -> None:
        self.port, self.cookies, self.token = port, cookies, token

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, bytes]:
        connection_ = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if method == "POST":
            body = urlencode({**(form or {}), "csrfmiddlewaretoken": self.token}, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection_.request(method, path, body=body, headers=headers)
        response = connection_.getresponse()
        content = response.read()
        connection_.close()
        return response.status, content

    def timed(self, method: str, path: str, form: dict | None, expect: int) -> float:
        start = time.perf_counter()
        status, _ = self.request(method, path, form)
        elapsed = time.perf_counter() - start
        if status != expect:
            raise SystemExit(f"{method} {path}: {status}, expected {expect}")
        return elapsed


def sequential(browser: Browser, action: tuple, n: int) -> list[float]:
    return [browser.timed(*action) for _ in range(n)]


def concurrent(browser: Browser, action: tuple, n: int) -> tuple[list[float], float]:
    """n requests from CLIENTS threads at once: their latencies and the wall time."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client() -> None:
        mine = sequential(browser, action, n // CLIENTS)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - start


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def per_call(function: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row(name: str, isg: str, floor: str, goal: str, met: bool) -> None:
    print(f"  {name:34s} {isg:>26s} {floor:>26s}  {goal:>16s}  {'met' if met else 'NOT MET'}")


def main() -> None:
    print(f"ISG served by gunicorn: {KIND} ({settings.DATABASES['default']['ENGINE']}), "
          f"DEBUG={settings.DEBUG}")  # fmt: skip
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("createcachetable")  # production settings: the database cache
    pack_load_files(sorted(settings.GUIDANCE_DIR.glob("*.json")))
    org = Organisation.objects.create(name="Bench Council", slug="bench", kind="local_authority")
    user = User.objects.create_user("pat@bench.example", full_name="Bench Practitioner",
                                    organisation=org, role=Role.PRACTITIONER)  # fmt: skip
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    decision = services.decision_start(user=user)
    (first, first_values), (second, second_values) = ROUTES["share_with_consent"][:2]
    services.decision_answer(decision=decision, user=user, step_id=first, values=first_values)
    step_url = reverse("step", args=[decision.public_id, second])
    get_page = client.get(step_url)
    cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    token = TOKEN.search(get_page.content).group(1).decode()
    connection.close()  # gunicorn's workers open their own

    actions = {
        "get": ("GET", step_url, None, 200),
        "post": ("POST", step_url, as_post(second_values), 302),
        "floor_get": ("GET", "/bench-floor/", None, 200),
        "floor_post": ("POST", "/bench-floor/", {"x": "1"}, 200),
    }
    p50: dict[str, list[float]] = {key: [] for key in actions}
    tail: dict[str, list[float]] = {key: [] for key in actions}
    rate: dict[str, list[float]] = {key: [] for key in actions}
    first_ratio: list[float] = []

    server = Server(workers=2)
    try:
        browser = Browser(server.port, cookies, token)
        for action in actions.values():  # warm both workers
            sequential(browser, action, 6)
        for _ in range(ROUNDS):
            for key, action in actions.items():
                p50[key].append(statistics.median(sequential(browser, action, REQUESTS)))
            for key, action in actions.items():
                latencies, wall = concurrent(browser, action, REQUESTS * 2)
                tail[key].append(p95(latencies))
                rate[key].append(len(latencies) / wall)
    finally:
        server.stop()

    for _ in range(ROUNDS):  # a fresh single worker each round
        fresh = Server(workers=1)
        try:
            browser = Browser(fresh.port, cookies, token)
            first_time = browser.timed(*actions["get"])
            warm = statistics.median(sequential(browser, actions["get"], 20))
            first_ratio.append(first_time / warm)
        finally:
            fresh.stop()

    # One audited write against a plain INSERT, in this process, each in its own transaction.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_plain (id integer PRIMARY KEY, created_at varchar(40), "
            "action varchar(80), details text, hash varchar(64))"
        )
    counter = iter(range(1, 10**9))

    def plain() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_plain VALUES (%s, %s, %s, %s, %s)",
                [next(counter), "2026-11-30T12:00:00+00:00", "decision.answered",
                 '{"step": "consent"}', "0" * 64],
            )  # fmt: skip

    def audited() -> None:
        with transaction.atomic():
            record_event(AuditAction.DECISION_VIEWED, actor=user, obj=decision)

    answer = ROUTES["share_with_consent"][1]

    def answered() -> None:
        services.decision_answer(decision=decision, user=user, step_id=answer[0], values=answer[1])

    writes: dict[str, list[float]] = {"plain": [], "audited": [], "answered": []}
    for function in (plain, audited, answered):
        per_call(function, 5)
    for _ in range(ROUNDS):
        for key, function in (("plain", plain), ("audited", audited), ("answered", answered)):
            writes[key].append(per_call(function, REQUESTS))

    def ms(values: list[float]) -> str:
        median, low, high = summary(values)
        return f"{median * 1e3:.1f} ms ({low * 1e3:.1f}-{high * 1e3:.1f})"

    def ratio(a: list[float], b: list[float]) -> float:
        return summary(a)[0] / summary(b)[0]

    def per_second(values: list[float]) -> str:
        median, low, high = summary(values)
        return f"{median:.0f}/s ({low:.0f}-{high:.0f})"

    print(f"\n  {ROUNDS} interleaved rounds; median of the rounds (range); gunicorn --preload, "
          f"2 sync workers; {CLIENTS} concurrent clients where stated")  # fmt: skip
    print(f"  {'':34s} {'ISG':>26s} {'floor':>26s}  {'goal':>16s}")
    get_ratio = ratio(p50["get"], p50["floor_get"])
    post_ratio = ratio(p50["post"], p50["floor_post"])
    row(f"step GET p50 ({get_ratio:.2f}x)", ms(p50["get"]), ms(p50["floor_get"]),
        "<= 2x floor", get_ratio <= 2)  # fmt: skip
    row(f"step POST p50 ({post_ratio:.2f}x)", ms(p50["post"]), ms(p50["floor_post"]),
        "<= 3x floor", post_ratio <= 3)  # fmt: skip
    for method in ("get", "post"):
        row(f"{CLIENTS} users, p95 {method.upper()}", ms(tail[method]), ms(tail[f"floor_{method}"]),
            "<= 25 ms", summary(tail[method])[0] <= 0.025)  # fmt: skip
    for method, goal in (("get", 250), ("post", 180)):
        row(f"throughput {method.upper()}", per_second(rate[method]),
            per_second(rate[f"floor_{method}"]), f">= {goal}/s",
            summary(rate[method])[0] >= goal)  # fmt: skip
    first = summary(first_ratio)
    row("fresh worker's first GET", f"{first[0]:.2f}x ({first[1]:.2f}-{first[2]:.2f})",
        "a warm GET", "<= 1.5x warm", first[0] <= 1.5)  # fmt: skip
    audited_ratio = ratio(writes["audited"], writes["plain"])
    answered_ratio = ratio(writes["answered"], writes["plain"])
    row(f"record_event alone ({audited_ratio:.1f}x)", ms(writes["audited"]), ms(writes["plain"]),
        "<= 2x INSERT", audited_ratio <= 2)  # fmt: skip
    row(f"a saved answer ({answered_ratio:.1f}x)", ms(writes["answered"]), ms(writes["plain"]),
        "<= 4x INSERT", answered_ratio <= 4)  # fmt: skip
    print(f"\n  took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
