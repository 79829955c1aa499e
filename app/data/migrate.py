"""Run Alembic from code, so `flask db upgrade` and the tests use the same path."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
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
