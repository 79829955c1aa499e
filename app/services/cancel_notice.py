"""Telling a patient their booked check was cancelled by the practice (by staff in Nudge,
or in the practice's own appointment book, which a GP Connect sync reads): at once,
outside the send window, since they are expecting to attend; and, for a campaign
booking, with three new times in the same text (`offers.create_offer`, a wave of one).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.clock import as_utc
from app.data import messages
from app.data.models import Booking, Offer, Patient, Practice, Slot
from app.services import numbers, offers, texts
from app.settings import Settings


def tell(
    session: Session, cancelled: Booking, slot: Slot, *, now: datetime, settings: Settings
) -> tuple[bool, Offer | None]:
    """Queue the cancellation text (and a fresh offer for a campaign booking) in the
    caller's transaction: (whether the patient is told, the new offer)."""
    new_offer = None
    if cancelled.offer_id is not None:
        offered = session.get(Offer, cancelled.offer_id)
        if offered is not None:
            new_offer = offers.create_offer(session, offered.member_id, now=now, settings=settings)
    patient = session.get(Patient, cancelled.patient_id)
    practice = session.get(Practice, slot.practice_id)
    assert patient is not None and practice is not None
    if not patient.mobile or numbers.is_opted_out(session, patient.mobile):
        return False, new_offer
    body = texts.render_in(
        patient.language,
        "booking_cancelled",
        settings=settings,
        practice_name=practice.name,
        practice_phone=practice.phone or "your GP practice",
        when=as_utc(slot.starts_at),
        new_times=new_offer is not None,
    )
    if new_offer is not None:
        # one text: the apology opens the invitation with the new times, at once
        messages.send_now(session, offer_id=new_offer.id, kind="invitation", now=now, preface=body)
    else:
        messages.queue(
            session,
            messages.OutboundText(
                to=patient.mobile,
                body=body,
                kind="booking_cancelled",
                dedupe_key=f"booking_cancelled:booking:{cancelled.id}",
                from_number=settings.sms_from_number,
                in_send_window=False,
                patient_id=patient.id,
                booking_id=cancelled.id,
            ),
            now=now,
        )
    return True, new_offer
