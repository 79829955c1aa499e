"""Fault 3: the provider answers 500 and 429 for a while, hangs and drops connections, then
recovers: sends back off, retry and finish, and a message it accepted is never resent.
Each test runs for every provider, through its real client and its fake."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Message
from app.services.dispatch import DispatchReport, dispatch_due
from app.sms import provider_from_config
from tests.conftest import DEFAULT_NOW
from tests.fakes.providers import PROVIDERS, fake_provider
from tests.faults.invariants import check_all
from tests.faults.wave import queue_wave

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("provider_name", PROVIDERS)]

WAVE = 200
ROUND = 50
MAX_ATTEMPTS = 5


def dispatch_rounds(
    db: Database, provider: object, clock: FixedClock, *, rounds: int, minutes: float
) -> DispatchReport:
    total = DispatchReport()
    for _ in range(rounds):
        total.add(
            dispatch_due(db, provider, now=clock.now(), limit=ROUND, max_attempts=MAX_ATTEMPTS)  # type: ignore[arg-type]
        )
        clock.advance(minutes=minutes)
    return total


def test_500s_and_429s_back_off_and_retry_until_every_message_is_sent_once(
    pg_url: str, pg_db: Database, provider_name: str
) -> None:
    db = pg_db
    clock = FixedClock(DEFAULT_NOW)
    ids = queue_wave(db, WAVE, now=clock.now())
    with fake_provider(provider_name, callbacks=False) as fake:
        provider = provider_from_config(
            {**fake.settings(), "TWILIO_TIMEOUT_SECONDS": 2.0, "NOTIFY_TIMEOUT_SECONDS": 2.0}
        )
        fake.fail_next(40, status=500)
        fake.fail_next(40, status=429)
        first = dispatch_due(db, provider, now=clock.now(), limit=ROUND, max_attempts=MAX_ATTEMPTS)
        assert first.sent == 0 and first.retried == ROUND  # the outage: nothing got through
        # still inside every backoff: nothing is retried early, the provider is left alone
        clock.advance(seconds=10)
        early = dispatch_due(db, provider, now=clock.now(), limit=ROUND, max_attempts=MAX_ATTEMPTS)
        assert early.claimed <= ROUND and fake.create_count() == early.sent
        with db.transaction() as session:
            first_round = session.scalars(
                select(Message.attempts).where(Message.id.in_(ids[:ROUND]))
            ).all()
        assert first_round == [1] * ROUND  # not one retried before its backoff ran out
        with db.transaction() as session:
            backed_off = session.scalars(
                select(Message.not_before).where(Message.attempts >= 1, Message.status == "queued")
            ).all()
        assert backed_off and all(nb > DEFAULT_NOW for nb in backed_off)
        rest = dispatch_rounds(db, provider, clock, rounds=20, minutes=10)
        creates = fake.creates()
        outcomes = fake.request_outcomes()

    statuses = check_all(db.engine, creates, expected_ids=ids)
    assert statuses["sent"] == WAVE, statuses
    assert len(creates) == WAVE
    assert outcomes.count("error:500") == 40 and outcomes.count("error:429") == 40
    with db.transaction() as session:
        retried = session.scalar(
            select(Message.id).where(Message.attempts > 1).limit(1).exists().select()
        )
        most = session.scalar(select(Message.attempts).order_by(Message.attempts.desc()).limit(1))
    assert retried and most is not None and most <= MAX_ATTEMPTS
    assert rest.failed == 0


def test_a_message_the_provider_may_have_accepted_is_never_resent(
    pg_url: str, pg_db: Database, provider_name: str
) -> None:
    """Dropped connections (after the provider created it) and answers slower than our
    timeout: the message is `uncertain` and stays so, however many dispatch rounds follow,
    until reconciliation asks the provider (tests/providers/test_faults.py)."""
    db = pg_db
    clock = FixedClock(DEFAULT_NOW)
    ids = queue_wave(db, 30, now=clock.now())
    with fake_provider(provider_name, callbacks=False) as fake:
        provider = provider_from_config(
            {**fake.settings(), "TWILIO_TIMEOUT_SECONDS": 0.5, "NOTIFY_TIMEOUT_SECONDS": 0.5}
        )
        fake.drop_next(2, after_create=True)
        fake.hang_next(2, seconds=1.0)
        fake.fail_next(3, status=503)
        dispatch_rounds(db, provider, clock, rounds=12, minutes=10)
        time.sleep(1.5)  # the hung requests create their messages after the hang
        creates = fake.creates()
        outcomes = fake.request_outcomes()

    statuses = check_all(db.engine, creates, expected_ids=ids)
    assert outcomes.count("dropped") == 2 and outcomes.count("hung") == 2
    assert statuses["uncertain"] == 4, statuses
    assert statuses["sent"] == 26, statuses
    # the four the provider took but never answered for: created exactly once each
    with db.transaction() as session:
        doubtful = session.execute(
            select(Message.to_number, Message.body).where(Message.status == "uncertain")
        ).all()
    for to, body in doubtful:
        assert fake.create_count(to=to, body=body) == 1
