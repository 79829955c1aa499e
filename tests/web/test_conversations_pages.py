"""Conversations pages: the flagged queue, replying, booking for the patient and
recording an opt-out asked for by phone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.data.models import AuditEvent, Booking, Conversation, Message, PhoneNumber
from tests.builders import BUILDER_NOW, add_inbound, add_patient, add_practice, add_slot, add_user
from tests.web.staff import post, sign_in

NUMBER = "+447700900123"


@pytest.fixture
def flagged(db):
    with db.transaction() as session:
        practice = add_practice(session)
        other = add_practice(session, ods="Y00001", name="Other Surgery")
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
        add_user(session, "other@example.nhs.uk", "practice", [other])
        patient = add_patient(session, practice, mobile=NUMBER, given_name="Grace")
        add_inbound(session, NUMBER, "maybe tuesday?")
        session.add(
            Conversation(
                number=NUMBER,
                practice_id=practice.id,
                unclear_streak=2,
                flagged_at=BUILDER_NOW,
                flag_reason="unclear",
            )
        )
        slot = add_slot(session, practice, datetime(2026, 1, 20, 9, 0, tzinfo=UTC))
    return {"patient_id": patient.id, "slot_id": slot.id}


def _open(client) -> str:
    queue = client.get("/conversations").get_data(as_text=True)
    assert "Grace" in queue and "Unclear reply" in queue
    assert NUMBER not in queue and "900123" not in queue.replace("•••• 0123", "")
    start = queue.index('href="/conversations/') + len('href="')
    return queue[start : queue.index('"', start)]


def test_the_queue_lists_flagged_conversations_without_numbers_in_urls(client, flagged):
    sign_in(client, "gp@example.nhs.uk")
    path = _open(client)
    assert NUMBER not in path and "447700" not in path
    page = client.get(path).get_data(as_text=True)
    assert "maybe tuesday?" in page and "ending •••• 0123" in page


def test_another_practice_cannot_see_or_act_on_the_conversation(client, db, flagged):
    sign_in(client, "gp@example.nhs.uk")
    path = _open(client)
    post(client, "/sign-out")
    sign_in(client, "other@example.nhs.uk")
    assert "Grace" not in client.get("/conversations").get_data(as_text=True)
    assert client.get(path).status_code == 404
    assert post(client, f"{path}/opt-out").status_code == 404
    with db.transaction() as session:
        assert session.get(PhoneNumber, NUMBER) is None


def test_staff_reply_is_queued_outside_the_send_window_and_audited(client, db, flagged):
    sign_in(client, "gp@example.nhs.uk")
    path = _open(client)
    assert (
        post(client, f"{path}/reply", {"body": "Hello, call us on 020 8000 0000"}).status_code
        == 302
    )
    with db.transaction() as session:
        message = session.scalar(select(Message).where(Message.kind == "staff_reply"))
        assert message.to_number == NUMBER and message.in_send_window is False
        assert (
            session.scalar(
                select(AuditEvent.actor).where(AuditEvent.action == "conversation.reply")
            )
            == "gp@example.nhs.uk"
        )


def test_staff_can_book_for_the_patient(client, db, flagged):
    sign_in(client, "gp@example.nhs.uk")
    path = _open(client)
    response = post(
        client,
        f"{path}/book",
        {"patient_id": flagged["patient_id"], "slot_id": flagged["slot_id"]},
    )
    assert response.status_code == 302
    with db.transaction() as session:
        booking = session.scalar(select(Booking))
        assert booking.source == "staff" and booking.booked_by == "gp@example.nhs.uk"
        assert session.get(Conversation, NUMBER).resolved_at is not None


def test_an_opt_out_asked_for_by_phone_stops_texts_and_is_audited(client, db, flagged):
    sign_in(client, "gp@example.nhs.uk")
    path = _open(client)
    assert post(client, f"{path}/opt-out").status_code == 302
    with db.transaction() as session:
        phone = session.get(PhoneNumber, NUMBER)
        assert phone.opted_out_at is not None and phone.opt_out_source == "staff"
        assert (
            session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "opt_out.staff"))
            == "gp@example.nhs.uk"
        )
    refused = post(client, f"{path}/reply", {"body": "Hello again"})
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "opted out" in page


def test_staff_see_and_change_the_language_in_the_conversation(client, db, flagged):
    from app.data.models import Patient

    sign_in(client, "gp@example.nhs.uk")
    path = _open(client)
    page = client.get(path).get_data(as_text=True)
    assert 'texts in <strong dir="auto">English</strong>' in page
    assert '<pre class="nudge-pre" dir="auto">maybe tuesday?</pre>' in page
    changed = post(
        client,
        f"{path}/language",
        {"patient_id": flagged["patient_id"], "language": "ar", "interpreter_needed": "1"},
    )
    assert changed.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "Arabic (العربية)" in page and "interpreter needed" in page
    # a patient of another practice on the same number is not this user's to change
    with db.transaction() as session:
        stranger = add_patient(session, add_practice(session, ods="Y00002"), mobile=NUMBER)
        stranger_id = stranger.id
    post(client, f"{path}/language", {"patient_id": stranger_id, "language": "pl"})
    with db.transaction() as session:
        assert session.get(Patient, flagged["patient_id"]).language == "ar"
        assert session.get(Patient, stranger_id).language == "en"
        actor = select(AuditEvent.actor).where(AuditEvent.action == "patient.language")
        assert session.scalar(actor) == "gp@example.nhs.uk"
