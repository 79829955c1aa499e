"""Mistyped command lines and settings get one line saying what is wrong, never a
traceback; in development the app's links follow HOST and PORT."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _one_line_usage_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    return errors[0]


def test_run_once_with_a_time_that_is_not_a_time(runner) -> None:
    error = _one_line_usage_error(
        runner.invoke(args=["scheduler", "run-once", "--now", "yesterday"])
    )
    assert "--now: 'yesterday' is not an ISO 8601 time" in error


def test_messages_list_to_a_number_that_is_not_one(runner) -> None:
    error = _one_line_usage_error(runner.invoke(args=["messages", "list", "--to", "garbage"]))
    assert "--to: 'garbage' is not a UK mobile number" in error
    assert runner.invoke(args=["messages", "list", "--to", "07700 900123"]).exit_code == 0


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("SMS_SEGMENT_LIMIT", "x", "NUDGE_SMS_SEGMENT_LIMIT must be a whole number, not 'x'"),
        ("SEND_RATE_PER_SECOND", "fast", "NUDGE_SEND_RATE_PER_SECOND must be a number"),
        ("SESSION_IDLE_MINUTES", "abc", "NUDGE_SESSION_IDLE_MINUTES must be a whole number"),
        ("ALLOW_HTTP_IN_PRODUCTION", "maybe", "must be true or false, not 'maybe'"),
        ("DATABASE_URL", "nonsense", "NUDGE_DATABASE_URL is not a database address"),
        ("TIMEZONE", "Mars/Base", "NUDGE_TIMEZONE is not a time zone"),
    ],
)
def test_production_with_a_bad_setting_says_so_in_one_line(
    tmp_path: Path, name: str, value: str, words: str
) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "NUDGE_INSTANCE_PATH": str(tmp_path),
        "NUDGE_ENV": "production",
        "NUDGE_SECRET_KEY": "k" * 32,
        "NUDGE_PUBLIC_BASE_URL": "https://nudge.example.test",
        "NUDGE_DATABASE_URL": "postgresql+psycopg://nudge@db.example.test/nudge",
        "NUDGE_SMS_PROVIDER": "twilio",
        "NUDGE_TWILIO_AUTH_TOKEN": "a-real-twilio-token",
        f"NUDGE_{name}": value,
    }
    flask = Path(sys.executable).parent / "flask"
    done = subprocess.run(
        [str(flask), "--app", "app", "status"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr + done.stdout
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], lines


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in list(os.environ):
        if name.startswith("NUDGE_") and name != "NUDGE_INSTANCE_PATH":
            monkeypatch.delenv(name)


def test_development_links_follow_host_and_port_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("PORT", "5101")
    monkeypatch.setenv("HOST", "0.0.0.0")
    assert create_app().config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5101"
    monkeypatch.setenv("HOST", "192.168.1.20")
    assert create_app().config["PUBLIC_BASE_URL"] == "http://192.168.1.20:5101"
    monkeypatch.setenv("NUDGE_PUBLIC_BASE_URL", "https://tunnel.example.test")
    assert create_app().config["PUBLIC_BASE_URL"] == "https://tunnel.example.test"
    monkeypatch.delenv("NUDGE_PUBLIC_BASE_URL")
    monkeypatch.setenv("NUDGE_ENV", "production")
    monkeypatch.setenv("NUDGE_SECRET_KEY", "k" * 32)
    with pytest.raises(
        ConfigError, match="https:// address in production, not 'http://127.0.0.1:5000'"
    ):
        create_app()  # production never guesses its public address


def test_make_run_passes_host_and_port_and_the_readme_says_so() -> None:
    assert "export HOST PORT" in (ROOT / "Makefile").read_text()
    assert "make run PORT=5101" in (ROOT / "README.md").read_text()
