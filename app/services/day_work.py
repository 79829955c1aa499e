"""The staff home page: the day's work for the signed-in person's practices, not a copy
of the navigation. Today's appointments, conversations waiting for a person, campaigns
running with their progress, and texts in doubt to check.

Scoped like every staff page: `practice_ids` None means every practice (admins); an
analyst sees only campaign progress (counts, no patient).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.clock import as_utc
from app.data import campaigns as campaign_data
from app.data import doubts
from app.data.db import Database
from app.data.models import Campaign, Practice
from app.services import follow_up
from app.services.attendance import day_list
from app.services.practices import by_name

LIST_LIMIT = 25  # rows a section lists before pointing to its own page


@dataclass(frozen=True)
class Appointment:
    booking_id: int
    starts_at: datetime
    practice: Practice
    location: str
    name: str
    state: str


@dataclass(frozen=True)
class RunningCampaign:
    campaign: Campaign
    counts: dict[str, int]

    @property
    def invited_percent(self) -> int:
        members = self.counts.get("members", 0)
        return round(100 * self.counts.get("invited", 0) / members) if members else 0


@dataclass(frozen=True)
class Doubt:
    kind: str
    created_at: datetime
    name: str
    conversation_key: str | None


@dataclass
class DayWork:
    day: date
    practices: list[Practice] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)
    conversations: list[follow_up.QueueItem] = field(default_factory=list)
    campaigns: list[RunningCampaign] = field(default_factory=list)
    doubts: list[Doubt] = field(default_factory=list)
    doubts_total: int = 0


def _name(given: str | None, family: str | None) -> str:
    return " ".join(p for p in (given, family) if p) or "Name not recorded"


def _campaigns(db: Database, practice_ids: Iterable[int] | None) -> list[RunningCampaign]:
    with db.transaction() as session:
        running = campaign_data.running(session, practice_ids)
        progress = campaign_data.member_progress(session, [c.id for c in running], practice_ids)
        return [RunningCampaign(c, progress[c.id]) for c in running]


def for_analyst(db: Database, day: date) -> DayWork:
    """What an analyst follows: campaign progress in counts."""
    return DayWork(day=day, campaigns=_campaigns(db, None))


def for_staff(db: Database, practice_ids: frozenset[int] | None, day: date) -> DayWork:
    """The day's work at `practice_ids` (None: every practice)."""
    practices = by_name(db, practice_ids)
    work = DayWork(day=day, practices=practices)
    with db.transaction() as session:
        for practice in practices:
            for row in day_list(session, practice.id, day):
                work.appointments.append(
                    Appointment(
                        row.booking_id,
                        row.starts_at,
                        practice,
                        row.location,
                        _name(row.given_name, row.family_name),
                        row.state,
                    )
                )
        total, rows = doubts.uncertain_outbound(session, practice_ids, limit=LIST_LIMIT)
        work.doubts_total = total
        work.doubts = [
            Doubt(kind, as_utc(created), _name(given, family) if given or family else "", key)
            for _, kind, created, given, family, key in rows
        ]
    work.appointments.sort(key=lambda a: (a.starts_at, a.practice.name))
    work.conversations = follow_up.flagged_queue(db, practice_ids)
    work.campaigns = _campaigns(db, practice_ids)
    return work


def summary(work: DayWork) -> dict[str, Any]:
    """The counts the page's headline states."""
    return {
        "appointments": sum(1 for a in work.appointments if a.state != "cancelled"),
        "conversations": len(work.conversations),
        "campaigns": len(work.campaigns),
        "doubts": work.doubts_total,
    }
