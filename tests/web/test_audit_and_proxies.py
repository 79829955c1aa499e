"""The audit trail of page views, refused sign-ins and CSRF failures; the client address
behind NUDGE_TRUSTED_PROXIES; rate limits shared through Redis by every node."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.data.models import AuditEvent
from tests.builders import STAFF_PASSWORD, add_practice, add_user
from tests.conftest import make_test_config
from tests.web.staff import csrf_token, sign_in

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("NUDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _events(db, action: str) -> list[AuditEvent]:
    with db.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def staff(db):
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
    return practice.id


def test_opening_the_bookings_day_list_is_audited(client, db, staff):
    sign_in(client, "gp@example.nhs.uk")
    assert client.get(f"/bookings?practice={staff}&day=2026-01-14").status_code == 200
    [viewed] = _events(db, "bookings.view")
    assert viewed.actor == "gp@example.nhs.uk"
    assert viewed.detail["day"] == "2026-01-14" and viewed.detail["practice"] == str(staff)


def test_a_csrf_failure_is_audited(client, db, staff):
    sign_in(client, "gp@example.nhs.uk")
    assert client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 400
    [failed] = _events(db, "csrf.failed")
    assert failed.actor == "gp@example.nhs.uk" and failed.target == "auth.sign_out"


def _limited_app(url: str, tmp_path: Path, clock, **extra):
    config = make_test_config(
        url, tmp_path, RATELIMIT_ENABLED=True, SIGN_IN_LIMIT_PER_ADDRESS="3 per 15 minutes", **extra
    )
    return create_app(config, clock=clock)


def _fail_sign_in(
    client, address: str, forwarded: str | None = None, email: str = "nobody@example.nhs.uk"
) -> int:
    token = csrf_token(client)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        "/sign-in",
        data={"email": email, "password": "x" * 12, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    ).status_code


def test_a_sign_in_refused_by_the_rate_limit_is_audited(
    sqlite_url, tmp_path: Path, clock, monkeypatch
):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = _limited_app(sqlite_url, tmp_path, clock)
    client = app.test_client()
    codes = [_fail_sign_in(client, "192.0.2.7") for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    [throttled] = _events(app.extensions["nudge.db"], "sign_in.throttled")
    assert throttled.actor == "nobody@example.nhs.uk" and throttled.ip == "192.0.2.7"
    app.extensions["nudge.db"].dispose()


def test_behind_a_trusted_proxy_each_client_has_its_own_limit_and_audit_address(
    sqlite_url, tmp_path: Path, clock, monkeypatch
):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = _limited_app(sqlite_url, tmp_path, clock, TRUSTED_PROXIES=1)
    client = app.test_client()
    proxy = "127.0.0.1"
    # one client fails three times and is locked out; another behind the same proxy is not
    assert [_fail_sign_in(client, proxy, "198.51.100.1") for _ in range(4)][-1] == 429
    assert _fail_sign_in(client, proxy, "198.51.100.2") == 200
    # a client cannot pick its address: only the hop the proxy appended counts
    assert _fail_sign_in(client, proxy, "198.51.100.77, 198.51.100.1") == 429
    addresses = {e.ip for e in _events(app.extensions["nudge.db"], "sign_in.failed")}
    assert addresses == {"198.51.100.1", "198.51.100.2"}
    app.extensions["nudge.db"].dispose()


def test_without_trusted_proxies_a_forwarded_header_is_ignored(
    sqlite_url, tmp_path: Path, clock, monkeypatch
):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = _limited_app(sqlite_url, tmp_path, clock)
    client = app.test_client()
    codes = [_fail_sign_in(client, "203.0.113.9", f"198.51.100.{i}") for i in range(4)]
    assert codes[-1] == 429
    assert {e.ip for e in _events(app.extensions["nudge.db"], "sign_in.failed")} == {"203.0.113.9"}
    app.extensions["nudge.db"].dispose()


OTHER_NODE = """
import sys
from app import create_app
from tests.conftest import make_test_config
from tests.web.staff import csrf_token
from pathlib import Path
url, tmp, address, email, redis_url = sys.argv[1:6]
app = create_app(make_test_config(url, Path(tmp), RATELIMIT_ENABLED=True,
    SIGN_IN_LIMIT_PER_ADDRESS="3 per 15 minutes", REDIS_URL=redis_url))
client = app.test_client()
for _ in range(3):
    token = csrf_token(client)
    answer = client.post("/sign-in", data={"email": email,
        "password": "x" * 12, "csrf_token": token}, environ_base={"REMOTE_ADDR": address})
    print(answer.status_code)
"""


def _redis_or_skip() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")


def test_sign_in_limits_hold_across_two_nodes_sharing_redis(
    sqlite_url, tmp_path: Path, clock, monkeypatch
):
    _redis_or_skip()
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    # fresh names each run: what Redis counted in earlier runs cannot matter
    run = uuid.uuid4().hex
    address, other_address = f"2001:db8::{run[:4]}:{run[4:8]}", f"2001:db8::{run[8:12]}:1"
    email = f"nobody-{run[:12]}@example.nhs.uk"
    other = subprocess.run(
        [sys.executable, "-c", OTHER_NODE, sqlite_url, str(tmp_path), address, email, REDIS_URL],
        env={**os.environ, "PYTHONPATH": str(ROOT), "NUDGE_INSTANCE_PATH": str(tmp_path / "b")},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.split() == ["200", "200", "200"], other.stderr
    app = _limited_app(sqlite_url, tmp_path, clock, REDIS_URL=REDIS_URL)
    assert app.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    client = app.test_client()
    # this node has seen no failure from the address, yet the other node's three count
    assert _fail_sign_in(client, address, email=email) == 429
    assert _fail_sign_in(client, other_address, email=email + ".uk") == 200
    token = csrf_token(client)
    right = client.post(
        "/sign-in",
        data={"email": email, "password": STAFF_PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )
    assert right.status_code == 429  # locked out whatever the password
    app.extensions["nudge.db"].dispose()
