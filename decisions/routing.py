"""Reads from a PostgreSQL streaming standby, without ever showing anyone stale data of their own.

When DATABASE_REPLICA_URL is set (isg/settings.py) there is a database alias "replica", and:

- `ReplicaRouter` sends every write, and every read by default, to the primary ("default").
  A read goes to the standby only inside `replica_reads()`, and even then not for the models
  that decide who someone is and what they may do (sessions, users, sign-in throttling, MFA
  devices, background tasks, export rows), nor inside a transaction on the primary (a write
  such as an audit event reads its chain head there, FOR UPDATE).
- `ReplicaReadsMiddleware` opens `replica_reads()` for the GET pages that only read a lot and
  write nothing their reader must see at once: the reports pages and the audit-log pages
  (REPLICA_URL_NAMES, by URL name, so the views need not know).
- Read your own writes: a request that wrote to the primary leaves the primary's WAL position
  (pg_current_wal_lsn()) in its session. A later request reads from the standby only when
  the standby's pg_last_wal_replay_lsn() has passed that position; a standby that is behind,
  paused, or unreachable means the primary. An unreachable standby is not asked again for
  REPLICA_RETRY_SECONDS, so a dead standby costs one connect timeout, not one per page.
- Background export builds (decisions.reports.tasks) read from the standby too, once it has
  replayed what the primary had when the build started (waiting a few seconds for it).

With no replica alias, or on SQLite, everything here does nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.urls import Resolver404, resolve

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
# The session key holding the primary's WAL position after this session's last write.
SESSION_KEY = "_isg_primary_lsn"
# GET pages served from the standby (URL names in decisions/urls.py): reports and audit log.
REPLICA_URL_NAMES = frozenset(
    {
        "reports",
        "report_decisions",
        "report_chart",  # a chart whose note has gone recounts its report
        "review_audit",
        "review_audit_export",
    }
)
# Not here: pages of one record (a record's access log among them). Someone who has just seen
# a decision listed on a primary page must find it, even on a standby that lags.

# Read from the primary always, whatever the page: who is signed in and what they may do,
# and rows another process updates that their owner waits for (tasks, exports).
PRIMARY_ONLY_APPS = frozenset(
    {"sessions", "auth", "axes", "otp_totp", "otp_static", "otp_webauthn", "django_otp",
     "django_tasks_db", "django_tasks_database", "contenttypes"}
)  # fmt: skip
PRIMARY_ONLY_MODELS = frozenset({("decisions", "user"), ("decisions", "export")})
# Higher than any real position: "read from the primary".
UNREACHABLE_LSN = "FFFFFFFF/FFFFFFFF"
# After the standby could not be reached, use the primary this long before trying again.
REPLICA_RETRY_SECONDS = 30

_reading_replica: ContextVar[bool] = ContextVar("isg_reading_replica", default=False)
_replica_down_until = 0.0
_down_lock = threading.Lock()


def replica_configured() -> bool:
    replica = settings.DATABASES.get(REPLICA)
    return bool(replica) and "postgresql" in replica.get("ENGINE", "")


# ---- WAL positions ---------------------------------------------------------------------


def lsn_value(lsn: str) -> int:
    """'16/B374D848' -> a comparable integer."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def primary_lsn() -> str:
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def _mark_replica_down() -> None:
    global _replica_down_until
    with _down_lock:
        _replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS
    with contextlib.suppress(Exception):
        connections[REPLICA].close()


def replica_lsn() -> str | None:
    """The standby's replayed WAL position; None when it cannot be asked (or is no standby)."""
    if time.monotonic() < _replica_down_until:
        return None
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn()::text")
            return cursor.fetchone()[0]
    except DatabaseError as exc:
        logger.warning("standby unreachable, reading from the primary: %s", type(exc).__name__)
        _mark_replica_down()
        return None


def replica_caught_up(min_lsn: str | None) -> bool:
    """True when the standby answers and has replayed at least `min_lsn`."""
    replayed = replica_lsn()
    if replayed is None:
        return False
    return min_lsn is None or lsn_value(replayed) >= lsn_value(min_lsn)


