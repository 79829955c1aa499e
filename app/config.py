"""Settings: defaults here, then instance/config.py, then NUDGE_* environment variables.

No secret is ever in the source: development and demo instances generate a random
secret key and webhook signing token into instance/secrets.py on first run and keep
them; production must be given its own (and refuses unsafe settings unless an explicit
NUDGE_ALLOW_* setting says the operator means it).
"""

from __future__ import annotations

import os
import runpy
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULTS: dict[str, Any] = {
    # "development" | "demo" | "production"; the dev phone and test numbers exist
    # only outside production
    "ENV": "development",
    # sessions are signed with it; development and demo generate one into instance/
    "SECRET_KEY": None,
    # signs the dev phone's webhook posts when there is no TWILIO_AUTH_TOKEN (development
    # and demo only; generated into instance/, never derived from SECRET_KEY)
    "WEBHOOK_SIGNING_TOKEN": None,
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
    # a check outcome (QRISK, BP, a new diagnosis ...) counts for the attended check it
    # follows within this many days
    "OUTCOME_WINDOW_DAYS": 90,
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
    # redis://host:port/db: rate limits and sign-in lock-outs shared by every node
    "REDIS_URL": "",
    # how many reverse proxies (each adding X-Forwarded-For) stand in front of the app;
    # 0 trusts no forwarding header: the client address is the TCP peer's
    "TRUSTED_PROXIES": 0,
    # production refuses each of these unless the operator says so explicitly
    "ALLOW_SQLITE_IN_PRODUCTION": False,
    "ALLOW_OUTBOX_IN_PRODUCTION": False,
    "ALLOW_HTTP_IN_PRODUCTION": False,
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
    # send draft translations as if approved, labelled "demo approval" wherever shown;
    # None: on in development and demo, off otherwise (production refuses it)
    "TRANSLATIONS_DEMO_APPROVED": None,
    # GP Connect Appointment Management (practices whose slot source is "gpconnect"):
    # Nudge's identity on the Spine (its ASID and ODS code, and the device the audit
    # token names), mutual TLS (client certificate, its key, the Spine CA bundle), how
    # long to wait for a provider, and how far ahead the slot sync looks
    "GPCONNECT_CONSUMER_ASID": "",
    "GPCONNECT_CONSUMER_ODS": "",
    "GPCONNECT_CONSUMER_NAME": "Nudge",
    "GPCONNECT_DEVICE_ID": "nudge",
    "GPCONNECT_DEVICE_MODEL": "Nudge",
    "GPCONNECT_DEVICE_VERSION": "0.1.0",
    "GPCONNECT_CLIENT_CERT": "",
    "GPCONNECT_CLIENT_KEY": "",
    "GPCONNECT_CA_BUNDLE": "",
    "GPCONNECT_TIMEOUT_SECONDS": 10.0,
    "GPCONNECT_SYNC_DAYS": 28,
}


MIN_SECRET_KEY_BYTES = 32
SECRETS_FILE = "secrets.py"
GENERATED = ("SECRET_KEY", "WEBHOOK_SIGNING_TOKEN")


def load(app: Any, test_config: dict[str, Any] | None) -> None:
    """Fill `app.config` in order: defaults, instance/config.py, environment, test config;
    then, outside production, the instance's generated secrets for any still unset."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("NUDGE")
        follow_host_and_port(app.config, os.environ)
    else:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{app.instance_path}/nudge.sqlite3"
    if app.config["TRANSLATIONS_DEMO_APPROVED"] is None:
        app.config["TRANSLATIONS_DEMO_APPROVED"] = app.config["ENV"] in {"development", "demo"}
    if app.config["ENV"] in {"development", "demo"}:
        generated = instance_secrets(Path(app.instance_path))
        for name in GENERATED:
            if not app.config[name]:
                app.config[name] = generated[name]
    check(app.config)


def follow_host_and_port(config: Any, environ: Mapping[str, str]) -> None:
    """In development and demo, links (texts, set-password, the demo's sign-in address)
    point where `make run HOST=... PORT=...` serves, unless PUBLIC_BASE_URL is set."""
    if config["ENV"] not in {"development", "demo"}:
        return
    if config["PUBLIC_BASE_URL"] != DEFAULTS["PUBLIC_BASE_URL"]:
        return  # set in instance/config.py or NUDGE_PUBLIC_BASE_URL
    host = environ.get("HOST") or "127.0.0.1"
    port = environ.get("PORT") or "5000"
    if host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"  # listening everywhere; this machine answers at loopback
    config["PUBLIC_BASE_URL"] = f"http://{host}:{port}"


def instance_secrets(instance: Path) -> dict[str, str]:
    """This instance's own random secrets, made on first use and kept (as Flask's
    tutorial keeps SECRET_KEY in the instance folder), readable by the owner only."""
    path = instance / SECRETS_FILE
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        lines = [
            "# Generated on first run for this development/demo instance; keep it private.\n",
            *(f"{name} = {secrets.token_hex(32)!r}\n" for name in GENERATED),
        ]
        # O_EXCL: two processes starting together keep whichever wrote first
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.writelines(lines)
    values = runpy.run_path(str(path))
    missing = [name for name in GENERATED if not values.get(name)]
    if missing:
        raise ConfigError(f"{path} lacks {', '.join(missing)}: delete it to make a new one")
    return {name: str(values[name]) for name in GENERATED}


class ConfigError(SystemExit):
    """A setting Nudge refuses to start with. Exits with one line, never a traceback:
    the entry points (flask, gunicorn, the scheduler) stop with gunicorn's "worker failed
    to boot" code, after `create_app` prints the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(3)
        self.message = message

    def __str__(self) -> str:
        return self.message


