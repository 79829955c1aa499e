"""What the slot pages read: a practice's week of slots, and one slot's owner and state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.clock import as_utc
from app.data import gpconnect as gp_data
from app.data import slots
from app.data.db import Database
from app.data.models import Practice, Slot


def between(db: Database, practice_id: int, start: datetime, end: datetime) -> list[Slot]:
    """A practice's slots starting in [start, end), by time and room (the week view)."""
    with db.transaction() as session:
        return slots.practice_slots_between(session, practice_id, start, end)


@dataclass(frozen=True)
class SlotSummary:
    practice_id: int
    state: str
    starts_at: datetime


def summary(db: Database, slot_id: int) -> SlotSummary | None:
    """Whose slot this is, its state and time: enough to scope and route a change."""
    with db.transaction() as session:
        row = slots.owner_and_state(session, slot_id)
    return SlotSummary(row.practice_id, row.state, as_utc(row.starts_at)) if row else None


@dataclass(frozen=True)
class SourceStatus:
    """Where a practice's slots come from, when they were last synced, and the held slots
    its own reception gave away (GP Connect)."""

    slot_source: str
    synced_at: datetime | None
    sync_error: str | None
    given_away: list[tuple[int, datetime, str, datetime]]


def source_status(db: Database, practice_id: int) -> SourceStatus | None:
    with db.sessions() as session:
        practice = session.get(Practice, practice_id)
        if practice is None:
            return None
        gone = [
            (r[0], as_utc(r[1]), r[2], as_utc(r[3]))
            for r in gp_data.gone_held_slots(session, practice_id)
        ]
        synced = as_utc(practice.slots_synced_at) if practice.slots_synced_at else None
        return SourceStatus(practice.slot_source, synced, practice.slots_sync_error, gone)
