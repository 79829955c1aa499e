"""The per-number hourly caps (20 identical, 100 any) hold when dispatchers race."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, insert, select

from app.data.db import Database
from app.data.models import Message
from app.domain.send_rate import MAX_ANY_PER_HOUR, MAX_IDENTICAL_PER_HOUR
from app.services.claims import claim_due
from tests.conftest import DEFAULT_NOW
from tests.races import together

pytestmark = pytest.mark.postgres

BUSY = "+447700900321"
SAME = "+447700900322"


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    db = Database.from_url(pg_url)
    yield db
    db.dispose()


def queue_many(db: Database, number: str, count: int, *, identical: bool) -> None:
    with db.transaction() as session:
        session.execute(
            insert(Message),
            [
                {
                    "direction": "out",
                    "kind": "reply",
                    "to_number": number,
                    "body": "Same words" if identical else f"Words {i}",
                    "status": "queued",
                    "in_send_window": False,
                    "not_before": DEFAULT_NOW,
                    "attempts": 0,
                    "created_at": DEFAULT_NOW,
                }
                for i in range(count)
            ],
        )


def handed_over(db: Database, number: str) -> int:
    with db.transaction() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.to_number == number, Message.status == "sending")
            )
            or 0
        )


@pytest.mark.parametrize("round_", range(5))
def test_two_dispatchers_racing_on_one_number_never_pass_its_hourly_caps(
    pg_db: Database, round_: int
) -> None:
    queue_many(pg_db, BUSY, 160, identical=False)
    queue_many(pg_db, SAME, 40, identical=True)

    def dispatcher(name: str) -> object:
        # each takes a different slice of the queue (SKIP LOCKED), as two nodes would
        return claim_due(pg_db, now=DEFAULT_NOW, limit=75, worker_id=name)

    results = together(lambda: dispatcher("node-a"), lambda: dispatcher("node-b"))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert handed_over(pg_db, BUSY) <= MAX_ANY_PER_HOUR
    assert handed_over(pg_db, SAME) <= MAX_IDENTICAL_PER_HOUR
    # and the caps are reached, not just undershot: the rest wait for the hour to pass
    for _ in range(3):
        claim_due(pg_db, now=DEFAULT_NOW, limit=200, worker_id="node-c")
    assert handed_over(pg_db, BUSY) == MAX_ANY_PER_HOUR
    assert handed_over(pg_db, SAME) == MAX_IDENTICAL_PER_HOUR
