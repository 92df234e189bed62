"""A throwaway database for a benchmark: a temporary SQLite file, or with BENCH_DB=postgres a
fresh PostgreSQL database on 127.0.0.1, dropped afterwards."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

KIND = os.environ.get("BENCH_DB", "sqlite")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def setup_database(label: str = "bench") -> tuple[str, Callable[[], None]]:
    """A fresh database URL, and a function that removes it."""
    if KIND == "postgres":
        import psycopg2

        name = f"isg_{label}_{os.getpid()}"
        admin = psycopg2.connect(f"{PG}/postgres")
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.close()

        return f"{PG}/{name}", drop
    folder = tempfile.mkdtemp(prefix=f"isg-{label}-")
    path = Path(folder) / f"{label}.sqlite3"

    def remove() -> None:
        for file in Path(folder).iterdir():
            file.unlink()
        Path(folder).rmdir()

    return f"sqlite:///{path}", remove
