"""A throwaway PostgreSQL primary and streaming standby on this machine, for the standby tests
(tests/test_standby.py) and the load test (loadtest/run.py).

The harness owns both servers: it initdb's a primary into a temporary folder, takes a base
backup of it with `pg_basebackup -R` (which writes the standby's primary_conninfo and
standby.signal) and starts both with `pg_ctl` on free loopback ports. Nothing depends on how
the machine's own PostgreSQL is configured (its pg_hba may allow no replication connections),
and a standby of a small fresh cluster starts in seconds.

PostgreSQL refuses to run as root, so when we are root the binaries run as the `postgres` user
(`runuser -u postgres --`) in a folder that user owns. Debian's binaries are found in
/usr/lib/postgresql/<version>/bin (or ISG_PG_BIN).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def pg_bin() -> Path | None:
    """The folder of PostgreSQL's server binaries, or None when there is none here."""
    configured = os.environ.get("ISG_PG_BIN")
    candidates = [configured] if configured else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ClusterError(RuntimeError):
    pass


@dataclass
class PgCluster:
    """A primary and a streaming standby; `start()` then `stop()` (or use it as a context)."""

    user: str = "postgres"
    database: str = "isg"
    settings: dict[str, str] = field(default_factory=dict)  # extra postgresql.conf lines
    primary_port: int = 0
    standby_port: int = 0
    root: Path | None = None

    # -- running the binaries --------------------------------------------------------------

    def _as_owner(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        return ["runuser", "-u", self.user, "--"]

    def _run(self, *args: str, timeout: float = 60) -> str:
        binary = self.bin / args[0]
        command = [*self._as_owner(), str(binary), *args[1:]]
        done = subprocess.run(  # noqa: S603 - fixed binaries, our own arguments
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        if done.returncode:
            raise ClusterError(f"{args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout

    @property
    def bin(self) -> Path:
        found = pg_bin()
        if found is None:
            raise ClusterError("PostgreSQL server binaries not found (set ISG_PG_BIN)")
        return found

    @property
    def primary_dir(self) -> Path:
        assert self.root is not None
        return self.root / "primary"

    @property
    def standby_dir(self) -> Path:
        assert self.root is not None
        return self.root / "standby"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> PgCluster:
        started = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix="isg-pgcluster-"))
        if os.geteuid() == 0:
            owner = pwd.getpwnam(self.user)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.root.chmod(0o700)
        self.primary_port = self.primary_port or free_port()
        self.standby_port = self.standby_port or free_port()
        try:
            self._run(
                "initdb", "-D", str(self.primary_dir), "-U", "postgres", "-A", "trust",
                "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
            )  # fmt: skip
            conf = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.primary_port),
                "unix_socket_directories": f"'{self.root}'",
                "wal_level": "replica",
                "max_wal_senders": "10",
                "hot_standby": "on",
                # A throwaway cluster: durability is not what is being tested.
                "fsync": "off",
                "full_page_writes": "off",
                "max_connections": "200",
                **self.settings,
            }
            with (self.primary_dir / "postgresql.auto.conf").open("a") as handle:
                handle.writelines(f"{key} = {value}\n" for key, value in conf.items())
            self._pg_ctl_start(self.primary_dir, "primary")
            self._run(
                "createdb", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                self.database,
            )  # fmt: skip
            self._run(
                "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port),
                "-U", "postgres", "-D", str(self.standby_dir), "-R", "-X", "stream",
                "--no-sync", "-c", "fast",
            )  # fmt: skip
            with (self.standby_dir / "postgresql.auto.conf").open("a") as handle:
                handle.write(f"port = {self.standby_port}\n")
            self._pg_ctl_start(self.standby_dir, "standby")
            self.wait_streaming()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started
        return self

    def _pg_ctl_start(self, data: Path, name: str) -> None:
        log = self.root / f"{name}.log"
        self._run("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "30", "start")

    def stop_standby(self) -> None:
        self._run("pg_ctl", "-D", str(self.standby_dir), "-m", "fast", "-w", "stop")

    def start_standby(self) -> None:
        self._pg_ctl_start(self.standby_dir, "standby")
        self.wait_streaming()

    def stop(self) -> None:
        if self.root is None:
            return
        for data in (self.standby_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
                    self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- talking to the servers ------------------------------------------------------------

    def url(self, *, standby: bool = False, database: str | None = None) -> str:
        port = self.standby_port if standby else self.primary_port
        return f"postgres://postgres@127.0.0.1:{port}/{database or self.database}"

    def sql(self, query: str, *, standby: bool = False, database: str | None = None) -> str:
        """One statement through psql; returns its unaligned output."""
        port = self.standby_port if standby else self.primary_port
        return self._run(
            "psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-XAtq",
            "-d", database or self.database, "-c", query,
        ).strip()  # fmt: skip

    def wait_streaming(self, timeout: float = 30) -> None:
        """Until the primary lists the standby as streaming."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                query = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
                if self.sql(query) != "0":
                    return
            except ClusterError:
                pass
            time.sleep(0.1)
        raise ClusterError("the standby did not start streaming")

    def wait_replayed(self, timeout: float = 30) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        target = self.sql("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn", standby=True)
            if done == "t":
                return
            time.sleep(0.05)
        raise ClusterError("the standby did not catch up")

    def pause_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()", standby=True)

    def resume_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()", standby=True)
