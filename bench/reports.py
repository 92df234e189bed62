"""Benchmark of the reports page and the audit log at scale (issue 12): `make bench` runs it
after bench/wizard.py, or on its own: `BENCH_DB=postgres .venv/bin/python bench/reports.py`.

PostgreSQL only (the data is built with INSERT ... SELECT generate_series, and the goals are
PostgreSQL's); on SQLite it says so and stops. Production-like settings as bench/wizard.py
(DEBUG false, MFA satisfied by a confirmed TOTP device), through Django's test client (the
whole middleware stack, no network), 3 interleaved rounds (median of the round medians, and
their range). It builds, and says how long each part took:

  * 1,000,000 submitted decisions of one organisation over the last year (answers with the
    reported fields only; a fifth signed off, with their records and approvals), and the
    report summary table from them by `rebuild_report_summaries` (decisions.report_summaries);
  * 1,000,000 audit events over the last year (mostly the lead's organisation), and staff of
    43, then 1,043, then 3,043 people in the organisation.

and measures, each against its goal:

  * the manager's reports page for the last 12 months (<= 150 ms), build_report alone, a bare
    signed-in view (the floor); then the first view after the figures change: the page (it
    links its charts by digest and draws none), each chart image drawn anew by its own
    request (matplotlib; <= 150 ms each) and the six one after another, and a chart once
    drawn;
  * the audit-log page with 43 / 1,043 / 3,043 staff (<= 15 ms whatever the staff count),
    its SQL statements, and the floor in the same rounds;
  * the audit-log date filter, a page of events for windows of 1, 12, 90 and 365 days:
    p95 of the filter's probes and page query (<= 10 ms for any window).

Options (environment): BENCH_REPORT_DECISIONS=1000000, BENCH_AUDIT_EVENTS=1000000,
BENCH_REQUESTS=20 (requests per measurement per round), BENCH_SHOW_SQL=1 (the audit log page's
statements), BENCH_PROFILE=1 (cProfile of the rebuild and of one request of each page).
"""

from __future__ import annotations

import html
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import KIND, setup_database  # noqa: E402

if KIND != "postgres":
    print("Reports and audit-log benchmark: skipped, it needs BENCH_DB=postgres (the data is")
    print("built with generate_series and the goals are PostgreSQL's).")
    sys.exit(0)

URL, cleanup = setup_database("reports")
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

from urllib.parse import urlencode  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from decisions.audit.partitions import ensure_partitions  # noqa: E402
from decisions.audit.queries import (  # noqa: E402
    AuditFilters,
    event_page,
    filtered_events,
    page_anchor,
)
from decisions.guidance.store import pack_load_files  # noqa: E402
from decisions.models import GuidancePack, Organisation, ReportSummary, Role, User  # noqa: E402
from decisions.reports import summary_figures  # noqa: E402
from decisions.reports.figures import build_report  # noqa: E402
from decisions.reports.filters import ReportFilters  # noqa: E402

ROUNDS = 3
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20"))
DECISIONS = int(os.environ.get("BENCH_REPORT_DECISIONS", "1000000"))
EVENTS = int(os.environ.get("BENCH_AUDIT_EVENTS", "1000000"))
STAFF = (43, 1043, 3043)
WINDOWS = (1, 12, 90, 365)
REPORT_GOAL, AUDIT_GOAL, DATE_FILTER_GOAL = 0.150, 0.015, 0.010


