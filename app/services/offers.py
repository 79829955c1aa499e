"""Offers: holding three slots for one patient, planning waves of them, and expiry.

Rules (offers: three unique, time-limited slots):
- an offer holds exactly three free slots at the patient's practice (app.domain.offers
  chooses them) or is not made: waves are sized by free slots;
- a slot is held by one offer only: the hold is a conditional UPDATE (`state = 'free'`)
  whose row count is checked, and on PostgreSQL the free slots are claimed with
  `FOR UPDATE SKIP LOCKED`, so two planners never fight over one slot;
- one open offer per mobile (people share phones; "2" must never be ambiguous): the
  partial unique index `uq_offer_open_mobile` enforces it, and the planner skips numbers
  that already have one, so a second patient on the number waits;
- never to a number that opted out or cannot be texted, never past the campaign's
  invitation limit, never from a draft, paused or closed campaign;
- the invitation is queued in the same transaction as the holds (dedupe key
  `invitation:offer:<id>`), waiting for the send window and never sent after expiry;
- at expiry the holds are released and the member goes back to the pool, or is
  exhausted at the limit (and then told how to book another way).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, exists, func, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.clock import as_utc
from app.data.db import Database
from app.data.models import (
    Booking,
    Campaign,
    CampaignMember,
    CampaignPractice,
    Message,
    Offer,
    OfferSlot,
    Patient,
    PhoneNumber,
    Practice,
    Slot,
)
from app.domain import priority, timefmt
from app.domain.offers import SlotOption, SlotPool, choose_slots, earliest_start
from app.domain.personalisation import personalise
from app.domain.send_window import SendWindow, is_open
from app.services.numbers import unsendable_numbers
from app.services.offer_state import close_open_offers
from app.services.outbox import queue_message
from app.sms.rendering import environment, render

log = logging.getLogger(__name__)
UTC = ZoneInfo("UTC")
CHUNK = 5000  # rows per statement in bulk work: well under PostgreSQL's 65535 parameters
# free slots one on-demand offer locks and chooses from: a few clinic days, enough for
# variety, and few enough that a wave running meanwhile (which skips locked slots)
# loses little
ON_DEMAND_SLOT_LIMIT = 60
# member states from which a fresh on-demand offer may be made
REOFFERABLE = ("waiting", "offered", "booked", "exhausted")


def _table(model: Any) -> Table:
    """A model's Core table (typed for mypy): bulk statements skip the ORM."""
    return cast(Table, model.__table__)


def expiry_for(now: datetime, hold_hours: int) -> datetime:
    """The hold ends on the hour after `hold_hours`: `Thu 5 Dec, 6pm` reads better than
    `6:23pm`, and the patient gets a little longer, never less."""
    end = now + timedelta(hours=hold_hours)
    rounded = end.replace(minute=0, second=0, microsecond=0)
    return rounded if rounded == end else rounded + timedelta(hours=1)


@dataclass(frozen=True)
class InvitationFacts:
    """What an invitation says; everything comes from the offer's rows."""

    variant: str
    first_name: str | None
    practice_name: str
    practice_phone: str | None
    slot_starts: Sequence[datetime]
    expires_at: datetime
    info_url: str | None
    age_band: str | None
    sex: str | None


def render_invitation(facts: InvitationFacts) -> str:
    return render(f"invitation_{facts.variant}", **invitation_context(facts))


def invitation_context(facts: InvitationFacts) -> dict[str, Any]:
    return {
        "first_name": (facts.first_name or "").strip()[:30] or None,
        "practice_name": facts.practice_name,
        "practice_phone": facts.practice_phone or "your GP practice",
        "slots": [timefmt.slot_time(s) for s in facts.slot_starts],
        "expiry": timefmt.deadline(facts.expires_at),
        "info_url": facts.info_url or "",
        "personal": _personal(facts.age_band, facts.sex),
    }


@lru_cache(maxsize=256)
def _personal(age_band: str | None, sex: str | None) -> dict[str, str]:
    """A handful of (age band, sex) pairs cover everyone: worked out once a process."""
    return personalise(age_band=age_band, sex=sex)


def _config_value(config: Mapping[str, Any] | None, key: str) -> Any:
    return (config or {}).get(key)


# --- one offer, on demand ------------------------------------------------------------


