"""The scheduler: the job table, run-once order, two schedulers at once sending nothing twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Message, Offer, OfferSlot, PhoneNumber
from app.domain.send_rate import TokenBucket
from app.services import campaigns
from app.settings import Settings
from app.sms.outbox_provider import OutboxProvider
from scheduler.jobs import JOBS, JobContext, run_once
from scheduler.runner import MISFIRE_GRACE_SECONDS, build_scheduler
from tests.builders import add_patient, add_practice, add_slot, queue_outbound
from tests.conftest import make_test_config

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def context(db: Database, at: datetime = NOW, worker: str = "test") -> JobContext:
    return JobContext(
        db=db,
        clock=FixedClock(at),
        settings=Settings(dispatch_max_attempts=5, dispatch_batch=25, retention_days=90),
        provider=OutboxProvider(),
        bucket=TokenBucket(None),
        worker_id=worker,
    )


def test_run_once_runs_every_job_in_dependency_order(db: Database) -> None:
    names = [name for name, _ in run_once(context(db))]
    assert names[:7] == [
        "replies",
        "expire_offers",
        "gpconnect_slots",
        "plan_waves",
        "no_reply_reminders",
        "appointment_reminders",
        "dispatch",
    ]
    assert set(names) == {job.name for job in JOBS}


def test_run_once_dispatches_what_is_queued(db: Database) -> None:
    with db.transaction() as session:
        queue_outbound(session, in_send_window=False)
    results = dict(run_once(context(db)))
    assert results["dispatch"].startswith("claimed 1, sent 1")
    assert results["outbox_receipts"] == "1 delivered"  # as a network would report it
    with db.transaction() as session:
        assert session.scalar(select(Message.status)) == "delivered"


def test_the_outbox_reports_delivery_and_fails_the_designated_test_numbers(
    db: Database,
) -> None:
    """07700 900002 fails for good (and is marked not textable), 07700 900003 fails for
    now, like GOV.UK Notify's test numbers; every other number is delivered."""
    with db.transaction() as session:
        for n in ("+447700900001", "+447700900002", "+447700900003"):
            queue_outbound(session, to=n, in_send_window=False, body=f"to {n}")
    results = dict(run_once(context(db)))
    assert results["outbox_receipts"] == "1 delivered, 1 permanent-failure, 1 temporary-failure"
    with db.transaction() as session:
        rows = dict(session.execute(select(Message.to_number, Message.status)).all())
        codes = dict(session.execute(select(Message.to_number, Message.error_code)).all())
        failing = session.get(PhoneNumber, "+447700900002")
        passing = session.get(PhoneNumber, "+447700900003")
    assert rows == {
        "+447700900001": "delivered",
        "+447700900002": "undelivered",
        "+447700900003": "undelivered",
    }
    assert codes["+447700900002"] == "permanent" and codes["+447700900003"] == "temporary"
    assert failing is not None and failing.not_textable_at is not None
    assert passing is None or passing.not_textable_at is None
    assert dict(run_once(context(db)))["outbox_receipts"] == "0"  # each reported once


def test_a_failing_job_is_reported_and_the_rest_still_run(db: Database) -> None:
    from scheduler.jobs import Job

    def broken(ctx: JobContext) -> str:
        raise RuntimeError("boom")

    jobs = (Job("broken", broken, "interval", {"minutes": 1}, 1), *JOBS)
    results = dict(run_once(context(db), jobs))
    assert results["broken"] == "FAILED: RuntimeError: boom"
    assert "dispatch" in results


def test_the_scheduler_coalesces_never_overlaps_and_tolerates_minutes_of_delay(app: Flask) -> None:
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.name for job in JOBS} | {"heartbeat"}
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS >= 60
    assert jobs["dispatch"].trigger.interval <= timedelta(seconds=5)


def test_a_started_scheduler_runs_every_job_at_once_in_dependency_order(app: Flask) -> None:
    before = datetime.now(UTC)
    jobs = build_scheduler(app).get_jobs()
    first_runs = [job.next_run_time for job in jobs]
    assert [job.id for job in jobs] == ["heartbeat"] + [job.name for job in JOBS]
    assert first_runs == sorted(first_runs)
    assert all(before <= at <= before + timedelta(seconds=len(JOBS) + 5) for at in first_runs)


