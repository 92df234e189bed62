"""CSV that is safe to open in a spreadsheet: formula cells defused, written line by line.

Shared by the audit-log export and the report exports, so both defuse the same way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

# A cell starting with one of these runs as a formula in Excel or LibreOffice
# (OWASP "CSV injection"); a leading quote makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: Any) -> str:
    """A cell's text, with a formula-like start made harmless; None is an empty cell."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like object whose write() hands back the line csv.writer wrote."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Each row as one CSV line (cells defused), for a streaming response."""
    writer = csv.writer(_Line())
    for row in rows:
        yield writer.writerow([defuse(cell) for cell in row])