def create_offer(
    session: Session,
    member_id: int,
    *,
    now: datetime,
    config: Mapping[str, Any] | None = None,
    respect_limit: bool = True,
) -> Offer | None:
    """Make one offer for a campaign member in the caller's transaction, or None.

    Used by waves' callers on demand: a reply of MORE/CHANGE, a staff re-offer
    or a cancelled booking. None when the campaign is not active, the member
    cannot be texted or has left the practice list, is at the invitation limit (unless
    `respect_limit` is False: staff making good a slot they cancelled), already has an
    open offer, their number has one, or three suitable free slots are not there.
    Nothing is changed then.
    """
    row = session.execute(
        select(CampaignMember, Campaign, Patient, Practice)
        .join(Campaign, Campaign.id == CampaignMember.campaign_id)
        .join(Patient, Patient.id == CampaignMember.patient_id)
        .join(Practice, Practice.id == Patient.practice_id)
        .where(CampaignMember.id == member_id)
    ).one_or_none()
    if row is None:
        return None
    member, campaign, patient, practice = row
    if campaign.state != "active" or member.cohort_status != "eligible":
        return None
    if member.state not in REOFFERABLE:
        return None
    if respect_limit and member.invitations >= campaign.max_invitations:
        return None
    mobile = patient.mobile
    if not mobile or patient.opted_out_at is not None or patient.mobile_status != "ok":
        return None
    if patient.left_list_at is not None:
        return None
    if session.scalar(unsendable_numbers().where(PhoneNumber.number == mobile)) is not None:
        return None
    open_elsewhere = session.scalar(
        select(Offer.id).where(
            Offer.state == "open", or_(Offer.mobile == mobile, Offer.member_id == member_id)
        )
    )
    if open_elsewhere is not None:
        return None
    if member.state == "booked" and session.scalar(
        select(Booking.id).where(
            Booking.patient_id == patient.id,
            Booking.campaign_id == campaign.id,
            Booking.state == "booked",
        )
    ):
        return None  # booked and still coming: nothing to re-offer
    expires_at = expiry_for(now, campaign.hold_hours)
    not_before = earliest_start(expires_at, campaign.min_notice_hours)
    for _attempt in range(3):
        free = session.execute(
            select(Slot.id, Slot.starts_at)
            .where(
                Slot.practice_id == patient.practice_id,
                Slot.state == "free",
                Slot.starts_at >= not_before,
            )
            .order_by(Slot.starts_at, Slot.id)
            .limit(ON_DEMAND_SLOT_LIMIT)
            .with_for_update(skip_locked=True)
        ).all()
        chosen = choose_slots(
            [SlotOption(as_utc(s.starts_at), s.id) for s in free], not_before=not_before
        )
        if chosen is None:
            return None
        try:
            offer = _hold(session, member, campaign, patient, mobile, chosen, now, expires_at)
        except IntegrityError:
            return None  # the number got an open offer meanwhile
        if offer is not None:
            break
    else:
        return None
    body = render_invitation(
        InvitationFacts(
            variant=offer.variant,
            first_name=patient.given_name,
            practice_name=practice.name,
            practice_phone=practice.phone,
            slot_starts=[s.starts_at for s in chosen],
            expires_at=expires_at,
            info_url=campaign.info_url,
            age_band=member.age_band,
            sex=member.sex,
        )
    )
    queue_message(
        session,
        to=mobile,
        body=body,
        kind="invitation",
        now=now,
        dedupe_key=f"invitation:offer:{offer.id}",
        from_number=_config_value(config, "SMS_FROM_NUMBER"),
        in_send_window=True,
        expires_at=expires_at,
        campaign_id=campaign.id,
        patient_id=patient.id,
        offer_id=offer.id,
    )
    return offer


class _LostRace(Exception):
    """A chosen slot was taken by another transaction between reading and holding."""


def _next_sequence(session: Session, member_id: int) -> int:
    last = session.scalar(select(func.max(Offer.sequence)).where(Offer.member_id == member_id))
    return (last or 0) + 1


