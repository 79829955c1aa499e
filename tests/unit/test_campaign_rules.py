"""Campaign settings rules: every problem at once, keyed by field, in plain words; risky
settings (a past cohort date, an unusual send window) need a reason; example clinic
times follow the campaign's own rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.clock import LONDON
from app.domain.campaign_rules import Draft, check, unusual_times
from app.domain.offers import example_times
from app.domain.send_window import SendWindow

TODAY = date(2026, 1, 14)


def _draft(**changes: object) -> Draft:
    values: dict[str, object] = {
        "name": "Winter checks",
        "lawful_basis": "Public task",
        "practices": ["F84003"],
        "variants": [("control", 1)],
        "hold_hours": 48,
        "max_invitations": 2,
        "reminder_hours": 24,
        "min_notice_hours": 12,
        "info_url": None,
        "send_window": "09:00-19:00",
        "send_days": "mon-sat",
        "on": TODAY,
    }
    values.update(changes)
    return Draft(**values)  # type: ignore[arg-type]


def _check(**changes: object) -> dict[str, str]:
    return check(_draft(**changes), today=TODAY, known_variants={"control", "deadline"})


def test_good_settings_have_no_errors() -> None:
    assert _check() == {}


def test_every_problem_is_reported_at_once_on_its_own_field() -> None:
    errors = _check(
        name=" ",
        hold_hours=0,
        max_invitations=11,
        send_days="funday",
        info_url="www.nhs.uk",
        variants=[("nosuch", 1)],
    )
    assert set(errors) == {
        "name",
        "hold_hours",
        "max_invitations",
        "send_days",
        "info_url",
        "variants",
    }
    assert errors["hold_hours"] == "Hours the three times are held must be from 1 to 336"
    assert all(message[0].isupper() for message in errors.values())
    assert "funday" not in errors["send_days"]


def test_the_reminder_must_come_before_the_hold_ends() -> None:
    assert "reminder_hours" in _check(hold_hours=24, reminder_hours=24)


def test_a_cohort_date_other_than_today_needs_a_reason() -> None:
    errors = _check(on=date(2020, 1, 1))
    assert set(errors) == {"on", "on_reason"}
    assert errors["on"].startswith("The cohort date is 1 January 2020, not today")
    assert _check(on=date(2020, 1, 1), on_reason="Audit of the 2020 list") == {}


def test_an_unusual_send_window_needs_a_reason_that_says_why_it_is_unusual() -> None:
    assert unusual_times(SendWindow.parse("08:00-20:00", "mon-sat")) == []
    assert unusual_times(SendWindow.parse("02:00-21:00", "sat-sun")) == [
        "it starts at 02:00, before 08:00",
        "it ends at 21:00, after 20:00",
        "it sends on Sundays",
    ]
    errors = _check(send_window="02:00-03:00", send_days="sun")
    assert set(errors) == {"send_window", "unusual_window_reason"}
    assert "it starts at 02:00, before 08:00 and it sends on Sundays" in errors["send_window"]
    assert _check(send_window="02:00-03:00", unusual_window_reason="Shift workers") == {}


def test_example_times_are_weekday_clinic_times_after_the_notice_period() -> None:
    # Friday 22:00 (a hold ending 10:00 plus 12 hours' notice)
    not_before = datetime(2026, 1, 16, 22, 0, tzinfo=UTC)
    starts = example_times(not_before)
    local = [s.astimezone(LONDON) for s in starts]
    assert [f"{t:%a %H:%M}" for t in local] == ["Mon 09:30", "Tue 14:10", "Wed 10:50"]
    assert all(s >= not_before for s in starts)
    # Christmas and Boxing Day are skipped
    christmas = example_times(datetime(2026, 12, 24, 12, 0, tzinfo=UTC))
    assert [f"{t.astimezone(LONDON):%d %a}" for t in christmas] == ["29 Tue", "30 Wed", "31 Thu"]
