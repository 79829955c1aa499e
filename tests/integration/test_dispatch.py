"""The dispatcher: at most once, nothing lost, the send window, caps, and STOP honoured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from app.data.db import Database
from app.data.models import Message, StatusEvent
from app.services import numbers
from app.services.dispatch import dispatch_due
from app.services.reconciliation import recover_stale_claims
from app.sms.outbox_provider import OutboxProvider
from app.sms.provider import OutgoingSms, SendResult, TemporaryFailure
from tests.builders import add_sending_campaign, queue_outbound

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)  # a Wednesday, inside 09:00-19:00
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class RecordingProvider:
    """Hands back a SID and remembers every message it was given, thread-safely."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[int] = []
        self._lock = threading.Lock()

    def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
        with self._lock:
            self.sent.append(sms.message_id)
            return SendResult(provider_sid=f"RC{sms.message_id:010d}")


def statuses(db: Database) -> dict[int, str]:
    with db.transaction() as session:
        return {i: s for i, s in session.execute(select(Message.id, Message.status))}


def test_a_due_message_is_sent_once_and_keeps_the_provider_sid(db: Database) -> None:
    with db.transaction() as session:
        message_id = queue_outbound(session, campaign=add_sending_campaign(session)).id

    report = dispatch_due(db, OutboxProvider(), now=NOW)
    again = dispatch_due(db, OutboxProvider(), now=NOW + timedelta(minutes=1))

    assert (report.claimed, report.sent, again.claimed) == (1, 1, 0)
    with db.transaction() as session:
        row = session.get_one(Message, message_id)
        assert row.status == "sent"
        assert row.provider_sid is not None and row.provider_sid.startswith("OB")
        assert row.sent_at == NOW and row.attempts == 1 and row.claimed_by


def test_messages_not_yet_due_wait(db: Database) -> None:
    with db.transaction() as session:
        queue_outbound(session, not_before=NOW + timedelta(hours=1))
    assert dispatch_due(db, RecordingProvider(), now=NOW).claimed == 0
    assert dispatch_due(db, RecordingProvider(), now=NOW + timedelta(hours=1)).sent == 1


