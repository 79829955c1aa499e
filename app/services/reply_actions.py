"""What a resident's text does: the sender's context and the action for each intent.

Who is texting is their open offer, else their latest offer, else their live booking,
else the patient the practice that last texted the number wrote about. Each intent
(a choice, MORE, CHANGE, NO, STOP, START, HELP, or a text nobody can read) takes its
action and queues its answer in the caller's transaction (`replies.act_in_order`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.data import bookings, history, messages, offers
from app.data.models import (
    Booking,
    Conversation,
    Offer,
    PhoneNumber,
)
from app.data.offers import close_open_offers
from app.domain import languages, timefmt
from app.domain.keywords import Intent
from app.services import booking as booking_service
from app.services import gp_booking, numbers, patient_language, texts
from app.services.offers import create_offer
from app.services.reply_context import Context
from app.settings import Settings

# after this many unclear replies in a row a person at the practice follows up
UNCLEAR_FLAG_AFTER = 2
# the action of a text left for a later run (its GP Connect call is under way)
DEFERRED = "deferred"


class Act:
    """The action for one intent, and the answer it queues."""

    def __init__(
        self,
        session: Session,
        context: Context,
        conversation: Conversation,
        intent: Intent,
        message_sid: str,
        our_number: str,
        now: datetime,
        settings: Settings,
    ) -> None:
        self.session = session
        self.context = context
        self.conversation = conversation
        self.intent = intent
        self.sid = message_sid
        self.our_number = our_number or settings.sms_from_number
        self.now = now
        self.settings = settings
        self.replies: list[str] = []
        # answers to queue: the caller queues a batch's in one insert
        self.outbox: list[messages.OutboundText] = []
        self.booking_id: int | None = None
        # when the text arrived: an opt-out takes effect then, not when the job ran
        self.received_at = now

    def run(self, opt_out_type: str | None) -> str:
        kind = self.intent.kind
        if kind == "stop":
            return self.stop(provider_handled=opt_out_type is not None)
        if kind == "language":
            return self.switch_language()
        if kind == "start":
            return self.start(provider_handled=opt_out_type is not None)
        if not self.context.known:
            return self.unknown_sender()
        if kind == "help":
            if opt_out_type is None:
                self.reply("help")
            return "help"
        handler = {
            "choice": self.choice,
            "ambiguous": self.ambiguous,
            "decline": self.decline,
            "more": self.more,
            "change": self.change,
        }.get(kind, self.unclear)
        return handler()

    # -- answers ---------------------------------------------------------------

    def render(self, template: str, **fields: Any) -> str:
        """An answer in the resident's language (English where it has no approved one)."""
        return texts.render_in(
            self.context.language,
            template,
            settings=self.settings,
            practice_name=self.context.practice_name,
            practice_phone=self.context.phone,
            **fields,
        )

    def reply(
        self, template: str, *, kind: str = "reply", dedupe_key: str | None = None, **fields: Any
    ) -> None:
        body = self.render(template, **fields)
        offer = self.context.open_offer or self.context.latest_offer
        self.outbox.append(
            messages.OutboundText(
                to=self.context.number,
                body=body,
                kind=kind,
                dedupe_key=dedupe_key or f"reply:{self.sid}",
                from_number=self.our_number,
                in_send_window=False,
                campaign_id=offer.campaign_id if offer else None,
                patient_id=self.context.patient_id,
                offer_id=offer.id if offer else None,
            )
        )
        self.replies.append(template)

    # -- intents ---------------------------------------------------------------

    def stop(self, *, provider_handled: bool) -> str:
        """Opt out at once, everywhere; acknowledge at most once (never if Twilio did)."""
        newly = numbers.opt_out(
            self.session,
            self.context.number,
            now=self.received_at,
            word=self.intent.word or "STOP",
            source="provider" if provider_handled else "sms",
        )
        phone = self.session.get(PhoneNumber, self.context.number)
        assert phone is not None
        if newly and not provider_handled and phone.opt_out_acknowledged_at is None:
            phone.opt_out_acknowledged_at = self.now
            self.reply("stop_ack", kind="stop_ack", has_booking=self.context.booking is not None)
        return "opted_out" if newly else "already_opted_out"

    def start(self, *, provider_handled: bool) -> str:
        changed = numbers.opt_in(self.session, self.context.number, now=self.now)
        if not provider_handled:
            self.reply("start_ack")
        return "opted_in" if changed else "already_opted_in"

    def switch_language(self) -> str:
        """Texts go in the language the resident named, said in it; someone we do not
        know gets the unknown-sender answer in it."""
        code = self.intent.language or languages.ENGLISH
        self.context.language = code
        if not self.context.known:
            return self.unknown_sender()
        assert self.context.patient_id is not None
        patient_language.switch_by_text(self.session, self.context.patient_id, code, now=self.now)
        self.reply("language_changed")
        return "language_changed"

    def unknown_sender(self) -> str:
        """A polite generic answer, once a day at most (an auto-responder cannot loop us)."""
        self.conversation.flagged_at = self.conversation.flagged_at or self.now
        self.conversation.flag_reason = self.conversation.flag_reason or "unknown_sender"
        self.conversation.resolved_at = None
        day = timefmt.local(self.now).date().isoformat()
        self.reply("unknown_sender", dedupe_key=f"unknown_sender:{self.context.number}:{day}")
        return "unknown_sender"

    def choice(self) -> str:
        offer = self.context.open_offer
        if offer is None:
            if self.context.booking is not None:
                self.reply_already_booked()
                return "already_booked"
            return self.times_gone()
        assert self.intent.choice is not None
        gate = gp_booking.gate(self.session, offer, self.intent.choice, now=self.now)
        if gate == "wait":
            return DEFERRED
        if gate in ("gone", "failed"):
            return self.time_gone(offer, failed=gate == "failed")
        # a choice the practice's book took is judged on when it was carried there, so an
        # offer expiring meanwhile cannot leave an appointment Nudge never confirmed
        at = offer.gp_started_at if gate == "booked" and offer.gp_started_at else self.now
        result = booking_service.book_choice(
            self.session, offer.id, self.intent.choice, now=at, settings=self.settings
        )
        if result.booked:
            self.booking_id = result.booking_id
            if gate == "booked":
                assert result.booking_id is not None
                gp_booking.attach(self.session, result.booking_id, offer, now=self.now)
            self.replies.append("confirmation")
            return "booked"
        if result.outcome == "already_booked":
            self.booking_id = result.booking_id
            self.reply_already_booked()
            return "already_booked"
        if result.outcome == "expired":
            close_open_offers(self.session, Offer.id == offer.id, state="expired", now=self.now)
            self.context.open_offer = None
            return self.times_gone()
        self.reply("which_number")  # no such position or slot gone: ask again
        return result.outcome

    def time_gone(self, offer: Offer, *, failed: bool) -> str:
        """The practice's book did not take the choice: say so, offer the other times."""
        assert self.intent.choice is not None
        slot_id = bookings.choice_slot(self.session, offer.id, self.intent.choice)
        starts_at = history.slot_start(self.session, slot_id) if slot_id else None
        gp_booking.time_gone(self.session, offer, slot_id, failed=failed)
        if failed:
            self.conversation.flagged_at = self.conversation.flagged_at or self.now
            self.conversation.flag_reason = "gpconnect_booking_failed"
            self.conversation.resolved_at = None
            self.reply("booking_failed")
            return "gp_booking_failed"
        others = " or ".join(str(p) for p in offers.held_positions(self.session, offer.id))
        when = starts_at if starts_at else "that time"
        if others:
            self.reply("slot_taken", slot_time=when, others=others, new_times=False)
            return "slot_taken"
        # new times come in one text, opened by what happened to the chosen one
        preface = self.render("slot_taken", slot_time=when, others="", new_times=True)
        if self.new_offer(preface=preface) is None:
            self.reply("slot_taken", slot_time=when, others="", new_times=False)
            return "slot_taken"
        self.replies.append("slot_taken")
        return "slot_taken_new_offer"

    def times_gone(self) -> str:
        fresh = self.new_offer(preface=self.render("times_gone", new_times=True))
        if fresh is None:
            self.reply("times_gone", new_times=False)
            return "times_gone"
        self.replies.append("times_gone")
        return "times_gone_new_offer"

    def reply_already_booked(self) -> None:
        booking = self.context.booking or self.session.get(Booking, self.booking_id)
        assert booking is not None
        starts_at = history.slot_start(self.session, booking.slot_id)
        assert starts_at is not None
        self.reply("already_booked", slot_time=starts_at)

    def ambiguous(self) -> str:
        if self.context.open_offer is None:
            return self.unclear()
        self.reply("which_number")
        return "asked_which_number"

    def decline(self) -> str:
        """Close the offer (holds released) and stop nudging this member in this campaign."""
        if self.context.open_offer is None and self.context.booking is not None:
            return self.unclear()
        if self.context.open_offer is not None:
            close_open_offers(
                self.session, Offer.id == self.context.open_offer.id, state="declined", now=self.now
            )
        member_id = self.context.member_id
        if member_id is not None:
            offers.decline_member(self.session, member_id, now=self.now)
        self.reply("declined")
        return "declined"

    def more(self) -> str:
        if self.context.booking is not None and self.context.open_offer is None:
            self.reply_already_booked()
            return "already_booked"
        fresh = self.new_offer()
        if fresh is None:
            self.reply("no_slots", has_offer=self.context.open_offer is not None)
            return "no_slots"
        self.replies.append("invitation")
        return "new_offer"

    def change(self) -> str:
        """Cancel the live booking (slot freed) and offer new times if allowed."""
        booking = self.context.booking
        if booking is None:
            return self.unclear()
        if gp_booking.change_gate(self.session, booking) == "wait":
            return DEFERRED
        starts_at = history.slot_start(self.session, booking.slot_id)
        assert starts_at is not None
        if not booking_service.cancel_booking(
            self.session,
            booking.id,
            now=self.now,
            reason="change",
            by=f"sms:{self.sid}",
            free_slot=False,
        ):
            return self.unclear()
        self.context.booking = None
        # before the old slot is freed, so it is not offered again
        fresh = self.new_offer(preface=self.render("change", slot_time=starts_at, new_times=True))
        if booking.gp_state != "cancel_failed":  # still in the practice's book: not free
            bookings.free_booked_slot(self.session, booking.slot_id)
        if fresh is None:
            self.reply("change", slot_time=starts_at, new_times=False)
            return "changed"
        self.replies.append("change")
        return "changed_new_offer"

    def unclear(self) -> str:
        conversation = self.conversation
        conversation.unclear_streak += 1
        flagged = conversation.unclear_streak >= UNCLEAR_FLAG_AFTER
        if flagged and (conversation.flagged_at is None or conversation.resolved_at is not None):
            conversation.flagged_at = self.now
            conversation.flag_reason = "unclear"
            conversation.resolved_at = None
            conversation.resolved_by = None
        self.reply(
            "unclear",
            has_offer=self.context.open_offer is not None,
            has_booking=self.context.booking is not None,
            flagged=flagged,
        )
        return "flagged" if flagged else "unclear"

    # -- new times ---------------------------------------------------------------

    def new_offer(self, *, preface: str | None = None) -> Offer | None:
        """Fresh, different times for this member through `create_offer`, or None.

        One open offer per number, so the current offer leaves `open` first, but its
        slots stay held until the new offer has chosen, so MORE never offers the same
        times again; then they are released. If no new offer can be made (invitation
        limit, no free slots, campaign not active) the savepoint rolls back and the
        current times stay held. The new invitation is a reply, so it leaves the send
        window and goes out now, opened by `preface` (what happened to the old times).
        """
        member_id = self.context.member_id
        if member_id is None:
            return None
        savepoint = self.session.begin_nested()
        current = self.context.open_offer
        if current is not None:
            offers.withdraw(self.session, current.id, now=self.now)
        fresh = create_offer(self.session, member_id, now=self.now, settings=self.settings)
        if fresh is None:
            savepoint.rollback()
            self.session.expire_all()
            return None
        savepoint.commit()
        if current is not None:
            offers.release_holds(self.session, [current.id])
            messages.cancel_queued(
                self.session, now=self.now, offer_ids=[current.id], kinds=messages.OFFER_TEXTS
            )
        messages.send_now(
            self.session, offer_id=fresh.id, kind="invitation", now=self.now, preface=preface
        )
        self.context.open_offer = fresh
        return fresh
