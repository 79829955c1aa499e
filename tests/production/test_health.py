"""`/healthz`, `/readyz`, `/metrics` and `flask status` on a migrated database."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.clock import FixedClock
from app.data import migrate
from app.data.db import Database
from app.services import status
from tests.builders import add_inbound, add_sending_campaign, queue_outbound
from tests.conftest import DEFAULT_NOW, make_test_config


def migrated_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **extra: object) -> Flask:
    url = f"sqlite:///{tmp_path / 'nudge.sqlite3'}"
    migrate.upgrade(url)
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(make_test_config(url, tmp_path, **extra), clock=FixedClock(DEFAULT_NOW))


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    application = migrated_app(
        tmp_path, monkeypatch, METRICS_TOKEN="scrape-token", METRICS_ALLOWED_NETWORKS="10.0.0.0/8"
    )
    yield application
    application.extensions["nudge.db"].dispose()


def beat(app: Flask, worker: str, seconds_ago: float) -> None:
    db: Database = app.extensions["nudge.db"]
    at = DEFAULT_NOW - timedelta(seconds=seconds_ago)
    status.beat(db, worker_id=worker, started_at=at - timedelta(hours=1), now=at)


def test_healthz_answers_while_the_process_serves(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_needs_a_recent_scheduler_heartbeat(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"] == {
        "database": True,
        "migrations_at_head": True,
        "scheduler_alive": False,
    }
    assert "no scheduler heartbeat" in body["problems"][0]

    beat(app, "old-host:1", seconds_ago=600)
    assert client.get("/readyz").status_code == 503
    beat(app, "host:2", seconds_ago=5)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "ready": True,
        "checks": {"database": True, "migrations_at_head": True, "scheduler_alive": True},
        "problems": [],
    }


def test_readyz_is_unready_when_the_schema_is_behind_the_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    migrate.upgrade(url, "0001")
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(url, tmp_path), clock=FixedClock(DEFAULT_NOW))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"] is True
    assert body["checks"]["migrations_at_head"] is False
    assert "run `flask db upgrade`" in body["problems"][0]


def test_readyz_is_unready_when_the_database_cannot_be_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'nudge.sqlite3'}"
    app = create_app(make_test_config(url, tmp_path), clock=FixedClock(DEFAULT_NOW))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] is False
    assert "database unreachable" in response.get_json()["problems"][0]


def test_metrics_are_closed_without_the_token_or_an_allowed_address(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    assert ok.status_code == 200
    assert ok.mimetype == "text/plain"


def test_metrics_with_neither_setting_are_closed_to_everyone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = migrated_app(tmp_path, monkeypatch)
    client = app.test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def _seed_queues(app: Flask) -> None:
    db: Database = app.extensions["nudge.db"]
    with db.transaction() as session:
        campaign = add_sending_campaign(session, now=DEFAULT_NOW)
        for i, state in enumerate(["queued", "queued", "uncertain", "sent", "failed"]):
            message = queue_outbound(
                session,
                to=f"+4477009001{i:02d}",
                now=DEFAULT_NOW - timedelta(minutes=30 - i),
                campaign=campaign,
                dedupe_key=f"health:{i}",
            )
            message.status = state
            if state in {"sent", "failed"}:
                message.sent_at = DEFAULT_NOW - timedelta(seconds=20)
            if state == "failed":
                message.error_code = "30003"
        add_inbound(session, "+447700900150", "1", at=DEFAULT_NOW - timedelta(seconds=90))


def _samples(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_metrics_report_the_database_state_and_webhook_latency(app: Flask) -> None:
    _seed_queues(app)
    beat(app, "host:1", seconds_ago=3)
    client = app.test_client()
    client.post("/webhooks/twilio/sms", data={"From": "+447700900001"})  # unsigned: 403
    text = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"}).text
    samples = _samples(text)
    assert samples['nudge_messages{status="queued"}'] == 2
    assert samples['nudge_messages{status="uncertain"}'] == 1
    assert samples["nudge_uncertain_messages"] == 1
    assert samples['nudge_provider_errors{code="30003"}'] == 1
    assert samples["nudge_messages_sent_total"] == 2
    assert samples["nudge_send_rate_per_second"] == pytest.approx(2 / 60)
    assert samples["nudge_oldest_queued_age_seconds"] == 30 * 60
    assert samples["nudge_replies_backlog"] == 1
    assert samples["nudge_replies_lag_seconds"] == 90
    assert samples["nudge_ready"] == 1
    assert samples['nudge_scheduler_heartbeat_age_seconds{worker_id="host:1"}'] == 3
    assert samples['nudge_webhook_seconds_count{endpoint="webhooks.inbound_sms"}'] >= 1
    assert "nudge_sign_in_failures_total" in samples


def test_flask_status_prints_queues_backlog_and_heartbeats(app: Flask) -> None:
    _seed_queues(app)
    beat(app, "sched-a:11", seconds_ago=4)
    beat(app, "sched-b:12", seconds_ago=900)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["status"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Ready:               yes" in out
    assert "sched-a:11" in out and "4 s ago  alive" in out
    assert "sched-b:12" in out and "15 min ago  SILENT" in out
    assert "Queued and due:      2 (oldest 30 min)" in out
    assert "Uncertain:           1" in out
    assert "Replies backlog:     1 (oldest 90 s)" in out
    assert "30003: 1" in out

    data = json.loads(runner.invoke(args=["status", "--json"]).output)
    assert data["ready"] is True
    assert data["queued"] == 2 and data["uncertain"] == 1
    assert data["oldest_queued_age_seconds"] == 1800
    assert data["replies_backlog"] == 1 and data["replies_lag_seconds"] == 90
    assert [s["worker_id"] for s in data["schedulers"]] == ["sched-a:11", "sched-b:12"]
    assert [s["alive"] for s in data["schedulers"]] == [True, False]
    assert data["messages_by_status"] == {"failed": 1, "queued": 2, "sent": 1, "uncertain": 1}


def test_flask_status_says_when_the_database_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'nudge.sqlite3'}"
    app = create_app(make_test_config(url, tmp_path), clock=FixedClock(DEFAULT_NOW))
    result = app.test_cli_runner().invoke(args=["status"])
    assert result.exit_code == 0
    assert "database           UNREACHABLE" in result.output
    assert "Traceback" not in result.output
