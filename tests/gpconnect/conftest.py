"""A GP Connect practice served by the fake provider, and offers holding its slots."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.data.db import Database
from app.data.models import Offer, OfferSlot, Patient, Practice, Slot
from app.services import gpconnect
from tests import builders
from tests.conftest import make_test_config
from tests.fakes.gpconnect_server import CONSUMER_ASID, PROVIDER_ASID, FakeGpConnect

CONSUMER_ODS = "X26"
SETTINGS = {
    "GPCONNECT_CONSUMER_ASID": CONSUMER_ASID,
    "GPCONNECT_CONSUMER_ODS": CONSUMER_ODS,
    "GPCONNECT_TIMEOUT_SECONDS": 1.0,
}


@pytest.fixture
def fake() -> Iterator[FakeGpConnect]:
    with FakeGpConnect(ods="A20047") as provider:
        yield provider


@pytest.fixture
def app(db_url: str, tmp_path: Path, clock, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(make_test_config(db_url, tmp_path, **SETTINGS), clock=clock)
    yield application
    application.extensions["nudge.db"].dispose()


@dataclass
class GpPractice:
    db: Database
    fake: FakeGpConnect
    ods: str
    practice_id: int


def connect_practice(db: Database, fake: FakeGpConnect, clock, ods: str = "A20047") -> GpPractice:
    with db.transaction() as session:
        practice = builders.add_practice(session, ods=ods, name="Bow Practice")
        practice_id = practice.id
    gpconnect.set_slot_source(
        db,
        ods,
        source="gpconnect",
        url=fake.base_url,
        provider_asid=PROVIDER_ASID,
        user_id="G13579135",
        user_name="Jane Smith",
        now=clock.now(),
    )
    return GpPractice(db, fake, ods, practice_id)


@pytest.fixture
def gp(db: Database, fake: FakeGpConnect, clock) -> GpPractice:
    fake.add_slots(clock.now().date() + timedelta(days=1), 14, per_day=6)
    return connect_practice(db, fake, clock)


def offer_holding(
    db: Database, gp: GpPractice, clock, *, mobile: str = "+447700900101", skip: int = 0
) -> tuple[int, str]:
    """An open offer holding three synced GP Connect slots; (offer id, NHS number)."""
    with db.transaction() as session:
        practice = session.get(Practice, gp.practice_id)
        assert practice is not None
        patient = builders.add_patient(session, practice, mobile=mobile)
        offer = builders.add_open_offer(
            session,
            mobile=mobile,
            practice=practice,
            patient=patient,
            slot_count=0,
            spare_slots=0,
            now=clock.now(),
        )
        free = session.scalars(
            select(Slot)
            .where(Slot.practice_id == gp.practice_id, Slot.state == "free")
            .order_by(Slot.starts_at, Slot.id)
            .offset(skip)
            .limit(3)
        ).all()
        for position, slot in enumerate(free, start=1):
            slot.state, slot.held_by_offer_id = "held", offer.id
            session.add(OfferSlot(offer_id=offer.id, position=position, slot_id=slot.id))
        gp.fake.add_patient(patient.nhs_number)
        return offer.id, patient.nhs_number


def offer_slots(db: Database, offer_id: int) -> list[Slot]:
    with db.sessions() as session:
        return list(
            session.scalars(
                select(Slot)
                .join(OfferSlot, OfferSlot.slot_id == Slot.id)
                .where(OfferSlot.offer_id == offer_id)
                .order_by(OfferSlot.position)
            )
        )


def offer_row(db: Database, offer_id: int) -> Offer:
    with db.sessions() as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None
        return offer


def patient_row(db: Database, nhs_number: str) -> Patient:
    with db.sessions() as session:
        patient = session.scalar(select(Patient).where(Patient.nhs_number == nhs_number))
        assert patient is not None
        return patient


@pytest.fixture
def gp_live_server(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, clock):
    """The app with GP Connect settings served over real HTTP (browser tests)."""
    import threading

    from werkzeug.serving import make_server

    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{server.server_port}"
    application = create_app(
        make_test_config(sqlite_url, tmp_path, PUBLIC_BASE_URL=base, **SETTINGS), clock=clock
    )
    server.app = application  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield application, base
    server.shutdown()
    application.extensions["nudge.db"].dispose()
