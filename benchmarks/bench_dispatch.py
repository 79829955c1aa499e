"""Dispatch overhead: queued messages through the outbox provider, rate limit lifted (issue 3).

Target: at least 500 messages/s, so the provider's rate limit, never Nudge, is the
bottleneck. Each message still goes through the whole protocol (claim with SKIP LOCKED,
the per-message STOP re-check, the recorded result) exactly as in production; only the
provider call costs nothing. The floor beside it, measured in the same run, is the bare
database cost of the same work without the protocol's checks: one transaction per
message that flips `queued` to `sent`.

    python -m benchmarks.bench_dispatch          (PostgreSQL from NUDGE_BENCH_PG_URL)
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update

from app.data.db import Database
from app.data.models import Base, Message
from app.services.dispatch import dispatch_due
from app.sms.outbox_provider import OutboxProvider
from benchmarks import row, size

TARGET_PER_S = 500.0
NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)  # a Wednesday, inside the default window
BATCH = 500
FLOOR_SAMPLE = 5000


def _queue(db: Database, count: int) -> None:
    rows = [
        {
            "direction": "out",
            "kind": "invitation",
            "to_number": f"+447700900{n % 1000:03d}",
            "body": f"Invitation {n}: reply 1, 2 or 3 to book",
            "status": "queued",
            "in_send_window": True,
            "not_before": NOW,
            "created_at": NOW,
        }
        for n in range(count)
    ]
    with db.transaction() as session:
        for start in range(0, count, 5000):
            session.execute(insert(Message), rows[start : start + 5000])


def _clear(db: Database) -> None:
    with db.transaction() as session:
        session.execute(Message.__table__.delete())


def _dispatch_all(db: Database) -> tuple[float, int]:
    provider = OutboxProvider()
    started = time.perf_counter()
    sent = 0
    while True:
        report = dispatch_due(db, provider, now=NOW, limit=BATCH, worker_id="bench")
        sent += report.sent
        if not report.claimed:
            break
    return time.perf_counter() - started, sent


def _floor(db: Database, sample: int) -> float:
    """Rows flipped to sent, one bare transaction each: the database's own cost per
    message (on `sample` rows: at a few hundred commits a second the whole set would
    take minutes and say nothing more)."""
    with db.transaction() as session:
        ids = list(
            session.scalars(
                select(Message.id)
                .where(Message.status == "queued")
                .order_by(Message.id)
                .limit(sample)
            )
        )
    started = time.perf_counter()
    for message_id in ids:
        with db.transaction() as session:
            session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == "queued")
                .values(status="sent", provider_sid=f"FL{message_id}", sent_at=NOW)
            )
    return time.perf_counter() - started


def _measure(db: Database, label: str, count: int) -> dict[str, object]:
    _clear(db)
    _queue(db, count)
    sample = min(count, FLOOR_SAMPLE)
    floor_per_s = sample / _floor(db, sample)
    _clear(db)
    _queue(db, count)
    elapsed, sent = _dispatch_all(db)
    with db.transaction() as session:
        done = session.scalar(
            select(func.count()).select_from(Message).where(Message.status == "sent")
        )
    per_s = sent / elapsed
    ok = sent == count == done and per_s >= TARGET_PER_S
    print(
        f"[bench_dispatch] {label}: {sent} sent in {elapsed:.1f} s = {per_s:.0f}/s "
        f"(floor {floor_per_s:.0f}/s)",
        file=sys.stderr,
    )
    return row(
        f"dispatch {count:,} via outbox provider, rate limit lifted ({label})",
        f"{per_s:,.0f} msg/s",
        f"{floor_per_s:,.0f} msg/s (bare one-row UPDATE per message)",
        f"{per_s / floor_per_s:.2f}x of floor",
        f">= {TARGET_PER_S:.0f} msg/s",
        ok,
    )


def run(pg_url: str | None, sqlite_dir: str) -> list[dict[str, object]]:
    count = size(20_000, 2_000)
    rows = []
    if pg_url:
        db = Database.from_url(pg_url)
        Base.metadata.create_all(db.engine)
        rows.append(_measure(db, "PostgreSQL", count))
        db.dispose()
    else:
        rows.append(
            row("dispatch (PostgreSQL)", "skipped: no PostgreSQL", "-", "-", ">= 500 msg/s", False)
        )
    sqlite = Database.from_url(f"sqlite:///{os.path.join(sqlite_dir, 'dispatch.sqlite3')}")
    Base.metadata.create_all(sqlite.engine)
    rows.append(_measure(sqlite, "SQLite", count))
    sqlite.dispose()
    return rows


if __name__ == "__main__":
    from benchmarks.__main__ import standalone

    standalone(run)