def test_scheduler_run_once_command_prints_what_each_job_did(app: Flask) -> None:
    db: Database = app.extensions["nudge.db"]
    with db.transaction() as session:
        queue_outbound(session, in_send_window=False)
    result = app.test_cli_runner().invoke(args=["scheduler", "run-once"])
    assert result.exit_code == 0, result.output
    assert "dispatch: claimed 1, sent 1" in result.output
    assert "expire_offers:" in result.output


class _Inbox(OutboxProvider):
    """An outbox that also has received texts to give, as Notify's API does."""

    def received_texts(self) -> list[dict[str, str]]:
        return [
            {
                "id": "b1f7a6e2-0000-4000-8000-000000000001",
                "user_number": "447700900123",
                "notify_number": "447700900000",
                "content": "STOP",
                "created_at": "2026-01-14T09:59:00.000000Z",
            }
        ]


def test_the_received_texts_job_polls_only_a_provider_that_has_them_when_asked(
    db: Database,
) -> None:
    job = next(job for job in JOBS if job.name == "received_texts")
    asked = replace(context(db), settings=Settings(notify_poll_received_texts=True))
    assert job.run(asked) == "off"  # the outbox provider receives nothing
    assert job.run(replace(asked, provider=_Inbox(), settings=Settings())) == "off"  # not asked
    report = job.run(
        replace(
            asked,
            provider=_Inbox(),
            settings=replace(asked.settings, sms_from_number="+447700900000"),
        )
    )
    assert report != "off"
    with db.transaction() as session:
        stored = session.scalars(select(Message).where(Message.direction == "in")).all()
    assert [m.body for m in stored] == ["STOP"]


@pytest.mark.parametrize("command", [["scheduler", "run-once"], ["scheduler", "run"]])
def test_a_provider_it_cannot_send_with_is_one_line_not_a_traceback(
    db_url: str, tmp_path: Path, command: list[str]
) -> None:
    app = create_app(make_test_config(db_url, tmp_path, SMS_PROVIDER="notify"))
    result = app.test_cli_runner().invoke(args=command)
    app.extensions["nudge.db"].dispose()
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: Notify needs NUDGE_NOTIFY_API_KEY and NUDGE_NOTIFY_TEMPLATE_ID"
    ]


def test_messages_list_prints_the_conversation_oldest_first_as_json(app: Flask) -> None:
    db: Database = app.extensions["nudge.db"]
    with db.transaction() as session:
        queue_outbound(session, "+447700900001", "First", now=NOW - timedelta(minutes=2))
        queue_outbound(session, "+447700900002", "Other", now=NOW - timedelta(minutes=1))
        session.add(
            Message(
                direction="in",
                to_number="+447700900000",
                from_number="+447700900001",
                body="1",
                status="received",
                created_at=NOW,
            )
        )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["messages", "list", "--to", "07700 900001", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["direction"], r["body"], r["kind"]) for r in rows] == [
        ("out", "First", "invitation"),
        ("in", "1", ""),
    ]
    assert rows[0]["to"] == "+447700900001" and rows[1]["from"] == "+447700900001"
    assert rows[0]["from"] == app.config["SMS_FROM_NUMBER"]
    assert datetime.fromisoformat(rows[0]["created_at"]) == NOW - timedelta(minutes=2)
    assert {"status", "created_at"} <= set(rows[0])
    plain = runner.invoke(args=["messages", "list"])
    assert plain.output.count("\n") == 3 and "Other" in plain.output


def seed_approved_campaign(url: str) -> None:
    """60 eligible patients, 126 free slots, an approved campaign: a wave to plan and send."""
    setup = Database.from_url(url)
    with setup.transaction() as session:
        practice = add_practice(session, "F84003")
        for n in range(60):
            add_patient(session, practice, mobile=f"+447700900{n:03d}")
        for day in range(1, 8):
            for hour in (9, 10, 11, 14, 15, 16):
                for minute in (0, 20, 40):
                    start = datetime(2026, 1, 14 + day, hour, minute, tzinfo=UTC)
                    add_slot(session, practice, start)
    spec = campaigns.CampaignSpec(
        name="Race", practices=["F84003"], lawful_basis="Public task (test)", seed=1
    )
    campaign_id = campaigns.create(setup, spec, now=NOW, actor="tests")
    campaigns.approve(setup, campaign_id, now=NOW, actor="tests")
    setup.dispose()


