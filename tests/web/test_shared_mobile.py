"""A mobile shared by patients of two practices (families, carers): each practice sees only
its own patient's texts, on the timeline and in the conversation, and a flag reaches the
practice whose offer the text answers."""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import select

from app.data.models import Message
from app.settings import Settings
from tests.builders import (
    add_open_offer,
    add_patient,
    add_practice,
    add_user,
    handle_inbound,
    queue_outbound,
)
from tests.web.staff import post, sign_in

SHARED = "+447700900555"
_sids = itertools.count(1)


@pytest.fixture
def shared(app, db, clock):
    with db.transaction() as session:
        alpha = add_practice(session, ods="A12345", name="Alpha Surgery", address="1 Alpha Road")
        beta = add_practice(session, ods="B12345", name="Beta Practice", address="2 Beta Lane")
        kwame = add_patient(session, alpha, mobile=SHARED, given_name="Kwame", family_name="Mensah")
        beatrice = add_patient(
            session, beta, mobile=SHARED, given_name="Beatrice", family_name="Okafor"
        )
        add_user(session, "alpha@example.nhs.uk", "practice", [alpha])
        add_user(session, "beta@example.nhs.uk", "practice", [beta])
        add_user(session, "admin@example.nhs.uk", "admin")
        offer = add_open_offer(
            session, mobile=SHARED, practice=alpha, patient=kwame, now=clock.now()
        )
        queue_outbound(
            session,
            SHARED,
            "Hi Kwame, Alpha Surgery has three times held for you",
            now=clock.now(),
            campaign=offer_campaign(session, offer),
            patient_id=kwame.id,
            offer_id=offer.id,
            dedupe_key=f"invitation:offer:{offer.id}",
        )
        ids = {"kwame": kwame.nhs_number, "beatrice": beatrice.nhs_number}
        ids |= {"alpha": alpha.id, "beta": beta.id, "beatrice_id": beatrice.id}
    # Kwame books by text, then sends two texts nobody can read: the flag is Alpha's
    assert texted(app, db, clock, "1").action == "booked"
    texted(app, db, clock, "what?")
    assert texted(app, db, clock, "what now?").action == "flagged"
    return ids


def offer_campaign(session, offer):
    from app.data.models import Campaign

    return session.get(Campaign, offer.campaign_id)


def texted(app, db, clock, body):
    return handle_inbound(
        db,
        message_sid=f"SM{next(_sids):032d}",
        from_number=SHARED,
        to_number="+447700900000",
        body=body,
        now=clock.now(),
        settings=Settings.from_config(app.config),
    )


def _timeline(client, nhs_number: str) -> str:
    return post(client, "/patients", {"nhs_number": nhs_number}).get_data(as_text=True)


def _conversation_path(client) -> str | None:
    queue = client.get("/conversations").get_data(as_text=True)
    match = re.search(r'href="(/conversations/[^"]+)"', queue)
    return match.group(1) if match else None


ALPHA_TEXTS = ("Hi Kwame", "1 Alpha Road", "what?", "what now?", "Kwame")


def test_another_practices_timeline_shows_none_of_the_shared_numbers_texts(client, shared):
    sign_in(client, "beta@example.nhs.uk")
    page = _timeline(client, shared["beatrice"])
    assert "Beatrice" in page
    for leaked in ALPHA_TEXTS:
        assert leaked not in page
    post(client, "/sign-out")
    sign_in(client, "alpha@example.nhs.uk")
    page = _timeline(client, shared["kwame"])
    assert "Hi Kwame" in page and "1 Alpha Road" in page and "what now?" in page


def test_an_admin_sees_only_the_practice_of_the_conversation_and_can_book_only_its_patient(
    client, shared
):
    sign_in(client, "admin@example.nhs.uk")
    queue = client.get("/conversations").get_data(as_text=True)
    assert "Kwame" in queue and "Beatrice" not in queue
    path = _conversation_path(client)
    assert path is not None
    page = client.get(path).get_data(as_text=True)
    assert "Kwame" in page and "what now?" in page
    assert "Beatrice" not in page and "Okafor" not in page
    refused = post(
        client,
        f"{path}/book",
        {"patient_id": shared["beatrice_id"], "slot_id": "1"},
    )
    assert refused.status_code == 404


def test_a_flag_reaches_the_practice_whose_offer_the_text_answers(app, db, clock, client, shared):
    with db.transaction() as session:
        from app.data.models import Patient, Practice

        beta = session.get(Practice, shared["beta"])
        beatrice = session.get(Patient, shared["beatrice_id"])
        offer = add_open_offer(
            session, mobile=SHARED, practice=beta, patient=beatrice, now=clock.now()
        )
        queue_outbound(
            session,
            SHARED,
            "Hi Beatrice, Beta Practice has three times held for you",
            now=clock.now(),
            campaign=offer_campaign(session, offer),
            patient_id=beatrice.id,
            offer_id=offer.id,
            dedupe_key=f"invitation:offer:{offer.id}",
        )
    texted(app, db, clock, "is this for mum?")
    assert texted(app, db, clock, "who is this for?").action == "flagged"

    sign_in(client, "beta@example.nhs.uk")
    queue = client.get("/conversations").get_data(as_text=True)
    assert "Beatrice" in queue and "Kwame" not in queue
    path = _conversation_path(client)
    assert path is not None
    page = client.get(path).get_data(as_text=True)
    assert "Hi Beatrice" in page and "who is this for?" in page
    for leaked in ALPHA_TEXTS:
        assert leaked not in page
    assert post(client, f"{path}/reply", {"body": "Please ring Beta Practice"}).status_code == 302
    with db.transaction() as session:
        staff_reply = session.scalar(select(Message).where(Message.kind == "staff_reply"))
        assert staff_reply.patient_id == shared["beatrice_id"]

    post(client, "/sign-out")
    sign_in(client, "alpha@example.nhs.uk")
    assert "Beatrice" not in client.get("/conversations").get_data(as_text=True)
    assert client.get(path).status_code == 404
    page = _timeline(client, shared["kwame"])
    for leaked in ("Hi Beatrice", "who is this for?", "is this for mum?", "Please ring Beta"):
        assert leaked not in page
