"""Fault 1: the dispatcher process is SIGKILLed at random points of a 2,000-message wave,
several times, and restarted; afterwards nothing was sent twice and nothing vanished."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from app.data.db import Database
from app.services.reconciliation import recover_stale_claims
from tests.conftest import DEFAULT_NOW
from tests.fakes.twilio_server import FakeTwilio
from tests.faults import dispatch_worker
from tests.faults.invariants import check_all
from tests.faults.wave import creates_of, queue_wave

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WAVE = 2000
KILLS = 5
BATCH = 20
# a claim older than this belongs to a dead dispatcher (the scheduler's recovery job)
STALE_AFTER = timedelta(minutes=1)


def start_worker(db_url: str, twilio_url: str, now_iso: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.faults.dispatch_worker",
            "--db",
            db_url,
            "--twilio",
            twilio_url,
            "--now",
            now_iso,
            "--batch",
            str(BATCH),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def sent_so_far(fake: FakeTwilio) -> int:
    return fake.create_count()


def test_a_dispatcher_killed_mid_wave_and_restarted_never_sends_twice_or_loses_a_message(
    pg_url: str, pg_db: Database
) -> None:
    db = pg_db
    ids = queue_wave(db, WAVE, now=DEFAULT_NOW)
    rng = random.Random(7)
    now = DEFAULT_NOW
    kills = 0
    with FakeTwilio(
        account_sid=dispatch_worker.ACCOUNT_SID,
        auth_token=dispatch_worker.AUTH_TOKEN,
        callbacks=False,
    ) as fake:
        while kills < KILLS:
            worker = start_worker(pg_url, fake.base_url, now.isoformat())
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
            before = sent_so_far(fake)
            # kill at a random point once it is sending: mid-claim, mid-call or mid-record
            target = before + rng.randint(1, 300)
            deadline = time.monotonic() + 30
            while sent_so_far(fake) < target and worker.poll() is None:
                assert time.monotonic() < deadline, "the dispatcher made no progress"
                time.sleep(rng.uniform(0.001, 0.02))
            if worker.poll() is not None:
                worker.communicate()
                break  # it finished the wave before we could kill it
            os.kill(worker.pid, signal.SIGKILL)
            worker.communicate(timeout=10)  # reaps it and closes its pipes
            assert worker.returncode == -signal.SIGKILL
            kills += 1
            # the next tick: the scheduler's recovery marks the dead claims uncertain
            now += STALE_AFTER * 2
            recover_stale_claims(db, now=now, older_than=STALE_AFTER)

        final = start_worker(pg_url, fake.base_url, now.isoformat())
        out, err = final.communicate(timeout=120)
        assert final.returncode == 0, err
        creates = creates_of(fake)

    assert kills >= 3, f"only {kills} kills landed mid-wave"
    statuses = check_all(db.engine, creates, expected_ids=ids)
    # every message reached an end: sent, or visibly uncertain because a dispatcher died
    # holding its claim (never resent automatically)
    assert statuses["sent"] + statuses["uncertain"] == WAVE, statuses
    assert statuses["uncertain"] <= kills * BATCH, statuses
    # a create with no recorded SID (the kill came between call and record) is uncertain
    assert len(creates) - statuses["sent"] <= statuses["uncertain"], (statuses, len(creates))
    assert len(creates) == len({(c.to, c.body) for c in creates})
