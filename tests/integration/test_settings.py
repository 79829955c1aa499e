"""Settings precedence and the production safety checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.config import DEV_SECRET_KEY, ConfigError


def test_environment_overrides_instance_config_which_overrides_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text('SMS_PROVIDER = "twilio"\nSEND_RATE_PER_SECOND = 3\n')
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("NUDGE_SEND_RATE_PER_SECOND", "7")
    app = create_app()
    assert app.config["SMS_PROVIDER"] == "twilio"  # from instance/config.py
    assert app.config["SEND_RATE_PER_SECOND"] == 7  # environment wins, parsed as JSON
    assert app.config["RETENTION_DAYS"] == 90  # default
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance}/nudge.sqlite3"


def test_production_refuses_to_start_with_the_development_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("NUDGE_ENV", "production")
    monkeypatch.delenv("NUDGE_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="secret key"):
        create_app()
    monkeypatch.setenv("NUDGE_SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(ConfigError, match="secret key"):
        create_app()


def test_production_starts_with_a_real_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("NUDGE_ENV", "production")
    monkeypatch.setenv("NUDGE_SECRET_KEY", "a-long-random-production-secret")
    assert create_app().config["ENV"] == "production"


def test_an_unknown_sms_provider_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("NUDGE_SMS_PROVIDER", "carrier-pigeon")
    with pytest.raises(ConfigError, match="outbox"):
        create_app()
