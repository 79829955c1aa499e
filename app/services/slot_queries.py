"""What the slot pages read: a practice's week of slots, and one slot's owner and state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.clock import as_utc
from app.data import slots
from app.data.db import Database
from app.data.models import Slot


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
