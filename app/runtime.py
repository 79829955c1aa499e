"""The current app's database, clock and settings, for blueprints and CLI commands."""

from __future__ import annotations

from flask import current_app

from app.clock import Clock
from app.data.db import Database
from app.settings import Settings


def get_db() -> Database:
    return current_app.extensions["nudge.db"]


def get_clock() -> Clock:
    return current_app.extensions["nudge.clock"]


def get_settings() -> Settings:
    return current_app.extensions["nudge.settings"]
