"""The current app's database and clock, for blueprints and CLI commands."""

from __future__ import annotations

from flask import current_app

from app.clock import Clock
from app.data.db import Database


def get_db() -> Database:
    return current_app.extensions["nudge.db"]


def get_clock() -> Clock:
    return current_app.extensions["nudge.clock"]