def _hold(
    session: Session,
    member: CampaignMember,
    campaign: Campaign,
    patient: Patient,
    mobile: str,
    chosen: Sequence[SlotOption],
    now: datetime,
    expires_at: datetime,
) -> Offer | None:
    """Insert the offer and hold its slots in a savepoint; None if a slot was lost."""
    slot_ids = [s.id for s in chosen]
    try:
        with session.begin_nested():
            offer = Offer(
                campaign_id=campaign.id,
                member_id=member.id,
                patient_id=patient.id,
                mobile=mobile,
                variant=member.variant or campaign.control_variant,
                sequence=_next_sequence(session, member.id),
                state="open",
                created_at=now,
                expires_at=expires_at,
                reminder_due_at=_reminder_due(now, campaign.reminder_hours),
            )
            session.add(offer)
            session.flush()  # the partial unique index refuses a second open offer here
            held = session.execute(
                update(_table(Slot))
                .where(_table(Slot).c.id.in_(slot_ids), _table(Slot).c.state == "free")
                .values(state="held", held_by_offer_id=offer.id)
            ).rowcount  # type: ignore[attr-defined]
            if held != len(slot_ids):
                raise _LostRace
            session.execute(
                insert_rows(OfferSlot),
                [
                    {"offer_id": offer.id, "position": position, "slot_id": slot_id}
                    for position, slot_id in enumerate(slot_ids, start=1)
                ],
            )
            session.execute(
                update(_table(CampaignMember))
                .where(_table(CampaignMember).c.id == member.id)
                .values(
                    state="offered",
                    invitations=_table(CampaignMember).c.invitations + 1,
                    updated_at=now,
                )
            )
    except _LostRace:
        return None
    except IntegrityError:
        log.info("member %s: their number got an open offer meanwhile", member.id)
        raise
    session.expire(member)
    return offer


def _reminder_due(now: datetime, reminder_hours: int) -> datetime | None:
    return now + timedelta(hours=reminder_hours) if reminder_hours else None


def insert_rows(model: Any) -> Any:
    from sqlalchemy import insert

    return insert(model.__table__)


# --- waves ----------------------------------------------------------------------------

# one wave planner at a time on PostgreSQL (transaction-scoped advisory lock); SQLite's
# BEGIN IMMEDIATE already serialises writers
WAVE_LOCK_KEY = 0x4E55444745  # "NUDGE"


def window_of(campaign: Campaign) -> SendWindow:
    return SendWindow.parse(
        f"{campaign.send_window_start:%H:%M}-{campaign.send_window_end:%H:%M}",
        campaign.send_days,
    )


def plan_waves(db: Database, *, now: datetime, config: Mapping[str, Any] | None = None) -> int:
    """Plan a wave for every active campaign whose send window is open; offers made.

    Each campaign's wave is its own transaction, so one campaign's problem never stops
    another's. Holds are not made while the window is shut: an invitation queued at
    night would spend its hold time waiting to be sent.
    """
    with db.transaction() as session:
        campaign_ids = list(
            session.scalars(
                select(Campaign.id).where(Campaign.state == "active").order_by(Campaign.id)
            )
        )
    return sum(plan_wave(db, cid, now=now, config=config) for cid in campaign_ids)


@dataclass(frozen=True)
class _Candidate:
    member_id: int
    patient_id: int
    practice_id: int
    mobile: str
    first_name: str | None
    variant: str | None
    age_band: str | None
    sex: str | None
    ranking: priority.Candidate


