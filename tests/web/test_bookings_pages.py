"""Bookings pages: the day list, recording attendance (which feeds the uptake report),
and the clinical-system CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.data.models import AuditEvent, Booking
from app.domain.suppression import Rule
from app.services import reports
from tests.builders import (
    add_booking,
    add_invitation,
    add_member,
    add_patient,
    add_practice,
    add_slot,
    add_trial_campaign,
    add_user,
)
from tests.web.staff import post, sign_in

TODAY_0930 = datetime(2026, 1, 14, 9, 30, tzinfo=UTC)  # the fixed clock is 10:00 that day


@pytest.fixture
def booked(db):
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
        campaign = add_trial_campaign(session, [practice])
        patient = add_patient(session, practice, given_name="Ada", family_name="Lovelace")
        member = add_member(session, campaign, patient, state="booked")
        add_invitation(session, member)  # the funnel counts attendance of invited members
        slot = add_slot(session, practice, TODAY_0930)
        booking = add_booking(session, patient, slot, source="sms", campaign_id=campaign.id)
        later = add_slot(session, practice, datetime(2026, 1, 20, 9, 0, tzinfo=UTC))
        future = add_booking(session, add_patient(session, practice), later)
    return {
        "practice_id": practice.id,
        "booking_id": booking.id,
        "future_id": future.id,
        "campaign_id": campaign.id,
        "nhs_number": patient.nhs_number,
        "member_id": member.id,
    }


def test_the_day_list_shows_name_nhs_number_time_and_how_booked(client, booked):
    sign_in(client, "gp@example.nhs.uk")
    page = client.get("/bookings").get_data(as_text=True)
    number = booked["nhs_number"]
    assert "Ada Lovelace" in page
    assert f"{number[:3]} {number[3:6]} {number[6:]}" in page
    assert "09:30" in page and "Text message reply" in page
    assert "Not recorded" in page


def test_marking_attended_is_saved_audited_and_counted_in_the_uptake_report(
    client, db, clock, booked
):
    sign_in(client, "gp@example.nhs.uk")
    response = post(client, f"/bookings/{booked['booking_id']}/outcome", {"outcome": "attended"})
    assert response.status_code == 302
    with db.transaction() as session:
        booking = session.get(Booking, booked["booking_id"])
        assert booking.state == "attended"
        assert booking.outcome_recorded_by == "gp@example.nhs.uk"
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "booking.outcome"))
        assert event.detail == {"from": "booked", "to": "attended"}
    report = reports.uptake(
        db,
        campaign_ids=[booked["campaign_id"]],
        raw=True,
        rule=Rule(suppress_below=8, round_to=5),
        now=clock.now(),
    )
    assert report.total.counts["attended"] == 1
    page = client.get("/bookings").get_data(as_text=True)
    assert ">Attended</strong>" in page


def test_did_not_attend_can_be_corrected(client, db, booked):
    sign_in(client, "gp@example.nhs.uk")
    post(client, f"/bookings/{booked['booking_id']}/outcome", {"outcome": "did_not_attend"})
    post(client, f"/bookings/{booked['booking_id']}/outcome", {"outcome": "attended"})
    with db.transaction() as session:
        assert session.get(Booking, booked["booking_id"]).state == "attended"


def test_an_outcome_cannot_be_recorded_for_a_future_day(client, db, booked):
    sign_in(client, "gp@example.nhs.uk")
    response = post(client, f"/bookings/{booked['future_id']}/outcome", {"outcome": "attended"})
    assert response.status_code == 302
    with db.transaction() as session:
        assert session.get(Booking, booked["future_id"]).state == "booked"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "from the day of the appointment" in page


def test_the_export_has_nhs_number_date_outcome_and_snomed_code_and_is_audited(client, db, booked):
    sign_in(client, "gp@example.nhs.uk")
    post(client, f"/bookings/{booked['booking_id']}/outcome", {"outcome": "attended"})
    response = post(
        client,
        "/bookings/export",
        {"practice": str(booked["practice_id"]), "first": "2026-01-14", "last": "2026-01-20"},
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    attended = [r for r in rows if r["outcome"] == "attended"]
    assert attended == [
        {
            "nhs_number": booked["nhs_number"],
            "date": "2026-01-14",
            "time": "09:30",
            "event": "appointment",
            "outcome": "attended",
            "snomed_ct_code": "523221000000100",
            "snomed_ct_term": "NHS Health Check completed",
            "how_booked": "sms",
        }
    ]
    assert [r["outcome"] for r in rows] == ["invited", "attended", "booked"]
    assert rows[0]["event"] == "invitation" and rows[0]["snomed_ct_term"].startswith(
        "NHS Health Check invitation"
    )
    with db.transaction() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "bookings.export"))
        assert event.detail["rows"] == 3 and event.actor == "gp@example.nhs.uk"
