"""Fault 1: the dispatcher process is SIGKILLed at random points of a 2,000-message wave,
five times, and restarted, for each provider; every message its dead claims left in doubt
is settled against the provider's own record. Afterwards, checked against the fake
provider's log: every message was handed over exactly once, none lost, none uncertain."""

from __future__ import annotations

import json
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
from app.services.reconciliation import recover_and_reconcile
from app.sms import provider_from_config
from tests.conftest import DEFAULT_NOW
from tests.fakes.providers import PROVIDERS, FakeProvider, fake_provider
from tests.faults.invariants import check_all
from tests.faults.wave import queue_wave

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WAVE = 2000
KILLS = 5
BATCH = 20
# a claim older than this belongs to a dead dispatcher (the scheduler's recovery job)
STALE_AFTER = timedelta(minutes=1)
# each restart comes this much later on the injected clock: past the stale limit and
# every provider's settling time, as the recovery job would find it
BETWEEN_RUNS = timedelta(minutes=20)


def start_worker(db_url: str, fake: FakeProvider, now_iso: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.faults.dispatch_worker",
            "--db",
            db_url,
            "--settings",
            json.dumps(fake.settings()),
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


@pytest.mark.parametrize("provider_name", PROVIDERS)
def test_a_dispatcher_killed_five_times_mid_wave_hands_every_message_over_exactly_once(
    pg_url: str, pg_db: Database, provider_name: str
) -> None:
    db = pg_db
    ids = queue_wave(db, WAVE, now=DEFAULT_NOW)
    rng = random.Random(7)
    now = DEFAULT_NOW
    kills = 0
    settled = {"sent": 0, "requeued": 0, "unreachable": 0}
    with fake_provider(provider_name, callbacks=False) as fake:
        provider = provider_from_config(fake.settings())
        while kills < KILLS:
            worker = start_worker(pg_url, fake, now.isoformat())
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
            before = fake.create_count()
            # kill at a random point once it is sending: mid-claim, mid-call or mid-record
            target = before + rng.randint(1, 300)
            deadline = time.monotonic() + 60
            while fake.create_count() < target and worker.poll() is None:
                assert time.monotonic() < deadline, "the dispatcher made no progress"
                time.sleep(rng.uniform(0.001, 0.02))
            if worker.poll() is not None:
                worker.communicate()
                break  # it finished the wave before we could kill it
            os.kill(worker.pid, signal.SIGKILL)
            worker.communicate(timeout=10)  # reaps it and closes its pipes
            assert worker.returncode == -signal.SIGKILL
            kills += 1
            # a request the dead dispatcher had in flight finishes at the provider first
            fake.wait_for_callbacks(timeout=30)
            now += BETWEEN_RUNS
            _, report = recover_and_reconcile(db, provider, now=now, older_than=STALE_AFTER)
            settled["sent"] += report.sent
            settled["requeued"] += report.requeued
            settled["unreachable"] += report.unreachable

        final = start_worker(pg_url, fake, now.isoformat())
        out, err = final.communicate(timeout=300)
        assert final.returncode == 0, err
        creates = fake.creates()

    statuses = check_all(db.engine, creates, expected_ids=ids)
    print(f"{provider_name}: {kills} kills; doubts settled {settled}; statuses {dict(statuses)}")
    assert kills == KILLS, f"only {kills} kills landed mid-wave"
    assert statuses["sent"] == WAVE, statuses  # none lost, none left uncertain
    assert len(creates) == WAVE  # handed over exactly once each
    assert len({(c.to, c.body) for c in creates}) == WAVE
    assert settled["unreachable"] == 0
    # the kills did leave doubts, and the provider's record settled them both ways
    assert settled["sent"] + settled["requeued"] > 0, settled
