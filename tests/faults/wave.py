"""Seeding a wave for the fault tests: many queued invitations, set-based, and the fake's log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from app.data.db import Database
from app.data.models import Message
from tests.builders import add_sending_campaign
from tests.faults.invariants import Create

FIRST_MOBILE = 447700900000


def mobile(i: int) -> str:
    """The i-th Ofcom drama-range mobile (wrapping within its 1,000 numbers)."""
    return f"+{FIRST_MOBILE + 1 + i % 999}"


def queue_wave(db: Database, count: int, *, now: datetime) -> list[int]:
    """`count` queued invitations in an active campaign whose window is open at `now`.

    Each body is unique, so the provider's log shows any message created twice.
    """
    with db.transaction() as session:
        campaign = add_sending_campaign(session, now=now, window=("00:00", "23:59"), days="mon-sun")
        rows = [
            {
                "direction": "out",
                "kind": "invitation",
                "to_number": mobile(i),
                "body": f"NHS Health Check: reply 1, 2 or 3 to book (wave message {i})",
                "status": "queued",
                "dedupe_key": f"fault-wave:{i}",
                "campaign_id": campaign.id,
                "in_send_window": True,
                "not_before": now,
                "attempts": 0,
                "created_at": now,
            }
            for i in range(count)
        ]
        session.execute(insert(Message), rows)
        return list(
            session.scalars(
                select(Message.id).where(Message.campaign_id == campaign.id).order_by(Message.id)
            )
        )


def creates_of(fake: object) -> list[Create]:
    """The fake Twilio's created messages as invariant checks read them (no `at`: the
    fake keeps wall-clock time, the service the injected clock's)."""
    return [Create(to=m.to, body=m.body, sid=m.sid) for m in fake.created]  # type: ignore[attr-defined]
