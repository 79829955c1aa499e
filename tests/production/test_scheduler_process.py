"""The scheduler entry point the image runs (`deploy/bin/nudge scheduler`), as a real process:
it beats, `/readyz` follows it, and its log lines are JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app import create_app
from app.data import migrate
from tests.conftest import make_test_config

ROOT = Path(__file__).resolve().parents[2]
NUDGE = ROOT / "deploy" / "bin" / "nudge"


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_readyz_turns_unready_when_the_scheduler_process_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'nudge.sqlite3'}"
    env = dict(os.environ)
    env.update(
        {
            "NUDGE_DATABASE_URL": url,
            "NUDGE_INSTANCE_PATH": str(tmp_path / "instance"),
            "NUDGE_PYTHON": sys.executable,
            "NUDGE_SECRET_KEY": "scheduler-test-secret",
            "PYTHONPATH": str(ROOT),
        }
    )
    release = subprocess.run([str(NUDGE), "release"], env=env, capture_output=True, text=True)
    assert release.returncode == 0, release.stderr

    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(url, tmp_path, READY_HEARTBEAT_MAX_AGE_SECONDS=3))
    client = app.test_client()
    assert client.get("/readyz").status_code == 503

    log_path = tmp_path / "scheduler.log"
    with log_path.open("w") as log_file:
        scheduler = subprocess.Popen(
            [str(NUDGE), "scheduler"], env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            assert wait_for(lambda: client.get("/readyz").status_code == 200, 30), (
                log_path.read_text()[-3000:]
            )
            os.kill(scheduler.pid, signal.SIGKILL)
            scheduler.wait(10)
            started = time.monotonic()
            assert wait_for(lambda: client.get("/readyz").status_code == 503, 15)
            assert time.monotonic() - started <= 15
            body = client.get("/readyz").get_json()
            assert body["checks"]["scheduler_alive"] is False
            assert "no scheduler heartbeat within 3 s" in body["problems"][0]
        finally:
            if scheduler.poll() is None:
                scheduler.kill()
                scheduler.wait(10)
    app.extensions["nudge.db"].dispose()
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(e["message"] == "scheduler running" for e in entries)


@pytest.mark.slow
def test_the_scheduler_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nudge.sqlite3'}"
    migrate.upgrade(url)
    env = dict(os.environ)
    env.update(
        {
            "NUDGE_DATABASE_URL": url,
            "NUDGE_INSTANCE_PATH": str(tmp_path / "instance"),
            "NUDGE_PYTHON": sys.executable,
            "PYTHONPATH": str(ROOT),
        }
    )
    scheduler = subprocess.Popen(
        [str(NUDGE), "scheduler"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    # signal only once it says it runs: a slow start under load must not race the handler
    assert scheduler.stdout is not None
    seen = []
    for raw in scheduler.stdout:
        seen.append(raw.decode())
        if json.loads(raw)["message"] == "scheduler running":
            break
    scheduler.send_signal(signal.SIGTERM)
    out, _ = scheduler.communicate(timeout=20)
    assert scheduler.returncode == 0, ("".join(seen) + out.decode())[-2000:]
    lines = "".join(seen).splitlines() + out.decode().splitlines()
    messages = [json.loads(line)["message"] for line in lines if line]
    assert "stopping on signal SIGTERM" in messages
    assert messages[-1] == "scheduler stopped", lines


def test_the_entry_point_refuses_an_unknown_command() -> None:
    result = subprocess.run([str(NUDGE), "serve"], capture_output=True, text=True)
    assert result.returncode == 64
    assert result.stderr.startswith("usage: nudge release | web")
