"""The Flask application factory, which reads as a table of contents."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import PROJECT_ROOT, config
from app.clock import Clock, SystemClock
from app.data.db import Database
from app.settings import Settings

DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"


def create_app(test_config: dict[str, Any] | None = None, clock: Clock | None = None) -> Flask:
    # instance_path is explicit so the web app, CLI and scheduler open the same SQLite
    # file whether or not the package is installed
    instance_path = os.environ.get("NUDGE_INSTANCE_PATH", str(DEFAULT_INSTANCE_PATH))
    app = Flask("app", instance_path=instance_path, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    try:
        config.load(app, test_config)
    except config.ConfigError as refused:
        # one clear line for the operator; ConfigError then exits without a traceback
        print(f"Nudge cannot start: {refused}", file=sys.stderr)
        raise
    register_services(app, clock or SystemClock())
    register_proxies(app)
    register_blueprints(app)
    register_commands(app)
    return app


def register_services(app: Flask, clock: Clock) -> None:
    app.extensions["nudge.db"] = Database.from_url(app.config["DATABASE_URL"])
    app.extensions["nudge.clock"] = clock
    app.extensions["nudge.settings"] = Settings.from_config(app.config)


def register_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client address (and scheme and
    host) from their X-Forwarded-* headers; with 0 no forwarding header is believed."""
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )


def register_blueprints(app: Flask) -> None:
    from app.web import (
        account,
        admin,
        api,
        auth,
        bookings,
        calendar,
        campaign_pages,
        conversations,
        devphone,
        display,
        errors,
        openapi,
        patients,
        quarterly,
        reports,
        security,
        slots_pages,
        webhooks,
    )

    security.init_app(app)
    display.init_app(app)
    for module in (
        auth,
        slots_pages,
        bookings,
        conversations,
        campaign_pages,
        patients,
        admin,
        errors,
        openapi,
        webhooks,
        calendar,
        devphone,
        quarterly,
        reports,
        account,
        api,
    ):
        app.register_blueprint(module.bp)
    from app.web import health

    health.init_app(app)


def register_commands(app: Flask) -> None:
    from app.cli import (
        bookings,
        campaigns,
        cohort,
        db,
        demo,
        messages,
        patients,
        practices,
        replies,
        report,
        slots,
        status,
        synth,
        templates,
        users,
    )

    for module in (
        db,
        practices,
        patients,
        cohort,
        synth,
        demo,
        users,
        replies,
        report,
        slots,
        bookings,
        campaigns,
        templates,
        messages,
        status,
    ):
        module.init_app(app)
    from scheduler import cli as scheduler_cli

    scheduler_cli.init_app(app)
