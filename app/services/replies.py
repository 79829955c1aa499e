"""Handling a resident's inbound text: store it once, then read it, act, and answer.

Receiving is one statement (GOV.UK Notify's thin inbound endpoint): the webhook
stores the text with its provider SID (unique, so a redelivered webhook is stored once)
and answers. Acting is the replies job's (`process_inbound`, every second): each stored
text is one unit of work in which the sender's conversation row is locked (so texts from
one number are acted on one after the other, in order), the text is parsed
(app.domain.keywords), the action taken (book, decline, opt out, new times ...), the
answer queued in the outbox outside the send window (a conversation is answered at any
hour) and the text stamped processed, all in one commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.clock import as_utc
from app.data import conversations, history, messages
from app.data.db import Database
from app.data.models import (
    Conversation,
    Message,
)
from app.domain.keywords import parse
from app.services import gp_booking
from app.services.reply_actions import DEFERRED, Act
from app.services.reply_context import Context, context_for, open_offer_contexts
from app.settings import Settings


@dataclass(frozen=True)
class InboundResult:
    """What one inbound text did. `duplicate`: its SID was seen before; nothing acted."""

    duplicate: bool
    intent: str | None = None
    action: str | None = None
    reply_kinds: tuple[str, ...] = ()
    booking_id: int | None = None
    message_sid: str | None = None
    message_id: int | None = None


def receive_inbound(
    db: Database,
    *,
    message_sid: str,
    from_number: str,
    to_number: str,
    body: str,
    now: datetime,
    opt_out_type: str | None = None,
) -> bool:
    """Store one inbound SMS to be acted on later; False if its `message_sid` is stored.

    The webhook's whole job (GOV.UK Notify's thin inbound endpoint): one INSERT ... ON
    CONFLICT (provider_sid) DO NOTHING, committed, so Twilio's retry of the same
    MessageSid is stored once and acted on once, and the request holds no lock while the
    action runs. `process_inbound` (the replies job) acts on it within about a second.
    """
    with db.transaction() as session:
        stored = messages.store_inbound(
            session,
            message_sid=message_sid,
            from_number=from_number,
            to_number=to_number,
            body=body,
            intent=parse(body).kind,
            opt_out_type=opt_out_type,
            now=now,
        )
        return stored is not None


BATCH = 100


def process_inbound(db: Database, *, now: datetime, settings: Settings, limit: int = 200) -> int:
    """Act on up to `limit` stored inbound texts, oldest first; how many were acted on.

    Texts are claimed in batches (SKIP LOCKED on PostgreSQL, so two replies jobs share
    the queue), and each batch is one transaction: a crash or error anywhere in it rolls
    the whole batch back, so no text's action is ever committed without its processed
    stamp, or stamped without its action, and every text is acted on exactly once. A
    text is acted on only once every earlier text from the same number has been (one
    still pending elsewhere leaves it for a later run), so a resident's texts are read in
    the order they were sent.

    First, with no transaction open, choices and CHANGEs for practices on GP Connect are
    carried to the practice's appointment book (`gp_booking.carry_pending`); a text whose
    call is still under way is left pending (not stamped) for a later run, and so are
    the same number's later texts, except STOP, which opts out at once.
    """
    gp_booking.carry_pending(db, now=now, settings=settings)
    acted = 0
    after = 0
    while limit > 0:
        batch = _act_on_batch(db, now=now, settings=settings, after=after, limit=min(limit, BATCH))
        if batch is None:
            break
        claimed, last_id, done = batch
        limit -= claimed
        after = last_id
        acted += done
    return acted


def _act_on_batch(
    db: Database, *, now: datetime, settings: Settings, after: int, limit: int
) -> tuple[int, int, int] | None:
    """Claim up to `limit` pending texts after id `after` and act on them in one commit.

    (claimed, highest id claimed, acted on), or None when none is pending. The senders'
    conversation rows are locked in one statement, in number order (so two jobs never
    deadlock), then texts are acted on number by number, each number's oldest first; a
    number with an earlier text pending outside the batch (another worker's, not yet
    committed) is left for a later run. The answers are queued in one multi-row insert.
    """
    with db.transaction() as session:
        claimed = messages.claim_inbound(session, after=after, limit=limit)
        if not claimed:
            return None
        numbers = {m.from_number for m in claimed if m.from_number is not None}
        locked = conversations.lock_many(session, numbers, now)
        waiting = messages.first_pending_outside(session, numbers, (m.id for m in claimed))
        contexts = open_offer_contexts(session, numbers, now)
        outbox = Outbox()
        acted = 0
        previous: str | None = None
        deferred: set[str] = set()
        for message in sorted(claimed, key=lambda m: (m.from_number or "", m.id)):
            assert message.from_number is not None
            first_elsewhere = waiting.get(message.from_number)
            if first_elsewhere is not None and first_elsewhere < message.id:
                continue
            if message.from_number in deferred and message.intent != "stop":
                # an earlier text of theirs waits for the GP system; STOP never waits
                continue
            context = contexts.get(message.from_number)
            if message.from_number == previous:
                # a number's later text reads what its earlier one did and queued
                _flush(session, outbox, now)
                context = None
            previous = message.from_number
            result = _act(
                session,
                message,
                locked[message.from_number],
                now=now,
                settings=settings,
                outbox=outbox,
                context=context,
            )
            if result.action == DEFERRED:
                deferred.add(message.from_number)
                continue
            acted += result.action is not None
        _flush(session, outbox, now)
        return len(claimed), max(m.id for m in claimed), acted


class Outbox(list[messages.OutboundText]):
    """Answers to queue, and texts to stamp acted on, written together by `_flush`."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[dict[str, Any]] = []


