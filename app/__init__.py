"""Nudge: the Flask application factory, which reads as a table of contents."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from app import config as settings
from app.clock import Clock, SystemClock
from app.data.db import Database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"


def create_app(test_config: dict[str, Any] | None = None, clock: Clock | None = None) -> Flask:
    # instance_path is explicit so the web app, CLI and scheduler open the same SQLite
    # file whether or not the package is installed
    instance_path = os.environ.get("NUDGE_INSTANCE_PATH", str(DEFAULT_INSTANCE_PATH))
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    settings.load(app, test_config)
    register_services(app, clock or SystemClock())
    register_blueprints(app)
    register_commands(app)
    return app


def register_services(app: Flask, clock: Clock) -> None:
    app.extensions["nudge.db"] = Database.from_url(app.config["DATABASE_URL"])
    app.extensions["nudge.clock"] = clock


def register_blueprints(app: Flask) -> None:
    from app.web import auth, errors, openapi, security

    security.init_app(app)
    app.register_blueprint(auth.bp)
    from app.web import admin, bookings, campaign_pages, conversations, patients, slots_pages

    app.register_blueprint(slots_pages.bp)
    app.register_blueprint(bookings.bp)
    app.register_blueprint(conversations.bp)
    app.register_blueprint(campaign_pages.bp)
    app.register_blueprint(patients.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(errors.bp)
    app.register_blueprint(openapi.bp)
    from app.web import calendar, devphone, webhooks

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(calendar.bp)
    app.register_blueprint(devphone.bp)
    from app.web import api, reports

    app.register_blueprint(reports.bp)
    app.register_blueprint(api.bp)
    from app.web import health

    health.init_app(app)


def register_commands(app: Flask) -> None:
    from app.cli import db as db_cli

    db_cli.init_app(app)
    from app.cli import cohort, demo, patients, practices, synth

    for module in (practices, patients, cohort, synth, demo):
        module.init_app(app)
    from app.cli import users as users_cli

    users_cli.init_app(app)
    from app.cli import replies as replies_cli

    replies_cli.init_app(app)
    from app.cli import report as report_cli

    report_cli.init_app(app)
    from app.cli import campaigns as campaigns_cli
    from app.cli import slots as slots_cli
    from app.cli import templates as templates_cli

    slots_cli.init_app(app)
    campaigns_cli.init_app(app)
    templates_cli.init_app(app)
    from app.cli import scheduler as scheduler_cli

    scheduler_cli.init_app(app)
    from app.cli import messages as messages_cli

    messages_cli.init_app(app)
    from app.cli import status as status_cli

    status_cli.init_app(app)
