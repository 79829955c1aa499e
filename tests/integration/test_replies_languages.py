"""Replies in the resident's language: read in it, answered in it, and switched by name."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from app.data.models import AuditEvent, Booking, Message, Patient, PhoneNumber
from app.settings import Settings
from tests.builders import add_open_offer, add_patient, add_practice, add_user, handle_inbound
from tests.web.staff import post, sign_in

MOBILE = "+447700900031"
DEMO = Settings(translations_demo_approved=True, sms_from_number="+447700900000")
_sids = itertools.count(1)


def text(db, clock, body: str, *, settings: Settings = DEMO, number: str = MOBILE):
    return handle_inbound(
        db,
        message_sid=f"SM{next(_sids):032d}",
        from_number=number,
        to_number="+447700900000",
        body=body,
        now=clock.now(),
        settings=settings,
    )


def offer_for(db, clock, language: str) -> int:
    with db.transaction() as session:
        offer = add_open_offer(session, mobile=MOBILE, now=clock.now())
        patient = session.get(Patient, offer.patient_id)
        assert patient is not None
        patient.language = language
        return offer.patient_id


def replies(db) -> list[Message]:
    with db.sessions() as session:
        query = select(Message).where(Message.direction == "out").order_by(Message.id)
        return list(session.scalars(query))


def test_help_in_polish_is_answered_in_polish_once_approved(app, db, clock) -> None:
    offer_for(db, clock, "pl")
    assert text(db, clock, "pomoc", settings=Settings()).intent == "help"
    assert replies(db)[-1].body.startswith("These texts are from")  # a draft: English
    text(db, clock, "Pomoc")
    assert replies(db)[-1].body.startswith("Te SMS-y wysyła")


def test_a_polish_word_books_and_the_confirmation_is_polish(app, db, clock) -> None:
    offer_for(db, clock, "pl")
    result = text(db, clock, "druga proszę")
    assert (result.intent, result.action) == ("choice", "booked")
    with db.sessions() as session:
        assert session.scalars(select(Booking)).one()
    confirmation = [m for m in replies(db) if m.kind == "confirmation"][0]
    assert confirmation.body.startswith("Umówiono: bezpłatne badanie NHS Health Check")


def test_arabic_indic_digits_book_and_the_stored_intent_is_the_languages_reading(
    app, db, clock
) -> None:
    offer_for(db, clock, "ar")
    assert text(db, clock, "٣").action == "booked"
    with db.sessions() as session:
        stored = session.scalars(select(Message.intent).where(Message.direction == "in")).one()
    assert stored == "choice"
    assert [m for m in replies(db) if m.kind == "confirmation"][0].body.startswith("تم الحجز")


def test_stop_in_urdu_opts_out_and_is_acknowledged_in_urdu(app, db, clock) -> None:
    offer_for(db, clock, "ur")
    assert text(db, clock, "بند کریں").action == "opted_out"
    with db.sessions() as session:
        assert session.get(PhoneNumber, MOBILE).opted_out_at is not None
    assert replies(db)[-1].body.startswith("آپ کو اس NHS Health Check سروس سے مزید پیغامات")


def test_a_resident_switches_language_by_its_name_and_back(app, db, clock) -> None:
    patient_id = offer_for(db, clock, "en")
    assert text(db, clock, "POLSKI").action == "language_changed"
    with db.sessions() as session:
        assert session.get(Patient, patient_id).language == "pl"
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient.language")
        ).one()
        assert event.detail == {"from": "en", "to": "pl", "by": "text"}
    assert replies(db)[-1].body.startswith("Od teraz SMS-y")
    assert text(db, clock, "বাংলা").action == "language_changed"
    assert replies(db)[-1].body.startswith("এখন থেকে")
    assert text(db, clock, "english").action == "language_changed"
    assert replies(db)[-1].body.startswith("Texts from this NHS Health Check service will now")


def test_an_unknown_sender_naming_a_language_is_answered_generically_in_it(app, db, clock) -> None:
    result = text(db, clock, "Soomaali", number="+447700900999")
    assert result.action == "unknown_sender"
    assert replies(db)[-1].body.startswith("Waan ka xunnahay, lambarkan")


def test_staff_change_the_language_on_the_patient_page(client, db) -> None:
    with db.transaction() as session:
        practice = add_practice(session)
        other = add_practice(session, ods="Y00001")
        patient = add_patient(session, practice)
        stranger = add_patient(session, other, mobile="+447700900555")
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
        ids, number = (patient.id, stranger.id), patient.nhs_number
    sign_in(client, "gp@example.nhs.uk")
    page = post(client, "/patients", {"nhs_number": number}).get_data(as_text=True)
    assert "English" in page and 'name="language"' in page
    shown = post(
        client,
        "/patients/language",
        {"patient_id": ids[0], "language": "gu", "interpreter_needed": "1"},
    )
    assert shown.status_code == 200
    assert "Gujarati (ગુજરાતી)" in shown.get_data(as_text=True)
    refused = post(client, "/patients/language", {"patient_id": ids[1], "language": "pl"})
    assert refused.status_code == 400
    with db.sessions() as session:
        assert (
            session.get(Patient, ids[0]).language,
            session.get(Patient, ids[0]).interpreter_needed,
        ) == ("gu", True)
        assert session.get(Patient, ids[1]).language == "en"
