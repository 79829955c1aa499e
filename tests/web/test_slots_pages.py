"""Slots pages: CSV upload with a line-by-line report, pattern preview then save, the week
view, and cancelling free and booked slots."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.data.models import AuditEvent, Booking, Message, Slot
from tests.builders import add_patient, add_practice, add_user
from tests.web.staff import post, sign_in


@pytest.fixture
def practice_id(db):
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
        add_user(session, "admin@example.nhs.uk", "admin")
    return practice.id


def _slots(db) -> list[Slot]:
    with db.transaction() as session:
        return list(session.scalars(select(Slot).order_by(Slot.starts_at)))


def test_uploading_a_slots_csv_loads_good_rows_and_reports_bad_lines(client, db, practice_id):
    sign_in(client, "gp@example.nhs.uk")
    csv_text = (
        "date,start,duration_minutes,location\n"
        "2026-01-20,09:00,20,Room 2\n"
        "2026-01-20,09:10,20,Room 2\n"  # overlaps line 2
        "2026-01-21,25:00,20,Room 2\n"  # bad time
        "2026-01-22,09:00,20,Room 2\n"
    )
    response = post(
        client,
        "/slots/upload",
        {"practice": str(practice_id), "file": (io.BytesIO(csv_text.encode()), "slots.csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert 'Slots added</dt><dd class="nhsuk-summary-list__value">2' in page
    assert '<td class="nhsuk-table__cell">3</td>' in page and "overlaps line 2" in page
    assert '<td class="nhsuk-table__cell">4</td>' in page and "is not HH:MM" in page
    assert len(_slots(db)) == 2
    with db.transaction() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "slots.import")
            )
            == 1
        )


def test_a_pattern_is_previewed_before_it_is_saved(client, db, practice_id):
    sign_in(client, "gp@example.nhs.uk")
    form = {
        "practice": str(practice_id),
        "weekdays": ["1", "3"],  # Tuesday, Thursday
        "first_day": "2026-01-19",
        "last_day": "2026-01-25",
        "day_start": "09:00",
        "day_end": "10:00",
        "duration_minutes": "20",
        "gap_minutes": "0",
        "location": "Nurse room",
        "action": "preview",
    }
    preview = post(client, "/slots/pattern", form).get_data(as_text=True)
    assert "Preview: 6 new slots" in preview and "Save 6 slots" in preview
    assert _slots(db) == []
    saved = post(client, "/slots/pattern", {**form, "action": "save"})
    assert saved.status_code == 302
    made = _slots(db)
    assert len(made) == 6
    # 09:00 London in January is 09:00 UTC
    assert made[0].starts_at.replace(tzinfo=UTC) == datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
    week = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert week.count('class="nudge-slot nudge-slot--free"') == 6


PAST_WEEK = {
    "weekdays": ["1", "3"],
    "first_day": "2026-01-05",  # the clock says Wed 14 Jan 2026
    "last_day": "2026-01-09",
    "day_start": "09:00",
    "day_end": "10:00",
    "duration_minutes": "20",
    "gap_minutes": "0",
    "location": "Nurse room",
}


def test_a_pattern_wholly_in_the_past_offers_nothing_to_save_and_saves_nothing(
    client, db, practice_id
):
    sign_in(client, "gp@example.nhs.uk")
    form = {"practice": str(practice_id), **PAST_WEEK}
    preview = post(client, "/slots/pattern", {**form, "action": "preview"})
    page = preview.get_data(as_text=True)
    assert "Preview: nothing to save" in page and 'value="save"' not in page
    forced = post(client, "/slots/pattern", {**form, "action": "save"})
    page = forced.get_data(as_text=True)
    assert forced.status_code == 200 and "Preview: nothing to save" in page
    assert "Upload result" not in page and "Saved" not in page
    assert _slots(db) == []


def test_slots_lost_between_preview_and_save_are_listed_by_day_and_time(
    client, db, practice_id, monkeypatch
):
    """The diary changes after the check: the pattern's own result page, no line numbers."""
    from app.services import slots

    real = slots.check_pattern

    def stale(db_, rows, **kw):  # the preview's view: every slot new, even past ones
        check = real(db_, rows, **kw)
        check.new = [(row, None) for row in rows]
        return check

    monkeypatch.setattr(slots, "check_pattern", stale)
    sign_in(client, "gp@example.nhs.uk")
    form = {"practice": str(practice_id), **PAST_WEEK, "last_day": "2026-01-16"}
    response = post(client, "/slots/pattern", {**form, "action": "save"})
    page = response.get_data(as_text=True)
    assert "Recurring pattern saved: 3 slots added" in page
    assert "Upload result" not in page and ">Line<" not in page
    assert 'Tue 6 Jan 2026</td><td class="nhsuk-table__cell">09:00</td>' in page
    assert page.count(">in the past<") == 9
    assert len(_slots(db)) == 3


