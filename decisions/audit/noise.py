"""Anonymous refusals, throttled: one audit event per client address, kind and minute.

A form posted without its CSRF token, or a failed sign-in, costs the sender nothing, and each
used to write a permanent event: anyone could grow the log at will. Now the first refusal of a
kind from an address in a minute is written; later ones that minute are only counted (in
Django's cache) and the count goes into the next event written for that address and kind, as
`suppressed_since_last`, so the log still says how many there were.

The default cache (LocMemCache) counts per process: with N workers, up to N events a minute
per address and kind. Production should configure a shared cache (docs/security-database.md).
Refusals to a signed-in user are not throttled: each is one event, naming its account.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

from decisions.audit.record import current_request

T = TypeVar("T")

WINDOW_SECONDS = 60
# How long an unwritten count waits for the address's next event before it is forgotten.
SUPPRESSED_SECONDS = 7 * 24 * 60 * 60
SUPPRESSED_KEY = "suppressed_since_last"


def current_minute() -> int:
    return int(time.time() // WINDOW_SECONDS)


def _sender(address: str | None) -> str:
    """Who is throttled: one IPv4 address, or one IPv6 /64 (what one client can easily hold).

    Hashed, so cache keys carry no addresses and stay short and safe for any cache backend.
    """
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if isinstance(parsed, ipaddress.IPv6Address):
        text = str(ipaddress.IPv6Network((parsed, 64), strict=False))
    else:
        text = str(parsed)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _add_suppressed(key: str, count: int) -> None:
    if not cache.add(key, count, SUPPRESSED_SECONDS):
        try:
            cache.incr(key, count)
        except ValueError:  # expired between add and incr
            cache.set(key, count, SUPPRESSED_SECONDS)


def _take_suppressed(key: str) -> int:
    count = cache.get(key) or 0
    if count:
        # decr, not delete: a refusal counted between the get and here is kept for next time.
        with contextlib.suppress(ValueError):  # expired in between: nothing left to take
            cache.decr(key, count)
    return count


def throttled(kind: str, write: Callable[[dict[str, int]], T]) -> T | None:
    """Write the event (via `write(extra_details)`) if it is the first of its minute, else count it.

    `kind` separates what is throttled ("auth.sign_in_failed", "access.refused:csrf"); the
    client address comes from the request (decisions.audit.middleware). Returns what `write`
    returned, or None when the refusal was only counted.
    """
    base = f"isg:audit-noise:{str(kind)}:{_sender(current_request.get().ip_address)}"
    if not cache.add(f"{base}:{current_minute()}", 1, WINDOW_SECONDS * 2):
        _add_suppressed(f"{base}:suppressed", 1)
        return None
    suppressed = _take_suppressed(f"{base}:suppressed")
    try:
        return write({SUPPRESSED_KEY: suppressed} if suppressed else {})
    except Exception:
        # No event was written (its transaction failed): keep the count for the next one.
        if suppressed:
            _add_suppressed(f"{base}:suppressed", suppressed)
        raise
