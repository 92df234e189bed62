"""Benchmark of the wizard and the record PDF (issue 12): `make bench` runs it after bench/run.py,
or on its own: `.venv/bin/python bench/wizard.py`.

Production-like settings (DEBUG false, secure cookies over https, MFA required and satisfied
by a confirmed TOTP device) on a throwaway database (BENCH_DB=sqlite|postgres, as run.py).
Only STATIC_MANIFEST is off, as there is no collectstatic here. Through Django's test client
(the whole middleware stack, no network), in 3 interleaved rounds (median of the rounds'
medians, and their range):

  * a question page GET and POST against the floor: a login-required view that does nothing,
    behind the same middleware, registered only in this bench's URLconf (bench/urls.py);
  * SQL statements per GET and POST (all, and the page's own beyond session and user);
  * the record PDF: the first download (WeasyPrint renders and stores it) against a stored
    download (served from RenderedPdf).

Options (environment): BENCH_REQUESTS=40 (requests per measurement per round).
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import KIND, setup_database  # noqa: E402

URL, cleanup = setup_database("wizard")
os.environ.update(
    {
        "DATABASE_URL": URL,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "ALLOWED_HOSTS": "testserver",
        "ISG_BASE_URL": "https://testserver",
        "STATIC_MANIFEST": "false",
        "ISG_MFA_REQUIRED": "true",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "isg.settings",
    }
)

import warnings  # noqa: E402

import django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from decisions import services  # noqa: E402
from decisions.guidance.store import pack_load_files  # noqa: E402
from decisions.models import Organisation, RenderedPdf, Role, User  # noqa: E402
from tests.factories import ROUTES, as_post  # noqa: E402

ROUNDS = 3
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
PDF_STORED_REQUESTS = 5
SESSION_AND_AUTH = ("django_session", "decisions_user", "otp_totp_totpdevice")
MAIN_TABLE = re.compile(r'^(?:SELECT .*? FROM|UPDATE|INSERT INTO|DELETE FROM) "(\w+)"', re.S)

# Goals (issue 12): statements beyond session/auth; time as a multiple of the floor.
GET_STATEMENTS_GOAL, POST_STATEMENTS_GOAL = 3, 8
GET_RATIO_GOAL, POST_RATIO_GOAL = 2.0, 3.0
PDF_STORED_RATIO_GOAL = 0.1  # a stored download at most a tenth of the first render


def signed_in_client(user: User) -> Client:
    """A browser session as after a real sign-in with an authenticator app."""
    client = Client(HTTP_HOST="testserver")
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def request(client: Client, method: str, url: str, data: dict | None, expect: int) -> None:
    response = getattr(client, method)(url, data or {}, secure=True)
    if response.status_code != expect:
        raise SystemExit(f"{method.upper()} {url}: {response.status_code}, expected {expect}")


def per_request(function: Callable[[], None], n: int) -> float:
    """The median wall time of `function` over n calls, in seconds."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def statements(function: Callable[[], None]) -> tuple[int, int]:
    """(all statements, the page's own: not session/auth, not transaction control)."""
    with CaptureQueriesContext(connection) as context:
        function()
    sqls = [q["sql"] for q in context.captured_queries]
    if os.environ.get("BENCH_SHOW_SQL"):
        print("\n".join(f"    {sql[:150]}" for sql in sqls), "\n")
    own = [
        sql
        for sql in sqls
        if not sql.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT"))
        and (MAIN_TABLE.match(sql) or [None, ""])[1] not in SESSION_AND_AUTH
    ]
    return len(sqls), len(own)


def summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def row(name: str, isg: str, floor: str, ratio: float | None, goal: str, met: bool) -> None:
    ratio_text = "" if ratio is None else f"{ratio:.2f}x"
    verdict = "met" if met else "NOT MET"
    print(f"  {name:22s} {isg:>28s} {floor:>28s} {ratio_text:>7s}  {goal:>14s}  {verdict}")


