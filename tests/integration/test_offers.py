"""Offers: holds, the shared-phone rule, limits, opt-outs, expiry and wave planning."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.data.models import CampaignMember, Message, Offer, OfferSlot, PhoneNumber, Slot
from app.services import offers
from app.settings import Settings
from tests.builders import (
    add_free_slots,
    add_patient,
    add_practice,
    approved_campaign,
    clinic_starts,
)

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)  # Wednesday, send window open
MONDAY = date(2026, 1, 19)


@pytest.fixture
def practice(db):
    with db.transaction() as session:
        return add_practice(session, name="Park Road Surgery")


def add_people(db, practice, mobiles: list[str | None], **kwargs) -> list[int]:
    with db.transaction() as session:
        return [add_patient(session, practice, mobile=m, **kwargs).id for m in mobiles]


def add_days_of_slots(db, practice, days: int, first: date = MONDAY) -> None:
    with db.transaction() as session:
        add_free_slots(session, practice, clinic_starts(first, days))


def member_ids(db) -> list[int]:
    with db.transaction() as session:
        return list(session.scalars(select(CampaignMember.id).order_by(CampaignMember.id)))


def assert_holds_consistent(db) -> None:
    """Every open offer holds exactly its three slots, and no slot has two offers."""
    with db.transaction() as session:
        per_slot = session.execute(
            select(OfferSlot.slot_id, func.count())
            .join(Offer, Offer.id == OfferSlot.offer_id)
            .where(Offer.state == "open")
            .group_by(OfferSlot.slot_id)
            .having(func.count() > 1)
        ).all()
        assert per_slot == []
        open_ids = list(session.scalars(select(Offer.id).where(Offer.state == "open")))
        held = session.execute(
            select(Slot.held_by_offer_id, func.count())
            .where(Slot.state == "held")
            .group_by(Slot.held_by_offer_id)
        ).all()
        assert dict(held) == {offer_id: 3 for offer_id in open_ids}
        linked = session.execute(
            select(func.count())
            .select_from(OfferSlot)
            .join(Slot, Slot.id == OfferSlot.slot_id)
            .where(OfferSlot.offer_id.in_(open_ids), Slot.held_by_offer_id != OfferSlot.offer_id)
        ).scalar()
        assert linked == 0


def test_create_offer_holds_three_slots_and_queues_the_invitation(db, practice) -> None:
    add_people(db, practice, ["+447700900101"])
    add_days_of_slots(db, practice, 3)
    approved_campaign(db, info_url="https://example.nhs.uk/check")
    (member_id,) = member_ids(db)
    with db.transaction() as session:
        offer = offers.create_offer(session, member_id, now=NOW, settings=Settings())
        assert offer is not None
        offer_id = offer.id
    assert_holds_consistent(db)
    with db.transaction() as session:
        offer = session.get(Offer, offer_id)
        assert offer.expires_at.replace(tzinfo=UTC) == NOW + timedelta(hours=48)
        assert offer.variant == "control" and offer.sequence == 1
        message = session.scalar(select(Message))
        assert message.dedupe_key == f"invitation:offer:{offer_id}"
        assert message.kind == "invitation" and message.status == "queued"
        assert message.in_send_window is True
        assert message.expires_at.replace(tzinfo=UTC) == NOW + timedelta(hours=48)
        assert "Park Road Surgery" in message.body
        assert "Mon 19 Jan 09:00" in message.body  # soonest slot, London time
        assert "Fri 16 Jan, 10am" in message.body  # the deadline
        assert "https://example.nhs.uk/check" in message.body
        assert "STOP" in message.body and "Reply 1, 2 or 3" in message.body
        member = session.get(CampaignMember, member_id)
        assert (member.state, member.invitations) == ("offered", 1)


def test_no_offer_without_three_slots_beyond_the_minimum_notice(db, practice) -> None:
    add_people(db, practice, ["+447700900102"])
    with db.transaction() as session:
        # Friday 16th: inside the 48 h hold + 12 h notice; only two later slots
        add_free_slots(
            session,
            practice,
            [datetime(2026, 1, 16, 15, tzinfo=UTC), *clinic_starts(MONDAY, 1, ("09:00", "14:00"))],
        )
    approved_campaign(db)
    (member_id,) = member_ids(db)
    with db.transaction() as session:
        assert offers.create_offer(session, member_id, now=NOW, settings=Settings()) is None
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Offer)) == 0
        assert session.scalar(select(func.count()).where(Slot.state == "held")) == 0


def test_no_offer_to_an_opted_out_number(db, practice) -> None:
    add_people(db, practice, ["+447700900103"])
    add_days_of_slots(db, practice, 3)
    approved_campaign(db)
    with db.transaction() as session:
        session.add(PhoneNumber(number="+447700900103", opted_out_at=NOW))
    (member_id,) = member_ids(db)
    with db.transaction() as session:
        assert offers.create_offer(session, member_id, now=NOW, settings=Settings()) is None
    assert offers.plan_waves(db, now=NOW) == 0


def test_a_shared_phone_gets_one_open_offer_and_the_second_patient_waits(db, practice) -> None:
    add_people(db, practice, ["+447700900200", "+447700900200"])
    add_days_of_slots(db, practice, 10)
    campaign_id = approved_campaign(db)
    assert offers.plan_wave(db, campaign_id, now=NOW) == 1
    first, second = member_ids(db)
    with db.transaction() as session:
        # on demand too: the number already has an open offer
        assert offers.create_offer(session, second, now=NOW, settings=Settings()) is None
        states = dict(session.execute(select(CampaignMember.id, CampaignMember.state)).all())
    assert sorted(states.values()) == ["offered", "waiting"]
    # once the first offer closes, the second patient is offered times
    assert offers.expire_offers(db, now=NOW + timedelta(hours=49)) == 1
    later = NOW + timedelta(hours=49)
    with db.transaction() as session:
        waiting_first = session.get(CampaignMember, first).state
    assert waiting_first == "waiting"
    assert offers.plan_wave(db, campaign_id, now=later) == 1
    with db.transaction() as session:
        open_offers = session.scalars(select(Offer).where(Offer.state == "open")).all()
        assert len(open_offers) == 1
    assert_holds_consistent(db)


def test_expiry_releases_the_holds_and_returns_the_member_to_the_pool(db, practice) -> None:
    add_people(db, practice, ["+447700900104"])
    add_days_of_slots(db, practice, 10)
    campaign_id = approved_campaign(db, max_invitations=2)
    offers.plan_wave(db, campaign_id, now=NOW)
    assert offers.expire_offers(db, now=NOW + timedelta(hours=47)) == 0
    assert offers.expire_offers(db, now=NOW + timedelta(hours=48)) == 1
    assert offers.expire_offers(db, now=NOW + timedelta(hours=48)) == 0
    with db.transaction() as session:
        assert session.scalar(select(func.count()).where(Slot.state == "held")) == 0
        assert session.scalar(select(Offer.state)) == "expired"
        member = session.scalar(select(CampaignMember))
        assert (member.state, member.invitations) == ("waiting", 1)
        assert session.scalar(select(func.count()).where(Message.kind == "expired")) == 0


def test_at_the_invitation_limit_the_member_is_exhausted_and_told_how_to_book(db, practice):
    add_people(db, practice, ["+447700900105"])
    add_days_of_slots(db, practice, 20)
    campaign_id = approved_campaign(db, max_invitations=2)
    at = NOW
    for _ in range(2):
        assert offers.plan_wave(db, campaign_id, now=at) == 1
        at += timedelta(hours=49)
        offers.expire_offers(db, now=at)
    assert offers.plan_wave(db, campaign_id, now=at) == 0
    with db.transaction() as session:
        member = session.scalar(select(CampaignMember))
        assert (member.state, member.invitations) == ("exhausted", 2)
        sequences = list(session.scalars(select(Offer.sequence).order_by(Offer.id)))
        assert sequences == [1, 2]
        expired = session.scalars(select(Message).where(Message.kind == "expired")).all()
        assert len(expired) == 1 and "020 8000 0000" in expired[0].body


def test_waves_are_sized_by_free_slots_in_priority_order(db, practice) -> None:
    mobiles = [f"+4477009003{i:02d}" for i in range(10)]
    with db.transaction() as session:
        ids = [
            add_patient(session, practice, mobile=m, imd_decile=10 - i).id
            for i, m in enumerate(mobiles)
        ]
        add_free_slots(session, practice, clinic_starts(MONDAY, 3))  # 12 slots: 4 offers
    campaign_id = approved_campaign(db)
    assert offers.plan_wave(db, campaign_id, now=NOW) == 4
    with db.transaction() as session:
        offered = set(session.scalars(select(Offer.patient_id)))
    # the four from the most deprived deciles (1-2 -> quintile 1, 3-4 -> quintile 2)
    assert offered == set(ids[6:])
    assert_holds_consistent(db)


def test_planning_again_with_no_new_slots_makes_no_offers(db, practice) -> None:
    add_people(db, practice, [f"+4477009004{i:02d}" for i in range(5)])
    add_days_of_slots(db, practice, 2)
    campaign_id = approved_campaign(db)
    assert offers.plan_wave(db, campaign_id, now=NOW) == 2
    assert offers.plan_wave(db, campaign_id, now=NOW + timedelta(minutes=5)) == 0


def test_no_wave_while_the_send_window_is_shut(db, practice) -> None:
    add_people(db, practice, ["+447700900106"])
    add_days_of_slots(db, practice, 5)
    campaign_id = approved_campaign(db)
    sunday = datetime(2026, 1, 18, 11, 0, tzinfo=UTC)
    assert offers.plan_wave(db, campaign_id, now=sunday) == 0
    evening = datetime(2026, 1, 14, 19, 30, tzinfo=UTC)
    assert offers.plan_wave(db, campaign_id, now=evening) == 0


def test_slots_at_another_practice_are_never_offered(db, practice) -> None:
    add_people(db, practice, ["+447700900107"])
    with db.transaction() as session:
        other = add_practice(session, ods="Y00001", name="Elsewhere")
        add_free_slots(session, other, clinic_starts(MONDAY, 5))
    campaign_id = approved_campaign(db)
    assert offers.plan_wave(db, campaign_id, now=NOW) == 0


def test_a_wave_invitation_reads_exactly_as_an_on_demand_one(db, practice) -> None:
    add_people(db, practice, ["+447700900108"], dob=date(1955, 2, 2), sex="1")
    add_days_of_slots(db, practice, 3)
    campaign_id = approved_campaign(db, variants=(("deadline", 1),))
    offers.plan_wave(db, campaign_id, now=NOW)
    with db.transaction() as session:
        offer = session.scalar(select(Offer))
        starts = [s.starts_at for s in offers.open_offer_slots(session, offer.id)]
        body = session.scalar(select(Message.body).where(Message.offer_id == offer.id))
        member = session.get(CampaignMember, offer.member_id)
        facts = offers.InvitationFacts(
            variant="deadline",
            first_name="Test",
            practice_name="Park Road Surgery",
            practice_phone="020 8000 0000",
            slot_starts=[s if s.tzinfo else s.replace(tzinfo=UTC) for s in starts],
            expires_at=NOW + timedelta(hours=48),
            info_url="https://www.nhs.uk/conditions/nhs-health-check/",
            age_band=member.age_band,
            sex=member.sex,
        )
    assert body == offers.render_invitation(facts)
    assert "dementia" in body  # the 65-69 personalisation rule
