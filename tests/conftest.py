"""Fixtures: an app on a fresh database (SQLite always; PostgreSQL when configured).

Set NUDGE_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to
run the database tests against PostgreSQL too. Each test run creates its own PostgreSQL
database beside the one named, so parallel runs never trample each other.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from app import create_app
from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Base

PG_URL = os.environ.get("NUDGE_TEST_DATABASE_URL", "")
PG_SKIP_REASON = "NUDGE_TEST_DATABASE_URL is not set: PostgreSQL tests skipped"
# A Wednesday in winter (GMT), inside the default send window
DEFAULT_NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A private PostgreSQL database for this test run, dropped afterwards."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    base = make_url(PG_URL)
    name = f"nudge_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_schema(pg_server_url: str) -> str:
    engine = create_engine(pg_server_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return pg_server_url


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def pg_url(pg_schema: str) -> Iterator[str]:
    """A clean PostgreSQL database with the schema, for tests that need real concurrency."""
    yield pg_schema
    _truncate_all(pg_schema)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'nudge.sqlite3'}"
    engine = Database.from_url(url).engine
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL (skipped when not configured)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    return request.getfixturevalue("pg_url")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEFAULT_NOW)


def make_test_config(url: str, tmp_path: Path, **extra: object) -> dict[str, object]:
    config: dict[str, object] = {
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": url,
        "SMS_PROVIDER": "outbox",
        "TWILIO_AUTH_TOKEN": "test-auth-token",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "PUBLIC_BASE_URL": "https://nudge.example.test",
        "RATELIMIT_ENABLED": False,
        "INSTANCE_TMP": str(tmp_path),
    }
    config.update(extra)
    return config


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(make_test_config(db_url, tmp_path), clock=clock)
    yield application
    application.extensions["nudge.db"].dispose()


@pytest.fixture
def db(app) -> Database:
    return app.extensions["nudge.db"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
):
    """The app served over real HTTP on a free loopback port (browser tests): (app, base URL)."""
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{server.server_port}"
    application = create_app(
        make_test_config(sqlite_url, tmp_path, PUBLIC_BASE_URL=base), clock=clock
    )
    server.app = application  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield application, base
    server.shutdown()
    application.extensions["nudge.db"].dispose()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
