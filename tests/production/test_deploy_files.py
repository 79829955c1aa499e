"""The shipped deploy files agree with the app: body limits, timeouts, gunicorn's settings."""

from __future__ import annotations

import os
import re
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import config

ROOT = Path(__file__).resolve().parents[2]
SITE = (ROOT / "deploy" / "nginx" / "nudge.conf").read_text()
UNITS = {"k": 1024, "m": 1024 * 1024}


def nginx_size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([km]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * UNITS.get(unit, 1)


def location(path: str) -> str:
    found = re.search(r"location " + re.escape(path) + r" \{(.*?)\n    \}", SITE, re.DOTALL)
    assert found, path
    return found.group(1)


def test_nginx_body_limits_match_the_apps() -> None:
    server_wide = re.findall(r"^    client_max_body_size (\S+);", SITE, re.MULTILINE)
    assert [nginx_size(v) for v in server_wide] == [config.DEFAULTS["MAX_CONTENT_LENGTH"]]
    webhooks = re.search(r"client_max_body_size (\S+);", location("/webhooks/"))
    assert webhooks
    assert nginx_size(webhooks.group(1)) == config.DEFAULTS["WEBHOOK_MAX_CONTENT_LENGTH"]


def test_nginx_answers_twilio_inside_its_fifteen_seconds() -> None:
    timeout = re.search(r"proxy_read_timeout (\d+)s;", location("/webhooks/"))
    assert timeout and int(timeout.group(1)) < 15


def test_nginx_sets_the_forwarded_headers_itself() -> None:
    for header in ("X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme", "X-Request-ID"):
        assert f"proxy_set_header {header}" in SITE
    assert "$proxy_add_x_forwarded_for" not in SITE  # a client could forge the first hop
    assert "location = /metrics" in SITE


@pytest.fixture
def gunicorn_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, object]:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    for name in ("NUDGE_WEB_WORKERS", "NUDGE_WEB_THREADS", "NUDGE_FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))


def test_gunicorn_runs_gthread_workers_one_per_cpu(gunicorn_settings: dict[str, object]) -> None:
    assert gunicorn_settings["worker_class"] == "gthread"
    assert gunicorn_settings["workers"] == max(2, len(os.sched_getaffinity(0)))
    assert gunicorn_settings["threads"] == 4
    assert gunicorn_settings["wsgi_app"] == "app:create_app()"
    assert gunicorn_settings["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert gunicorn_settings["accesslog"] is None  # the app writes its own, without paths
    assert 15 < gunicorn_settings["timeout"] <= 60  # type: ignore[operator]
    assert gunicorn_settings["keepalive"] > 60  # type: ignore[operator]  # nginx's upstream keepalive


def test_gunicorn_empties_the_metrics_directory_when_it_starts(
    gunicorn_settings: dict[str, object], tmp_path: Path
) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"stale")
    gunicorn_settings["on_starting"](SimpleNamespace())  # type: ignore[operator]
    assert directory.is_dir() and not any(directory.iterdir())
