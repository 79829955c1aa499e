"""Run Alembic from code, so `flask db upgrade` and the tests use the same path."""

from __future__ import annotations

import functools

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from app import PROJECT_ROOT


def alembic_config(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def display_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@functools.cache
def head_revisions() -> frozenset[str]:
    """The revisions the code expects (one, while the chain stays linear)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """The revisions the database is at (empty when it was never migrated)."""
    from alembic.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())