def plan_wave(
    db: Database,
    campaign_id: int,
    *,
    now: datetime,
    config: Mapping[str, Any] | None = None,
    respect_window: bool = True,
) -> int:
    """One campaign's wave, set-based: as many offers as free slots allow, by priority.

    Bulk reads (free slots, candidates), the choice in Python with the pure domain
    functions, then bulk writes: offers (skipping any number that got an open offer
    meanwhile), offer slots, one conditional UPDATE per chunk holding the slots (its row
    count checked: any shortfall rolls the whole wave back), members, and invitations.
    """
    with db.transaction() as session:
        if not db.is_sqlite:
            session.execute(select(func.pg_advisory_xact_lock(WAVE_LOCK_KEY)))
        campaign = session.scalar(
            select(Campaign).where(Campaign.id == campaign_id, Campaign.state == "active")
        )
        if campaign is None:
            return 0
        if respect_window and not is_open(window_of(campaign), now):
            return 0
        expires_at = expiry_for(now, campaign.hold_hours)
        not_before = earliest_start(expires_at, campaign.min_notice_hours)
        practices = {
            p.id: p
            for p in session.scalars(
                select(Practice)
                .join(CampaignPractice, CampaignPractice.practice_id == Practice.id)
                .where(CampaignPractice.campaign_id == campaign_id)
            )
        }
        pools = _free_slot_pools(session, list(practices), not_before)
        capacity = sum(pool.remaining // 3 for pool in pools.values())
        if capacity == 0:
            return 0
        candidates = _candidates(session, campaign)
        planned = _choose(campaign.priority, candidates, pools, capacity)
        if not planned:
            return 0
        made = _write_wave(
            session, campaign, planned, practices, now=now, expires_at=expires_at, config=config
        )
        log.info("campaign %s: wave of %s offers", campaign_id, made)
        return made


def _free_slot_pools(
    session: Session, practice_ids: list[int], not_before: datetime
) -> dict[int, SlotPool]:
    rows = session.execute(
        select(Slot.id, Slot.practice_id, Slot.starts_at)
        .where(
            Slot.practice_id.in_(practice_ids),
            Slot.state == "free",
            Slot.starts_at >= not_before,
        )
        .with_for_update(skip_locked=True)
    ).all()
    by_practice: dict[int, list[SlotOption]] = {}
    for slot_id, practice_id, starts_at in rows:
        by_practice.setdefault(practice_id, []).append(SlotOption(as_utc(starts_at), slot_id))
    return {pid: SlotPool(slots) for pid, slots in by_practice.items()}


def _candidates(session: Session, campaign: Campaign) -> list[_Candidate]:
    """Waiting members who may be texted now: below the limit, number usable and free."""
    open_on_number = exists().where(Offer.mobile == Patient.mobile, Offer.state == "open")
    rows = session.execute(
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
        )
        .join(Patient, Patient.id == CampaignMember.patient_id)
        .where(
            CampaignMember.campaign_id == campaign.id,
            CampaignMember.state == "waiting",
            CampaignMember.cohort_status == "eligible",
            CampaignMember.invitations < campaign.max_invitations,
            Patient.mobile.is_not(None),
            Patient.mobile_status == "ok",
            Patient.opted_out_at.is_(None),
            Patient.left_list_at.is_(None),
            Patient.mobile.not_in(unsendable_numbers()),
            ~open_on_number,
        )
    ).all()
    return [
        _Candidate(
            member_id=r[0],
            patient_id=r[1],
            practice_id=r[2],
            mobile=r[3] or "",  # not null: filtered in the query
            first_name=r[4],
            variant=r[5],
            age_band=r[6],
            sex=r[7],
            ranking=priority.Candidate(r[0], r[8], r[9], r[10]),
        )
        for r in rows
    ]


def _choose(
    policy: str,
    candidates: Iterable[_Candidate],
    pools: Mapping[int, SlotPool],
    capacity: int,
) -> list[tuple[_Candidate, tuple[SlotOption, ...]]]:
    """Who gets which three slots, in priority order; one offer per number."""
    ordered = sorted(candidates, key=lambda c: priority.sort_key(policy, c.ranking))
    planned: list[tuple[_Candidate, tuple[SlotOption, ...]]] = []
    numbers: set[str] = set()
    live = {pid for pid, pool in pools.items() if pool.remaining >= 3}
    for candidate in ordered:
        if len(planned) >= capacity or not live:
            break
        if candidate.mobile in numbers or candidate.practice_id not in live:
            continue
        chosen = pools[candidate.practice_id].take()
        if chosen is None:
            live.discard(candidate.practice_id)
            continue
        numbers.add(candidate.mobile)
        planned.append((candidate, chosen))
    return planned


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_open_offers(session: Session, rows: list[dict[str, Any]]) -> dict[int, int]:
    """Insert offers, skipping any whose number got an open offer meanwhile: member -> id.

    One executemany: SQLAlchemy batches it into multi-row INSERT ... ON CONFLICT DO
    NOTHING ... RETURNING statements ("insertmanyvalues") without compiling each row.
    """
    if not rows:
        return {}
    table = _table(Offer)
    if session.get_bind().dialect.name == "postgresql":
        return _copy_open_offers(session, rows)
    stmt = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["mobile"], index_where=text("state = 'open'"))
        .returning(table.c.id, table.c.member_id)
    )
    return {member_id: offer_id for offer_id, member_id in session.execute(stmt, rows)}


def _copy_open_offers(session: Session, rows: list[dict[str, Any]]) -> dict[int, int]:
    """PostgreSQL: COPY the rows into a scratch table, then one INSERT ... SELECT ... ON
    CONFLICT DO NOTHING RETURNING: the same rule, without a parameter per value."""
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    session.execute(
        text(f"CREATE TEMP TABLE wave_offer ON COMMIT DROP AS SELECT {names} FROM offer LIMIT 0")
    )
    _bulk_insert(session, _Named("wave_offer"), rows)
    result = session.execute(
        text(
            f"INSERT INTO offer ({names}) SELECT {names} FROM wave_offer"
            " ON CONFLICT (mobile) WHERE state = 'open' DO NOTHING RETURNING id, member_id"
        )
    )
    ids = {member_id: offer_id for offer_id, member_id in result}
    session.execute(text("DROP TABLE wave_offer"))
    return ids


