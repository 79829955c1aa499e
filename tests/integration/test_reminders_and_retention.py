"""No-reply and appointment reminders; the retention purge."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.data.models import (
    Booking,
    Campaign,
    CampaignMember,
    CampaignSnapshot,
    Message,
    Offer,
    OfferSlot,
    Slot,
)
from app.services import campaigns, offers, reminders, retention
from app.settings import Settings
from tests.builders import (
    add_booking,
    add_free_slots,
    add_inbound,
    add_patient,
    add_practice,
    approved_campaign,
    clinic_starts,
)

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
MOBILE = "+447700900150"


@pytest.fixture
def offer_id(db) -> int:
    with db.transaction() as session:
        practice = add_practice(session)
        add_patient(session, practice, mobile=MOBILE, dob=date(1970, 5, 5), sex="2")
        add_free_slots(session, practice, clinic_starts(date(2026, 1, 19), 5))
    campaign_id = approved_campaign(db, reminder_hours=24)
    assert offers.plan_wave(db, campaign_id, now=NOW) == 1
    with db.transaction() as session:
        return session.scalar(select(Offer.id))


def count_kind(db, kind: str) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).where(Message.kind == kind))


def test_one_reminder_goes_after_the_delay_when_there_is_no_reply(db, offer_id) -> None:
    assert reminders.queue_no_reply_reminders(db, now=NOW + timedelta(hours=23)) == 0
    later = NOW + timedelta(hours=24)
    assert reminders.queue_no_reply_reminders(db, now=later) == 1
    assert reminders.queue_no_reply_reminders(db, now=later + timedelta(hours=1)) == 0
    with db.transaction() as session:
        message = session.scalar(select(Message).where(Message.kind == "reminder"))
        assert message.dedupe_key == f"reminder:offer:{offer_id}"
        assert message.expires_at.replace(tzinfo=UTC) == NOW + timedelta(hours=48)
        assert "Mon 19 Jan 09:00" in message.body and "STOP" in message.body


def test_no_reminder_after_the_patient_replied(db, offer_id) -> None:
    with db.transaction() as session:
        add_inbound(session, MOBILE, "What is this?", at=NOW + timedelta(hours=2))
    assert reminders.queue_no_reply_reminders(db, now=NOW + timedelta(hours=25)) == 0


def test_no_reminder_for_a_paused_campaign(db, offer_id) -> None:
    with db.transaction() as session:
        campaign_id = session.scalar(select(Campaign.id))
    campaigns.pause(db, campaign_id, now=NOW, actor="test")
    assert reminders.queue_no_reply_reminders(db, now=NOW + timedelta(hours=25)) == 0


def test_the_appointment_reminder_goes_the_day_before_once(db, offer_id) -> None:
    with db.transaction() as session:
        offer = session.get(Offer, offer_id)
        slot = session.scalar(
            select(Slot)
            .join(OfferSlot, OfferSlot.slot_id == Slot.id)
            .where(OfferSlot.offer_id == offer_id, OfferSlot.position == 1)
        )
        from app.data.models import Patient

        patient = session.get(Patient, offer.patient_id)
        slot.held_by_offer_id = None  # booked now, no longer held
        booking = add_booking(session, patient, slot, offer_id=offer_id, now=NOW)
        booking_id = booking.id
    # the slot is Monday 19 Jan 09:00; Saturday is too early, Sunday is the day before
    assert reminders.queue_appointment_reminders(db, now=datetime(2026, 1, 17, 12, tzinfo=UTC)) == 0
    sunday = datetime(2026, 1, 18, 9, 0, tzinfo=UTC)
    assert (
        reminders.queue_appointment_reminders(
            db, now=sunday, settings=Settings(public_base_url="https://nudge.example.test")
        )
        == 1
    )
    assert reminders.queue_appointment_reminders(db, now=sunday + timedelta(hours=3)) == 0
    with db.transaction() as session:
        message = session.scalar(select(Message).where(Message.kind == "appointment_reminder"))
        assert message.dedupe_key == f"appointment_reminder:booking:{booking_id}"
        assert "tomorrow, Mon 19 Jan 09:00" in message.body
        token = session.get(Booking, booking_id).calendar_token
        assert f"https://nudge.example.test/c/{token}.ics" in message.body


def test_purge_keeps_aggregates_and_demographics_and_blanks_personal_data(db, offer_id) -> None:
    with db.transaction() as session:
        campaign_id = session.scalar(select(Campaign.id))
    campaigns.close(db, campaign_id, now=NOW, actor="test")
    settings = Settings(retention_days=90)
    assert retention.purge_personal_data(db, now=NOW + timedelta(days=89), settings=settings) == 0
    later = NOW + timedelta(days=91)
    offers.expire_offers(db, now=later)
    assert retention.purge_personal_data(db, now=later, settings=settings) == 1
    assert retention.purge_personal_data(db, now=later, settings=settings) == 0
    with db.transaction() as session:
        snapshot = session.get(CampaignSnapshot, campaign_id)
        assert snapshot.counts["invited"] == 1 and snapshot.counts["members"] == 1
        bodies = set(
            session.scalars(select(Message.body).where(Message.campaign_id == campaign_id))
        )
        numbers = set(session.scalars(select(Message.to_number)))
        assert bodies == {""} and numbers == {""}
        assert set(session.scalars(select(Offer.mobile))) == {""}
        member = session.scalar(select(CampaignMember))
        assert (member.age_band, member.sex, member.variant, member.imd_quintile) == (
            "55-59",
            "2",
            "control",
            2,
        )
        assert session.get(Campaign, campaign_id).purged_at is not None
