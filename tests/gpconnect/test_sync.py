"""Syncing a GP Connect practice's free slots, and the requests the provider sees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.data.models import Practice, Slot
from app.gpconnect.client import Refused
from app.services import gpconnect
from app.services.practices import PracticeError
from app.settings import Settings
from tests.gpconnect.conftest import offer_holding, offer_slots


def _sync(app, gp, clock, days: int = 28):
    return gpconnect.sync_practice(
        gp.db, gp.ods, now=clock.now(), settings=app.extensions["nudge.settings"], days=days
    )


def _slots(db, practice_id: int, state: str | None = None) -> list[Slot]:
    with db.sessions() as session:
        query = select(Slot).where(Slot.practice_id == practice_id)
        if state:
            query = query.where(Slot.state == state)
        return list(session.scalars(query.order_by(Slot.starts_at, Slot.id)))


def test_sync_stores_free_slots_with_their_provider_details(app, gp, clock) -> None:
    report = _sync(app, gp, clock)
    slots = _slots(gp.db, gp.practice_id)
    assert report.added == len(slots) == len(gp.fake.slots)
    first = slots[0]
    assert first.gpconnect_id in gp.fake.slots
    assert first.delivery_channel == "In-person"
    assert first.service_type == "NHS Health Check"
    assert first.practitioner == "Nurse Kim Lee"
    assert first.location == "Bow Health Centre (Nurse Kim Lee)"
    assert first.duration_minutes == 20
    with gp.db.sessions() as session:
        practice = session.get(Practice, gp.practice_id)
        assert practice is not None and practice.slots_synced_at == clock.now()
    # windows of at most 14 days: 28 days is two searches; every request was accepted
    assert gp.fake.interactions().count("search:slot-1") == 2
    assert gp.fake.refused == []
    # a second sync adds nothing
    assert _sync(app, gp, clock).added == 0


def test_slots_that_disappear_leave_use_and_held_ones_are_reported(app, gp, clock) -> None:
    _sync(app, gp, clock)
    offer_id, _ = offer_holding(gp.db, gp, clock)
    held = offer_slots(gp.db, offer_id)
    free_one = _slots(gp.db, gp.practice_id, "free")[0]
    gp.fake.take_slot(free_one.gpconnect_id)
    gp.fake.take_slot(held[1].gpconnect_id)
    report = _sync(app, gp, clock)
    assert (report.removed, report.gone_held) == (1, 1)
    with gp.db.sessions() as session:
        assert session.get(Slot, free_one.id).state == "cancelled"
        given_away = session.get(Slot, held[1].id)
        assert given_away.state == "held" and given_away.gone_at == clock.now()
    # the practice frees it again: offered again
    gp.fake.slots[free_one.gpconnect_id].status = "free"
    assert _sync(app, gp, clock).returned == 1
    with gp.db.sessions() as session:
        assert session.get(Slot, free_one.id).state == "free"


def test_moving_to_gpconnect_retires_nudges_own_free_slots(app, db, fake, clock) -> None:
    from tests import builders

    with db.transaction() as session:
        practice = builders.add_practice(session, ods="B82005")
        builders.add_free_slots(
            session, practice, [clock.now() + timedelta(days=2, hours=h) for h in range(3)]
        )
    gpconnect.set_slot_source(
        db,
        "B82005",
        source="gpconnect",
        url=fake.base_url,
        provider_asid="918999198738",
        user_id="G1",
        user_name="Amy Khan",
        now=clock.now(),
    )
    with db.sessions() as session:
        states = session.scalars(select(Slot.state)).all()
    assert states and set(states) == {"cancelled"}
    back = gpconnect.set_slot_source(db, "B82005", source="nudge", now=clock.now())
    assert back.slot_source == "nudge"


def test_a_practice_without_a_responsible_user_is_not_synced(app, db, fake, clock) -> None:
    from tests import builders

    with db.transaction() as session:
        builders.add_practice(session, ods="C81001")
    gpconnect.set_slot_source(
        db,
        "C81001",
        source="gpconnect",
        url=fake.base_url,
        provider_asid="918999198738",
        now=clock.now(),
    )
    with pytest.raises(PracticeError, match="responsible user"):
        gpconnect.sync_practice(db, "C81001", now=clock.now(), settings=Settings())


def test_the_provider_refuses_requests_with_the_wrong_identity(app, gp, clock) -> None:
    settings = app.extensions["nudge.settings"]
    wrong = Settings(**{**settings.__dict__, "gpconnect_consumer_asid": "111111111111"})
    with gp.db.sessions() as session:
        practice = session.get(Practice, gp.practice_id)
        client = gpconnect.client_for(practice, wrong)
    with pytest.raises(Refused) as refused:
        client.search_free_slots(clock.now().date(), clock.now().date() + timedelta(days=13))
    assert refused.value.status == 400
    assert refused.value.problem is not None and refused.value.problem.code == "BAD_REQUEST"
    assert any("Ssp-From" in p for p in gp.fake.refused)


def test_sync_failure_is_recorded_on_the_practice(app, gp, clock) -> None:
    gp.fake.fail_next()
    with pytest.raises(gpconnect.SyncError):
        _sync(app, gp, clock)
    with gp.db.sessions() as session:
        practice = session.get(Practice, gp.practice_id)
        assert practice.slots_sync_error and practice.slots_synced_at is None
        assert session.scalar(select(func.count()).select_from(Slot)) == 0


def test_cli_sets_the_source_and_syncs(app, db, fake, clock, runner) -> None:
    from tests import builders

    fake.add_slots(clock.now().date() + timedelta(days=1), 3, per_day=2)
    with db.transaction() as session:
        builders.add_practice(session, ods="E84001")
    result = runner.invoke(
        args=[
            "practices",
            "set",
            "E84001",
            "--slot-source",
            "gpconnect",
            "--gpconnect-url",
            fake.base_url,
            "--gpconnect-provider-asid",
            "918999198738",
            "--gpconnect-user-id",
            "G2",
            "--gpconnect-user-name",
            "Sam Patel",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "takes its slots from gpconnect" in result.output
    result = runner.invoke(args=["slots", "sync", "--practice", "E84001", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "free slots" in result.output
    result = runner.invoke(args=["practices", "set", "E84001", "--slot-source", "nudge"])
    assert result.exit_code == 0 and "from nudge" in result.output
