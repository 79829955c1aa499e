"""Offer state: who may be offered, free slots to hold, writing offers, closing them.

Every offer, a wave of thousands or one made on demand (MORE, CHANGE, a staff re-offer,
a cancelled slot), is written by these functions, in the caller's transaction.
Expiry, STOP, a permanent delivery failure and a decline all end an offer the same way
(`close_open_offers`): its holds go back to `free` and it leaves `open`, so the number
can get its next offer and the slots can go to someone else.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, or_, select, text, update
from sqlalchemy.orm import Session

from app.clock import as_utc
from app.data import messages
from app.data.bulk import bulk_insert, chunks, insert_ignoring, is_postgresql, table_of
from app.data.models import (
    Booking,
    Campaign,
    CampaignMember,
    Message,
    Offer,
    OfferSlot,
    Patient,
    Practice,
    Slot,
)
from app.data.phones import unsendable_numbers
from app.domain import priority
from app.domain.offers import SlotOption, SlotPool

# one wave planner at a time on PostgreSQL (transaction-scoped advisory lock); SQLite's
# BEGIN IMMEDIATE already serialises writers
WAVE_LOCK_KEY = 0x4E55444745  # "NUDGE"


@dataclass(frozen=True)
class Candidate:
    """A campaign member who may be offered now, with what their invitation needs."""

    member_id: int
    patient_id: int
    practice_id: int
    mobile: str
    first_name: str | None
    variant: str | None
    age_band: str | None
    sex: str | None
    ranking: priority.Candidate
    language: str = "en"


def candidates(
    session: Session,
    campaign: Campaign,
    *,
    states: Collection[str] = ("waiting",),
    member_id: int | None = None,
    respect_limit: bool = True,
) -> list[Candidate]:
    """The one rule of who may be offered: members in `states`, eligible at approval,
    below the invitation limit (unless `respect_limit` is False), whose number is
    usable, not opted out or unsendable, has no open offer (nor has the member), who
    are still on the practice list, and not booked and still coming."""
    open_on_number = exists().where(Offer.mobile == Patient.mobile, Offer.state == "open")
    open_for_member = exists().where(Offer.member_id == CampaignMember.id, Offer.state == "open")
    still_booked = exists().where(
        Booking.patient_id == CampaignMember.patient_id,
        Booking.campaign_id == CampaignMember.campaign_id,
        Booking.state == "booked",
    )
    query = (
        select(
            CampaignMember.id,
            CampaignMember.patient_id,
            Patient.practice_id,
            Patient.mobile,
            Patient.given_name,
            CampaignMember.variant,
            CampaignMember.age_band,
            CampaignMember.sex,
            CampaignMember.imd_quintile,
            CampaignMember.invitations,
            CampaignMember.priority_rank,
            Patient.language,
        )
        .join(Patient, Patient.id == CampaignMember.patient_id)
        .where(
            CampaignMember.campaign_id == campaign.id,
            CampaignMember.state.in_(list(states)),
            CampaignMember.cohort_status == "eligible",
            Patient.mobile.is_not(None),
            Patient.mobile_status == "ok",
            Patient.opted_out_at.is_(None),
            Patient.left_list_at.is_(None),
            Patient.mobile.not_in(unsendable_numbers()),
            ~open_on_number,
        )
    )
    if respect_limit:
        query = query.where(CampaignMember.invitations < campaign.max_invitations)
    if set(states) != {"waiting"}:  # a waiting member has neither an open offer nor a booking
        query = query.where(~open_for_member, or_(CampaignMember.state != "booked", ~still_booked))
    if member_id is not None:
        query = query.where(CampaignMember.id == member_id)
    return [
        Candidate(
            member_id=r[0],
            patient_id=r[1],
            practice_id=r[2],
            mobile=r[3] or "",  # not null: filtered in the query
            first_name=r[4],
            variant=r[5],
            age_band=r[6],
            sex=r[7],
            ranking=priority.Candidate(r[0], r[8], r[9], r[10]),
            language=r[11],
        )
        for r in session.execute(query)
    ]


def lock_wave_planner(session: Session) -> None:
    """Let one wave planner run at a time (PostgreSQL; SQLite's writer lock does it)."""
    if is_postgresql(session):
        session.execute(select(func.pg_advisory_xact_lock(WAVE_LOCK_KEY)))


def free_slot_pools(
    session: Session, practice_ids: list[int], not_before: datetime, *, limit: int | None = None
) -> dict[int, SlotPool]:
    """Free slots from `not_before`, by practice, locked (others skip them) until commit.

    `limit`: only the earliest few (an on-demand offer needs a few clinic days, and a
    wave running meanwhile, which skips locked slots, then loses little).
    """
    query = (
        select(Slot.id, Slot.practice_id, Slot.starts_at)
        .where(
            Slot.practice_id.in_(practice_ids),
            Slot.state == "free",
            Slot.starts_at >= not_before,
        )
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        query = query.order_by(Slot.starts_at, Slot.id).limit(limit)
    by_practice: dict[int, list[SlotOption]] = {}
    for slot_id, practice_id, starts_at in session.execute(query):
        by_practice.setdefault(practice_id, []).append(SlotOption(as_utc(starts_at), slot_id))
    return {pid: SlotPool(slots) for pid, slots in by_practice.items()}


def next_sequences(session: Session, member_ids: list[int]) -> dict[int, int]:
    """Each member's next offer sequence number (1 for a first offer)."""
    last: dict[int, int] = {}
    for chunk in chunks(member_ids):
        for member_id, sequence in session.execute(
            select(Offer.member_id, func.max(Offer.sequence))
            .where(Offer.member_id.in_(chunk))
            .group_by(Offer.member_id)
        ):
            last[member_id] = sequence
    return {m: last.get(m, 0) + 1 for m in member_ids}


def insert_open_offers(session: Session, rows: list[dict[str, Any]]) -> dict[int, int]:
    """Insert offers, skipping any whose number got an open offer meanwhile: member -> id."""
    inserted = insert_ignoring(
        session,
        table_of(Offer),
        rows,
        index_elements=["mobile"],
        index_where="state = 'open'",
        returning=("id", "member_id"),
    )
    return {member_id: offer_id for offer_id, member_id in inserted}


def link_slots(session: Session, links: list[dict[str, Any]]) -> None:
    bulk_insert(session, table_of(OfferSlot), links)


def hold_linked_slots(session: Session, offer_ids: list[int]) -> int:
    """Hold each slot linked to these offers for its offer, only if still free; how many.

    PostgreSQL: one UPDATE ... FROM offer_slot with the ids as one array parameter.
    Elsewhere: chunks joined to offer_slot.
    """
    if is_postgresql(session):
        return int(
            session.execute(
                text(
                    "UPDATE slot SET state = 'held', held_by_offer_id = offer_slot.offer_id"
                    " FROM offer_slot WHERE offer_slot.slot_id = slot.id"
                    " AND offer_slot.offer_id = ANY(:ids) AND slot.state = 'free'"
                ),
                {"ids": offer_ids},
            ).rowcount  # type: ignore[attr-defined]
        )
    slot_t, link_t = table_of(Slot), table_of(OfferSlot)
    held = 0
    for chunk in chunks(offer_ids):
        held += session.execute(
            update(slot_t)
            .values(state="held", held_by_offer_id=link_t.c.offer_id)
            .where(
                link_t.c.slot_id == slot_t.c.id,
                link_t.c.offer_id.in_(chunk),
                slot_t.c.state == "free",
            )
        ).rowcount  # type: ignore[attr-defined]
    return held


def mark_offered(
    session: Session, member_ids: list[int], *, states: Collection[str], now: datetime
) -> int:
    """Members in `states` -> offered, one more invitation; how many moved."""
    if is_postgresql(session):
        return int(
            session.execute(
                text(
                    "UPDATE campaign_member SET state = 'offered',"
                    " invitations = invitations + 1, updated_at = :now"
                    " WHERE id = ANY(:ids) AND state = ANY(:states)"
                ),
                {"ids": member_ids, "now": now, "states": list(states)},
            ).rowcount  # type: ignore[attr-defined]
        )
    member_t = table_of(CampaignMember)
    promoted = 0
    for chunk in chunks(member_ids):
        promoted += session.execute(
            update(member_t)
            .where(member_t.c.id.in_(chunk), member_t.c.state.in_(list(states)))
            .values(state="offered", invitations=member_t.c.invitations + 1, updated_at=now)
        ).rowcount  # type: ignore[attr-defined]
    return promoted


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
        release_holds(session, offer_ids)
        # an invitation or reminder still queued for a closed offer must not go out
        messages.cancel_queued(session, now=now, offer_ids=offer_ids, kinds=messages.OFFER_TEXTS)
    return offer_ids


def return_members_of(session: Session, offer_ids: list[int], *, now: datetime) -> list[int]:
    """The closed offers' members go back to waiting, or are exhausted at the campaign's
    invitation limit; the exhausted members' ids."""
    member_t, campaign_t = table_of(CampaignMember), table_of(Campaign)
    limit = (
        select(campaign_t.c.max_invitations)
        .where(campaign_t.c.id == member_t.c.campaign_id)
        .scalar_subquery()
    )
    exhausted: list[int] = []
    for chunk in chunks(offer_ids):
        members = select(Offer.member_id).where(Offer.id.in_(chunk))
        exhausted += list(
            session.scalars(
                update(member_t)
                .where(
                    member_t.c.id.in_(members),
                    member_t.c.state == "offered",
                    member_t.c.invitations >= limit,
                )
                .values(state="exhausted", updated_at=now)
                .returning(member_t.c.id)
            )
        )
        session.execute(
            update(member_t)
            .where(member_t.c.id.in_(members), member_t.c.state == "offered")
            .values(state="waiting", updated_at=now)
        )
    return exhausted


@dataclass(frozen=True)
class OfferToTell:
    """What a text about an offer needs: whom, about whom, and their practice."""

    offer_id: int
    member_id: int
    mobile: str
    campaign_id: int
    patient_id: int
    practice_name: str
    practice_phone: str | None


def offers_to_tell(session: Session, offer_ids: list[int]) -> list[OfferToTell]:
    """The offers among `offer_ids` whose number may still be texted."""
    found: list[OfferToTell] = []
    for chunk in chunks(offer_ids):
        rows = session.execute(
            select(
                Offer.id,
                Offer.member_id,
                Offer.mobile,
                Offer.campaign_id,
                Offer.patient_id,
                Practice.name,
                Practice.phone,
            )
            .join(Patient, Patient.id == Offer.patient_id)
            .join(Practice, Practice.id == Patient.practice_id)
            .where(Offer.id.in_(chunk), Offer.mobile.not_in(unsendable_numbers()))
        )
        found += [OfferToTell(*row) for row in rows]
    return found


def decline_member(session: Session, member_id: int, *, now: datetime) -> None:
    """The member said no: not nudged again in this campaign (unless booked already)."""
    session.execute(
        update(CampaignMember)
        .where(
            CampaignMember.id == member_id,
            CampaignMember.state.in_(("waiting", "offered", "exhausted")),
        )
        .values(state="declined", declined_at=now, updated_at=now)
    )


def return_member_uncounted(session: Session, member_id: int, *, now: datetime) -> None:
    """An offered member waits again, their lost offer not counted against their limit."""
    session.execute(
        update(CampaignMember)
        .where(CampaignMember.id == member_id, CampaignMember.state == "offered")
        .values(
            state="waiting",
            invitations=case(
                (CampaignMember.invitations > 0, CampaignMember.invitations - 1), else_=0
            ),
            updated_at=now,
        )
    )


def invitation_went_out(session: Session, offer_id: int) -> bool:
    """The offer's invitation has left the outbox (so the patient knows of the offer)."""
    sent = select(Message.id).where(
        Message.offer_id == offer_id,
        Message.kind == "invitation",
        Message.status.not_in(("queued", "cancelled")),
    )
    return session.scalar(sent) is not None


def release_holds(session: Session, offer_ids: list[int]) -> None:
    session.execute(
        update(Slot)
        .where(Slot.held_by_offer_id.in_(offer_ids), Slot.state == "held")
        .values(state="free", held_by_offer_id=None)
    )


def held_positions(session: Session, offer_id: int) -> list[int]:
    """The positions (1-3) of the offer whose slots it still holds."""
    return list(
        session.scalars(
            select(OfferSlot.position)
            .join(Slot, Slot.id == OfferSlot.slot_id)
            .where(
                OfferSlot.offer_id == offer_id,
                Slot.state == "held",
                Slot.held_by_offer_id == offer_id,
            )
            .order_by(OfferSlot.position)
        )
    )


def withdraw(session: Session, offer_id: int, *, now: datetime) -> None:
    """Take an offer out of `open` keeping its holds (its replacement is being chosen)."""
    session.execute(
        update(Offer)
        .where(Offer.id == offer_id, Offer.state == "open")
        .values(state="withdrawn", closed_at=now)
        .execution_options(synchronize_session=False)
    )


def open_offer_for(session: Session, number: str) -> Offer | None:
    return session.scalar(select(Offer).where(Offer.mobile == number, Offer.state == "open"))


def open_offers_for(session: Session, numbers: Iterable[str]) -> dict[str, Offer]:
    """The open offer of each of `numbers` that has one, in one query."""
    rows = session.scalars(
        select(Offer).where(Offer.mobile.in_(list(numbers)), Offer.state == "open")
    )
    return {offer.mobile: offer for offer in rows}


def latest_offer_for(session: Session, number: str) -> Offer | None:
    return session.scalar(
        select(Offer).where(Offer.mobile == number).order_by(Offer.id.desc()).limit(1)
    )


def offer_slots(session: Session, offer_id: int) -> list[Slot]:
    """The offer's slots in the order the invitation listed them (reply 1, 2, 3)."""
    return list(
        session.scalars(
            select(Slot)
            .join(OfferSlot, OfferSlot.slot_id == Slot.id)
            .where(OfferSlot.offer_id == offer_id)
            .order_by(OfferSlot.position)
        )
    )
