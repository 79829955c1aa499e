"""Fault 4: PostgreSQL restarts in the middle of a wave and of a burst of replies; the
service reconnects and carries on, and nothing half-written remains.

Runs against a private throwaway server (see conftest.private_pg), never the shared one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Booking, Message, Offer
from app.services import replies
from app.services.dispatch import DispatchReport
from app.services.reconciliation import recover_stale_claims
from app.settings import Settings
from tests.builders import add_open_offer
from tests.conftest import DEFAULT_NOW, make_test_config
from tests.fakes.twilio_server import FakeTwilio
from tests.faults import dispatch_worker
from tests.faults.conftest import PrivatePostgres
from tests.faults.invariants import check_all
from tests.faults.test_webhook_storms import reply
from tests.faults.wave import creates_of, mobile, queue_wave

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WAVE = 600
BATCH = 20


@pytest.fixture
def private_url(private_pg: PrivatePostgres) -> str:
    return private_pg.fresh_database()


def test_a_wave_carries_on_after_postgres_restarts_mid_dispatch(
    private_pg: PrivatePostgres, private_url: str, request: pytest.FixtureRequest
) -> None:
    db = Database.from_url(private_url)
    request.addfinalizer(db.dispose)
    ids = queue_wave(db, WAVE, now=DEFAULT_NOW)
    result: dict[str, DispatchReport] = {}
    with FakeTwilio(
        account_sid=dispatch_worker.ACCOUNT_SID,
        auth_token=dispatch_worker.AUTH_TOKEN,
        callbacks=False,
    ) as fake:
        provider = dispatch_worker.provider_for(fake.base_url)

        def dispatcher() -> None:
            result["report"] = dispatch_worker.run_until_empty(
                db, provider, now=DEFAULT_NOW, batch=BATCH, max_errors=10_000
            )

        thread = threading.Thread(target=dispatcher)
        thread.start()
        deadline = time.monotonic() + 60
        while fake.create_count() < WAVE // 4:
            assert time.monotonic() < deadline and thread.is_alive(), "no progress"
            time.sleep(0.01)
        private_pg.restart("fast")  # every open connection is cut mid-transaction
        thread.join(timeout=120)
        assert not thread.is_alive(), "the dispatcher never finished after the restart"
        creates = creates_of(fake)

    # what the dead connections had claimed is recovered as uncertain, never resent
    recover_stale_claims(db, now=DEFAULT_NOW + timedelta(minutes=20), older_than=timedelta(0))
    statuses = check_all(db.engine, creates, expected_ids=ids)
    assert statuses["sent"] + statuses["uncertain"] == WAVE, statuses
    assert statuses["uncertain"] <= BATCH, statuses
    assert statuses["sent"] > WAVE // 4, statuses  # it carried on after the restart


@pytest.fixture
def private_app(
    private_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(private_url, tmp_path), clock=FixedClock(DEFAULT_NOW))
    yield app
    app.extensions["nudge.db"].dispose()


def test_a_burst_of_replies_survives_a_postgres_restart_with_nothing_half_written(
    private_pg: PrivatePostgres, private_app: Flask
) -> None:
    db: Database = private_app.extensions["nudge.db"]
    people = 60
    with db.transaction() as session:
        offers = [add_open_offer(session, mobile=mobile(i)).id for i in range(people)]
    done: set[int] = set()
    lock = threading.Lock()

    def send(i: int) -> None:
        try:
            code = reply(private_app, f"SM{i:032x}", mobile(i), str(1 + i % 3))
        except Exception:  # the request died with its connection (a 500 in production)
            return
        if code == 200:
            with lock:
                done.add(i)

    restarter = threading.Timer(0.3, private_pg.restart, kwargs={"mode": "fast"})
    restarter.start()
    with ThreadPoolExecutor(max_workers=4) as pool:
        for i in range(people):
            pool.submit(send, i)
            time.sleep(0.01)
    restarter.join()
    # Twilio's retry (or the resident texting again): the same SID, so it acts once
    for _ in range(5):
        for i in sorted(set(range(people)) - done):
            send(i)
    assert done == set(range(people))
    # the replies job acts on what the webhook stored; a run cut by the restart is
    # simply followed by the next one
    for _ in range(20):
        try:
            replies.process_inbound(
                db, now=DEFAULT_NOW, settings=Settings.from_config(private_app.config)
            )
            break
        except DBAPIError:
            time.sleep(0.2)

    with db.transaction() as session:
        inbound = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
        booked = session.scalars(select(Booking.offer_id).where(Booking.state != "cancelled")).all()
        offer_states = set(session.scalars(select(Offer.state)).all())
        confirmations = session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.direction == "out", Message.kind == "confirmation")
        )
    # an inbound row without its booking and confirmation would be half a reply
    assert inbound == people
    assert sorted(booked) == sorted(offers)
    assert offer_states == {"booked"}
    assert confirmations == people
    check_all(db.engine)
