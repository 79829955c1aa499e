"""The production shape on one machine: nginx (TLS) -> two gunicorn nodes, two schedulers,
one PostgreSQL database, Redis for limits, Twilio faked. Through the proxy: the signed
resident journey, STOP, a burst of replies during which one web node is SIGKILLed, and
sign-in lock-out per client address. Afterwards, by query: no double booking, every
stored reply acted on once, no text sent twice or after STOP, and no personal data in
any process's logs.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from app import config as settings
from app.data.db import Database
from app.data.models import Booking, Message, PhoneNumber
from tests.builders import add_free_slots, add_patient, add_practice, add_user, approved_campaign
from tests.builders import clinic_starts as clinic
from tests.fakes.twilio_server import FakeTwilio
from tests.faults.invariants import Create, check_all
from tests.production.stack import Stack, base_env, free_port, nginx_binary, wait_for

PG_URL = os.environ.get("NUDGE_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("NUDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "production-shape-auth-token"
FROM_NUMBER = "+447700900000"
PEOPLE = 24
STAFF_EMAIL = "lockout@example.nhs.uk"
STAFF_PASSWORD = "correct horse battery staple"
METRICS_TOKEN = "production-shape-metrics-token"


def _redis(*command: str) -> bytes:
    """One Redis command over its wire protocol (the tests need no Redis client)."""
    url = make_url(REDIS_URL.replace("redis://", "redis+resp://", 1))
    request = [("SELECT", url.database or "0"), command]
    payload = b"".join(
        f"*{len(c)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in c)
        for c in request
    )
    with socket.create_connection((url.host or "127.0.0.1", url.port or 6379), timeout=2) as s:
        s.sendall(payload)
        return s.recv(4096)


def _redis_reachable() -> bool:
    try:
        return _redis("PING").endswith(b"+PONG\r\n")
    except OSError:
        return False


def _skip_reason() -> str | None:
    if nginx_binary() is None:
        return "nginx is not installed (apt-get install nginx): production-shape test skipped"
    if shutil.which("openssl") is None:
        return "openssl is not installed: no certificate for nginx's TLS"
    if not PG_URL:
        return "NUDGE_TEST_DATABASE_URL is not set: the production shape needs PostgreSQL"
    if not _redis_reachable():
        return f"Redis is not reachable at {REDIS_URL} (NUDGE_TEST_REDIS_URL)"
    return None


pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
]


@dataclass
class Resident:
    mobile: str
    nhs_number: str
    given_name: str
    family_name: str


def mobile(i: int) -> str:
    return f"+447700900{100 + i:03d}"


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    base = make_url(PG_URL)
    name = f"nudge_shape_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Shape:
    stack: Stack
    fake: FakeTwilio
    db: Database
    residents: list[Resident]

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return requests.post(
            self.stack.base_url + path, verify=self.stack.certificate, timeout=20, **kwargs
        )

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(
            self.stack.base_url + path, verify=self.stack.certificate, timeout=20, **kwargs
        )

    def text_in(self, sender: str, body: str, sid: str | None = None) -> str:
        """A resident's text as Twilio posts it, signed; retried as Twilio's fallback would
        when the node that took it died before answering. The MessageSid it used."""
        sid = sid or "SM" + uuid.uuid4().hex
        params = {
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": FROM_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        url = self.stack.base_url + "/webhooks/twilio/sms"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
        for _ in range(5):
            try:
                answer = self.post(
                    "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
                )
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                # the node died mid-answer: send again, as Twilio does; the text is stored
                # once by its MessageSid whatever happened to the first try
                continue
            if answer.status_code == 200:
                return sid
            assert answer.status_code in {502, 503, 504}, (answer.status_code, answer.text)
        raise AssertionError(f"the webhook never took {sid}")

    def sent_to(self, number: str) -> list[str]:
        return [m.body for m in self.fake.created if m.to == number]


def _https_sender(certificate: Path):  # type: ignore[no-untyped-def]
    def send(url: str, params: dict[str, str], headers: dict[str, str]) -> int:
        return requests.post(
            url, data=params, headers=headers, timeout=15, verify=certificate
        ).status_code

    return send


@pytest.fixture(scope="module")
def shape(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shape]:
    root = tmp_path_factory.mktemp("production-shape")
    nodes = [free_port(), free_port()]
    https_holder: dict[str, Path] = {}
    fake = FakeTwilio(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        callback_sender=lambda url, params, headers: _https_sender(https_holder["cert"])(
            url, params, headers
        ),
    )
    fake.start()
    stack = Stack(root, {})
    db = Database.from_url(database_url)
    try:
        # nginx's port is known before the apps start: PUBLIC_BASE_URL is what Twilio signs
        https = free_port()
        stack.env = base_env(
            root,
            database_url,
            ENV="demo",
            SECRET_KEY="production-shape-secret-key-" + uuid.uuid4().hex,
            SMS_PROVIDER="twilio",
            TWILIO_API_BASE_URL=fake.base_url,
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_FROM_NUMBER=FROM_NUMBER,
            SMS_FROM_NUMBER=FROM_NUMBER,
            SEND_RATE_PER_SECOND="100",
            REDIS_URL=REDIS_URL,
            TRUSTED_PROXIES="1",
            SIGN_IN_LIMIT_PER_ADDRESS="3 per 15 minutes",
            SIGN_IN_LIMIT_PER_ACCOUNT="100 per 15 minutes",
            READY_HEARTBEAT_MAX_AGE_SECONDS="30",
            METRICS_TOKEN=METRICS_TOKEN,
        )
        stack.release()
        residents = _seed(db)
        stack.env["NUDGE_PUBLIC_BASE_URL"] = f"https://127.0.0.1:{https}"
        stack.start_node("web1", nodes[0])
        stack.start_node("web2", nodes[1])
        stack.start_scheduler(1)
        stack.start_scheduler(2)
        stack.start_nginx(nodes, https=https)
        https_holder["cert"] = stack.certificate  # type: ignore[assignment]
        yield Shape(stack, fake, db, residents)
    finally:
        stack.stop()
        fake.stop()
        db.dispose()


def _seed(db: Database) -> list[Resident]:
    now = datetime.now(UTC)
    residents = []
    with db.transaction() as session:
        practice = add_practice(session, now=now)
        for i in range(PEOPLE):
            patient = add_patient(
                session,
                practice,
                mobile=mobile(i),
                given_name=f"Quillon{i:02d}",
                family_name=f"Zarkovsky{i:02d}",
                now=now,
            )
            residents.append(
                Resident(mobile(i), patient.nhs_number, patient.given_name, patient.family_name)
            )  # type: ignore[arg-type]
        first_day = date.today() + timedelta(days=3)
        times = ("09:00", "09:20", "09:40", "10:00", "10:20", "10:40", "11:00", "11:20")
        add_free_slots(session, practice, clinic(first_day, 12, times), now=now)
        add_user(session, STAFF_EMAIL, role="admin", password=STAFF_PASSWORD, now=now)
    approved_campaign(
        db,
        now=now,
        send_window="00:00-23:59",
        send_days="mon-sun",
        unusual_window_reason="The test texts at any hour",
    )
    return residents


def test_through_the_proxy_residents_book_stop_and_nothing_is_lost_when_a_node_dies(
    shape: Shape,
) -> None:
    stack = shape.stack
    # ready once a scheduler has beaten
    assert wait_for(lambda: shape.get("/readyz").status_code == 200, 30)
    assert shape.get("/metrics").status_code == 404  # never from outside

    # invitations go out from whichever scheduler claims them
    assert wait_for(lambda: len(shape.fake.created) >= PEOPLE, 60), len(shape.fake.created)
    invited = [r for r in shape.residents if shape.sent_to(r.mobile)]
    assert len(invited) == PEOPLE

    # the journey: reply 1, get the confirmation, open its calendar link
    first = invited[0]
    shape.text_in(first.mobile, "1")
    assert wait_for(lambda: any("Booked:" in b for b in shape.sent_to(first.mobile)), 30)
    confirmation = next(b for b in shape.sent_to(first.mobile) if "Booked:" in b)
    link = re.search(r"https://\S+\.ics", confirmation)
    assert link, confirmation
    assert link.group(0).startswith(stack.base_url)
    ics = shape.get(link.group(0).removeprefix(stack.base_url))
    assert ics.status_code == 200 and ics.text.startswith("BEGIN:VCALENDAR")

    # STOP: acknowledged, and nothing more to that number afterwards
    stopper = invited[1]
    shape.text_in(stopper.mobile, "STOP")

    # a burst of replies; one web node is SIGKILLed part way through
    burst = invited[2:]
    killed = threading.Event()

    def reply(k_resident: tuple[int, Resident]) -> str:
        k, resident = k_resident
        if k == len(burst) // 3 and not killed.is_set():
            killed.set()
            stack.kill_node("web1")
        return shape.text_in(resident.mobile, str(1 + k % 3))

    with ThreadPoolExecutor(max_workers=6) as pool:
        sids = list(pool.map(reply, enumerate(burst)))
    assert killed.is_set() and stack.nodes["web1"].poll() is not None
    assert len(set(sids)) == len(burst)
    assert shape.get("/readyz").status_code == 200  # the surviving node answers

    def settled() -> bool:
        with shape.db.transaction() as session:
            pending = session.scalar(
                select(func.count()).where(
                    Message.direction == "in", Message.processed_at.is_(None)
                )
            )
            booked = session.scalar(
                select(func.count()).select_from(Booking).where(Booking.state != "cancelled")
            )
            queued = session.scalar(
                select(func.count()).where(Message.status.in_(["queued", "sending"]))
            )
        return pending == 0 and booked == len(burst) + 1 and queued == 0

    assert wait_for(settled, 60)

    # by query: every reply stored once and acted on once
    with shape.db.transaction() as session:
        inbound = session.execute(
            select(Message.provider_sid, Message.processed_at).where(Message.direction == "in")
        ).all()
    assert len(inbound) == len(burst) + 2
    assert len({row.provider_sid for row in inbound}) == len(inbound)
    assert all(row.processed_at is not None for row in inbound)
    for resident in burst + [first]:
        confirmations = [b for b in shape.sent_to(resident.mobile) if "Booked:" in b]
        assert len(confirmations) == 1, resident.mobile
    # no double booking, nothing sent twice, nothing after STOP, nothing lost
    creates = [
        Create(to=m.to, body=m.body, sid=m.sid, at=datetime.fromtimestamp(m.at, UTC))
        for m in shape.fake.created
    ]
    statuses = check_all(shape.db.engine, creates)
    assert statuses["uncertain"] == 0, statuses
    with shape.db.transaction() as session:
        opted_out = session.scalar(
            select(PhoneNumber.opted_out_at).where(PhoneNumber.number == stopper.mobile)
        )
    assert opted_out is not None

    # a node's /metrics (scraped directly, with the token) merges its workers' samples
    scrape = requests.get(
        f"http://127.0.0.1:{_node_port(shape, 'web2')}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=10,
    )
    assert scrape.status_code == 200
    samples = dict(
        line.rsplit(" ", 1) for line in scrape.text.splitlines() if not line.startswith("#")
    )
    assert float(samples['nudge_webhook_seconds_count{endpoint="webhooks.inbound_sms"}']) >= 1
    assert float(samples["nudge_scheduler_alive"]) == 2
    assert float(samples["nudge_replies_backlog"]) == 0
    assert float(samples["nudge_messages_sent_total"]) == len(shape.fake.created)

    # nothing personal in any process's log: numbers, NHS numbers, names, message bodies
    logs = stack.logs()
    assert '"request_id"' in logs
    national = [r.mobile.replace("+44", "0") for r in shape.residents]
    forbidden = (
        [r.mobile for r in shape.residents]
        + [r.mobile.lstrip("+") for r in shape.residents]
        + national
        + [f"{n[:5]} {n[5:]}" for n in national]
        + [r.nhs_number for r in shape.residents]
        + [r.given_name for r in shape.residents]
        + [r.family_name for r in shape.residents]
        + [m.body for m in shape.fake.created]
        + [m.body.splitlines()[0] for m in shape.fake.created]
    )
    leaked = sorted({item for item in forbidden if item in logs})
    assert not leaked, f"personal data in the logs: {leaked[:5]}"


@pytest.mark.skipif(
    "TRUSTED_PROXIES" not in settings.DEFAULTS,
    reason="needs NUDGE_TRUSTED_PROXIES (ProxyFix) and Redis-backed limits (NUDGE_REDIS_URL)",
)
def test_sign_in_lock_out_is_per_client_address_across_both_nodes(shape: Shape) -> None:
    if shape.stack.nodes["web1"].poll() is not None:
        shape.stack.start_node("web1", _node_port(shape, "web1"))

    def attempt(client: str, password: str) -> int:
        session = requests.Session()
        tls = {"verify": str(shape.stack.certificate), "timeout": 20}
        headers = {"X-Forwarded-For": client, "Referer": shape.stack.base_url + "/sign-in"}
        page = session.get(shape.stack.base_url + "/sign-in", headers=headers, **tls)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        assert token, page.text[:500]
        answer = session.post(
            shape.stack.base_url + "/sign-in",
            data={"csrf_token": token.group(1), "email": STAFF_EMAIL, "password": password},
            headers=headers,
            allow_redirects=False,
            **tls,
        )
        return answer.status_code

    # addresses of their own each run: Redis (shared, not flushed) keeps counts 15 minutes
    attacker = f"203.0.113.{random.randint(1, 254)}"
    colleague = f"198.51.100.{random.randint(1, 254)}"
    # three failures from one address, spread over both nodes by nginx's round robin
    assert [attempt(attacker, "wrong password") for _ in range(3)] == [200, 200, 200]
    assert attempt(attacker, STAFF_PASSWORD) == 429  # locked out, whichever node answers
    assert attempt(attacker, STAFF_PASSWORD) == 429
    assert attempt(colleague, STAFF_PASSWORD) == 302  # another address is not


def _node_port(shape: Shape, name: str) -> int:
    args = shape.stack.nodes[name].args
    return int(str(args[args.index("--bind") + 1]).rsplit(":", 1)[1])  # type: ignore[union-attr]
