"""Practice diary changes made by staff: cancelling a slot someone has booked.

Rule: cancelling a booked slot tells the patient by SMS and offers new times. The
booking is cancelled (`booking.cancel_booking`, which frees the slot exactly once), the
slot is then taken out of use, the patient is told at once (outside the send window:
they are expecting to attend), and, when the booking came from a campaign offer, a
fresh offer with three new times is made (`offers.create_offer`, a wave of one), all in
one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from app.data import slots as slot_data
from app.data.db import Database
from app.data.models import Slot
from app.services import audit, booking, cancel_notice, gp_booking
from app.settings import Settings

log = logging.getLogger(__name__)


class DiaryError(ValueError):
    """A diary change that cannot be made; the message is safe to show staff."""


@dataclass(frozen=True)
class CancelledBooking:
    booking_id: int
    patient_told: bool
    new_offer_id: int | None


def cancel_booked_slot(
    db: Database, slot_id: int, *, now: datetime, actor: str, settings: Settings
) -> CancelledBooking:
    """Cancel the slot's booking; one in a GP Connect book is cancelled there first (no
    transaction open during the call; a failure there is left for staff, see
    `gp_booking.cancel_in_provider`)."""
    with db.sessions() as session:
        live_first = slot_data.live_booking(session, slot_id)
        in_provider = live_first.gp_state if live_first is not None else None
        live_first_id = live_first.id if live_first is not None else None
    if (
        live_first_id is not None
        and in_provider in ("booked", "cancelling")
        and gp_booking.cancel_in_provider(
            db, live_first_id, reason="Cancelled by the practice", now=now, settings=settings
        )
        is None
    ):
        raise DiaryError("This booking is being cancelled already; reload in a moment")
    with db.transaction() as session:
        # the booking row first, then the slot: the order a CHANGE takes them in, so the
        # two never deadlock (the conditional cancel decides which one wins)
        live = slot_data.live_booking(session, slot_id)
        if live is None:
            if session.get(Slot, slot_id) is None:
                raise DiaryError("There is no such slot")
            raise DiaryError("This slot has no booking to cancel")
        if not booking.cancel_booking(
            session,
            live.id,
            now=now,
            reason="practice cancelled the slot",
            by=actor,
            free_slot=live.gp_state != "cancel_failed",
        ):
            raise DiaryError("The booking changed while cancelling it; reload and try again")
        slot_data.retire_free_slot(session, slot_id)
        session.flush()
        slot = session.get(Slot, slot_id)
        assert slot is not None
        told, new_offer = cancel_notice.tell(session, live, slot, now=now, settings=settings)
        audit.record(
            session,
            now=now,
            actor=actor,
            action="slot.cancel",
            target=f"slot:{slot_id}",
            detail={
                "outcome": "booking_cancelled",
                "booking_id": live.id,
                "patient_told": told,
                "new_offer_id": getattr(new_offer, "id", None),
            },
        )
        return CancelledBooking(live.id, told, getattr(new_offer, "id", None))