def test_a_pattern_with_missing_fields_shows_an_error_summary(client, db, practice_id):
    sign_in(client, "gp@example.nhs.uk")
    response = post(client, "/slots/pattern", {"practice": str(practice_id), "action": "preview"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page and 'href="#weekdays"' in page
    assert 'href="#location"' in page


def test_cancelling_a_booked_slot_texts_the_patient_and_frees_nothing(client, db, practice_id):
    with db.transaction() as session:
        from app.data.models import Practice

        practice = session.get(Practice, practice_id)
        patient = add_patient(session, practice)
        slot = Slot(
            practice_id=practice_id,
            starts_at=datetime(2026, 1, 20, 9, 0, tzinfo=UTC),
            duration_minutes=20,
            location="Room 2",
            state="booked",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        session.add(slot)
        session.flush()
        session.add(
            Booking(
                slot_id=slot.id,
                patient_id=patient.id,
                state="booked",
                source="staff",
                booked_at=datetime(2026, 1, 10, tzinfo=UTC),
                calendar_token="tok-1",
            )
        )
        slot_id = slot.id
    sign_in(client, "gp@example.nhs.uk")
    response = post(client, f"/slots/{slot_id}/cancel")
    assert response.status_code == 302
    with db.transaction() as session:
        assert session.get(Slot, slot_id).state == "cancelled"
        assert session.scalar(select(Booking.state)) == "cancelled"
        text = session.scalar(select(Message).where(Message.kind == "booking_cancelled"))
        assert text is not None and text.to_number == "+447700900001"
        assert "has had to cancel your NHS Health Check on Tue 20 Jan 09:00" in text.body
        assert text.in_send_window is False


def test_cancelling_a_free_slot_marks_it_cancelled(client, db, practice_id):
    with db.transaction() as session:
        slot = Slot(
            practice_id=practice_id,
            starts_at=datetime(2026, 1, 20, 9, 0, tzinfo=UTC),
            duration_minutes=20,
            location="Room 2",
            state="free",
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        session.add(slot)
        session.flush()
        slot_id = slot.id
    sign_in(client, "gp@example.nhs.uk")
    assert post(client, f"/slots/{slot_id}/cancel").status_code == 302
    assert _slots(db)[0].state == "cancelled"


def test_the_week_names_who_booked_only_to_staff_of_that_practice(client, db, practice_id):
    from tests.builders import add_booking, add_slot

    with db.transaction() as session:
        from app.data.models import Practice

        practice = session.get(Practice, practice_id)
        other = add_practice(session, ods="Y00001", name="Other Surgery")
        add_user(session, "other@example.nhs.uk", "practice", [other])
        grace = add_patient(session, practice, given_name="Grace")
        add_booking(
            session, grace, add_slot(session, practice, datetime(2026, 1, 20, 9, 0, tzinfo=UTC))
        )
    sign_in(client, "gp@example.nhs.uk")
    own = client.get(f"/slots?practice={practice_id}&week=2026-01-19").get_data(as_text=True)
    assert "Booked: Grace Patient" in own
    post(client, "/sign-out")
    sign_in(client, "other@example.nhs.uk")
    response = client.get(f"/slots?practice={practice_id}&week=2026-01-19")
    assert response.status_code in (403, 404) and "Grace" not in response.get_data(as_text=True)
