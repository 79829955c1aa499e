"""A dispatcher SIGKILLed at random points of a 2,000-message wave, again and again.

Afterwards, by query and by the provider's own log: nothing was handed over twice, nothing
queued was lost (every message is sent, or uncertain for staff), and every `sent` row is
one the provider really received.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from app.data.db import Database
from app.data.models import Message
from app.services.reconciliation import recover_stale_claims

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOTAL = 2000

DISPATCHER = """
import sys, time, random
from datetime import datetime
from app.data.db import Database
from app.services.dispatch import dispatch_due
from app.sms.provider import SendResult

url, log_path, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
log = open(log_path, "a")

class LoggingProvider:
    name = "logging"
    def send(self, sms, at):
        # the provider's own record: once this line exists, the message was handed over
        log.write(f"{sms.message_id}\\n")
        log.flush()
        time.sleep(random.random() * 0.002)
        return SendResult(provider_sid=f"LG{sms.message_id}")

db = Database.from_url(url)
while dispatch_due(db, LoggingProvider(), now=now, limit=40, worker_id=sys.argv[4]).claimed:
    pass
print("finished", flush=True)
"""


def start(url: str, log: Path, worker: str, *, capture: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", DISPATCHER, url, str(log), NOW.isoformat(), worker],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        text=True,
    )


def test_a_dispatcher_killed_again_and_again_never_sends_twice_or_loses_anything(
    db: Database, tmp_path: Path
) -> None:
    with db.transaction() as session:
        session.execute(
            insert(Message),
            [
                {
                    "direction": "out",
                    "kind": "invitation",
                    "to_number": f"+447700900{n % 1000:03d}",
                    "body": f"Invitation {n}",
                    "status": "queued",
                    "in_send_window": True,
                    "not_before": NOW,
                    "created_at": NOW,
                }
                for n in range(TOTAL)
            ],
        )
    url = db.engine.url.render_as_string(hide_password=False)
    log = tmp_path / "provider.log"
    log.touch()
    rng = random.Random(42)
    kills = 0
    for round_ in range(4):
        victim = start(url, log, f"victim-{round_}")
        # wait until it is mid-wave (it has handed something over), then a random moment more
        handed_before = len(log.read_text().split())
        deadline = time.monotonic() + 60
        while len(log.read_text().split()) == handed_before and victim.poll() is None:
            assert time.monotonic() < deadline, "the dispatcher never started sending"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        if victim.poll() is None:
            victim.send_signal(signal.SIGKILL)
            kills += 1
        victim.wait(timeout=30)

    # the restarted dispatcher finishes the wave; the recovery job settles the doubts
    survivor = start(url, log, "survivor", capture=True)
    out, _ = survivor.communicate(timeout=300)
    assert "finished" in out
    recover_stale_claims(db, now=NOW + timedelta(minutes=15), older_than=timedelta(minutes=10))

    handed = Counter(int(line) for line in log.read_text().split())
    with db.transaction() as session:
        status = {i: s for i, s in session.execute(select(Message.id, Message.status))}
    by_status = Counter(status.values())
    sent = {i for i, s in status.items() if s == "sent"}
    uncertain = {i for i, s in status.items() if s == "uncertain"}

    assert kills >= 3
    assert max(handed.values()) == 1, "a message reached the provider twice"
    assert set(by_status) <= {"sent", "uncertain"}, by_status  # none queued, none lost
    assert len(sent) + len(uncertain) == TOTAL
    assert sent <= set(handed)  # `sent` only if the provider really has it
    assert set(handed) <= sent | uncertain
    # the doubt is bounded: at most the kills' claimed batches
    assert len(uncertain) <= kills * 40
