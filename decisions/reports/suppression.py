"""Small-number suppression for partnership figures, which are aggregates only.

A count from 1 to 4 could point to a person, so it is shown as "fewer than 5". Where one
number in a set that adds up to a total shown on the page is hidden, the next smallest is
hidden too ("not shown"), so the small one cannot be worked out by subtraction. Zero is
shown: it identifies nobody. Reports of a manager's own organisation hide nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SMALL_NUMBER = 5
FEWER_THAN = "fewer than 5"
NOT_SHOWN = "not shown"


@dataclass(frozen=True)
class Figure:
    """One number on the report, with how it is shown.

    `hidden` is "small" for a count from 1 to 4 (shown as "fewer than 5"), or "secondary" for
    a larger count hidden so that a small one cannot be worked out by subtraction.
    """

    label: str
    count: int
    hidden: str = ""
    key: str = ""

    @property
    def shown(self) -> str:
        if self.hidden == "small":
            return FEWER_THAN
        if self.hidden:
            return NOT_SHOWN
        return f"{self.count:,}"

    @property
    def plotted(self) -> float | None:
        """What a chart draws: nothing for a hidden count."""
        return None if self.hidden else float(self.count)


def is_small(count: int) -> bool:
    return 0 < count < SMALL_NUMBER


def hidden_counts(counts: Sequence[int], *, aggregate_only: bool, adds_up: bool) -> list[str]:
    """Why each count is hidden ("small", "secondary") or "" if shown.

    `adds_up`: the counts partition a total shown on the page, so a lone hidden count could be
    worked out by subtraction; then the next smallest non-zero count is hidden too.
    """
    if not aggregate_only:
        return [""] * len(counts)
    hidden = ["small" if is_small(n) else "" for n in counts]
    if adds_up and sum(1 for h in hidden if h) == 1:
        others = [(n, i) for i, n in enumerate(counts) if not hidden[i] and n > 0]
        if others:
            hidden[min(others)[1]] = "secondary"
    return hidden


def figures(
    rows: Iterable[tuple[str, str, int]], *, aggregate_only: bool, adds_up: bool
) -> list[Figure]:
    rows = list(rows)
    hidden = hidden_counts([n for _, _, n in rows], aggregate_only=aggregate_only, adds_up=adds_up)
    return [
        Figure(label=label, count=n, hidden=h, key=key)
        for (key, label, n), h in zip(rows, hidden, strict=True)
    ]


def single(label: str, count: int, *, aggregate_only: bool) -> Figure:
    return Figure(
        label=label, count=count, hidden="small" if aggregate_only and is_small(count) else ""
    )