def signed_in_client(user: User) -> Client:
    """A browser session as after a real sign-in with an authenticator app."""
    client = Client(HTTP_HOST="testserver")
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def get(client: Client, url: str) -> None:
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: {response.status_code}")


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def sql(statement: str, params: tuple = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


# ------------------------------------------------------------------ the data ----


def add_staff(org: Organisation, template: User, first: int, count: int) -> None:
    """`count` practitioners more in `org`, copied from `template` in one statement."""
    sql(
        """
        INSERT INTO decisions_user (password, last_login, is_superuser, email, full_name, role,
            job_title, partnership_wide, is_active, is_staff, date_joined, organisation_id)
        SELECT password, NULL, false, 'staff' || g || '@bench.example', 'Staff ' || g,
            'practitioner', '', false, true, false, now(), %s
        FROM decisions_user, generate_series(%s, %s) AS g WHERE id = %s
        """,
        (org.pk, first, first + count - 1, template.pk),
    )


def build_decisions(org: Organisation, user: User, pack: GuidancePack) -> None:
    """DECISIONS submitted decisions over the last year: a fifth signed off (1 to 72 hours),
    one in fifty returned, one in thirty an amendment. Answers hold the reported fields."""
    sql(
        """
        INSERT INTO decisions_decision (public_id, reference, version, status, answers,
            case_reference, subject_initials, outcome, needs_approval, amendment_reason,
            created_at, updated_at, submitted_at, created_by_id, pack_id, organisation_id)
        SELECT gen_random_uuid(), 'ISG-2000-' || lpad(g::text, 7, '0'),
            CASE WHEN g %% 30 = 0 THEN 2 ELSE 1 END,
            CASE WHEN g %% 5 = 0 THEN 'approved' WHEN g %% 50 = 1 THEN 'returned'
                 ELSE 'submitted' END,
            jsonb_build_object(
                'context', jsonb_build_object('direction',
                    CASE WHEN g %% 3 = 0 THEN 'request' ELSE 'proactive' END),
                'purpose', jsonb_build_object('purpose_categories', CASE WHEN g %% 4 = 0
                    THEN jsonb_build_array((ARRAY['s47_child_protection', 'early_help', 'crime',
                        'cse', 's17_child_in_need', 'other'])[1 + g %% 6],
                        (ARRAY['crime', 'prevent'])[1 + g %% 2])
                    ELSE jsonb_build_array((ARRAY['s47_child_protection', 'early_help',
                        'crime', 'cse', 's17_child_in_need', 'other'])[1 + g %% 6]) END),
                'lawful_reason', jsonb_build_object('lawful_reason', jsonb_build_array(
                    (ARRAY['public_interest_child', 'public_interest_crime',
                        'legal_obligation'])[1 + g %% 3])),
                'data_protection_basis', jsonb_build_object('gdpr_article6',
                    (ARRAY['public_task', 'legal_obligation', 'vital_interests',
                        'consent'])[1 + g %% 4]),
                'recipient', jsonb_build_object('recipient_org',
                    (ARRAY['Children''s social care', 'Leicestershire Police', 'School',
                        'GP surgery', 'MASH', 'school ', 'Health visitor', 'Youth offending',
                        'Housing', 'Probation', 'CAMHS', 'Early help hub'])[1 + g %% 12])),
            'CASE-' || g, 'AB',
            (ARRAY['share_with_consent', 'share_without_consent', 'can_share',
                'do_not_share'])[1 + (g / 7) %% 4],
            g %% 5 = 0, '',
            ts, ts, ts, %s, %s, %s
        FROM (SELECT g, now() - (g::float / %s) * interval '365 days' AS ts
              FROM generate_series(1, %s) AS g) AS series
        """,
        (user.pk, pack.pk, org.pk, DECISIONS, DECISIONS),
    )
    sql(
        """
        INSERT INTO decisions_decisionrecord (round, pack_id, pack_version, pack_edition,
            pack_digest, answers, snapshot, outcome, outcome_title, outcome_summary, reasons,
            needs_approval, submitted_at, decision_id, submitted_by_id)
        SELECT 1, %s, %s, %s, %s, '{}', '{}', outcome, '', '', '[]', true, submitted_at, id,
            created_by_id
        FROM decisions_decision WHERE status IN ('approved', 'returned')
        """,
        (pack.pack_id, pack.version, pack.edition, pack.digest),
    )
    sql(
        """
        INSERT INTO decisions_approval (action, at, comments, by_id, decision_id, record_id)
        SELECT CASE WHEN d.status = 'approved' THEN 'approved' ELSE 'returned' END,
            r.submitted_at + (1 + (d.id * 7919) %% (72 * 60)) * interval '1 minute', '', %s,
            d.id, r.id
        FROM decisions_decisionrecord r JOIN decisions_decision d ON d.id = r.decision_id
        """,
        (user.pk,),
    )


def build_events(org: Organisation, other: Organisation, lead: User) -> None:
    """EVENTS audit events over the last year, in time order; nine in ten of the lead's
    organisation, by its first 43 people, each in its organisation's chain (positions
    continuing from the chain's head). Hashes are placeholders: nothing here verifies."""
    # The steady state of a deployment: two years of monthly partitions live (the archive
    # age, ISG_AUDIT_ARCHIVE_AFTER_MONTHS), the year built here in the newest twelve.
    ensure_partitions(27, today=(timezone.now() - timedelta(days=730)).date())
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(sequence), 0) FROM decisions_auditevent")
        (first,) = cursor.fetchone()
    # This throwaway database's few events so far (the setup's) are dated before the year
    # built here, so time order stays sequence order (the append-only triggers are off for it).
    sql("ALTER TABLE decisions_auditevent DISABLE TRIGGER USER")
    sql("UPDATE decisions_auditevent SET created_at = now() - interval '366 days'")
    sql("ALTER TABLE decisions_auditevent ENABLE TRIGGER USER")
    for organisation in (org, other):  # each chain's head row, as its first append makes it
        sql(
            "INSERT INTO decisions_auditchain (key, position, hash, created_at) "
            "VALUES (%s, 0, %s, NULL) ON CONFLICT (key) DO NOTHING",
            (f"org-{organisation.pk}", "0" * 64),
        )
    sql(
        """
        INSERT INTO decisions_auditevent (sequence, created_at, actor_email, role, action,
            object_kind, object_id, reference, ip_address, user_agent, request_id, details,
            previous_hash, hash, actor_id, organisation_id, chain, position)
        SELECT %s + g, now() - interval '365 days' + (g::float / %s) * interval '364 days',
            CASE WHEN g %% 43 = 0 THEN %s ELSE 'staff' || (g %% 43) || '@bench.example' END,
            'practitioner',
            (ARRAY['decision.viewed', 'decision.step_saved', 'decision.submitted',
                'auth.signed_in'])[1 + g %% 4],
            'decision', md5(g::text), '', NULL, 'bench', '', '{}',
            md5((g - 1)::text) || md5((g - 1)::text), md5(g::text) || md5(g::text), NULL,
            o.organisation_id, 'org-' || o.organisation_id,
            head.position + row_number() OVER (PARTITION BY o.organisation_id ORDER BY g)
        FROM generate_series(1, %s) AS g
        CROSS JOIN LATERAL (SELECT CASE WHEN g %% 10 = 0 THEN %s ELSE %s END
                            AS organisation_id) AS o
        JOIN decisions_auditchain head ON head.key = 'org-' || o.organisation_id
        """,
        (first, EVENTS, lead.email, EVENTS, other.pk, org.pk),
    )
    # Each chain's head at its last event, and the global sequence past them, so the page's
    # own events append after them.
    sql(
        """
        UPDATE decisions_auditchain head
        SET position = last.position, hash = last.hash, created_at = last.created_at
        FROM (SELECT DISTINCT ON (chain) chain, position, hash, created_at
              FROM decisions_auditevent WHERE chain IN (%s, %s)
              ORDER BY chain, position DESC) AS last
        WHERE head.key = last.chain
        """,
        (f"org-{org.pk}", f"org-{other.pk}"),
    )
    sql("SELECT setval('decisions_auditevent_sequence_seq', %s)", (first + EVENTS,))


