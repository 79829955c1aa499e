"""Waves of offers: as many as free slots allow, by priority, and the one offer writer.

Rules ("Offers: three unique, time-limited slots"):
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
  `invitation:offer:<id>`), waiting for the send window and never sent after expiry.
An offer made on demand (`offers.create_offer`) is a wave of one through `write_offers`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from app.data import campaigns as campaign_data
from app.data import messages
from app.data import offers as offer_data
from app.data.db import Database
from app.data.models import Campaign, Practice
from app.data.offers import Candidate
from app.domain import priority
from app.domain.offers import SlotOption, SlotPool, earliest_start
from app.domain.send_window import SendWindow, is_open
from app.services.invitations import InvitationFacts, InvitationRenderer, expiry_for
from app.settings import Settings

log = logging.getLogger(__name__)

Planned = tuple[Candidate, tuple[SlotOption, ...]]


class HoldShortfall(RuntimeError):
    """A chosen slot or member changed between reading and writing: undo the offers."""


def plan_waves(db: Database, *, now: datetime, settings: Settings = Settings()) -> int:
    """Plan a wave for every active campaign whose send window is open; offers made.

    Each campaign's wave is its own transaction, so one campaign's problem never stops
    another's. Holds are not made while the window is shut: an invitation queued at
    night would spend its hold time waiting to be sent.
    """
    with db.transaction() as session:
        campaign_ids = campaign_data.active_campaign_ids(session)
    return sum(plan_wave(db, cid, now=now, settings=settings) for cid in campaign_ids)


def plan_wave(
    db: Database,
    campaign_id: int,
    *,
    now: datetime,
    settings: Settings = Settings(),
    respect_window: bool = True,
) -> int:
    """One campaign's wave, set-based: as many offers as free slots allow, by priority.

    Bulk reads (free slots, candidates), the choice in Python with the pure domain
    functions, then `write_offers`; any shortfall in holds rolls the whole wave back.
    """
    with db.transaction() as session:
        offer_data.lock_wave_planner(session)
        campaign = campaign_data.active_campaign(session, campaign_id)
        if campaign is None:
            return 0
        window = SendWindow.stored(
            campaign.send_window_start, campaign.send_window_end, campaign.send_days
        )
        if respect_window and not is_open(window, now):
            return 0
        expires_at = expiry_for(now, campaign.hold_hours)
        not_before = earliest_start(expires_at, campaign.min_notice_hours)
        practices = campaign_data.campaign_practices(session, campaign_id)
        pools = offer_data.free_slot_pools(session, list(practices), not_before)
        capacity = sum(pool.remaining // 3 for pool in pools.values())
        if capacity == 0:
            return 0
        candidates = offer_data.candidates(session, campaign)
        planned = _choose(campaign.priority, candidates, pools, capacity)
        if not planned:
            return 0
        made = write_offers(
            session,
            campaign,
            planned,
            practices,
            now=now,
            expires_at=expires_at,
            from_number=settings.sms_from_number,
            demo_approved=settings.translations_demo_approved,
        )
        log.info("campaign %s: wave of %s offers", campaign_id, len(made))
        return len(made)


def _choose(
    policy: str,
    candidates: Iterable[Candidate],
    pools: Mapping[int, SlotPool],
    capacity: int,
) -> list[Planned]:
    """Who gets which three slots, in priority order; one offer per number."""
    ordered = sorted(candidates, key=lambda c: priority.sort_key(policy, c.ranking))
    planned: list[Planned] = []
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


def _reminder_due(now: datetime, reminder_hours: int) -> datetime | None:
    return now + timedelta(hours=reminder_hours) if reminder_hours else None


def write_offers(
    session: Any,
    campaign: Campaign,
    planned: list[Planned],
    practices: Mapping[int, Practice],
    *,
    now: datetime,
    expires_at: datetime,
    from_number: str | None,
    member_states: Collection[str] = ("waiting",),
    demo_approved: bool = False,
) -> list[int]:
    """Write planned offers: the offers (skipping any number that got an open offer
    meanwhile), their slots, the holds, the members and the invitations; the offer ids.

    Raises `HoldShortfall` if a slot was no longer free or a member left
    `member_states`: the caller rolls back (a wave: all of it; on demand: a savepoint).
    """
    sequences = offer_data.next_sequences(session, [c.member_id for c, _ in planned])
    reminder_due = _reminder_due(now, campaign.reminder_hours)
    offer_ids = offer_data.insert_open_offers(
        session,
        [
            {
                "campaign_id": campaign.id,
                "member_id": c.member_id,
                "patient_id": c.patient_id,
                "mobile": c.mobile,
                "variant": c.variant or campaign.control_variant,
                "sequence": sequences[c.member_id],
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
        return []
    offer_data.link_slots(
        session,
        [
            {"offer_id": offer_id, "position": position, "slot_id": slot.id}
            for _, chosen, offer_id in made
            for position, slot in enumerate(chosen, start=1)
        ],
    )
    held = offer_data.hold_linked_slots(session, [offer_id for _, _, offer_id in made])
    promoted = offer_data.mark_offered(
        session, [c.member_id for c, _, _ in made], states=member_states, now=now
    )
    if held != 3 * len(made) or promoted != len(made):
        raise HoldShortfall(
            f"offers for campaign {campaign.id}: held {held} of {3 * len(made)} slots,"
            f" moved {promoted} of {len(made)} members; rolled back"
        )
    renderer = InvitationRenderer(demo_approved=demo_approved)
    texts = []
    for candidate, chosen, offer_id in made:
        practice = practices[candidate.practice_id]
        body = renderer.render(
            InvitationFacts(
                variant=candidate.variant or campaign.control_variant,
                first_name=candidate.first_name,
                practice_name=practice.name,
                practice_phone=practice.phone,
                slot_starts=[slot.starts_at for slot in chosen],
                expires_at=expires_at,
                info_url=campaign.info_url,
                age_band=candidate.age_band,
                sex=candidate.sex,
                language=candidate.language,
            )
        )
        texts.append(
            messages.OutboundText(
                to=candidate.mobile,
                body=body,
                kind="invitation",
                dedupe_key=f"invitation:offer:{offer_id}",
                from_number=from_number,
                expires_at=expires_at,
                campaign_id=campaign.id,
                patient_id=candidate.patient_id,
                offer_id=offer_id,
            )
        )
    messages.queue_many(session, texts, now=now)
    return [offer_id for _, _, offer_id in made]
