"""Staff follow-up of flagged conversations: replying, booking for the patient, recording
an opt-out asked for by phone, and closing the flag.

Rules ("Conversations"): a reply is sent at any hour (a conversation is not a
campaign message) but never to a number that has opted out or cannot be texted; an
opt-out recorded by staff has the same effect as STOP (`numbers.opt_out`, source
"staff"); every action is audited with who did it. Each function is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.data import conversations, messages, phones
from app.data.db import Database
from app.data.models import Booking, Conversation, Message, Patient, PhoneNumber, Slot
from app.domain.segments import count as count_segments
from app.services import audit, booking, gp_booking, numbers
from app.settings import Settings

MAX_REPLY_SEGMENTS = 3
BOOKABLE_DAYS = 28
FREE_TIMES_LISTED = 100  # one drop-down; later times are reached by choosing a later day


class FollowUpError(ValueError):
    """An action staff cannot take; the message is safe to show them."""


@dataclass(frozen=True)
class QueueItem:
    """One flagged conversation in the work queue; `who` names only its practice's patients."""

    key: str
    reason: str
    flagged_at: datetime
    last: Message | None
    who: str


@dataclass(frozen=True)
class ConversationView:
    """What a practice may see of a conversation: its part of the thread, its patients
    on the number and its free times to book (a shared phone's other practice: nothing)."""

    conversation: Conversation
    messages: list[Message]
    patients: list[Patient]
    phone: PhoneNumber | None
    free_slots: list[Slot]
    # the listed free times start after `free_from` and before `free_until`; when
    # `free_more`, there are more in that span than the list shows
    free_from: datetime
    free_until: datetime
    free_more: bool = False


def _thread(session: Session, conversation: Conversation, limit: int | None) -> list[Message]:
    if conversation.practice_id is None:
        return messages.thread(session, number=conversation.number, unattributed=True, limit=limit)
    return messages.thread(
        session, number=conversation.number, practice_id=conversation.practice_id, limit=limit
    )


def _name(patient: Patient) -> str:
    return " ".join(filter(None, [patient.given_name, patient.family_name])) or "Name not known"


def flagged_queue(db: Database, practice_ids: Iterable[int] | None) -> list[QueueItem]:
    """The unresolved flags of `practice_ids` (None: every practice and unknown senders)."""
    items = []
    with db.transaction() as session:
        for c in conversations.flagged(session, practice_ids):
            last = _thread(session, c, limit=1)
            patients = conversations.patients_on(session, c.number, c.practice_id)
            assert c.flagged_at is not None
            items.append(
                QueueItem(
                    key=c.key,
                    reason=c.flag_reason or "unclear",
                    flagged_at=c.flagged_at,
                    last=last[-1] if last else None,
                    who=", ".join(_name(p) for p in patients) or "Unknown sender",
                )
            )
    return items


def find(db: Database, key: str, practice_ids: Iterable[int] | None) -> Conversation | None:
    """The conversation addressed by `key` if it is one of `practice_ids`' (None: any)."""
    with db.transaction() as session:
        return conversations.by_key(session, key, practice_ids)


def view(
    db: Database, conversation: Conversation, *, now: datetime, times_from: datetime | None = None
) -> ConversationView:
    """The conversation as its practice sees it, with up to `FREE_TIMES_LISTED` free
    times in the `BOOKABLE_DAYS` from `times_from` (not before now)."""
    start = max(now, times_from) if times_from is not None else now
    end = start + timedelta(days=BOOKABLE_DAYS)
    with db.transaction() as session:
        free = conversations.free_slots(
            session, conversation.practice_id, start, end, limit=FREE_TIMES_LISTED + 1
        )
        return ConversationView(
            conversation,
            _thread(session, conversation, limit=200),
            conversations.patients_on(session, conversation.number, conversation.practice_id),
            conversations.phone(session, conversation.number),
            free[:FREE_TIMES_LISTED],
            free_from=start,
            free_until=end,
            free_more=len(free) > FREE_TIMES_LISTED,
        )