# -------------------------------------------------------------- measuring ----


def profile(name: str, action: Callable[[], None]) -> None:
    """With BENCH_PROFILE=1: where one call's time goes (top 25; BENCH_PROFILE_SORT=tottime,
    BENCH_PROFILE_FILTER=a regular expression on the function's file and name)."""
    if not os.environ.get("BENCH_PROFILE"):
        return
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(action)
    print(f"\n  profile of {name}:")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative"))
    stats.print_stats(os.environ.get("BENCH_PROFILE_FILTER", ""), 25)


def rounds(actions: dict[str, Callable[[], None]], n: int) -> dict[str, list[float]]:
    """Each action's median over n calls, in ROUNDS interleaved rounds."""
    times: dict[str, list[float]] = {key: [] for key in actions}
    for _ in range(ROUNDS):
        for key, action in actions.items():
            times[key].append(statistics.median(timed(action) for _ in range(n)))
    return times


def p95_rounds(actions: dict[str, Callable[[], None]], n: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {key: [] for key in actions}
    for _ in range(ROUNDS):
        for key, action in actions.items():
            samples = sorted(timed(action) for _ in range(n))
            times[key].append(samples[max(int(0.95 * n + 0.5), 1) - 1])
    return times


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def row(name: str, values: list[float], goal: float, note: str = "") -> None:
    median, low, high = statistics.median(values), min(values), max(values)
    verdict = "met" if median <= goal else "NOT MET"
    text = f"{ms(median)} ({ms(low)}-{ms(high)})"
    print(f"  {name:34s} {text:>28s}  <= {ms(goal):>9s}  {verdict}{note}")


CHART_SRC = re.compile(r'<img class="isg-chart" src="([^"]+)"')


def chart_sources(client: Client, url: str) -> tuple[float, list[str]]:
    """The time to GET the reports page, and its chart images' addresses."""
    start = time.perf_counter()
    response = client.get(url, secure=True)
    took = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: {response.status_code}")
    return took, [html.unescape(src) for src in CHART_SRC.findall(response.content.decode())]


def first_view(manager: Client, report_url: str) -> None:
    """The first view after the figures change: the page (which links its charts by digest
    and draws none), then its six chart images, drawn by their own requests; and a chart
    image once drawn. cache.clear() stands for the change: every chart's digest is new."""
    page, drawn, each, kept = [], [], [], []
    for _ in range(ROUNDS):
        cache.clear()
        took, sources = chart_sources(manager, report_url)
        page.append(took)
        times = [timed(lambda src=src: get(manager, src)) for src in sources]
        drawn.append(sum(times))
        each.append(statistics.median(times))
        once = sources[0]
        kept.append(statistics.median(timed(lambda src=once: get(manager, src)) for _ in range(5)))

    def drawn_anew() -> None:
        cache.clear()
        get(manager, chart_sources(manager, report_url)[1][0])

    profile("a chart image drawn anew (and the page before it)", drawn_anew)
    print(f"  first view after the figures change, {len(sources)} charts; {ROUNDS} rounds")
    row("reports page GET, first view", page, REPORT_GOAL, "   (draws no chart)")
    row("  a chart image drawn anew (median)", each, REPORT_GOAL)
    row("  all its charts drawn, one by one", drawn, REPORT_GOAL * len(sources),
        "   (the browser asks in parallel)")  # fmt: skip
    row("  a chart image once drawn", kept, REPORT_GOAL)


def main() -> None:
    started = time.perf_counter()
    engine = settings.DATABASES["default"]["ENGINE"]
    print(f"ISG reports and audit-log benchmark: {KIND} ({engine}), DEBUG={settings.DEBUG}")
    override_settings(ROOT_URLCONF="bench.urls").enable()  # the app's routes and the floor
    call_command("migrate", verbosity=0)
    call_command("createcachetable")  # production settings: the database cache
    pack_load_files(sorted(settings.GUIDANCE_DIR.glob("*.json")))
    pack = GuidancePack.objects.get(is_current=True)
    org = Organisation.objects.create(name="Bench Council", slug="bench", kind="local_authority")
    other = Organisation.objects.create(name="Other Council", slug="other", kind="local_authority")
    people = {
        role: User.objects.create_user(
            f"{role}@bench.example", full_name=f"Bench {role}", organisation=org, role=role
        )
        for role in (Role.MANAGER, Role.LEAD, Role.PRACTITIONER)
    }
    add_staff(org, people[Role.PRACTITIONER], 1, STAFF[0] - len(people))

    built = {}
    built["decisions"] = timed(lambda: build_decisions(org, people[Role.PRACTITIONER], pack))
    built["summaries"] = timed(lambda: call_command("rebuild_report_summaries", verbosity=0))
    profile("the rebuild", lambda: call_command("rebuild_report_summaries", verbosity=0))
    built["audit events"] = timed(lambda: build_events(org, other, people[Role.LEAD]))
    built["analyze"] = timed(lambda: sql("ANALYZE"))
    summary_rows = ReportSummary.objects.count()
    month_rows = ReportSummary.objects.filter(period="m").count()
    print(
        f"\n  built {DECISIONS:,} decisions, {summary_rows:,} summary rows ({month_rows:,} of "
        f"months), {EVENTS:,} events:"
    )
    for part, seconds in built.items():
        print(f"    {part:14s} {seconds:6.1f} s")
    print(f"    {'in all':14s} {sum(built.values()):6.1f} s")

    # ---- reports
    manager = signed_in_client(people[Role.MANAGER])
    today = timezone.localdate()
    year = ReportFilters(date_from=today - timedelta(days=365), date_to=today, organisation=org)
    report_url = f"{reverse('reports')}?{urlencode(sorted(year.form_data().items()))}"
    get(manager, report_url)  # warm: imports, templates, chart fonts
    report = build_report(people[Role.MANAGER], year)
    profile("the reports page", lambda: get(manager, report_url))
    with CaptureQueriesContext(connection) as queries:
        build_report(people[Role.MANAGER], year)
    read = summary_figures._summary_rows(people[Role.MANAGER], year).count()
    print(
        f"\n  reports page, last 12 months: {report.total.count:,} decisions counted from "
        f"{read:,} summary rows, {len(queries.captured_queries)} queries in build_report"
    )
    times = rounds(
        {
            "page": lambda: get(manager, report_url),
            "build_report": lambda: build_report(people[Role.MANAGER], year),
            "floor": lambda: get(manager, "/bench-floor/"),
        },
        REQUESTS,
    )
    print(f"  {ROUNDS} interleaved rounds of {REQUESTS}; median of the round medians (range)")
    row("reports page GET", times["page"], REPORT_GOAL)
    row("  of which build_report", times["build_report"], REPORT_GOAL)
    row("  floor: a bare signed-in view", times["floor"], REPORT_GOAL)
    first_view(manager, report_url)

    # ---- the audit log, as the staff grows
    lead = signed_in_client(people[Role.LEAD])
    audit_url = reverse("review_audit")
    print(f"\n  audit-log page, {EVENTS:,} events")
    added = STAFF[0]
    for staff in STAFF:
        if staff > added:
            add_staff(org, people[Role.PRACTITIONER], added + 1, staff - added)
            added = staff
            sql("ANALYZE decisions_user")
        get(lead, audit_url)
        profile(f"the audit log, {staff} staff", lambda: get(lead, audit_url))
        statements: list[str] = []

        def count(execute, sql, params, many, context, seen=statements):  # noqa: ANN001
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            get(lead, audit_url)
        times = rounds(
            {"page": lambda: get(lead, audit_url), "floor": lambda: get(lead, "/bench-floor/")},
            REQUESTS,
        )
        ratio = statistics.median(times["page"]) / statistics.median(times["floor"])
        note = f"   ({len(statements)} statements, {ratio:.1f}x the floor)"
        if os.environ.get("BENCH_SHOW_SQL"):
            print("\n".join(f"    {sql[:140]}" for sql in statements))
        row(f"audit log GET, {staff:,} staff", times["page"], AUDIT_GOAL, note)
        row("  floor: a bare signed-in view", times["floor"], AUDIT_GOAL)

    # ---- the date filter
    print("\n  audit-log date filter: the two sequence probes and a page of 50, p95")
    windows = {}
    for days in WINDOWS:
        end = today - timedelta(days=30)
        filters = AuditFilters(date_from=end - timedelta(days=days - 1), date_to=end)
        windows[f"{days}-day window"] = lambda f=filters: event_page(
            filtered_events(people[Role.LEAD], f), anchor=page_anchor(f)
        )
    times = p95_rounds(windows, REQUESTS * 2)
    for name, values in times.items():
        row(f"date filter, {name}", values, DATE_FILTER_GOAL)
    print(f"\n  took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
