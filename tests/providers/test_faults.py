"""Provider faults, the same for each provider: outages back off and recover, and a
message whose fate is unknown is settled by the provider's own record, never a guess."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Message
from app.services.claims import claim_due
from app.services.dispatch import DispatchReport, dispatch_due
from app.services.reconciliation import (
    reconcile_uncertain,
    recover_and_reconcile,
    recover_stale_claims,
)
from app.sms import provider_from_config
from app.sms.provider import OutgoingSms, SmsProvider
from tests.builders import queue_outbound
from tests.fakes.providers import FakeProvider
from tests.faults.invariants import check_all

WAVE = 24
# a message the provider has: sent, and delivered once its receipt came back
HANDED = {"sent", "delivered"}


def queue(db: Database, clock: FixedClock, count: int = WAVE) -> list[int]:
    with db.transaction() as session:
        return [
            queue_outbound(
                session,
                f"+4477009006{i:02d}",
                f"Your NHS Health Check: message {i}",
                now=clock.now(),
                in_send_window=False,
            ).id
            for i in range(count)
        ]


def provider(app: Flask, timeout: float = 5.0) -> SmsProvider:
    return provider_from_config(
        {**app.config, "TWILIO_TIMEOUT_SECONDS": timeout, "NOTIFY_TIMEOUT_SECONDS": timeout}
    )


def statuses(db: Database) -> dict[int, str]:
    with db.sessions() as session:
        return {row.id: row.status for row in session.execute(select(Message.id, Message.status))}


def drain(db: Database, sender: SmsProvider, clock: FixedClock, rounds: int = 12) -> DispatchReport:
    total = DispatchReport()
    for _ in range(rounds):
        total.add(dispatch_due(db, sender, now=clock.now(), max_attempts=8))
        clock.advance(minutes=10)
    return total


def test_500s_and_429s_back_off_then_every_message_is_sent_once(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider
) -> None:
    ids = queue(db, clock)
    fake.fail_next(10, status=500)
    fake.fail_next(10, status=429)
    sender = provider(app)
    first = dispatch_due(db, sender, now=clock.now(), limit=WAVE)
    assert first.sent == WAVE - 20 and first.retried == 20
    clock.advance(seconds=5)  # inside every backoff: nothing is retried early
    assert dispatch_due(db, sender, now=clock.now()).claimed == 0
    drain(db, sender, clock)
    outcomes = fake.request_outcomes()
    assert outcomes.count("error:500") == 10 and outcomes.count("error:429") == 10
    assert set(statuses(db).values()) <= HANDED
    check_all(db.engine, fake.creates(), expected_ids=ids)
    assert len(fake.creates()) == WAVE


def test_a_timeout_after_the_provider_took_it_is_found_there_and_not_resent(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider
) -> None:
    ids = queue(db, clock, 3)
    fake.hang_next(1, seconds=1.0)
    sender = provider(app, timeout=0.3)
    report = dispatch_due(db, sender, now=clock.now())
    assert report.uncertain == 1 and report.sent == 2
    fake.wait_for_callbacks(timeout=5)  # the hung request creates its message
    # before the provider's record has settled nothing is decided
    assert reconcile_uncertain(db, sender, now=clock.now()).sent == 0
    clock.advance(minutes=30)
    settled = reconcile_uncertain(db, sender, now=clock.now())
    assert (settled.sent, settled.requeued) == (1, 0)
    drain(db, sender, clock, rounds=2)
    assert set(statuses(db).values()) <= HANDED
    assert len(fake.creates()) == 3
    check_all(db.engine, fake.creates(), expected_ids=ids)
    with db.sessions() as session:
        sids = set(session.scalars(select(Message.provider_sid)))
    assert sids == {c.sid for c in fake.creates()}


def test_a_connection_dropped_before_the_provider_took_it_is_queued_again_and_sent_once(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider
) -> None:
    ids = queue(db, clock, 3)
    fake.drop_next(1, after_create=False)
    sender = provider(app)
    assert dispatch_due(db, sender, now=clock.now()).uncertain == 1
    clock.advance(minutes=30)
    settled = reconcile_uncertain(db, sender, now=clock.now())
    assert (settled.sent, settled.requeued) == (0, 1)
    drain(db, sender, clock, rounds=2)
    assert set(statuses(db).values()) <= HANDED
    assert len(fake.creates()) == 3
    check_all(db.engine, fake.creates(), expected_ids=ids)


def test_doubts_stay_uncertain_while_the_provider_cannot_be_asked(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider
) -> None:
    queue(db, clock, 3)
    fake.drop_next(3, after_create=True)
    sender = provider(app)
    assert dispatch_due(db, sender, now=clock.now()).uncertain == 3
    clock.advance(minutes=30)
    fake.fail_next(1, status=503)  # the first look-up fails: the rest wait for next run
    down = reconcile_uncertain(db, sender, now=clock.now())
    assert (down.sent, down.requeued, down.unreachable) == (0, 0, 3)
    assert set(statuses(db).values()) == {"uncertain"}
    back = reconcile_uncertain(db, sender, now=clock.now())
    assert back.sent == 3 and set(statuses(db).values()) <= HANDED
    assert len(fake.creates()) == 3


def test_a_dispatcher_that_died_mid_batch_is_reconciled_with_none_lost_or_doubled(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider
) -> None:
    """The claim, then half the batch handed over, then death before any was recorded."""
    ids = queue(db, clock)
    sender = provider(app)
    claimed, _ = claim_due(db, now=clock.now(), limit=WAVE, worker_id="doomed")
    assert len(claimed) == WAVE
    for sms in claimed[: WAVE // 2]:
        sender.send(OutgoingSms(sms.id, sms.to, sms.body), clock.now())
    clock.advance(minutes=30)
    stale, settled = recover_and_reconcile(
        db, sender, now=clock.now(), older_than=timedelta(minutes=10)
    )
    assert stale == WAVE
    assert (settled.sent, settled.requeued, settled.unreachable) == (WAVE // 2, WAVE // 2, 0)
    drain(db, sender, clock, rounds=2)
    assert set(statuses(db).values()) <= HANDED
    assert len(fake.creates()) == WAVE
    check_all(db.engine, fake.creates(), expected_ids=ids)


@pytest.mark.parametrize("older", [timedelta(minutes=1)])
def test_a_claim_younger_than_the_stale_limit_is_left_to_its_dispatcher(
    app: Flask, db: Database, clock: FixedClock, fake: FakeProvider, older: timedelta
) -> None:
    queue(db, clock, 2)
    claim_due(db, now=clock.now(), limit=2, worker_id="alive")
    clock.advance(seconds=30)
    assert recover_stale_claims(db, now=clock.now(), older_than=older) == 0
    assert set(statuses(db).values()) == {"sending"}
