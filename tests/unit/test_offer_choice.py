"""Slot choice: three slots giving a real choice, outside the minimum notice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.offers import SlotOption, SlotPool, choose_slots, earliest_start

LONDON = ZoneInfo("Europe/London")
EXPIRY = datetime(2026, 1, 16, 10, 0, tzinfo=UTC)  # Friday
NOT_BEFORE = earliest_start(EXPIRY, 12)


def at(day: date, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


def slots(*starts: datetime) -> list[SlotOption]:
    return [SlotOption(start, i + 1) for i, start in enumerate(starts)]


SAT = date(2026, 1, 17)
MON = date(2026, 1, 19)
TUE = date(2026, 1, 20)
WED = date(2026, 1, 21)


def test_no_offer_without_three_suitable_slots() -> None:
    assert choose_slots(slots(at(MON, "09:00"), at(TUE, "09:00")), not_before=NOT_BEFORE) is None


def test_slots_within_the_minimum_notice_of_expiry_are_never_offered() -> None:
    too_soon = at(date(2026, 1, 16), "21:50")  # 11h50 after expiry
    free = slots(too_soon, at(MON, "09:00"), at(TUE, "09:00"), at(WED, "09:00"))
    chosen = choose_slots(free, not_before=NOT_BEFORE)
    assert chosen is not None
    assert too_soon not in [s.starts_at for s in chosen]
    assert earliest_start(EXPIRY, 12) == EXPIRY + timedelta(hours=12)


def test_a_slot_exactly_at_the_minimum_notice_is_allowed() -> None:
    edge = NOT_BEFORE
    chosen = choose_slots(slots(edge, at(MON, "14:00"), at(TUE, "09:00")), not_before=NOT_BEFORE)
    assert chosen is not None and chosen[0].starts_at == edge


def test_three_slots_fall_on_different_days_when_possible() -> None:
    monday = [at(MON, t) for t in ("09:00", "09:20", "09:40", "14:00", "14:20")]
    free = slots(*monday, at(TUE, "10:00"), at(WED, "15:00"))
    chosen = choose_slots(free, not_before=NOT_BEFORE)
    assert chosen is not None
    assert len({s.local_day for s in chosen}) == 3


def test_a_morning_and_an_afternoon_are_offered_when_possible() -> None:
    mornings = [at(d, "09:00") for d in (MON, TUE, WED)]
    free = slots(*mornings, at(WED, "16:00"))
    chosen = choose_slots(free, not_before=NOT_BEFORE)
    assert chosen is not None
    assert {s.afternoon for s in chosen} == {True, False}


def test_one_day_of_slots_still_gives_a_morning_and_an_afternoon() -> None:
    free = slots(*(at(MON, t) for t in ("09:00", "09:20", "09:40", "10:00", "13:00")))
    chosen = choose_slots(free, not_before=NOT_BEFORE)
    assert chosen is not None
    assert [s.starts_at for s in chosen] == [at(MON, "09:00"), at(MON, "09:20"), at(MON, "13:00")]


def test_the_soonest_slot_is_always_offered() -> None:
    free = slots(at(WED, "09:00"), at(SAT, "11:00"), at(MON, "15:00"), at(TUE, "09:30"))
    chosen = choose_slots(free, not_before=NOT_BEFORE)
    assert chosen is not None
    assert chosen[0].starts_at == at(SAT, "11:00")


def test_slots_come_back_in_start_order() -> None:
    free = slots(at(WED, "15:00"), at(MON, "09:00"), at(TUE, "14:00"))
    chosen = choose_slots(free, not_before=NOT_BEFORE)
    assert chosen is not None
    assert list(chosen) == sorted(chosen)


def test_morning_and_afternoon_are_judged_in_london_time_in_summer() -> None:
    # 11:30 UTC in July is 12:30 in London: an afternoon slot
    slot = SlotOption(datetime(2026, 7, 1, 11, 30, tzinfo=UTC), 1)
    assert slot.afternoon
    assert not SlotOption(datetime(2026, 1, 7, 11, 30, tzinfo=UTC), 2).afternoon


def test_choice_is_deterministic_with_ties_broken_by_slot_id() -> None:
    same_time = at(MON, "09:00")
    free = [SlotOption(same_time, 9), SlotOption(same_time, 4), SlotOption(at(TUE, "14:00"), 5)]
    first = choose_slots(free, not_before=NOT_BEFORE)
    assert first == choose_slots(list(reversed(free)), not_before=NOT_BEFORE)
    assert first is not None and first[0].id == 4


slot_sets = st.lists(
    st.tuples(st.integers(0, 20), st.integers(8 * 4, 18 * 4)), min_size=0, max_size=80
)


@settings(max_examples=200, deadline=None)
@given(slot_sets, st.integers(0, 40))
def test_a_pool_never_hands_out_a_slot_twice(raw: list[tuple[int, int]], takes: int) -> None:
    free = [
        SlotOption(at(MON + timedelta(days=d), f"{q // 4:02d}:{q % 4 * 15:02d}"), i)
        for i, (d, q) in enumerate(raw)
    ]
    pool = SlotPool(free)
    given_out: list[int] = []
    for _ in range(takes):
        chosen = pool.take()
        if chosen is None:
            assert pool.remaining < 3
            break
        assert len(chosen) == 3
        given_out += [s.id for s in chosen]
    assert len(given_out) == len(set(given_out))
    assert pool.remaining == len(free) - len(given_out)
