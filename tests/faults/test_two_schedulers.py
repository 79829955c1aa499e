"""Fault 2: two scheduler processes run the same jobs at once, round after round, for a
whole campaign (waves, expiry, re-invitations, bookings, dispatch)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.data.db import Database
from app.data.models import Message, Offer
from app.settings import Settings
from tests.builders import (
    add_free_slots,
    add_patient,
    add_practice,
    approved_campaign,
    clinic_starts,
    handle_inbound,
)
from tests.conftest import DEFAULT_NOW
from tests.fakes.twilio_server import FakeTwilio
from tests.faults import dispatch_worker
from tests.faults.invariants import check_all
from tests.faults.wave import creates_of, mobile

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 90
# Wednesday 10:00; Friday 12:00 (the first holds have expired); the next Monday 10:00
ROUNDS = [DEFAULT_NOW, DEFAULT_NOW + timedelta(hours=50), DEFAULT_NOW + timedelta(days=5)]


def scheduler_env(pg_url: str, fake: FakeTwilio, instance: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "NUDGE_INSTANCE_PATH": str(instance),
            "NUDGE_DATABASE_URL": pg_url,
            "NUDGE_ENV": "testing",
            "NUDGE_SMS_PROVIDER": "twilio",
            "NUDGE_TWILIO_API_BASE_URL": fake.base_url,
            "NUDGE_TWILIO_ACCOUNT_SID": dispatch_worker.ACCOUNT_SID,
            "NUDGE_TWILIO_AUTH_TOKEN": dispatch_worker.AUTH_TOKEN,
            "NUDGE_TWILIO_FROM_NUMBER": dispatch_worker.FROM_NUMBER,
            "NUDGE_PUBLIC_BASE_URL": dispatch_worker.PUBLIC_BASE_URL,
            "NUDGE_SEND_RATE_PER_SECOND": "2000",
        }
    )
    return env


def run_two_at_once(env: dict[str, str], at: str) -> list[str]:
    cmd = [sys.executable, "-m", "flask", "--app", "app", "scheduler", "run-once", "--now", at]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, (out.decode()[-2000:], err.decode()[-2000:])
        outputs.append(out.decode())
    return outputs


def test_two_schedulers_running_the_same_jobs_for_a_whole_campaign_do_no_harm(
    pg_url: str, pg_db: Database, tmp_path: Path
) -> None:
    db = pg_db
    with db.transaction() as session:
        practice = add_practice(session)
        for i in range(PEOPLE):
            add_patient(session, practice, mobile=mobile(i))
        times = ("09:00", "09:30", "10:00", "11:00", "14:00", "15:00")
        add_free_slots(session, practice, clinic_starts(date(2026, 1, 19), 10, times))
    approved_campaign(db, now=DEFAULT_NOW)

    with FakeTwilio(
        account_sid=dispatch_worker.ACCOUNT_SID,
        auth_token=dispatch_worker.AUTH_TOKEN,
        callbacks=False,
    ) as fake:
        env = scheduler_env(pg_url, fake, tmp_path / "instance")
        for n, at in enumerate(ROUNDS):
            run_two_at_once(env, at.isoformat())
            if n == 0:
                # some residents book between rounds, as they would
                with db.transaction() as session:
                    booking = session.execute(
                        select(Offer.mobile).where(Offer.state == "open").limit(10)
                    ).all()
                for k, row in enumerate(booking):
                    handle_inbound(
                        db,
                        message_sid=f"SM{k:032x}",
                        from_number=row.mobile,
                        to_number=dispatch_worker.FROM_NUMBER,
                        body="1",
                        now=at + timedelta(minutes=30),
                        settings=Settings(public_base_url=dispatch_worker.PUBLIC_BASE_URL),
                    )
        creates = creates_of(fake)

    statuses = check_all(db.engine, creates)
    with db.transaction() as session:
        offers = session.scalar(select(func.count()).select_from(Offer))
        invitations = session.scalar(
            select(func.count()).select_from(Message).where(Message.kind.like("invitation%"))
        )
        booked = session.scalar(
            select(func.count()).select_from(Offer).where(Offer.state == "booked")
        )
    assert offers and invitations == offers  # one invitation per offer, however many ran
    assert booked == 10
    assert statuses["queued"] == 0 and statuses["sending"] == 0, statuses
    assert statuses["sent"] == len(creates), (statuses, len(creates))
    # later rounds expired the unanswered holds and offered the slots again
    with db.transaction() as session:
        expired = session.scalar(
            select(func.count()).select_from(Offer).where(Offer.state == "expired")
        )
    assert expired and expired > 0
