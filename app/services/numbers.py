"""Opt-outs and textability of mobile numbers, across every practice and campaign.

STOP (or Twilio's 21610) opts a number out at once and for good: queued messages to it
are cancelled before they are sent, its open offers close and their holds are released,
and every campaign member on that number stops being nudged. START reverses the opt-out
(for future campaigns; closed offers stay closed). A permanent delivery failure does the
same as STOP for sending, but records the number as not textable instead.
These functions work in the caller's transaction and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.data import messages
from app.data.models import Offer
from app.data.offers import close_open_offers
from app.data.phones import is_opted_out, lock_phone, stop_members_on, unsendable_numbers


def _stop_sending(session: Session, number: str, *, now: datetime, member_state: str) -> None:
    messages.cancel_queued(session, now=now, to_number=number)
    close_open_offers(session, Offer.mobile == number, state="withdrawn", now=now)
    stop_members_on(session, number, state=member_state, now=now)


def opt_out(session: Session, number: str, *, now: datetime, word: str, source: str) -> bool:
    """Opt `number` out; True if it was not already opted out (so acknowledge once)."""
    phone = lock_phone(session, number)
    newly = phone.opted_out_at is None
    if newly:
        phone.opted_out_at = now
        phone.opt_out_word = word[:40]
        phone.opt_out_source = source
        phone.opted_in_at = None
    _stop_sending(session, number, now=now, member_state="opted_out")
    return newly


def opt_in(session: Session, number: str, *, now: datetime) -> bool:
    """Reverse an opt-out (START / UNSTOP); True if the number was opted out."""
    phone = lock_phone(session, number)
    if phone.opted_out_at is None:
        return False
    phone.opted_out_at = None
    phone.opted_in_at = now
    phone.opt_out_acknowledged_at = None
    return True


def mark_not_textable(session: Session, number: str, *, now: datetime, reason: str) -> None:
    """Record a permanent failure (invalid, landline, unreachable) and stop sending to it."""
    phone = lock_phone(session, number)
    if phone.not_textable_at is None:
        phone.not_textable_at = now
        phone.not_textable_reason = reason[:60]
    _stop_sending(session, number, now=now, member_state="not_textable")


__all__ = ["is_opted_out", "mark_not_textable", "opt_in", "opt_out", "unsendable_numbers"]