def test_replies_go_at_any_hour_but_invitations_wait_for_the_window(db: Database) -> None:
    night = datetime(2026, 1, 14, 23, 30, tzinfo=UTC)
    with db.transaction() as session:
        campaign = add_sending_campaign(session)
        invite = queue_outbound(session, campaign=campaign, now=night).id
        reply = queue_outbound(
            session, "+447700900002", "Booked", kind="confirmation", now=night, in_send_window=False
        ).id
    provider = RecordingProvider()

    dispatch_due(db, provider, now=night)
    assert provider.sent == [reply]
    assert statuses(db)[invite] == "queued"

    dispatch_due(db, provider, now=datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    assert provider.sent == [reply, invite]


def test_replies_are_dispatched_before_waiting_invitations(db: Database) -> None:
    with db.transaction() as session:
        campaign = add_sending_campaign(session)
        for n in range(3):
            queue_outbound(
                session, f"+44770090010{n}", campaign=campaign, now=NOW - timedelta(hours=1)
            )
        reply = queue_outbound(
            session, "+447700900200", "Reply", kind="reply", in_send_window=False
        ).id
    provider = RecordingProvider()
    dispatch_due(db, provider, now=NOW, limit=1)
    assert provider.sent == [reply]


def test_quiet_hours_hold_across_the_spring_clock_change(db: Database) -> None:
    # Sat 28 Mar 2026 19:30 GMT (closed); clocks go forward Sun 29; Mon 30 opens 09:00 BST
    with db.transaction() as session:
        campaign = add_sending_campaign(session, days="mon-sat")
        message_id = queue_outbound(
            session, campaign=campaign, now=datetime(2026, 3, 28, 19, 30, tzinfo=UTC)
        ).id
    provider = RecordingProvider()
    for at in (
        datetime(2026, 3, 28, 19, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 12, 0, tzinfo=UTC),  # Sunday
        datetime(2026, 3, 30, 7, 59, tzinfo=UTC),  # 08:59 BST
    ):
        dispatch_due(db, provider, now=at)
        assert provider.sent == [], at
    dispatch_due(db, provider, now=datetime(2026, 3, 30, 8, 0, tzinfo=UTC))  # 09:00 BST
    assert provider.sent == [message_id]


def test_quiet_hours_hold_across_the_autumn_clock_change(db: Database) -> None:
    # clocks go back Sun 25 Oct 2026; window 09:00-19:00 every day
    with db.transaction() as session:
        campaign = add_sending_campaign(session, days="mon-sun")
        message_id = queue_outbound(
            session, campaign=campaign, now=datetime(2026, 10, 24, 18, 30, tzinfo=UTC)
        ).id
    provider = RecordingProvider()
    dispatch_due(db, provider, now=datetime(2026, 10, 24, 18, 30, tzinfo=UTC))  # 19:30 BST
    dispatch_due(db, provider, now=datetime(2026, 10, 25, 8, 30, tzinfo=UTC))  # 08:30 GMT
    assert provider.sent == []
    dispatch_due(db, provider, now=datetime(2026, 10, 25, 9, 0, tzinfo=UTC))  # 09:00 GMT
    assert provider.sent == [message_id]


def test_nothing_is_sent_on_a_bank_holiday(db: Database) -> None:
    bank_holiday = datetime(2026, 5, 25, 11, 0, tzinfo=UTC)
    with db.transaction() as session:
        queue_outbound(session, campaign=add_sending_campaign(session), now=bank_holiday)
    provider = RecordingProvider()
    dispatch_due(db, provider, now=bank_holiday)
    assert provider.sent == []
    dispatch_due(db, provider, now=bank_holiday + timedelta(days=1))
    assert len(provider.sent) == 1


def test_a_paused_campaign_holds_its_invitations_but_not_its_replies(db: Database) -> None:
    with db.transaction() as session:
        campaign = add_sending_campaign(session, state="paused")
        queue_outbound(session, campaign=campaign)
        reply = queue_outbound(
            session, "+447700900009", "Help", kind="help", campaign=campaign, in_send_window=False
        ).id
    provider = RecordingProvider()
    dispatch_due(db, provider, now=NOW)
    assert provider.sent == [reply]


def test_an_expired_message_is_cancelled_not_sent(db: Database) -> None:
    with db.transaction() as session:
        message_id = queue_outbound(session, expires_at=NOW - timedelta(minutes=1)).id
    provider = RecordingProvider()
    report = dispatch_due(db, provider, now=NOW)
    assert provider.sent == [] and report.cancelled == 1
    assert statuses(db)[message_id] == "cancelled"


def test_numbers_that_opted_out_get_only_the_opt_out_acknowledgement(db: Database) -> None:
    with db.transaction() as session:
        invite = queue_outbound(session, "+447700900005", "Invitation").id
        numbers.opt_out(session, "+447700900005", now=NOW, word="STOP", source="sms")
        # queued after the opt-out (a race the dispatcher must still catch)
        late = queue_outbound(session, "+447700900005", "Reminder", kind="reminder").id
        ack = queue_outbound(
            session,
            "+447700900005",
            "You will get no more texts",
            kind="stop_ack",
            in_send_window=False,
        ).id
        blocked = queue_outbound(session, "+447700900006", "To a landline").id
        numbers.mark_not_textable(session, "+447700900006", now=NOW, reason="test")
        blocked_late = queue_outbound(session, "+447700900006", "Again").id
    provider = RecordingProvider()
    dispatch_due(db, provider, now=NOW)
    assert provider.sent == [ack]
    final = statuses(db)
    assert [final[i] for i in (invite, late, blocked, blocked_late)] == ["cancelled"] * 4


def test_stop_arriving_after_the_claim_stops_the_rest_of_the_batch(db: Database) -> None:
    with db.transaction() as session:
        first = queue_outbound(session, "+447700900007", "One").id
        second = queue_outbound(session, "+447700900007", "Two").id

    class StopAfterFirst(RecordingProvider):
        def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
            result = super().send(sms, now)
            with db.transaction() as session:  # STOP lands while the batch is in flight
                numbers.opt_out(session, sms.to, now=now, word="STOP", source="sms")
            return result

    provider = StopAfterFirst()
    report = dispatch_due(db, provider, now=NOW)
    assert provider.sent == [first]
    assert (report.claimed, report.sent, report.cancelled) == (2, 1, 1)
    assert statuses(db)[second] == "cancelled"


def test_temporary_failures_retry_with_backoff_then_finish(db: Database) -> None:
    with db.transaction() as session:
        message_id = queue_outbound(session).id

    class FlakyProvider(RecordingProvider):
        failures = 2

        def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
            if self.failures:
                self.failures -= 1
                raise TemporaryFailure("503", "503")
            return super().send(sms, now)

    provider = FlakyProvider()
    at = NOW
    first = dispatch_due(db, provider, now=at)
    assert first.retried == 1
    with db.transaction() as session:
        row = session.get_one(Message, message_id)
        assert row.status == "queued" and row.not_before is not None
        assert NOW + timedelta(seconds=15) <= row.not_before <= NOW + timedelta(seconds=30)
    assert dispatch_due(db, provider, now=at + timedelta(seconds=5)).claimed == 0  # backing off
    for _ in range(5):
        at += timedelta(minutes=5)
        dispatch_due(db, provider, now=at)
    assert provider.sent == [message_id]
    with db.transaction() as session:
        row = session.get_one(Message, message_id)
        assert (row.status, row.attempts) == ("sent", 3)


def test_a_message_that_keeps_failing_stops_at_the_attempt_limit(db: Database) -> None:
    with db.transaction() as session:
        message_id = queue_outbound(session).id

    class Down:
        name = "down"
        calls = 0

        def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
            Down.calls += 1
            raise TemporaryFailure("down", "500")

    at = NOW
    for _ in range(10):
        dispatch_due(db, Down(), now=at, max_attempts=3)
        at += timedelta(hours=2)
    assert Down.calls == 3
    with db.transaction() as session:
        row = session.get_one(Message, message_id)
        assert (row.status, row.error_code, row.attempts) == ("failed", "500", 3)


def test_one_number_gets_at_most_20_identical_messages_an_hour(db: Database) -> None:
    with db.transaction() as session:
        for n in range(25):
            queue_outbound(session, body="Same words", dedupe_key=f"same:{n}")
        for n in range(3):
            queue_outbound(session, body=f"Different {n}")
    provider = RecordingProvider()
    report = dispatch_due(db, provider, now=NOW, limit=100)
    assert (report.sent, report.held) == (23, 5)
    # held until the hour allows: not_before is when the first of those 20 is an hour old
    with db.transaction() as session:
        waiting = session.scalars(select(Message.not_before).where(Message.status == "queued"))
        assert set(waiting) == {NOW + timedelta(hours=1)}
    assert dispatch_due(db, provider, now=NOW + timedelta(minutes=59)).sent == 0
    assert dispatch_due(db, provider, now=NOW + timedelta(minutes=60)).sent == 5


def test_one_number_gets_at_most_100_messages_an_hour(db: Database) -> None:
    with db.transaction() as session:
        session.execute(
            insert(Message),
            [
                {
                    "direction": "out",
                    "kind": "reply",
                    "to_number": "+447700900011",
                    "body": f"Message {n}",
                    "status": "queued",
                    "in_send_window": False,
                    "not_before": NOW,
                    "created_at": NOW,
                }
                for n in range(110)
            ],
        )
    report = dispatch_due(db, RecordingProvider(), now=NOW, limit=200)
    assert (report.sent, report.held) == (100, 10)


def test_recover_stale_claims_marks_only_old_sending_rows_uncertain(db: Database) -> None:
    with db.transaction() as session:
        old = queue_outbound(session, "+447700900021", "Old").id
        fresh = queue_outbound(session, "+447700900022", "Fresh").id
        session.execute(
            Message.__table__.update()
            .where(Message.id == old)
            .values(status="sending", claimed_at=NOW - timedelta(minutes=30), claimed_by="dead")
        )
        session.execute(
            Message.__table__.update()
            .where(Message.id == fresh)
            .values(status="sending", claimed_at=NOW - timedelta(seconds=30), claimed_by="alive")
        )
    assert recover_stale_claims(db, now=NOW, older_than=timedelta(minutes=10)) == 1
    assert statuses(db) == {old: "uncertain", fresh: "sending"}


VICTIM = """
import sys, time
from datetime import datetime
from app.data.db import Database
from app.services.dispatch import dispatch_due

url, marker, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])

class Stalls:
    name = "stalls"
    def send(self, sms, now):
        with open(marker, "w") as f:
            f.write(str(sms.message_id))
        time.sleep(600)  # killed here: the request is out, the answer never recorded

dispatch_due(Database.from_url(url), Stalls(), now=now, limit=3, worker_id="victim")
"""


def test_a_dispatcher_killed_between_claim_and_send_leaves_uncertain_not_resent(
    db: Database, tmp_path: Path
) -> None:
    with db.transaction() as session:
        ids = [queue_outbound(session, f"+44770090030{n}", f"Message {n}").id for n in range(5)]
    marker = tmp_path / "handed-over"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    url = db.engine.url.render_as_string(hide_password=False)
    victim = subprocess.Popen(
        [sys.executable, "-c", VICTIM, url, str(marker), NOW.isoformat()], env=env, cwd=PROJECT_ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() or not marker.read_text():
            assert victim.poll() is None, "the victim dispatcher exited early"
            assert time.monotonic() < deadline, "the victim never reached the provider"
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
    finally:
        victim.wait(timeout=30)
    handed_over = int(marker.read_text())

    # a restarted dispatcher neither resends nor loses anything
    provider = RecordingProvider()
    dispatch_due(db, provider, now=NOW + timedelta(minutes=1))
    recover_stale_claims(db, now=NOW + timedelta(minutes=15), older_than=timedelta(minutes=10))
    dispatch_due(db, provider, now=NOW + timedelta(minutes=16))

    final = statuses(db)
    assert final[handed_over] == "uncertain"
    assert handed_over not in provider.sent
    claimed_by_victim = [i for i in ids if final[i] == "uncertain"]
    assert len(claimed_by_victim) == 3  # its whole claimed batch: fate unknown to us
    assert sorted(provider.sent) == sorted(set(ids) - set(claimed_by_victim))


def test_two_dispatchers_racing_hand_each_message_to_the_provider_once(pg_url: str) -> None:
    total = 3000
    setup = Database.from_url(pg_url)
    with setup.transaction() as session:
        session.execute(
            insert(Message),
            [
                {
                    "direction": "out",
                    "kind": "reply",
                    "to_number": f"+447700900{n % 1000:03d}",
                    "body": f"Message {n}",
                    "status": "queued",
                    "in_send_window": False,
                    "not_before": NOW,
                    "created_at": NOW,
                }
                for n in range(total)
            ],
        )
    provider = RecordingProvider()
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def dispatcher(name: str) -> None:
        db = Database.from_url(pg_url)
        try:
            start.wait()
            while dispatch_due(db, provider, now=NOW, limit=37, worker_id=name).claimed:
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=dispatcher, args=(f"d{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert errors == []
    assert max(Counter(provider.sent).values()) == 1
    assert len(provider.sent) == total
    with setup.transaction() as session:
        by_status = dict(
            session.execute(select(Message.status, func.count()).group_by(Message.status)).all()
        )
        distinct_sids = session.scalar(select(func.count(func.distinct(Message.provider_sid))))
        workers = session.scalar(select(func.count(func.distinct(Message.claimed_by))))
    assert by_status == {"sent": total}
    assert distinct_sids == total
    assert workers is not None and workers > 1  # they really raced
    setup.dispose()


def test_a_status_callback_that_beats_the_recorded_sid_is_applied(db: Database) -> None:
    from app.services import delivery

    with db.transaction() as session:
        message_id = queue_outbound(session).id

    class FastCallbacks(RecordingProvider):
        def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
            result = super().send(sms, now)
            delivery.record_status(
                db, message_sid=result.provider_sid, status="delivered", error_code=None, now=now
            )
            return result

    dispatch_due(db, FastCallbacks(), now=NOW)
    assert statuses(db)[message_id] == "delivered"


def test_a_callback_that_raced_the_sid_is_applied_by_the_next_reconciliation(db: Database) -> None:
    from app.services.reconciliation import reconcile_early_callbacks

    with db.transaction() as session:
        message_id = queue_outbound(session).id
    dispatch_due(db, RecordingProvider(), now=NOW)
    sid = f"RC{message_id:010d}"
    with db.transaction() as session:  # as if the webhook had stored it before the SID
        session.add(
            StatusEvent(provider_sid=sid, status="failed", error_code="21610", received_at=NOW)
        )
    assert statuses(db)[message_id] == "sent"

    assert reconcile_early_callbacks(db, now=NOW) == 1
    assert statuses(db)[message_id] == "failed"
    assert reconcile_early_callbacks(db, now=NOW) == 0
