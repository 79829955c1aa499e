"""Slot choice for an offer: three free slots that give the patient a real choice.

Rules (offers: three unique, time-limited slots):
- three slots at the patient's practice, or no offer at all (never promise times we do
  not have);
- none starting within the minimum notice (default 12 h) of the offer's expiry, so a
  patient who replies at the last minute still has time to get there;
- a real choice: different days where possible, and a morning and an afternoon (Europe/
  London) where possible;
- soonest first: among equally varied choices the earliest slots win, so the diary fills
  from the front and nobody is offered a time weeks away while tomorrow is free;
- deterministic: the same free slots give the same choice (ties broken by slot id).

`SlotPool` makes the choice fast for a whole wave: free slots are grouped by London day
and half-day, each a queue in start order, so every choice takes queue heads and a wave
of 100,000 offers never rescans slots already given away.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from app.clock import LONDON
from app.domain.send_window import is_bank_holiday

OFFER_SIZE = 3
# how many later days a choice looks at for variety before settling for less
DAYS_LOOKAHEAD = 14


@dataclass(frozen=True, order=True)
class SlotOption:
    starts_at: datetime  # aware UTC
    id: int

    @property
    def local_day(self) -> date:
        return self.starts_at.astimezone(LONDON).date()

    @property
    def afternoon(self) -> bool:
        """Noon or later in London: the half of the day a working patient cares about."""
        return self.starts_at.astimezone(LONDON).hour >= 12


def earliest_start(expires_at: datetime, min_notice_hours: int) -> datetime:
    """The first start time an offer expiring at `expires_at` may include."""
    return expires_at + timedelta(hours=min_notice_hours)


@dataclass
class _Day:
    halves: tuple[deque[SlotOption], deque[SlotOption]] = field(
        default_factory=lambda: (deque(), deque())
    )

    def empty(self) -> bool:
        return not self.halves[0] and not self.halves[1]

    def head(self, afternoon: bool | None = None) -> SlotOption | None:
        """The earliest slot left this day (in the given half, when named)."""
        if afternoon is not None:
            queue = self.halves[afternoon]
            return queue[0] if queue else None
        morning, later = self.halves
        if morning and later:
            return min(morning[0], later[0])
        return morning[0] if morning else (later[0] if later else None)


class SlotPool:
    """Free slots of one practice, handed out three at a time by `take()`."""

    def __init__(self, slots: Iterable[SlotOption]) -> None:
        by_day: dict[date, _Day] = {}
        for slot in sorted(slots):
            by_day.setdefault(slot.local_day, _Day()).halves[slot.afternoon].append(slot)
        self._days = [by_day[d] for d in sorted(by_day)]
        self._first = 0  # days before this index are empty
        self.remaining = sum(len(h) for d in self._days for h in d.halves)

    def take(self, not_before: datetime | None = None) -> tuple[SlotOption, ...] | None:
        """Remove and return the best three slots (in start order), or None if < 3 left.

        `not_before` drops earlier slots for good (they are inside the minimum notice of
        this and every later offer in a wave, whose expiries only grow).
        """
        if not_before is not None:
            self._drop_before(not_before)
        if self.remaining < OFFER_SIZE:
            return None
        while self._days[self._first].empty():
            self._first += 1
        chosen: list[tuple[int, SlotOption]] = []
        for _ in range(OFFER_SIZE):
            pick = self._next_pick(chosen)
            assert pick is not None  # remaining >= 3 guarantees one
            chosen.append(pick)
            day_index, slot = pick
            self._days[day_index].halves[slot.afternoon].popleft()
        self.remaining -= OFFER_SIZE
        return tuple(sorted(slot for _, slot in chosen))

    def _drop_before(self, cutoff: datetime) -> None:
        for day in self._days[self._first :]:
            if day.empty():
                continue
            for queue in day.halves:
                while queue and queue[0].starts_at < cutoff:
                    queue.popleft()
                    self.remaining -= 1
            if not day.empty():
                break

    def _next_pick(self, chosen: list[tuple[int, SlotOption]]) -> tuple[int, SlotOption] | None:
        """The earliest slot that adds most variety to `chosen`.

        Preference, best first: a new day in a half-day not yet offered; a new day; a
        half-day not yet offered; anything left. Only the next DAYS_LOOKAHEAD days with
        free slots are searched, so a choice is quick and stays near the front.
        """
        used_days = {i for i, _ in chosen}
        halves = {s.afternoon for _, s in chosen}
        want_half: bool | None = None
        if len(halves) == 1:
            want_half = not next(iter(halves))
        best_possible = 0 if want_half is not None else 1
        candidates: list[tuple[int, int, SlotOption]] = []  # (rank, day index, slot)
        seen = 0
        for index in range(self._first, len(self._days)):
            day = self._days[index]
            if day.empty():
                continue
            seen += 1
            if seen > DAYS_LOOKAHEAD and candidates:
                break
            new_day = index not in used_days
            if want_half is not None:
                other = day.head(want_half)
                if other is not None:
                    candidates.append((0 if new_day else 2, index, other))
            head = day.head()
            if head is not None:
                candidates.append((1 if new_day else 3, index, head))
            if candidates and min(c[0] for c in candidates) == best_possible:
                break
        if not candidates:
            return None
        rank, index, slot = min(candidates, key=lambda c: (c[0], c[2]))
        return index, slot


def choose_slots(
    free: Sequence[SlotOption], *, not_before: datetime
) -> tuple[SlotOption, ...] | None:
    """The three slots one offer should hold, in start order, or None (no offer)."""
    return SlotPool(s for s in free if s.starts_at >= not_before).take()


# clinic times an example invitation shows: a morning, an afternoon, a morning
EXAMPLE_CLINIC_TIMES = ((9, 30), (14, 10), (10, 50))


def example_times(not_before: datetime) -> list[datetime]:
    """Three plausible appointment starts for an example invitation, as a real offer
    would hold them: weekdays that are not bank holidays, in clinic hours, on different
    days, none before `not_before` (the hold's expiry plus the minimum notice)."""
    starts: list[datetime] = []
    day = not_before.astimezone(LONDON).date()
    while len(starts) < OFFER_SIZE:
        hour, minute = EXAMPLE_CLINIC_TIMES[len(starts)]
        start = datetime.combine(day, time(hour, minute), tzinfo=LONDON)
        if day.weekday() < 5 and not is_bank_holiday(day) and start >= not_before:
            starts.append(start.astimezone(UTC))
        day += timedelta(days=1)
    return starts
