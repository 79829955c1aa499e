"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.data import migrate
from app.data.db import make_engine
from app.data.models import Base
from tests.conftest import PG_SKIP_REASON


def _differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database (no create_all: the migrations must build it)."""
    base_url = os.environ.get("NUDGE_TEST_DATABASE_URL", "")
    if not base_url:
        pytest.skip(PG_SKIP_REASON)
    base = make_url(base_url)
    name = f"nudge_migrate_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_on_a_fresh_sqlite_file_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    migrate.upgrade(url)
    assert _differences(url) == []


def test_migrations_on_a_fresh_postgresql_database_match_the_models(fresh_pg_url: str) -> None:
    migrate.upgrade(fresh_pg_url)
    assert _differences(fresh_pg_url) == []
