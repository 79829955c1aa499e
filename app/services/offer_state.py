"""Closing offers and releasing their held slots, set-based, in the caller's transaction.

Expiry, STOP, a permanent delivery failure and a decline all end an offer the same way:
its held slots go back to `free` and the offer leaves the `open` state, so the number can
get its next offer and the slots can go to someone else.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from app.data.models import Message, Offer, Slot


def close_open_offers(
    session: Session, which: ColumnElement[bool], *, state: str, now: datetime
) -> list[int]:
    """Close every open offer matching `which`; release its holds; return their ids.

    The offer row is updated first, the same row a booking updates first (`open` ->
    `booked`), so the two serialise on it: the booking either wins and this skips the
    offer, or this wins and the booking finds the offer closed and books nothing.
    """
    offer_ids = list(
        session.scalars(
            update(Offer)
            .where(Offer.state == "open", which)
            .values(state=state, closed_at=now)
            .returning(Offer.id)
        )
    )
    if offer_ids:
        session.execute(
            update(Slot)
            .where(Slot.held_by_offer_id.in_(offer_ids), Slot.state == "held")
            .values(state="free", held_by_offer_id=None)
        )
        # an invitation or reminder still queued for a closed offer must not go out
        session.execute(
            update(Message)
            .where(
                Message.offer_id.in_(offer_ids),
                Message.status == "queued",
                Message.kind.in_(("invitation", "reminder")),
            )
            .values(status="cancelled", status_updated_at=now)
        )
    return offer_ids


def open_offer_for(session: Session, number: str) -> Offer | None:
    return session.scalar(select(Offer).where(Offer.mobile == number, Offer.state == "open"))
