"""JSON log lines: a request id on each, and no phone numbers or NHS numbers in them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app, logs
from app.clock import FixedClock
from tests.conftest import DEFAULT_NOW, make_test_config


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


def entries(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


@pytest.mark.parametrize(
    "text",
    [
        "+447700900123",
        "447700900123",
        "07700 900123",
        "07700-900-123",
        "+44 7700 900123",
        "9434765919",
        "943 476 5919",
        "943-476-5919",
    ],
)
def test_phone_and_nhs_numbers_are_masked_however_they_are_written(text: str) -> None:
    assert logs.redact(f"sent to {text} ok") == "sent to [redacted] ok"


def test_ids_durations_and_sids_are_left_alone() -> None:
    line = "message 12345 claimed in 0.25 s by host:812:3 (SMabc, 2026-01-14T10:00:00+00:00)"
    assert logs.redact(line) == line


def test_a_log_line_is_one_json_object_with_extras_and_no_numbers(
    captured: io.StringIO,
) -> None:
    logging.getLogger("nudge.test").info(
        "texted %s", "+447700900001", extra={"to": "07700 900001", "count": 3}
    )
    (entry,) = entries(captured)
    assert entry["message"] == "texted [redacted]"
    assert entry["to"] == "[redacted]"
    assert entry["count"] == 3
    assert entry["level"] == "INFO" and entry["logger"] == "nudge.test"


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(make_test_config(sqlite_url, tmp_path), clock=FixedClock(DEFAULT_NOW))
    yield application
    application.extensions["nudge.db"].dispose()


def test_every_request_gets_an_id_echoed_and_logged(app: Flask, captured: io.StringIO) -> None:
    client = app.test_client()
    response = client.get("/healthz")
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32
    access = [e for e in entries(captured) if e["logger"] == "nudge.access"]
    assert access[-1]["request_id"] == request_id
    assert access[-1]["route"] == "/healthz" and access[-1]["status"] == 200

    # the proxy's id is kept, so nginx's and the app's lines join up; junk is replaced
    given = client.get("/healthz", headers={"X-Request-ID": "nginx-0123456789abcdef"})
    assert given.headers["X-Request-ID"] == "nginx-0123456789abcdef"
    junk = client.get("/healthz", headers={"X-Request-ID": "a b;c"})
    assert len(junk.headers["X-Request-ID"]) == 32


def test_the_access_line_names_the_route_not_the_path_or_query(
    app: Flask, captured: io.StringIO
) -> None:
    client = app.test_client()
    client.get("/patients/search?q=Alice+Example+9434765919")
    client.get("/c/secret-calendar-token.ics")
    text = captured.getvalue()
    assert "Alice" not in text and "9434765919" not in text
    assert "secret-calendar-token" not in text


def test_a_request_refused_by_an_earlier_hook_still_has_its_id(
    app: Flask, captured: io.StringIO
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    response = app.test_client().post("/sign-in", data={"email": "x@example.nhs.uk"})
    assert response.status_code == 400  # no CSRF token
    access = [e for e in entries(captured) if e["logger"] == "nudge.access"]
    assert access[-1]["request_id"] == response.headers["X-Request-ID"]
    assert access[-1]["status"] == 400
