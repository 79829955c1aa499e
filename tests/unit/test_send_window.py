"""Send window rules: London wall clock, chosen days, no bank holidays, DST-safe."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from app.domain.send_window import SendWindow, is_bank_holiday, is_open, next_opening

MON_SAT = SendWindow.parse("09:00-19:00", "mon-sat")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_parse_reads_times_and_a_day_range() -> None:
    assert SendWindow(time(9), time(19), frozenset(range(6))) == MON_SAT


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("mon,tue,thu", {0, 1, 3}),
        ("mon-fri,sat", {0, 1, 2, 3, 4, 5}),
        ("Monday, Wed", {0, 2}),
        ("fri-mon", {4, 5, 6, 0}),
        ("sun", {6}),
    ],
)
def test_parse_accepts_lists_ranges_and_mixtures_of_days(days: str, expected: set[int]) -> None:
    assert SendWindow.parse("09:00-19:00", days).days == frozenset(expected)


@pytest.mark.parametrize(
    ("window", "days"),
    [
        ("9-19", "mon-sat"),
        ("19:00-09:00", "mon-sat"),
        ("25:00-26:00", "mon"),
        ("09:00-19:00", ""),
        ("09:00-19:00", "mon,,tue"),
        ("09:00-19:00", "mo-fr"),
        ("09:00-19:00", "mon-tue-wed"),
        ("09:00-09:00", "mon"),
    ],
)
def test_parse_rejects_bad_input_with_a_value_error(window: str, days: str) -> None:
    with pytest.raises(ValueError):
        SendWindow.parse(window, days)


def test_window_is_open_on_london_wall_clock_in_winter() -> None:
    # Wed 14 Jan 2026, GMT: London == UTC
    assert not is_open(MON_SAT, utc(2026, 1, 14, 8, 59))
    assert is_open(MON_SAT, utc(2026, 1, 14, 9, 0))
    assert is_open(MON_SAT, utc(2026, 1, 14, 18, 59))
    assert not is_open(MON_SAT, utc(2026, 1, 14, 19, 0))


def test_window_is_open_on_london_wall_clock_in_summer() -> None:
    # Wed 15 Jul 2026, BST: 09:00 London is 08:00 UTC
    assert not is_open(MON_SAT, utc(2026, 7, 15, 7, 59))
    assert is_open(MON_SAT, utc(2026, 7, 15, 8, 0))
    assert is_open(MON_SAT, utc(2026, 7, 15, 17, 59))
    assert not is_open(MON_SAT, utc(2026, 7, 15, 18, 0))


def test_window_is_closed_on_sunday_when_days_are_mon_to_sat() -> None:
    assert not is_open(MON_SAT, utc(2026, 1, 18, 12, 0))


def test_window_is_closed_on_england_bank_holidays() -> None:
    # Mon 25 May 2026 is the Spring bank holiday; Good Friday 3 Apr 2026
    assert is_bank_holiday(datetime(2026, 5, 25).date())
    assert not is_open(MON_SAT, utc(2026, 5, 25, 12, 0))
    assert not is_open(MON_SAT, utc(2026, 4, 3, 12, 0))
    assert is_open(MON_SAT, utc(2026, 5, 26, 12, 0))


def test_scottish_only_holidays_do_not_close_the_window() -> None:
    # 2 Jan 2026 is a bank holiday in Scotland, not in England
    assert not is_bank_holiday(datetime(2026, 1, 2).date())
    assert is_open(MON_SAT, utc(2026, 1, 2, 12, 0))


def test_next_opening_is_now_when_open() -> None:
    at = utc(2026, 1, 14, 10, 0)
    assert next_opening(MON_SAT, at) == at


def test_next_opening_later_the_same_morning() -> None:
    assert next_opening(MON_SAT, utc(2026, 1, 14, 6, 30)) == utc(2026, 1, 14, 9, 0)


def test_next_opening_after_saturday_evening_skips_sunday() -> None:
    assert next_opening(MON_SAT, utc(2026, 1, 17, 19, 0)) == utc(2026, 1, 19, 9, 0)


def test_next_opening_skips_a_bank_holiday_weekend() -> None:
    # Sat 23 May 2026 evening -> Sun closed -> Mon 25 bank holiday -> Tue 26 at 09:00 BST
    assert next_opening(MON_SAT, utc(2026, 5, 23, 20, 0)) == utc(2026, 5, 26, 8, 0)


def test_next_opening_across_the_spring_clock_change_uses_bst() -> None:
    # Sat 28 Mar 2026 19:30 GMT; clocks go forward Sun 29 Mar; next opening Mon 30 09:00 BST
    everyday = SendWindow.parse("09:00-19:00", "mon-sun")
    assert next_opening(MON_SAT, utc(2026, 3, 28, 19, 30)) == utc(2026, 3, 30, 8, 0)
    assert next_opening(everyday, utc(2026, 3, 28, 19, 30)) == utc(2026, 3, 29, 8, 0)
    assert is_open(everyday, utc(2026, 3, 29, 8, 0))
    assert not is_open(everyday, utc(2026, 3, 29, 7, 59))


def test_next_opening_across_the_autumn_clock_change_uses_gmt() -> None:
    # clocks go back Sun 25 Oct 2026; Sat 24 is BST (09:00 = 08:00 UTC), Mon 26 is GMT
    everyday = SendWindow.parse("09:00-19:00", "mon-sun")
    assert next_opening(everyday, utc(2026, 10, 24, 6, 0)) == utc(2026, 10, 24, 8, 0)
    assert next_opening(everyday, utc(2026, 10, 24, 18, 0)) == utc(2026, 10, 25, 9, 0)
    assert not is_open(everyday, utc(2026, 10, 25, 8, 30))
    assert is_open(everyday, utc(2026, 10, 25, 18, 30))
    assert not is_open(everyday, utc(2026, 10, 25, 19, 0))


def test_a_window_inside_the_missing_spring_hour_still_opens() -> None:
    night = SendWindow.parse("01:30-03:00", "sun")
    opening = next_opening(night, utc(2026, 3, 28, 12, 0))
    assert is_open(night, opening)
    assert opening.date() == datetime(2026, 3, 29).date()


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        is_open(MON_SAT, datetime(2026, 1, 14, 10, 0))