def check(config: dict[str, Any]) -> None:
    """Refuse settings of the wrong kind, and settings that would be unsafe in production."""
    check_types(config)
    if config["ENV"] not in {"development", "demo", "production", "testing"}:
        raise ConfigError(f"NUDGE_ENV must be development, demo or production: {config['ENV']!r}")
    if config["SMS_PROVIDER"] not in {"outbox", "twilio", "notify"}:
        raise ConfigError("NUDGE_SMS_PROVIDER must be 'outbox', 'twilio' or 'notify'")
    if not isinstance(config["TRUSTED_PROXIES"], int) or config["TRUSTED_PROXIES"] < 0:
        raise ConfigError("NUDGE_TRUSTED_PROXIES must be a whole number of proxies (0 or more)")
    if config["ENV"] == "production":
        check_production(config)


KINDS = {bool: "true or false", int: "a whole number", float: "a number"}


def check_types(config: dict[str, Any]) -> None:
    """Each setting whose default is a number or true/false must be one (an environment
    value is read as JSON: NUDGE_SEND_RATE_PER_SECOND=fast stays the text 'fast')."""
    for name, default in DEFAULTS.items():
        kind = type(default)
        if kind not in KINDS:
            continue
        value = config.get(name)
        if kind is bool:
            fits = isinstance(value, bool)
        else:
            number = (int, float) if kind is float else (int,)
            fits = isinstance(value, number) and not isinstance(value, bool)
        if not fits:
            raise ConfigError(f"NUDGE_{name} must be {KINDS[kind]}, not {value!r}")
    try:
        make_url(str(config["DATABASE_URL"]))
    except ArgumentError:
        raise ConfigError(
            f"NUDGE_DATABASE_URL is not a database address: {config['DATABASE_URL']!r} "
            "(e.g. postgresql+psycopg://user@host/nudge)"
        ) from None
    try:
        ZoneInfo(str(config["TIMEZONE"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"NUDGE_TIMEZONE is not a time zone: {config['TIMEZONE']!r}") from None


def check_production(config: dict[str, Any]) -> None:
    if config.get("TRANSLATIONS_DEMO_APPROVED"):
        raise ConfigError(
            "NUDGE_TRANSLATIONS_DEMO_APPROVED is on in production: translations must be "
            "approved by a person (approved-by/approved-on in each template's header)"
        )
    key = config["SECRET_KEY"]
    if not key or len(str(key).encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"NUDGE_SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes in production "
            '(make one with: python -c "import secrets; print(secrets.token_hex(32))")'
        )
    base = str(config["PUBLIC_BASE_URL"] or "")
    if not base.startswith("https://") and not config["ALLOW_HTTP_IN_PRODUCTION"]:
        raise ConfigError(
            f"NUDGE_PUBLIC_BASE_URL must be an https:// address in production, not {base!r} "
            "(or set NUDGE_ALLOW_HTTP_IN_PRODUCTION=true)"
        )
    if config["SMS_PROVIDER"] == "outbox" and not config["ALLOW_OUTBOX_IN_PRODUCTION"]:
        raise ConfigError(
            "NUDGE_SMS_PROVIDER is 'outbox' (records texts, sends none) in production "
            "(choose a real provider, or set NUDGE_ALLOW_OUTBOX_IN_PRODUCTION=true)"
        )
    if (
        str(config["DATABASE_URL"]).startswith("sqlite")
        and not config["ALLOW_SQLITE_IN_PRODUCTION"]
    ):
        raise ConfigError(
            "NUDGE_DATABASE_URL is SQLite in production; use PostgreSQL "
            "(or set NUDGE_ALLOW_SQLITE_IN_PRODUCTION=true)"
        )
    if config["SMS_PROVIDER"] == "twilio" and not config["TWILIO_AUTH_TOKEN"]:
        raise ConfigError("NUDGE_TWILIO_AUTH_TOKEN is required for the twilio provider")
    if config["SMS_PROVIDER"] == "notify":
        missing = [
            f"NUDGE_{name}"
            for name in ("NOTIFY_API_KEY", "NOTIFY_TEMPLATE_ID", "NOTIFY_CALLBACK_TOKEN")
            if not config[name]
        ]
        if missing:
            raise ConfigError(f"the notify provider needs {', '.join(missing)} in production")