def main() -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    print(f"ISG wizard and record PDF benchmark: {KIND} ({engine}), DEBUG={settings.DEBUG}")
    started = time.perf_counter()
    override_settings(ROOT_URLCONF="bench.urls").enable()  # the app's routes and the floor
    call_command("migrate", verbosity=0)
    call_command("createcachetable")  # production settings: the database cache
    pack_load_files(sorted(settings.GUIDANCE_DIR.glob("*.json")))
    org = Organisation.objects.create(name="Bench Council", slug="bench", kind="local_authority")
    user = User.objects.create_user(
        "pat@bench.example", full_name="Bench Practitioner", organisation=org,
        role=Role.PRACTITIONER,
    )  # fmt: skip
    client = signed_in_client(user)

    decision = services.decision_start(user=user)
    (first, first_values), (second, second_values) = ROUTES["share_with_consent"][:2]
    services.decision_answer(decision=decision, user=user, step_id=first, values=first_values)
    step_url = reverse("step", args=[decision.public_id, second])
    step_post = as_post(second_values)
    floor_url = "/bench-floor/"

    submitted = []
    for _ in range(ROUNDS):
        made = services.decision_start(user=user)
        for step_id, values in ROUTES["share_without_consent"]:
            services.decision_answer(decision=made, user=user, step_id=step_id, values=values)
        made.refresh_from_db()
        services.decision_submit(decision=made, user=user)
        submitted.append(made)

    actions = {
        "get": lambda: request(client, "get", step_url, None, 200),
        "post": lambda: request(client, "post", step_url, step_post, 302),
        "floor_get": lambda: request(client, "get", floor_url, None, 200),
        "floor_post": lambda: request(client, "post", floor_url, {"x": "1"}, 200),
    }
    for action in actions.values():  # warm up: imports, template compilation, parsed pack
        for _ in range(3):
            action()
    warm = submitted[0]
    request(client, "get", reverse("record_pdf", args=[warm.public_id]), None, 200)

    times: dict[str, list[float]] = {key: [] for key in [*actions, "pdf_first", "pdf_stored"]}
    for n in range(ROUNDS):
        for key, action in actions.items():  # interleaved: each round measures everything
            times[key].append(per_request(action, REQUESTS))
        pdf_url = reverse("record_pdf", args=[submitted[n].public_id])
        RenderedPdf.objects.filter(record__decision=submitted[n]).delete()
        times["pdf_first"].append(
            per_request(lambda url=pdf_url: request(client, "get", url, None, 200), 1)
        )
        times["pdf_stored"].append(
            per_request(
                lambda url=pdf_url: request(client, "get", url, None, 200), PDF_STORED_REQUESTS
            )
        )

    counts = {key: statements(action) for key, action in actions.items()}

    def timing(key: str) -> str:
        median, low, high = summary(times[key])
        return f"{ms(median)} ({ms(low)}-{ms(high)})"

    def ratio(key: str, floor: str) -> float:
        return summary(times[key])[0] / summary(times[floor])[0]

    print(f"\n  {ROUNDS} interleaved rounds of {REQUESTS} requests; median of the round medians "
          f"(range)")  # fmt: skip
    print(f"  {'':22s} {'ISG':>28s} {'floor':>28s} {'ratio':>7s}  {'goal':>14s}")
    get_ratio, post_ratio = ratio("get", "floor_get"), ratio("post", "floor_post")
    row("step GET", timing("get"), timing("floor_get"), get_ratio, f"<= {GET_RATIO_GOAL}x floor",
        get_ratio <= GET_RATIO_GOAL)  # fmt: skip
    row("step POST", timing("post"), timing("floor_post"), post_ratio,
        f"<= {POST_RATIO_GOAL}x floor", post_ratio <= POST_RATIO_GOAL)  # fmt: skip
    for method, goal in (("get", GET_STATEMENTS_GOAL), ("post", POST_STATEMENTS_GOAL)):
        total, own = counts[method]
        floor_total, _ = counts[f"floor_{method}"]
        row(f"statements {method.upper()}", f"{own} own ({total} in all)",
            f"{floor_total} in all", None, f"<= {goal} own", own <= goal)  # fmt: skip
    pdf_ratio = ratio("pdf_stored", "pdf_first")
    row("record PDF stored", timing("pdf_stored"), timing("pdf_first") + " first", pdf_ratio,
        f"<= {PDF_STORED_RATIO_GOAL}x first", pdf_ratio <= PDF_STORED_RATIO_GOAL)  # fmt: skip
    print("\n  floor: a login-required view doing nothing, behind the same middleware; for the")
    print("  record PDF, the first download (rendered by WeasyPrint, then stored)")
    print(f"  took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
