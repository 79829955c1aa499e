"""What the slot pages read: a practice's week of slots (who has each, and how soon
a free one may be offered), and one slot's owner and state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.clock import as_utc
from app.data import gpconnect as gp_data
from app.data import slots
from app.data.db import Database
from app.data.models import Practice, Slot
from app.domain.offers import earliest_start
from app.services.invitations import expiry_for


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
class Holder:
    """Who has a slot, as its practice's staff may see it (`name` None: another
    practice's patient, named only to that practice)."""

    how: str  # booked | held
    name: str | None
    until: datetime | None


@dataclass(frozen=True)
class OfferWindow:
    """An active campaign's rule for how soon a free slot may go into an offer made
    now: after the offer's hold ends plus the minimum notice."""

    campaign: str
    hold_hours: int
    min_notice_hours: int
    earliest: datetime


@dataclass
class Week:
    now: datetime | None = None
    slots: list[Slot] = field(default_factory=list)
    holders: dict[int, Holder] = field(default_factory=dict)
    windows: list[OfferWindow] = field(default_factory=list)

    def unused(self, slot: Slot) -> bool:
        """A free slot whose time has come: nobody will take it now."""
        return slot.state == "free" and self.now is not None and as_utc(slot.starts_at) <= self.now

    @property
    def offerable_from(self) -> datetime | None:
        """The first start any active campaign may offer now; None: none is offering."""
        return min((w.earliest for w in self.windows), default=None)

    def too_soon(self, slot: Slot) -> bool:
        """A free slot no campaign may offer now: it starts inside every hold plus notice."""
        first = self.offerable_from
        starts_at = as_utc(slot.starts_at)
        return (
            slot.state == "free"
            and not self.unused(slot)
            and first is not None
            and starts_at < first
        )


def week(db: Database, practice_id: int, start: datetime, end: datetime, *, now: datetime) -> Week:
    """A practice's slots starting in [start, end) with who has each and the offer rules."""
    with db.transaction() as session:
        found = slots.practice_slots_between(session, practice_id, start, end)
        holders = {
            h.slot_id: Holder(
                h.how,
                " ".join(filter(None, [h.given_name, h.family_name])) or "Name not known"
                if h.patient_practice_id == practice_id
                else None,
                as_utc(h.until) if h.until is not None else None,
            )
            for h in slots.holders(session, [s.id for s in found])
        }
        windows = [
            OfferWindow(
                rule.campaign,
                rule.hold_hours,
                rule.min_notice_hours,
                earliest_start(expiry_for(now, rule.hold_hours), rule.min_notice_hours),
            )
            for rule in slots.offering_campaigns(session, practice_id)
        ]
    return Week(now, found, holders, windows)


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
            if r[3] is not None
        ]
        synced = as_utc(practice.slots_synced_at) if practice.slots_synced_at else None
        return SourceStatus(practice.slot_source, synced, practice.slots_sync_error, gone)