@dataclass(frozen=True)
class _Named:
    name: str


def _bulk_insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Plain bulk insert: COPY on PostgreSQL (the fastest way in), executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert_rows_table(table), rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for start in range(0, len(rows), CHUNK):
            lines = [
                "\t".join([_copy_text(row[c]) for c in columns])
                for row in rows[start : start + CHUNK]
            ]
            copy.write("\n".join(lines) + "\n")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _copy_text(value: Any) -> str:
    """One value in COPY's text format (tab-separated, backslash escapes, \\N for null)."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


def insert_rows_table(table: Any) -> Any:
    from sqlalchemy import insert

    return insert(table)


def _hold_wave_slots(session: Session, links: list[dict[str, Any]], offer_ids: list[int]) -> int:
    """Hold each linked slot for its offer, only if still free; how many were held.

    PostgreSQL: one UPDATE ... FROM offer_slot with the offer ids as a single array
    parameter. Elsewhere: chunks joined to offer_slot.
    """
    slot_t, link_t = _table(Slot), _table(OfferSlot)
    if session.get_bind().dialect.name == "postgresql":
        held = session.execute(
            text(
                "UPDATE slot SET state = 'held', held_by_offer_id = offer_slot.offer_id"
                " FROM offer_slot WHERE offer_slot.slot_id = slot.id"
                " AND offer_slot.offer_id = ANY(:ids) AND slot.state = 'free'"
            ),
            {"ids": offer_ids},
        ).rowcount  # type: ignore[attr-defined]
        return int(held)
    held = 0
    for chunk in _chunks(offer_ids):
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


def _mark_offered(member_ids: list[int], session: Session, *, now: datetime) -> int:
    """Waiting members -> offered, one more invitation; how many moved."""
    if session.get_bind().dialect.name == "postgresql":
        return int(
            session.execute(
                text(
                    "UPDATE campaign_member SET state = 'offered',"
                    " invitations = invitations + 1, updated_at = :now"
                    " WHERE id = ANY(:ids) AND state = 'waiting'"
                ),
                {"ids": member_ids, "now": now},
            ).rowcount  # type: ignore[attr-defined]
        )
    member_t = _table(CampaignMember)
    promoted = 0
    for chunk in _chunks(member_ids):
        promoted += session.execute(
            update(member_t)
            .where(member_t.c.id.in_(chunk), member_t.c.state == "waiting")
            .values(state="offered", invitations=member_t.c.invitations + 1, updated_at=now)
        ).rowcount  # type: ignore[attr-defined]
    return promoted


def _write_wave(
    session: Session,
    campaign: Campaign,
    planned: list[tuple[_Candidate, tuple[SlotOption, ...]]],
    practices: Mapping[int, Practice],
    *,
    now: datetime,
    expires_at: datetime,
    config: Mapping[str, Any] | None,
) -> int:
    member_ids = [c.member_id for c, _ in planned]
    sequences: dict[int, int] = {}
    for chunk in _chunks(member_ids):
        sequences.update(
            session.execute(
                select(Offer.member_id, func.max(Offer.sequence))
                .where(Offer.member_id.in_(chunk))
                .group_by(Offer.member_id)
            ).all()
        )
    reminder_due = _reminder_due(now, campaign.reminder_hours)
    offer_ids = _insert_open_offers(
        session,
        [
            {
                "campaign_id": campaign.id,
                "member_id": c.member_id,
                "patient_id": c.patient_id,
                "mobile": c.mobile,
                "variant": c.variant or campaign.control_variant,
                "sequence": sequences.get(c.member_id, 0) + 1,
                "state": "open",
                "created_at": now,
                "expires_at": expires_at,
                "reminder_due_at": reminder_due,
            }
            for c, _ in planned
        ],
    )
    made = [
        (c, chosen, offer_ids[c.member_id]) for c, chosen in planned if c.member_id in offer_ids
    ]
    if not made:
        return 0
    links = [
        {"offer_id": offer_id, "position": position, "slot_id": slot.id}
        for _, chosen, offer_id in made
        for position, slot in enumerate(chosen, start=1)
    ]
    _bulk_insert(session, _table(OfferSlot), links)
    held = _hold_wave_slots(session, links, [offer_id for _, _, offer_id in made])
    promoted = _mark_offered([c.member_id for c, _, _ in made], session, now=now)
    if held != 3 * len(made) or promoted != len(made):
        # a slot or member changed under us: undo the whole wave; the next run retries
        raise RuntimeError(
            f"wave for campaign {campaign.id}: held {held} of {3 * len(made)} slots,"
            f" moved {promoted} of {len(made)} members; rolled back"
        )
    from_number = _config_value(config, "SMS_FROM_NUMBER")
    messages = []
    # a wave renders the same few templates and slot times many times over: look each
    # template up once and write each distinct start time once
    templates: dict[str, Any] = {}
    slot_text: dict[datetime, str] = {}
    expiry_text = timefmt.deadline(expires_at)
    for candidate, chosen, offer_id in made:
        practice = practices[candidate.practice_id]
        variant = candidate.variant or campaign.control_variant
        if variant not in templates:
            templates[variant] = environment().get_template(f"invitation_{variant}.txt.j2")
        for slot in chosen:
            if slot.starts_at not in slot_text:
                slot_text[slot.starts_at] = timefmt.slot_time(slot.starts_at)
        body = (
            templates[variant]
            .render(
                first_name=(candidate.first_name or "").strip()[:30] or None,
                practice_name=practice.name,
                practice_phone=practice.phone or "your GP practice",
                slots=[slot_text[slot.starts_at] for slot in chosen],
                expiry=expiry_text,
                info_url=campaign.info_url or "",
                personal=_personal(candidate.age_band, candidate.sex),
            )
            .strip()
        )
        messages.append(
            {
                "direction": "out",
                "kind": "invitation",
                "to_number": candidate.mobile,
                "from_number": from_number,
                "body": body,
                "status": "queued",
                "dedupe_key": f"invitation:offer:{offer_id}",
                "campaign_id": campaign.id,
                "patient_id": candidate.patient_id,
                "offer_id": offer_id,
                "in_send_window": True,
                "not_before": now,
                "expires_at": expires_at,
                "attempts": 0,
                "created_at": now,
            }
        )
    _bulk_insert(session, _table(Message), messages)
    return len(made)


# --- expiry ---------------------------------------------------------------------------


def expire_offers(db: Database, *, now: datetime) -> int:
    """Close every open offer past its expiry; release its holds; return how many.

    The member goes back to waiting for the next wave, or is exhausted at the campaign's
    invitation limit; an exhausted member is told once how to book another way.
    Query-driven and idempotent: a second run finds nothing open and past due.
    """
    with db.transaction() as session:
        closed = close_open_offers(session, Offer.expires_at <= now, state="expired", now=now)
        if not closed:
            return 0
        member_t, campaign_t = _table(CampaignMember), _table(Campaign)
        limit = (
            select(campaign_t.c.max_invitations)
            .where(campaign_t.c.id == member_t.c.campaign_id)
            .scalar_subquery()
        )
        exhausted_members: list[int] = []
        for chunk in _chunks(closed):
            members = select(Offer.member_id).where(Offer.id.in_(chunk))
            exhausted_members += list(
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
        if exhausted_members:
            _tell_exhausted(session, exhausted_members, closed, now=now)
        return len(closed)


def _tell_exhausted(
    session: Session, member_ids: list[int], offer_ids: list[int], *, now: datetime
) -> None:
    """Queue the `expired` message for members who will not be invited again."""
    wanted = set(member_ids)
    for chunk in _chunks(offer_ids):
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
        ).all()
        for offer_id, member_id, mobile, campaign_id, patient_id, name, phone in rows:
            if member_id not in wanted:
                continue
            queue_message(
                session,
                to=mobile,
                body=render(
                    "expired", practice_name=name, practice_phone=phone or "your GP practice"
                ),
                kind="expired",
                now=now,
                dedupe_key=f"expired:offer:{offer_id}",
                in_send_window=True,
                campaign_id=campaign_id,
                patient_id=patient_id,
                offer_id=offer_id,
            )


def open_offer_slots(session: Session, offer_id: int) -> list[Slot]:
    """The offer's slots in the order the invitation listed them (reply 1, 2, 3)."""
    return list(
        session.scalars(
            select(Slot)
            .join(OfferSlot, OfferSlot.slot_id == Slot.id)
            .where(OfferSlot.offer_id == offer_id)
            .order_by(OfferSlot.position)
        )
    )
