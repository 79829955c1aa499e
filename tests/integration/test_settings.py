"""Settings precedence, the instance's own generated secrets and the production checks."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from flask.sessions import SecureCookieSessionInterface
from twilio.request_validator import RequestValidator

from app import create_app
from app.config import ConfigError
from app.web.webhooks import signing_token

ROOT = Path(__file__).resolve().parents[2]
# the key the source used to publish for development and demo instances
PUBLISHED_KEY = "dev-only-not-secret-change-me"
LONG_KEY = "k" * 32
POSTGRES = "postgresql+psycopg://nudge@db.example.test/nudge"


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **values: str) -> None:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in list(os.environ):
        if name.startswith("NUDGE_") and name != "NUDGE_INSTANCE_PATH":
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(f"NUDGE_{name}", value)


def _production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **values: str) -> None:
    settings = {
        "ENV": "production",
        "SECRET_KEY": LONG_KEY,
        "PUBLIC_BASE_URL": "https://nudge.example.test",
        "SMS_PROVIDER": "twilio",
        "TWILIO_AUTH_TOKEN": "a-real-twilio-token",
        "DATABASE_URL": POSTGRES,
    }
    _env(monkeypatch, tmp_path, **{**settings, **values})


def test_environment_overrides_instance_config_which_overrides_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, tmp_path, SEND_RATE_PER_SECOND="7")
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text('SMS_PROVIDER = "twilio"\nSEND_RATE_PER_SECOND = 3\n')
    app = create_app()
    assert app.config["SMS_PROVIDER"] == "twilio"  # from instance/config.py
    assert app.config["SEND_RATE_PER_SECOND"] == 7  # environment wins, parsed as JSON
    assert app.config["RETENTION_DAYS"] == 90  # default
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance}/nudge.sqlite3"


@pytest.mark.parametrize("env", ["development", "demo"])
def test_development_and_demo_generate_their_own_secrets_and_keep_them(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, tmp_path, ENV=env)
    first = create_app().config
    again = create_app().config
    key, token = first["SECRET_KEY"], first["WEBHOOK_SIGNING_TOKEN"]
    assert len(key) == len(token) == 64 and key != token
    assert (again["SECRET_KEY"], again["WEBHOOK_SIGNING_TOKEN"]) == (key, token)
    secrets_file = tmp_path / "instance" / "secrets.py"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    # another instance gets other secrets: nothing is shared through the source
    _env(monkeypatch, tmp_path / "other", ENV=env)
    assert create_app().config["SECRET_KEY"] != key


def test_a_cookie_signed_with_the_once_published_key_opens_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, tmp_path, ENV="demo")
    app = create_app()
    assert app.config["SECRET_KEY"] != PUBLISHED_KEY
    forger = app.test_client()
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    serializer.secret_keys = [PUBLISHED_KEY]  # type: ignore[attr-defined]
    for user_id in ("1", "1:0"):
        forged = serializer.dumps({"_user_id": user_id, "_fresh": True, "_seen": 2e9})
        forger.set_cookie(app.config["SESSION_COOKIE_NAME"], forged)
        response = forger.get("/admin/users")
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    app.extensions["nudge.db"].dispose()


def test_the_webhook_signing_token_never_derives_from_the_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, tmp_path, ENV="development", SECRET_KEY=PUBLISHED_KEY)
    app = create_app()
    token = signing_token(app.config)
    assert token == app.config["WEBHOOK_SIGNING_TOKEN"]
    derived = "dev-" + hashlib.sha256(PUBLISHED_KEY.encode()).hexdigest()[:32]
    assert PUBLISHED_KEY not in token and token != derived
    # a STOP signed with what could be derived from a known key is refused
    url = app.config["PUBLIC_BASE_URL"].rstrip("/") + "/webhooks/twilio/sms"
    form = {"MessageSid": "SM" + "1" * 32, "From": "+447700900001", "Body": "STOP"}
    forged = RequestValidator(derived).compute_signature(url, form)
    answer = app.test_client().post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": forged}
    )
    assert answer.status_code == 403
    app.extensions["nudge.db"].dispose()


def test_production_starts_with_safe_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _production(monkeypatch, tmp_path)
    app = create_app()
    assert app.config["ENV"] == "production"
    assert not (tmp_path / "instance" / "secrets.py").exists()  # production generates none


@pytest.mark.parametrize(
    ("unsafe", "refusal", "override"),
    [
        ({"SECRET_KEY": ""}, "NUDGE_SECRET_KEY", None),
        ({"SECRET_KEY": PUBLISHED_KEY}, "at least 32 bytes", None),
        ({"SECRET_KEY": "k" * 31}, "at least 32 bytes", None),
        (
            {"PUBLIC_BASE_URL": "http://nudge.example.test"},
            "https://",
            "ALLOW_HTTP_IN_PRODUCTION",
        ),
        ({"SMS_PROVIDER": "outbox"}, "outbox", "ALLOW_OUTBOX_IN_PRODUCTION"),
        ({"DATABASE_URL": "sqlite:////tmp/nudge.sqlite3"}, "SQLite", "ALLOW_SQLITE_IN_PRODUCTION"),
        ({"SMS_PROVIDER": "notify"}, "NUDGE_NOTIFY_API_KEY", None),
        (
            {"SMS_PROVIDER": "notify", "NOTIFY_API_KEY": "k", "NOTIFY_TEMPLATE_ID": "t"},
            "NUDGE_NOTIFY_CALLBACK_TOKEN",
            None,
        ),
        ({"TRANSLATIONS_DEMO_APPROVED": "true"}, "approved by a person", None),
    ],
)
def test_production_refuses_unsafe_settings_unless_explicitly_allowed(
    unsafe: dict[str, str],
    refusal: str,
    override: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _production(monkeypatch, tmp_path, **unsafe)
    with pytest.raises(ConfigError, match=refusal):
        create_app()
    if override is not None:
        monkeypatch.setenv(f"NUDGE_{override}", "true")
        assert create_app().config[override] is True


def test_a_refused_start_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "NUDGE_INSTANCE_PATH": str(tmp_path),
        "NUDGE_ENV": "production",
        "NUDGE_SECRET_KEY": "short",
    }
    flask = Path(sys.executable).parent / "flask"
    done = subprocess.run(
        [str(flask), "--app", "app", "routes"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and "NUDGE_SECRET_KEY" in lines[0], done.stderr


def test_an_unknown_sms_provider_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, tmp_path, SMS_PROVIDER="carrier-pigeon")
    with pytest.raises(ConfigError, match="outbox"):
        create_app()
