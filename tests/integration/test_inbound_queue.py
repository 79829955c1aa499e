"""The inbound queue: the webhook stores a text, the replies job acts on it once, in order."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Booking, Conversation, Message
from app.domain.send_rate import TokenBucket
from app.services import replies
from app.services.replies import process_inbound, receive_inbound
from app.settings import Settings
from app.sms.outbox_provider import OutboxProvider
from scheduler.jobs import JOBS, JobContext, run_once
from tests.builders import add_open_offer, add_patient, add_practice, handle_inbound

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
SETTINGS = Settings.from_config(
    {"PUBLIC_BASE_URL": "https://nudge.example.test", "SMS_FROM_NUMBER": "+447700900000"}
)
MOBILE = "+447700900001"
_sids = itertools.count(1)


def receive(db: Database, body: str, *, number: str = MOBILE, sid: str | None = None) -> bool:
    return receive_inbound(
        db,
        message_sid=sid or f"SM{next(_sids):032x}",
        from_number=number,
        to_number="+447700900000",
        body=body,
        now=NOW,
    )


def count(db: Database, *where) -> int:  # type: ignore[no-untyped-def]
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Message).where(*where)) or 0


def pending(db: Database) -> int:
    return count(db, Message.direction == "in", Message.processed_at.is_(None))


def test_a_received_text_is_stored_once_and_waits_for_the_replies_job(db):
    with db.transaction() as session:
        add_open_offer(session, mobile=MOBILE, now=NOW)
    assert receive(db, "2", sid="SMonce") is True
    assert receive(db, "2", sid="SMonce") is False  # Twilio's retry of the same SID
    assert pending(db) == 1
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 0
        assert session.scalar(select(Message.intent).where(Message.direction == "in")) == "choice"
    assert process_inbound(db, now=NOW, settings=SETTINGS) == 1
    assert process_inbound(db, now=NOW, settings=SETTINGS) == 0  # acted on once
    assert pending(db) == 0
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 1
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert inbound.processed_at == NOW and inbound.patient_id is not None


def test_texts_from_one_number_are_acted_on_in_the_order_they_arrived(db):
    with db.transaction() as session:
        add_open_offer(session, mobile=MOBILE, now=NOW)
    receive(db, "NO")  # declines first, so the later "1" finds no open offer
    receive(db, "1")
    assert process_inbound(db, now=NOW, settings=SETTINGS) == 2
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 0
        kinds = session.scalars(
            select(Message.body).where(Message.direction == "out").order_by(Message.id)
        ).all()
    assert len(kinds) == 2 and "no" in kinds[0].lower()


def test_the_limit_bounds_one_run_and_the_next_run_carries_on(db):
    with db.transaction() as session:
        practice = add_practice(session)
        for i in range(5):
            add_patient(session, practice, mobile=f"+4477009001{i:02d}")
    for i in range(5):
        receive(db, "what?", number=f"+4477009001{i:02d}")
    assert process_inbound(db, now=NOW, settings=SETTINGS, limit=3) == 3
    assert pending(db) == 2
    assert process_inbound(db, now=NOW, settings=SETTINGS, limit=3) == 2
    assert pending(db) == 0


def test_handle_inbound_receives_and_acts_at_once_for_synchronous_callers(db):
    with db.transaction() as session:
        add_open_offer(session, mobile=MOBILE, now=NOW)
    receive(db, "what?")  # stored by the webhook, not yet acted on
    result = handle_inbound(
        db,
        message_sid="SMsync",
        from_number=MOBILE,
        to_number="+447700900000",
        body="3",
        now=NOW,
        settings=SETTINGS,
    )
    assert result.action == "booked" and not result.duplicate
    assert pending(db) == 0  # the earlier text was acted on first, in order
    with db.sessions() as session:
        assert session.scalar(select(Conversation.unclear_streak)) == 0


def test_the_replies_job_runs_first_and_its_answer_is_sent_in_the_same_run(db):
    with db.transaction() as session:
        add_open_offer(session, mobile=MOBILE, now=NOW)
    receive(db, "1")
    ctx = JobContext(
        db=db,
        clock=FixedClock(NOW),
        settings=replace(SETTINGS, dispatch_max_attempts=5, dispatch_batch=25),
        provider=OutboxProvider(),
        bucket=TokenBucket(None),
        worker_id="test",
    )
    results = run_once(ctx)
    assert results[0][0] == "replies" and results[0][1].startswith("acted on 1 inbound")
    job = next(j for j in JOBS if j.name == "replies")
    assert job.trigger == "interval" and job.trigger_args == {"seconds": 1}
    with db.sessions() as session:
        statuses = session.scalars(
            select(Message.status).where(Message.kind == "confirmation")
        ).all()
    assert statuses == ["delivered"]  # sent in the same run, then the receipt came


# --- two replies jobs at once (PostgreSQL) --------------------------------------------


@pytest.fixture
def pg_db(pg_url: str):
    database = Database.from_url(pg_url, pool_size=6)
    yield database
    database.dispose()


@pytest.mark.postgres
def test_two_replies_jobs_at_once_act_on_each_text_once_and_in_order_per_number(pg_db, monkeypatch):
    numbers = [f"+4477009002{i:02d}" for i in range(30)]
    per_number = 4
    with pg_db.transaction() as session:
        practice = add_practice(session)
        for number in numbers:
            add_patient(session, practice, mobile=number)
    for body in ("what?", "eh?", "pardon?", "sorry?")[:per_number]:
        for number in numbers:
            receive(pg_db, body, number=number)

    acted_order: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()
    real_act = replies._act

    def recording_act(session, message, conversation, **kw):  # type: ignore[no-untyped-def]
        result = real_act(session, message, conversation, **kw)
        with lock:
            acted_order[message.from_number].append(message.id)
        return result

    monkeypatch.setattr(replies, "_act", recording_act)
    barrier = threading.Barrier(2)

    def worker(_: int) -> int:
        barrier.wait(timeout=10)
        total = 0
        while acted := process_inbound(pg_db, now=NOW, settings=SETTINGS, limit=25):
            total += acted
        return total

    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = list(pool.map(worker, range(2)))
    # a text left for later by one worker is acted on by the other or the next run
    totals.append(process_inbound(pg_db, now=NOW, settings=SETTINGS))
    assert sum(totals) == len(numbers) * per_number
    assert pending(pg_db) == 0
    for number in numbers:
        ids = acted_order[number]
        assert len(ids) == per_number and ids == sorted(ids), (number, ids)
    with pg_db.sessions() as session:
        streaks = set(session.scalars(select(Conversation.unclear_streak)))
        answers = session.execute(
            text(
                "SELECT count(*), count(DISTINCT dedupe_key) FROM message "
                "WHERE direction = 'out' AND dedupe_key LIKE 'reply:%'"
            )
        ).one()
    assert streaks == {per_number}  # every text counted once, one after the other
    assert answers[0] == answers[1] == len(numbers) * per_number


@pytest.mark.postgres
def test_a_later_text_waits_while_an_earlier_one_from_that_number_is_claimed(pg_db):
    with pg_db.transaction() as session:
        practice = add_practice(session)
        add_patient(session, practice, mobile=MOBILE)
        add_patient(session, practice, mobile="+447700900002")
    receive(pg_db, "what?")
    receive(pg_db, "what now?")
    receive(pg_db, "hello?", number="+447700900002")
    with pg_db.engine.connect() as holder:
        first_id = holder.scalar(text("SELECT min(id) FROM message"))
        holder.execute(text("SELECT id FROM message WHERE id = :id FOR UPDATE"), {"id": first_id})
        # the first text is claimed by a worker that has not committed: the other number
        # is acted on, this number's second text is left for later, not acted out of turn
        assert process_inbound(pg_db, now=NOW, settings=SETTINGS) == 1
        holder.rollback()
    assert pending(pg_db) == 2
    assert process_inbound(pg_db, now=NOW, settings=SETTINGS) == 2
    assert pending(pg_db) == 0


def test_each_stop_is_recorded_at_the_time_it_was_received_not_when_the_job_ran(db):
    """The replies job's `now` is when it started; texts keep arriving while it works, and a
    confirmation sent between its start and a STOP's arrival was sent before the STOP."""
    from datetime import timedelta

    from app.data.models import PhoneNumber
    from tests.faults.invariants import check_nobody_texted_after_stop

    early, late = "+447700900011", "+447700900012"
    with db.transaction() as session:
        practice = add_practice(session)
        for number in (early, late):
            add_patient(session, practice, mobile=number)
        session.add(
            Message(
                direction="out",
                kind="confirmation",
                to_number=late,
                body="Booked: Mon 19 Jan 09:00",
                status="sent",
                sent_at=NOW + timedelta(seconds=1),
                created_at=NOW,
            )
        )
    for number, at in ((early, NOW - timedelta(seconds=3)), (late, NOW + timedelta(seconds=2))):
        receive_inbound(
            db,
            message_sid=f"SM{next(_sids):032x}",
            from_number=number,
            to_number="+447700900000",
            body="STOP",
            now=at,
        )
    assert process_inbound(db, now=NOW, settings=SETTINGS) == 2
    with db.sessions() as session:
        opted = {
            p.number: p.opted_out_at.replace(tzinfo=UTC)
            for p in session.scalars(select(PhoneNumber))
        }
    assert opted == {early: NOW - timedelta(seconds=3), late: NOW + timedelta(seconds=2)}
    check_nobody_texted_after_stop(db.engine)
