"""Lengths of time in words, for people: sign-off turnaround, time waiting for review."""

from __future__ import annotations

from datetime import timedelta


def describe_duration(value: timedelta | None) -> str:
    """A sign-off time in words: '3 hours 20 minutes', '2 days 4 hours'."""
    if value is None:
        return "–"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
    if hours:
        return unit(hours, "hour") + (f" {unit(mins, 'minute')}" if mins else "")
    return unit(mins, "minute")
