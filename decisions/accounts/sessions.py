"""How long a signed-in session lasts: an idle limit and an absolute limit, kept in the session.

The times are seconds since the epoch, so the session stays JSON. The last time a password
was entered (signing in, or "Confirm your password") is kept too, for
decisions.accounts.decorators.recent_authentication_required.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

STARTED = "isg_session_started"
LAST_SEEN = "isg_session_last_seen"
AUTHENTICATED_AT = "isg_authenticated_at"

# Why the server signed someone out, with the words the sign-in page shows.
SIGNED_OUT_REASONS = ("idle", "absolute", "locked", "mfa", "sso")


def idle_seconds() -> int:
    return settings.ISG_SESSION_IDLE_MINUTES * 60


def absolute_seconds() -> int:
    return settings.ISG_SESSION_ABSOLUTE_HOURS * 60 * 60


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def signed_out_message(reason: str) -> str:
    """The sign-in page's explanation of a sign-out the server made ("" for none)."""
    if reason == "idle":
        return (
            "You were signed out because you did nothing for "
            f"{_count(settings.ISG_SESSION_IDLE_MINUTES, 'minute')}. Sign in again to continue."
        )
    if reason == "absolute":
        return (
            "You were signed out because you had been signed in for "
            f"{_count(settings.ISG_SESSION_ABSOLUTE_HOURS, 'hour')}. Sign in again to continue."
        )
    if reason == "locked":
        return (
            "You were signed out because the password was entered wrongly too many times. "
            f"Wait {_count(settings.ISG_SIGN_IN_COOL_OFF_MINUTES, 'minute')}, then sign in again."
        )
    if reason == "mfa":
        return (
            "You were signed out because a wrong security code was entered too many times. "
            "Sign in again, or ask your ISG administrator to reset your authenticator app."
        )
    if reason == "sso":
        return (
            "You were signed out because your organisation's account sign-in has been switched "
            "off in ISG. Sign in with your ISG password, or ask your ISG administrator."
        )
    return ""


@dataclass(frozen=True)
class SessionLimits:
    """When this session ends if nothing more happens, and which limit ends it."""

    ends_at: float
    by_absolute: bool

    @property
    def seconds_left(self) -> int:
        return max(0, int(self.ends_at - time.time()))

    @property
    def ends(self) -> datetime:
        return datetime.fromtimestamp(self.ends_at, tz=UTC)

    @property
    def idle_minutes(self) -> int:
        return settings.ISG_SESSION_IDLE_MINUTES

    @property
    def absolute_hours(self) -> int:
        return settings.ISG_SESSION_ABSOLUTE_HOURS

    @property
    def warning_seconds(self) -> int:
        return settings.ISG_SESSION_WARNING_SECONDS


def session_started(session: SessionBase, now: float | None = None) -> None:
    """A new signed-in session: a password was just entered."""
    now = time.time() if now is None else now
    session[STARTED] = now
    session[LAST_SEEN] = now
    session[AUTHENTICATED_AT] = now


def expiry_reason(session: SessionBase, now: float) -> str:
    """ "idle" or "absolute" if this session has run out, else ""."""
    started = session.get(STARTED)
    last_seen = session.get(LAST_SEEN)
    if started is None or last_seen is None:
        return ""
    if now - started > absolute_seconds():
        return "absolute"
    if now - last_seen > idle_seconds():
        return "idle"
    return ""


def touch(session: SessionBase, now: float) -> None:
    """Activity: the idle limit starts again."""
    session[LAST_SEEN] = now


def touch_missing(session: SessionBase, now: float) -> None:
    """A session from before these limits (no clocks yet) starts them now."""
    if STARTED not in session:
        session[STARTED] = now
    if LAST_SEEN not in session:
        session[LAST_SEEN] = now


def limits(session: SessionBase) -> SessionLimits:
    idle_end = session[LAST_SEEN] + idle_seconds()
    absolute_end = session[STARTED] + absolute_seconds()
    return SessionLimits(ends_at=min(idle_end, absolute_end), by_absolute=absolute_end < idle_end)


def password_entered(session: SessionBase) -> None:
    session[AUTHENTICATED_AT] = time.time()


def authenticated_within(session: SessionBase, seconds: float) -> bool:
    at = session.get(AUTHENTICATED_AT)
    return at is not None and time.time() - at <= seconds
