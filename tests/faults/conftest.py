"""Fault-test fixtures: a private throwaway PostgreSQL server to restart, and a fake Twilio.

The machine's shared PostgreSQL is never restarted (other test runs use it): the restart
tests start their own server with initdb + pg_ctl in a temp dir on a free port.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.data.db import Database
from app.data.models import Base


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for candidate in reversed(found):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    """A PostgreSQL server of our own: start, stop and restart it at will."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self.log = root / "server.log"
        # initdb refuses to run as root: run the server as the postgres OS user then
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, *args], check=check, capture_output=True, text=True, timeout=120
        )

    def init(self) -> None:
        if self.as_user:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def pg_ctl(self, *args: str) -> None:
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            *args,
        )

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        self.pg_ctl("restart", "-m", mode)

    def fresh_database(self) -> str:
        """A new database with Nudge's schema on this server."""
        name = f"nudge_fault_{int(time.time() * 1000) % 10**9}"
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = self.url.rsplit("/", 1)[0] + f"/{name}"
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        return url


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    bindir = _pg_bindir()
    if bindir is None or shutil.which("runuser") is None and os.geteuid() == 0:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: restart tests skipped")
    root = Path(tempfile.mkdtemp(prefix="nudge-private-pg-"))
    server = PrivatePostgres(bindir, root)
    try:
        server.init()
        server.start()
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a private PostgreSQL: {exc.stderr or exc.stdout}")
    yield server
    try:
        server.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """The test's PostgreSQL database as a `Database`, disposed even when the test fails."""
    db = Database.from_url(pg_url)
    yield db
    db.dispose()
