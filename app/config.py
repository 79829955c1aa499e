"""Settings: defaults here, then instance/config.py, then NUDGE_* environment variables."""

from __future__ import annotations

from typing import Any

DEV_SECRET_KEY = "dev-only-not-secret-change-me"

DEFAULTS: dict[str, Any] = {
    # "development" | "demo" | "production"; the dev phone and test numbers exist
    # only outside production
    "ENV": "development",
    "SECRET_KEY": DEV_SECRET_KEY,
    "DATABASE_URL": None,  # default: sqlite:///<instance>/nudge.sqlite3
    "SMS_PROVIDER": "outbox",  # outbox | twilio | notify
    "TWILIO_ACCOUNT_SID": "",
    "TWILIO_AUTH_TOKEN": "",
    "TWILIO_MESSAGING_SERVICE_SID": "",
    "TWILIO_FROM_NUMBER": "",
    # where the Twilio REST API lives; tests and the demo point it at a local fake
    "TWILIO_API_BASE_URL": "",
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    # the number residents text (our Twilio long code); the outbox provider uses it too
    "SMS_FROM_NUMBER": "+447700900000",
    "SEND_RATE_PER_SECOND": 10.0,
    "SMS_SEGMENT_LIMIT": 3,
    "SMS_COST_PER_SEGMENT_GBP": 0.04,
    "DISPATCH_MAX_ATTEMPTS": 5,
    # most messages one dispatcher claims at once (also capped to what the rate sends in a tick)
    "DISPATCH_BATCH": 50,
    # seconds to wait for Twilio's answer; after that the message is `uncertain`, not resent
    "TWILIO_TIMEOUT_SECONDS": 10.0,
    # GOV.UK Notify: an API key, the id of a text template whose whole body is ((body)),
    # the inbound number's sms_sender_id (needed for replies), and the bearer token
    # Notify sends with its callbacks (set on Notify's "Callbacks" page too)
    "NOTIFY_API_KEY": "",
    "NOTIFY_TEMPLATE_ID": "",
    "NOTIFY_SMS_SENDER_ID": "",
    "NOTIFY_BASE_URL": "https://api.notifications.service.gov.uk",
    "NOTIFY_CALLBACK_TOKEN": "",
    "NOTIFY_TIMEOUT_SECONDS": 10.0,
    # poll Notify's received-texts endpoint, for services that cannot receive callbacks
    "NOTIFY_POLL_RECEIVED_TEXTS": False,
    "RETENTION_DAYS": 90,
    # disclosure control (NHS Digital rule for sub-national figures)
    "SUPPRESS_BELOW": 8,
    "ROUND_TO": 5,
    # reports refresh the funnel stamps when older than this (the scheduler does it too)
    "REPORT_MAX_AGE_SECONDS": 600,
    "SESSION_IDLE_MINUTES": 30,
    # a session ends this long after sign-in however busy it has been
    "SESSION_ABSOLUTE_HOURS": 12,
    "SESSION_COOKIE_NAME": "nudge_session",
    "RATELIMIT_STORAGE_URI": "memory://",
    "TIMEZONE": "Europe/London",
    # request limits: uploads (GP lists, slot files) up to 10 MB; Twilio's webhooks are a
    # few hundred bytes, so anything over 64 KB there is refused with 413 before parsing
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "WEBHOOK_MAX_CONTENT_LENGTH": 64 * 1024,
    # /readyz fails when no scheduler process has beaten for this long (they beat every 10 s)
    "READY_HEARTBEAT_MAX_AGE_SECONDS": 60,
    # /metrics answers a bearer token equal to this, or these comma-separated networks
    # (CIDR); with neither, it is closed
    "METRICS_TOKEN": "",
    "METRICS_ALLOWED_NETWORKS": "",
}


def load(app: Any, test_config: dict[str, Any] | None) -> None:
    """Fill `app.config` in order: defaults, instance/config.py, environment, test config."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("NUDGE")
    else:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{app.instance_path}/nudge.sqlite3"
    check(app.config)


class ConfigError(RuntimeError):
    pass


def check(config: dict[str, Any]) -> None:
    """Refuse settings that would be unsafe in production."""
    if config["ENV"] not in {"development", "demo", "production", "testing"}:
        raise ConfigError(f"NUDGE_ENV must be development, demo or production: {config['ENV']!r}")
    if config["SMS_PROVIDER"] not in {"outbox", "twilio", "notify"}:
        raise ConfigError("NUDGE_SMS_PROVIDER must be 'outbox', 'twilio' or 'notify'")
    if config["ENV"] == "production":
        if config["SECRET_KEY"] in {DEV_SECRET_KEY, "", None}:
            raise ConfigError("refusing to start in production with the development secret key")
        if config["SMS_PROVIDER"] == "twilio" and not config["TWILIO_AUTH_TOKEN"]:
            raise ConfigError("NUDGE_TWILIO_AUTH_TOKEN is required for the twilio provider")