def assert_nothing_sent_twice(url: str, outputs: list[str]) -> None:
    """By query: one invitation per offer, each handed over once, no slot in two offers."""
    setup = Database.from_url(url)
    with setup.transaction() as session:
        offers = session.scalar(select(func.count()).select_from(Offer))
        invitations = session.execute(
            select(Message.offer_id, func.count())
            .where(Message.kind.like("invitation%"))
            .group_by(Message.offer_id)
        ).all()
        handed_over_twice = session.scalar(
            select(func.count()).select_from(Message).where(Message.attempts > 1)
        )
        by_status = dict(
            session.execute(
                select(Message.status, func.count())
                .where(Message.direction == "out")
                .group_by(Message.status)
            ).all()
        )
        slots_in_two_open_offers = session.scalar(
            select(func.count()).select_from(
                select(OfferSlot.slot_id)
                .join(Offer, Offer.id == OfferSlot.offer_id)
                .where(Offer.state == "open")
                .group_by(OfferSlot.slot_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
    setup.dispose()
    assert not any("FAILED" in out for out in outputs), outputs
    assert offers and offers > 0, outputs
    assert all(count == 1 for _, count in invitations)
    assert len(invitations) == offers
    assert handed_over_twice == 0
    # handed to the provider once each; the outbox provider then reports them delivered
    handed = {"sent", "delivered"}
    assert sum(by_status.get(s, 0) for s in handed) == offers, by_status
    assert set(by_status) <= handed, by_status
    assert slots_in_two_open_offers == 0


def test_two_schedulers_running_at_once_send_nothing_twice(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every job is safe with two schedulers at once (threads: two apps)."""
    seed_approved_campaign(pg_url)
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    apps = [create_app(make_test_config(pg_url, tmp_path), clock=FixedClock(NOW)) for _ in range(2)]
    barrier = threading.Barrier(2)
    outputs: list[str] = []
    errors: list[BaseException] = []

    def scheduler_process(application: Flask) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                result = application.test_cli_runner().invoke(
                    args=["scheduler", "run-once"], catch_exceptions=False
                )
                outputs.append(result.output)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler_process, args=(a,)) for a in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for application in apps:
        application.extensions["nudge.db"].dispose()

    assert errors == [], errors
    assert_nothing_sent_twice(pg_url, outputs)


def test_two_scheduler_processes_running_at_once_send_nothing_twice(
    pg_url: str, tmp_path: Path
) -> None:
    """The same, as two real `flask scheduler run-once` processes started together."""
    seed_approved_campaign(pg_url)
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "NUDGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "NUDGE_DATABASE_URL": pg_url,
        "NUDGE_ENV": "testing",
        "NUDGE_SEND_RATE_PER_SECOND": "1000",
    }
    command = [
        sys.executable, "-m", "flask", "--app", "app", "scheduler", "run-once",
        "--now", NOW.isoformat(),
    ]  # fmt: skip
    outputs: list[str] = []
    for _ in range(2):
        processes = [
            subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        for process in processes:
            out, _ = process.communicate(timeout=300)
            assert process.returncode == 0, out
            outputs.append(out)
    assert any("dispatch: claimed" in out and "sent 0," not in out for out in outputs), outputs
    assert_nothing_sent_twice(pg_url, outputs)


def test_a_rate_limited_dispatch_tick_claims_only_what_the_rate_lets_out(db: Database) -> None:
    from scheduler.jobs import DISPATCH_TICK_SECONDS, dispatch

    with db.transaction() as session:
        for n in range(40):
            queue_outbound(session, f"+447700900{n:03d}", in_send_window=False)
    ctx = context(db)
    ctx.bucket = TokenBucket(5, burst=100)  # 5/s: a 3 s tick lets out 15
    ctx.dispatch_budget = 0.0  # one batch, then yield to the next tick
    assert dispatch(ctx).startswith(f"claimed {5 * DISPATCH_TICK_SECONDS}, ")