def booking_parties(
    db: Database, conversation: Conversation, patient_id: int, slot_id: int
) -> tuple[int, int | None] | None:
    """(patient's practice, slot's practice) for a booking from this conversation; None
    unless the patient is one of its practice's patients on its number."""
    with db.transaction() as session:
        patient = session.get(Patient, patient_id)
        slot = session.get(Slot, slot_id)
        if (
            patient is None
            or patient.mobile != conversation.number
            or patient.practice_id != conversation.practice_id
        ):
            return None
        return patient.practice_id, slot.practice_id if slot is not None else None


def reply(
    db: Database,
    conversation: Conversation,
    body: str,
    *,
    now: datetime,
    actor: str,
    settings: Settings,
) -> int:
    """Queue a staff reply in `conversation`, about its practice's patient; the message id."""
    number = conversation.number
    body = body.strip()
    if not body:
        raise FollowUpError("Enter a message")
    if count_segments(body).segments > MAX_REPLY_SEGMENTS:
        raise FollowUpError(f"The message is longer than {MAX_REPLY_SEGMENTS} text messages")
    with db.transaction() as session:
        if phones.is_unsendable(session, number):
            raise FollowUpError("This number has opted out or cannot be texted: phone instead")
        patients = conversations.patients_on(session, number, conversation.practice_id)
        message = messages.queue(
            session,
            messages.OutboundText(
                to=number,
                body=body,
                kind="staff_reply",
                from_number=settings.sms_from_number,
                in_send_window=False,
                patient_id=patients[0].id if patients else None,
            ),
            now=now,
        )
        audit.record(
            session,
            now=now,
            actor=actor,
            action="conversation.reply",
            target=f"message:{message.id}",
        )
        return message.id


def record_opt_out(db: Database, number: str, *, now: datetime, actor: str) -> bool:
    """The patient asked us by phone to stop texting: same effect as STOP."""
    with db.transaction() as session:
        newly = numbers.opt_out(session, number, now=now, word="(by phone)", source="staff")
        audit.record(
            session,
            now=now,
            actor=actor,
            action="opt_out.staff",
            target="conversation",
            detail={"newly": newly},
        )
        _resolve(session, number, now=now, actor=actor)
        return newly


def book_for_patient(
    db: Database,
    *,
    patient_id: int,
    slot_id: int,
    now: datetime,
    actor: str,
    settings: Settings,
) -> int:
    """Book a free slot on the patient's behalf (`booking.staff_book`); at a GP Connect
    practice the booking is carried into the practice's own book before the patient is
    told (`gp_booking.book_for_staff`)."""
    with db.transaction() as session:
        patient = session.get(Patient, patient_id)
        slot = session.get(Slot, slot_id)
        if patient is None or slot is None or slot.practice_id != patient.practice_id:
            raise FollowUpError("Choose a slot at the patient's practice")
        in_practice_book = slot.gpconnect_id is not None
        try:
            made = booking.staff_book(
                session,
                patient_id,
                slot_id,
                now=now,
                by=actor,
                settings=settings,
                send_confirmation=not in_practice_book,
            )
        except booking.SlotUnavailable:
            raise FollowUpError("That slot has just been taken: choose another") from None
        if patient.mobile:
            _resolve(session, patient.mobile, now=now, actor=actor)
        made_id, mobile = made.id, patient.mobile
    if in_practice_book:
        try:
            gp_booking.book_for_staff(db, made_id, now=now, actor=actor, settings=settings)
        except gp_booking.StaffBookingRefused as exc:
            raise FollowUpError(str(exc)) from None
        if mobile:
            with db.transaction() as session:
                booked = session.get(Booking, made_id)
                assert booked is not None
                booking.queue_confirmation(session, booked, to=mobile, now=now, settings=settings)
    return made_id


def resolve(db: Database, number: str, *, now: datetime, actor: str) -> None:
    with db.transaction() as session:
        _resolve(session, number, now=now, actor=actor)
        audit.record(session, now=now, actor=actor, action="conversation.resolve")


def _resolve(session: Any, number: str, *, now: datetime, actor: str) -> None:
    conversations.resolve(session, number, now=now, by=actor)