def _flush(session: Session, outbox: Outbox, now: datetime) -> None:
    """Stamp the texts acted on (one executemany) and queue their answers (one insert)."""
    messages.attribute_inbound_many(session, outbox.stamps)
    outbox.stamps.clear()
    if outbox:
        messages.queue_many(session, outbox, now=now)
        outbox.clear()


def act_in_order(
    session: Session, message: Message, *, now: datetime, settings: Settings
) -> InboundResult | None:
    """Act on a claimed text unless an earlier one from its number is pending (then None).

    The number's conversation row is locked first, so a worker acting on the earlier
    text commits before we look, and texts from one number are acted on in order.
    """
    assert message.from_number is not None
    conversation = conversations.lock(session, message.from_number, now)
    if messages.earlier_inbound_pending(session, message):
        return None
    outbox = Outbox()
    result = _act(session, message, conversation, now=now, settings=settings, outbox=outbox)
    _flush(session, outbox, now)
    return result


def _act(
    session: Session,
    message: Message,
    conversation: Conversation,
    *,
    now: datetime,
    settings: Settings,
    outbox: Outbox,
    context: Context | None = None,
) -> InboundResult:
    """Read one stored inbound text, act on it, ; its processed stamp and answers
    are added to `outbox` for the caller to write. `context`: the sender's, if the batch
    loaded it already."""
    assert message.from_number is not None and message.provider_sid is not None
    number, sid = message.from_number, message.provider_sid
    context = context or context_for(session, number, now)
    intent = parse(message.body, context.language)
    offer = context.open_offer or context.latest_offer
    about_offer = offer is not None and context.patient_id is not None
    outbox.stamps.append(
        {
            "id": message.id,
            "processed_at": now,
            "patient_id": context.patient_id,
            "offer_id": offer.id if offer and about_offer else None,
            "campaign_id": offer.campaign_id if offer and about_offer else None,
            # read again in the sender's language (stored as English's reading)
            "intent": intent.kind,
        }
    )
    if context.practice is not None:
        # the flag follows the practice whose patient (and offer) the text is about
        conversation.practice_id = context.practice.id
    act = Act(session, context, conversation, intent, sid, message.to_number, now, settings)
    act.outbox = outbox
    act.received_at = as_utc(message.created_at)
    action = act.run(message.opt_out_type)
    if action == DEFERRED:
        outbox.stamps.pop()  # not acted on: the text stays pending
        return InboundResult(duplicate=False, intent=intent.kind, action=DEFERRED)
    if intent.kind != "unclear" and action != "unknown_sender" and conversation.unclear_streak:
        conversation.unclear_streak = 0
    return InboundResult(
        duplicate=False,
        intent=intent.kind,
        action=action,
        reply_kinds=tuple(act.replies),
        booking_id=act.booking_id,
        message_sid=sid,
        message_id=message.id,
    )


def conversation_log(db: Database, number: str, limit: int = 200) -> list[Message]:
    """Every SMS to or from `number`, oldest first: the resident's own phone (dev phone)."""
    with db.sessions() as session:
        return messages.thread(session, number=number, include_cancelled=False, limit=limit)


@dataclass(frozen=True)
class DemoPerson:
    name: str
    mobile: str


def demo_people(db: Database, limit: int = 60) -> list[DemoPerson]:
    """Patients with an Ofcom drama-range mobile, those with an offer or booking first."""
    with db.sessions() as session:
        rows = history.demo_residents(session, limit)
    return [
        DemoPerson(" ".join(p for p in (given, family) if p) or "Patient", mobile)
        for given, family, mobile in rows
    ]
