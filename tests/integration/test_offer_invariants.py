"""No slot is ever held by two offers: a property test over random diaries and cohorts,
and wave planners racing on-demand offers on PostgreSQL with real threads."""

from __future__ import annotations

import tempfile
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.data.db import Database
from app.data.models import Base, CampaignMember, Offer, OfferSlot, Slot
from app.services import offers
from app.settings import Settings
from tests.builders import add_free_slots, add_patient, add_practice, approved_campaign

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)  # Wednesday, send window open
FIRST_DAY = date(2026, 1, 15)


def check_invariants(db: Database, now: datetime) -> None:
    with db.transaction() as session:
        doubled = session.execute(
            select(OfferSlot.slot_id)
            .join(Offer, Offer.id == OfferSlot.offer_id)
            .where(Offer.state == "open")
            .group_by(OfferSlot.slot_id)
            .having(func.count() > 1)
        ).all()
        assert doubled == [], "a slot is in two open offers"
        open_offers = session.execute(
            select(Offer.id, Offer.mobile, Offer.expires_at).where(Offer.state == "open")
        ).all()
        mobiles = [m for _, m, _ in open_offers]
        assert len(mobiles) == len(set(mobiles)), "two open offers on one number"
        held = dict(
            session.execute(
                select(Slot.held_by_offer_id, func.count())
                .where(Slot.state == "held")
                .group_by(Slot.held_by_offer_id)
            ).all()
        )
        assert held == {offer_id: 3 for offer_id, _, _ in open_offers}
        mismatched = session.scalar(
            select(func.count())
            .select_from(OfferSlot)
            .join(Slot, Slot.id == OfferSlot.slot_id)
            .join(Offer, Offer.id == OfferSlot.offer_id)
            .where(Offer.state == "open", Slot.held_by_offer_id != Offer.id)
        )
        assert mismatched == 0
        pairs = session.execute(
            select(Slot.starts_at, Offer.expires_at)
            .select_from(OfferSlot)
            .join(Slot, Slot.id == OfferSlot.slot_id)
            .join(Offer, Offer.id == OfferSlot.offer_id)
            .where(Offer.state == "open")
        ).all()
        too_soon = sum(
            1 for starts, expires in pairs if _utc(starts) < _utc(expires) + timedelta(hours=12)
        )
        assert too_soon == 0, "a slot inside the minimum notice was offered"
        members = session.execute(
            select(CampaignMember.state, func.count()).group_by(CampaignMember.state)
        ).all()
        assert dict(members).get("offered", 0) == len(open_offers)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


slot_strategy = st.lists(
    st.tuples(st.integers(0, 10), st.integers(7 * 4, 19 * 4), st.integers(0, 2)),
    max_size=60,
    unique=True,
)
cohort_strategy = st.lists(st.integers(0, 12), min_size=1, max_size=25)  # mobile suffixes


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(slot_strategy, cohort_strategy, st.lists(st.integers(0, 30), max_size=8), st.integers(1, 3))
def test_no_slot_is_ever_held_by_two_offers(
    slot_spec: list[tuple[int, int, int]],
    cohort: list[int],
    on_demand: list[int],
    max_invitations: int,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite:///{Path(tmp) / 'prop.sqlite3'}")
        Base.metadata.create_all(db.engine)
        try:
            with db.transaction() as session:
                practice = add_practice(session)
                for suffix in cohort:
                    add_patient(session, practice, mobile=f"+447700900{suffix:03d}")
                for day, quarter, room in slot_spec:
                    start = datetime.combine(
                        FIRST_DAY + timedelta(days=day), datetime.min.time(), tzinfo=UTC
                    ) + timedelta(minutes=15 * quarter)
                    add_free_slots(session, practice, [start], location=f"Room {room}")
            campaign_id = approved_campaign(db, max_invitations=max_invitations)
            with db.transaction() as session:
                member_ids = list(session.scalars(select(CampaignMember.id)))
            now = NOW
            for round_ in range(3):
                offers.plan_wave(db, campaign_id, now=now)
                check_invariants(db, now)
                for pick in on_demand[round_::3]:
                    with db.transaction() as session:
                        offers.create_offer(
                            session,
                            member_ids[pick % len(member_ids)],
                            now=now,
                            settings=Settings(),
                        )
                    check_invariants(db, now)
                now += timedelta(hours=49)
                offers.expire_offers(db, now=now)
                check_invariants(db, now)
        finally:
            db.dispose()


def test_wave_planners_racing_on_demand_offers_never_share_a_slot(pg_url: str) -> None:
    db = Database.from_url(pg_url, pool_size=10)
    try:
        with db.transaction() as session:
            practice = add_practice(session)
            for i in range(300):
                add_patient(session, practice, mobile=f"+447700900{i % 250:03d}")
            starts = [
                datetime.combine(FIRST_DAY + timedelta(days=d), datetime.min.time(), tzinfo=UTC)
                + timedelta(hours=h, minutes=m)
                for d in range(10)
                for h in (9, 10, 11, 14, 15, 16)
                for m in (0, 20, 40)
            ]
            add_free_slots(session, practice, starts)  # 180 slots, 144 beyond the notice
        first = approved_campaign(db, seed=1)
        second = approved_campaign(db, seed=2)  # same people: numbers collide across them
        with db.transaction() as session:
            on_demand = list(
                session.scalars(
                    select(CampaignMember.id)
                    .where(CampaignMember.campaign_id == second)
                    .order_by(CampaignMember.id.desc())
                    .limit(40)
                )
            )
        barrier = threading.Barrier(6)
        errors: list[BaseException] = []
        made: list[int] = []

        def plan(campaign_id: int) -> None:
            try:
                barrier.wait()
                made.append(offers.plan_wave(db, campaign_id, now=NOW))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        def ask(ids: list[int]) -> None:
            try:
                barrier.wait()
                for member_id in ids:
                    with db.transaction() as session:
                        if offers.create_offer(session, member_id, now=NOW, settings=Settings()):
                            made.append(1)
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        threads = [
            threading.Thread(target=plan, args=(first,)),
            threading.Thread(target=plan, args=(second,)),
            threading.Thread(target=plan, args=(first,)),
            *(threading.Thread(target=ask, args=(on_demand[i::3],)) for i in range(3)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        check_invariants(db, NOW)
        with db.transaction() as session:
            offered = session.scalar(select(func.count()).select_from(Offer))
            held = session.scalar(select(func.count()).where(Slot.state == "held"))
        assert offered == sum(made) and held == 3 * offered
        # slots skipped while locked by a racer are offered by the next run, once
        for campaign_id in (first, second):
            offers.plan_wave(db, campaign_id, now=NOW)
        check_invariants(db, NOW)
        with db.transaction() as session:
            offered = session.scalar(select(func.count()).select_from(Offer))
        assert offered == 48  # 144 slots beyond the minimum notice, three to an offer
    finally:
        db.dispose()