def reset_replica_state() -> None:
    """Forget that the standby was unreachable (tests; an operator's restart does the same)."""
    global _replica_down_until
    with _down_lock:
        _replica_down_until = 0.0


# ---- Where reads go ----------------------------------------------------------------------


@contextlib.contextmanager
def replica_reads(*, min_lsn: str | None = None, wait: float = 0.0) -> Iterator[bool]:
    """Route this block's reads to the standby when it has replayed `min_lsn` (waiting up to
    `wait` seconds for it); otherwise to the primary. Yields whether the standby is used."""
    use = False
    if replica_configured():
        deadline = time.monotonic() + wait
        use = replica_caught_up(min_lsn)
        while not use and time.monotonic() < deadline and time.monotonic() >= _replica_down_until:
            time.sleep(0.05)
            use = replica_caught_up(min_lsn)
    token = _reading_replica.set(use)
    try:
        yield use
    finally:
        _reading_replica.reset(token)


def reading_replica() -> bool:
    return _reading_replica.get()


class ReplicaRouter:
    """Writes to the primary; reads to the standby only inside replica_reads() (see above)."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        if not _reading_replica.get():
            return PRIMARY
        meta = model._meta
        if meta.app_label in PRIMARY_ONLY_APPS or (meta.app_label, meta.model_name) in (
            PRIMARY_ONLY_MODELS
        ):
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:
            return PRIMARY  # a write in progress reads what it locks on the primary
        return REPLICA

    def db_for_write(self, model: type, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two servers

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA  # the standby replays the primary's schema


# ---- Requests ----------------------------------------------------------------------------

# "WITH" too: an audit append on PostgreSQL is one statement that starts with a CTE
# (decisions.audit.record). Counting a read-only CTE as a write only sends reads to the primary.
WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "ALTER", "DROP", "TRUNCATE", "WITH")


class _WriteSpy:
    """An execute wrapper on the primary's connection: did this request write?"""

    def __init__(self) -> None:
        self.wrote = False

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if not self.wrote and str(sql).lstrip()[:8].upper().startswith(WRITES):
            self.wrote = True
        return execute(sql, params, many, context)


class ReplicaReadsMiddleware:
    """Reports and audit-log GETs read from an up-to-date standby; every write leaves the
    primary's WAL position in the session, so the next such page waits for it (or reads from
    the primary). Place after SessionMiddleware and AuthenticationMiddleware."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request):  # type: ignore[no-untyped-def]
        if not replica_configured():
            return self.get_response(request)
        session = getattr(request, "session", None)
        spy = _WriteSpy()
        with connections[PRIMARY].execute_wrapper(spy), self._reads(request, session):
            response = self.get_response(request)
        if spy.wrote and session is not None:
            try:
                session[SESSION_KEY] = primary_lsn()
            except DatabaseError:
                # Unknown: this session reads from the primary until its next write.
                logger.warning("could not read the primary's WAL position")
                session[SESSION_KEY] = UNREACHABLE_LSN
        return response

    def process_exception(self, request, exception):  # type: ignore[no-untyped-def]
        """The standby failed during a page it was serving (it stopped after answering how
        far it had replayed): serve the page again from the primary, not an error page, and
        leave the standby alone for REPLICA_RETRY_SECONDS."""
        if not (reading_replica() and isinstance(exception, DatabaseError)):
            return None
        replica = connections[REPLICA]
        if replica.connection is not None and replica.is_usable():
            return None  # the standby is fine: this error is the page's own
        logger.warning("standby failed during a page, serving it from the primary")
        _mark_replica_down()
        match = request.resolver_match
        token = _reading_replica.set(False)
        try:
            response = match.func(request, *match.args, **match.kwargs)
            if callable(getattr(response, "render", None)):
                response = response.render()
            return response
        finally:
            _reading_replica.reset(token)

    def _reads(self, request, session):  # type: ignore[no-untyped-def]
        if request.method not in ("GET", "HEAD") or not self._replica_page(request):
            return contextlib.nullcontext(False)
        min_lsn = session.get(SESSION_KEY) if session is not None else None
        return replica_reads(min_lsn=min_lsn)

    @staticmethod
    def _replica_page(request) -> bool:  # type: ignore[no-untyped-def]
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
        return match.url_name in REPLICA_URL_NAMES
