"""Slot import (CSV and patterns) and slot cancellation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.data.models import ImportBatch, Message, Offer, Slot
from app.services import offers, slots
from tests.builders import (
    add_free_slots,
    add_patient,
    add_practice,
    approved_campaign,
    clinic_starts,
)

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
HEADER = "date,start,duration_minutes,location\n"


@pytest.fixture
def practice(db):
    with db.transaction() as session:
        return add_practice(session)


def import_text(db, text: str, **kwargs):
    return slots.import_slots(db, HEADER + text, now=NOW, ods_code="F84003", **kwargs)


def stored(db) -> list[tuple[datetime, str]]:
    with db.transaction() as session:
        return [
            (s.replace(tzinfo=UTC) if s.tzinfo is None else s, loc)
            for s, loc in session.execute(select(Slot.starts_at, Slot.location).order_by(Slot.id))
        ]


def test_good_rows_are_loaded_in_utc_from_london_time(db, practice) -> None:
    report = import_text(db, "2026-01-20,09:00,20,Room 1\n2026-07-01,09:00,20,Room 1\n")
    assert (report.rows, report.added, report.rejected) == (2, 2, 0)
    assert [s for s, _ in stored(db)] == [
        datetime(2026, 1, 20, 9, 0, tzinfo=UTC),
        datetime(2026, 7, 1, 8, 0, tzinfo=UTC),  # BST
    ]


def test_bad_rows_are_rejected_with_their_line_numbers_and_good_ones_kept(db, practice) -> None:
    text = (
        "2026-01-20,09:00,20,Room 1\n"
        "2026-13-01,09:00,20,Room 1\n"
        "2026-01-20,9am,20,Room 1\n"
        "2026-01-20,10:00,0,Room 1\n"
        "2026-01-20,11:00,20,\n"
        "2026-01-13,09:00,20,Room 1\n"
    )
    report = import_text(db, text)
    assert report.added == 1
    assert [p["line"] for p in report.problems] == [3, 4, 5, 6, 7]
    assert "in the past" in report.problems[-1]["reason"]
    with db.transaction() as session:
        batch = session.scalar(select(ImportBatch))
        assert batch is not None and batch.kind == "slots" and batch.rejected == 5


def test_overlapping_rows_in_one_file_are_rejected_for_the_same_location_only(db, practice) -> None:
    text = (
        "2026-01-20,09:00,20,Room 1\n"
        "2026-01-20,09:10,20,Room 1\n"
        "2026-01-20,09:10,20,Room 2\n"
        "2026-01-20,09:20,20,Room 1\n"
    )
    report = import_text(db, text)
    assert report.added == 3
    assert report.problems == [
        {"line": 3, "reason": "overlaps line 2 at Room 1 (2026-01-20 09:00)"}
    ]


def test_a_row_overlapping_a_slot_already_loaded_is_rejected(db, practice) -> None:
    import_text(db, "2026-01-20,09:00,30,Room 1\n")
    report = import_text(db, "2026-01-20,09:15,20,Room 1\n2026-01-20,09:30,20,Room 1\n")
    assert report.added == 1
    assert report.problems[0]["line"] == 2
    assert "already loaded" in report.problems[0]["reason"]


def test_importing_the_same_file_twice_changes_nothing(db, practice) -> None:
    text = "2026-01-20,09:00,20,Room 1\n2026-01-20,09:20,20,Room 1\n"
    import_text(db, text)
    again = import_text(db, text)
    assert (again.added, again.unchanged, again.rejected) == (0, 2, 0)
    assert len(stored(db)) == 2


def test_times_the_clocks_skip_or_repeat_are_rejected(db, practice) -> None:
    text = "2026-03-29,01:30,20,Room 1\n2026-10-25,01:30,20,Room 1\n2026-03-29,09:00,20,Room 1\n"
    report = import_text(db, text)
    assert report.added == 1
    assert "clocks go forward" in report.problems[0]["reason"]
    assert "clocks go back" in report.problems[1]["reason"]
    # the day after the change, 09:00 London is 08:00 UTC
    assert stored(db)[0][0] == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)


def test_a_file_without_the_columns_is_refused(db, practice) -> None:
    with pytest.raises(slots.SlotError, match="missing"):
        slots.import_slots(db, "day,time\n1,2\n", now=NOW, ods_code="F84003")


def test_an_unknown_practice_is_refused(db, practice) -> None:
    with pytest.raises(slots.SlotError):
        slots.import_slots(db, HEADER, now=NOW, ods_code="Z99999")


def test_slots_import_command_reports_counts_and_problems(runner, db, practice, tmp_path: Path):
    path = tmp_path / "slots.csv"
    path.write_text(HEADER + "2026-01-20,09:00,20,Room 1\n2026-01-20,xx,20,Room 1\n")
    result = runner.invoke(args=["slots", "import", str(path), "--practice", "F84003"])
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output and "1 rejected" in result.output
    assert "line 3" in result.output


def test_a_recurring_pattern_keeps_london_wall_time_across_a_clock_change(db, practice) -> None:
    rows = slots.generate_pattern(
        first_day=date(2026, 3, 27),
        last_day=date(2026, 3, 31),
        weekdays={4, 0},  # Fri and Mon
        day_start=time(9, 0),
        day_end=time(10, 0),
        duration_minutes=20,
        location="Room 1",
    )
    assert [(r.day, r.start) for r in rows][:3] == [
        (date(2026, 3, 27), time(9, 0)),
        (date(2026, 3, 27), time(9, 20)),
        (date(2026, 3, 27), time(9, 40)),
    ]
    report = slots.save_pattern(db, rows, practice_id=practice.id, now=NOW, actor="test")
    assert report.added == 6
    starts = [s for s, _ in stored(db)]
    assert starts[0] == datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    assert starts[3] == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_cancelling_a_free_slot_takes_it_out_of_use(db, practice) -> None:
    with db.transaction() as session:
        (slot_id,) = add_free_slots(session, practice, [datetime(2026, 1, 20, 9, tzinfo=UTC)])
    assert slots.cancel_slot(db, slot_id, now=NOW, actor="staff@example.test") == "cancelled"
    with db.transaction() as session:
        assert session.get(Slot, slot_id).state == "cancelled"


def test_cancelling_a_held_slot_withdraws_the_offer_and_frees_its_other_slots(db, practice):
    with db.transaction() as session:
        add_patient(session, practice, mobile="+447700900123")
        add_free_slots(session, practice, clinic_starts(date(2026, 1, 19), 3))
    campaign_id = approved_campaign(db)
    assert offers.plan_wave(db, campaign_id, now=NOW) == 1
    with db.transaction() as session:
        held = list(session.scalars(select(Slot.id).where(Slot.state == "held")))
    assert slots.cancel_slot(db, held[0], now=NOW, actor="staff@example.test") == "withdrawn"
    with db.transaction() as session:
        assert session.scalar(select(Offer.state)) == "withdrawn"
        assert session.scalar(select(func.count()).where(Slot.state == "held")) == 0
        # the invitation had not gone out: it is cancelled and nothing else is sent
        assert session.scalar(select(Message.status).where(Message.kind == "invitation")) == (
            "cancelled"
        )
        assert session.scalar(select(func.count()).where(Message.kind == "withdrawn")) == 0
    # the member is back in the pool with the lost offer not counted
    assert offers.plan_wave(db, campaign_id, now=NOW) == 1


def test_a_booked_slot_cannot_be_cancelled_here(db, practice) -> None:
    with db.transaction() as session:
        (slot_id,) = add_free_slots(session, practice, [datetime(2026, 1, 20, 9, tzinfo=UTC)])
        session.get(Slot, slot_id).state = "booked"
    with pytest.raises(slots.SlotError, match="booked"):
        slots.cancel_slot(db, slot_id, now=NOW, actor="staff@example.test")
