"""Syncing 28 days of a GP Connect practice's free slots (about 2,000) from the fake
provider (tests/fakes/gpconnect_server.py) over loopback: target under 2 s.

The first sync adds every slot; the second finds them all known (the steady state the
scheduler job runs every few minutes). The floor, measured in the same run, is the two
14-day searches fetched over the same loopback with the same headers and only
`json.loads` of the answers: the wire and the provider's own work, which no consumer
can beat; the ratio is what parsing (fhir.resources STU3 validation) and the database
add.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from app.data.db import Database
from app.data.models import Base, Practice
from app.gpconnect.client import SEARCH_SLOTS
from app.services import gpconnect
from app.settings import Settings
from benchmarks import row, size
from tests.fakes.gpconnect_server import CONSUMER_ASID, PROVIDER_ASID, FakeGpConnect

TARGET_S = 2.0
DAYS = 28


def _measure(url: str, label: str) -> list[dict[str, object]]:
    db = Database.from_url(url)
    Base.metadata.create_all(db.engine)
    now = datetime.now(UTC).replace(microsecond=0)
    settings = Settings(
        gpconnect_consumer_asid=CONSUMER_ASID,
        gpconnect_consumer_ods="X26",
        gpconnect_timeout_seconds=30.0,
    )
    per_day = size(100, 10)
    with FakeGpConnect(ods="A20047") as fake:
        fake.add_slots(now.date(), DAYS, per_day=per_day, minutes=5, start_hour=8)
        count = len(fake.slots)
        with db.transaction() as session:
            session.add(Practice(ods_code="A20047", name="Bench Practice", created_at=now))
        gpconnect.set_slot_source(
            db,
            "A20047",
            source="gpconnect",
            url=fake.base_url,
            provider_asid=PROVIDER_ASID,
            user_id="G13579135",
            user_name="Jane Smith",
            now=now,
        )
        floor_s = _floor(db, settings, now)
        started = time.perf_counter()
        first = gpconnect.sync_practice(db, "A20047", now=now, settings=settings, days=DAYS)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = gpconnect.sync_practice(db, "A20047", now=now, settings=settings, days=DAYS)
        again_s = time.perf_counter() - started
    db.dispose()
    assert first.added == count and again.added == 0, (first, again)
    floor = f"{floor_s * 1000:.0f} ms (2 searches, json.loads)"
    return [
        row(
            f"GP Connect sync, {count} slots / {DAYS} days, first ({label})",
            f"{first_s * 1000:.0f} ms",
            floor,
            f"{first_s / floor_s:.1f}x" if floor_s else "-",
            f"< {TARGET_S:.0f} s",
            first_s < TARGET_S,
        ),
        row(
            f"GP Connect sync, {count} slots / {DAYS} days, unchanged ({label})",
            f"{again_s * 1000:.0f} ms",
            floor,
            f"{again_s / floor_s:.1f}x" if floor_s else "-",
            f"< {TARGET_S:.0f} s",
            again_s < TARGET_S,
        ),
    ]


def _floor(db: Database, settings: Settings, now: datetime) -> float:
    """The same two searches, answers only `json.loads`-ed (best of three)."""
    with db.sessions() as session:
        practice = session.get(Practice, 1)
        assert practice is not None
        client = gpconnect.client_for(practice, settings)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for offset in (0, 14):
            start = now.date() + timedelta(days=offset)
            end = start + timedelta(days=13)
            params: Any = [
                ("start", f"ge{start}"),
                ("end", f"le{end}"),
                ("status", "free"),
                ("_include", "Slot:schedule"),
                ("_include:recurse", "Schedule:actor:Practitioner"),
                ("_include:recurse", "Schedule:actor:Location"),
                (
                    "searchFilter",
                    f"https://fhir.nhs.uk/Id/ods-organization-code|{practice.ods_code}",
                ),
            ]
            response = client.http.get(
                f"{practice.gpconnect_url}/Slot",
                params=params,
                headers=client.headers(SEARCH_SLOTS, "organization/*.read"),
                timeout=30,
            )
            json.loads(response.content)
        best = min(best, time.perf_counter() - started)
    client.close()
    return best


def run(pg_url: str | None, sqlite_dir: str) -> list[dict[str, object]]:
    rows = _measure(f"sqlite:///{os.path.join(sqlite_dir, 'gpconnect.sqlite3')}", "SQLite")
    if pg_url:
        rows += _measure(pg_url, "PostgreSQL")
    return rows


if __name__ == "__main__":
    from benchmarks.__main__ import standalone

    standalone(run)
