"""Staff follow-up of flagged conversations: replying, booking for the patient, recording
an opt-out asked for by phone, and closing the flag.

Rules: a reply is sent at any hour (a conversation is not a
campaign message) but never to a number that has opted out or cannot be texted; an
opt-out recorded by staff has the same effect as STOP (`numbers.opt_out`, source
"staff"); every action is audited with who did it. Each function is one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from app.data.db import Database
from app.data.models import Conversation, Message, Patient, PhoneNumber, Slot
from app.domain.segments import count as count_segments
from app.services import audit, booking, numbers
from app.services.outbox import queue_message

MAX_REPLY_SEGMENTS = 3


class FollowUpError(ValueError):
    """An action staff cannot take; the message is safe to show them."""


def thread(session: Any, number: str, limit: int = 200) -> list[Message]:
    """Messages to and from `number`, oldest first (the latest `limit`)."""
    rows = session.scalars(
        select(Message)
        .where(or_(Message.to_number == number, Message.from_number == number))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def phone_state(session: Any, number: str) -> PhoneNumber | None:
    return session.get(PhoneNumber, number)


def reply(
    db: Database, number: str, body: str, *, now: datetime, actor: str, config: Mapping[str, Any]
) -> int:
    """Queue a staff reply to `number`; returns the message id."""
    body = body.strip()
    if not body:
        raise FollowUpError("Enter a message")
    if count_segments(body).segments > MAX_REPLY_SEGMENTS:
        raise FollowUpError(f"The message is longer than {MAX_REPLY_SEGMENTS} text messages")
    with db.transaction() as session:
        if session.scalar(
            select(PhoneNumber.number).where(
                PhoneNumber.number == number,
                or_(
                    PhoneNumber.opted_out_at.is_not(None), PhoneNumber.not_textable_at.is_not(None)
                ),
            )
        ):
            raise FollowUpError("This number has opted out or cannot be texted: phone instead")
        patient_id = session.scalar(select(Patient.id).where(Patient.mobile == number).limit(1))
        message = queue_message(
            session,
            to=number,
            body=body,
            kind="staff_reply",
            now=now,
            from_number=config.get("SMS_FROM_NUMBER"),
            in_send_window=False,
            patient_id=patient_id,
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
    config: Mapping[str, Any],
) -> int:
    """Book a free slot on the patient's behalf (`booking.staff_book`)."""
    with db.transaction() as session:
        patient = session.get(Patient, patient_id)
        slot = session.get(Slot, slot_id)
        if patient is None or slot is None or slot.practice_id != patient.practice_id:
            raise FollowUpError("Choose a slot at the patient's practice")
        try:
            made = booking.staff_book(
                session, patient_id, slot_id, now=now, by=actor, config=config
            )
        except booking.SlotUnavailable:
            raise FollowUpError("That slot has just been taken: choose another") from None
        if patient.mobile:
            _resolve(session, patient.mobile, now=now, actor=actor)
        return made.id


def resolve(db: Database, number: str, *, now: datetime, actor: str) -> None:
    with db.transaction() as session:
        _resolve(session, number, now=now, actor=actor)
        audit.record(session, now=now, actor=actor, action="conversation.resolve")


def _resolve(session: Any, number: str, *, now: datetime, actor: str) -> None:
    session.execute(
        update(Conversation)
        .where(Conversation.number == number, Conversation.resolved_at.is_(None))
        .values(resolved_at=now, resolved_by=actor, unclear_streak=0, updated_at=now)
    )
