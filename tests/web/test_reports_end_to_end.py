"""The funnel end to end: a campaign run through the real services, the provider's status
callbacks and residents' replies arriving at the signed Twilio webhooks, then reported."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.data.models import Booking, Message
from app.services import attendance, campaigns, offers, slots
from app.services.dispatch import dispatch_due
from app.settings import Settings
from app.sms.outbox_provider import OutboxProvider
from tests.builders import act_on_inbound, add_patient, add_practice, add_user
from tests.web.staff import sign_in

BASE = "https://nudge.example.test"
TOKEN = "test-auth-token"
_sids = itertools.count(1)


def signed_post(client, path: str, params: dict[str, str]):  # type: ignore[no-untyped-def]
    signature = RequestValidator(TOKEN).compute_signature(BASE + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def reply(client, number: str, body: str) -> None:  # type: ignore[no-untyped-def]
    params = {
        "MessageSid": f"SM{next(_sids):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": number,
        "To": "+447700900000",
        "Body": body,
        "NumMedia": "0",
    }
    assert signed_post(client, "/webhooks/twilio/sms", params).status_code == 200


def status(client, sid: str, state: str, error: str | None = None) -> None:  # type: ignore[no-untyped-def]
    params = {"MessageSid": sid, "MessageStatus": state, "AccountSid": "AC" + "0" * 32}
    if error:
        params["ErrorCode"] = error
    assert signed_post(client, "/webhooks/twilio/status", params).status_code == 200


def test_the_funnel_counts_what_happened_through_the_real_webhooks(app, client, db, clock):
    now = clock.now()
    with db.transaction() as s:
        practice = add_practice(s, ods="F84003")
        for i in range(24):
            add_patient(
                s,
                practice,
                sex="1" if i % 2 else "2",
                ethnic_category="ABHKMN"[i % 6],
                mobile=f"+447700900{100 + i:03d}",
                dob=date(1960 + i % 15, 3, 1),
            )
        for _ in range(3):  # no mobile: eligible but not textable
            add_patient(s, practice, mobile=None)
        add_user(s, "admin@example.nhs.uk", "admin")
        add_user(s, "analyst@example.nhs.uk", "analyst")
    rows = ["date,start,duration_minutes,location"]
    for day in range(2, 8):
        for slot in range(16):
            minute = 9 * 60 + slot * 20
            rows.append(
                f"{(now.date() + timedelta(days=day)).isoformat()},"
                f"{minute // 60:02d}:{minute % 60:02d},20,Room 1"
            )
    report = slots.import_slots(db, "\n".join(rows), now=now, ods_code="F84003")
    assert report.rejected == 0
    spec = campaigns.CampaignSpec(
        name="End to end",
        practices=["F84003"],
        lawful_basis="Public task (test)",
        variants=(("control", 1), ("deadline", 1)),
        seed=7,
    )
    campaign_id = campaigns.create(db, spec, now=now, actor="tests")
    approval = campaigns.approve(db, campaign_id, now=now, actor="tests")
    assert (approval.eligible, approval.not_textable) == (24, 3)
    assert (
        offers.plan_wave(db, campaign_id, now=now, settings=Settings.from_config(app.config)) == 24
    )
    sent = dispatch_due(db, OutboxProvider(), now=now, limit=100)
    assert sent.claimed == 24
    with db.sessions() as s:
        invitations = list(
            s.execute(
                select(Message.to_number, Message.provider_sid)
                .where(Message.kind == "invitation")
                .order_by(Message.to_number)
            )
        )
    assert len(invitations) == 24
    clock.advance(minutes=5)
    # the provider reports: 2 undeliverable, the rest delivered
    for i, (_number, sid) in enumerate(invitations):
        if i < 2:
            status(client, sid, "undelivered", "30003")
        else:
            status(client, sid, "delivered")
    clock.advance(hours=1)
    # residents reply: 8 book, 2 say no, 1 says STOP, the rest are silent
    delivered = [number for number, _sid in invitations[2:]]
    for number in delivered[:8]:
        reply(client, number, "1")
    for number in delivered[8:10]:
        reply(client, number, "NO")
    reply(client, delivered[10], "STOP")
    assert act_on_inbound(app) == 11  # the replies job acts on what the webhook stored
    with db.sessions() as s:
        bookings = list(s.scalars(select(Booking.id).order_by(Booking.id)))
    assert len(bookings) == 8
    # the unanswered offers lapse; on appointment days 5 of the 8 attend, 1 does not
    clock.advance(hours=60)
    offers.expire_offers(db, now=clock.now())
    clock.advance(days=6)
    for booking_id in bookings[:5]:
        attendance.record_outcome(db, booking_id, "attended", now=clock.now(), actor="tests")
    attendance.record_outcome(db, bookings[5], "did_not_attend", now=clock.now(), actor="tests")

    sign_in(client, "admin@example.nhs.uk")
    raw = client.get(f"/api/reports/uptake?campaign={campaign_id}&raw=1").get_json()
    assert raw["total"]["counts"] == {
        "eligible": 27,
        "not_textable": 3,
        "textable": 24,
        "invited": 24,
        "delivered": 22,
        "replied": 11,
        "booked": 8,
        "attended": 5,
        "opted_out": 1,
        "declined": 2,
        "expired": 11,
        "undeliverable": 2,
        "checks_completed": 5,
        "risk_10": 0,
        "risk_20": 0,
        "new_hypertension": 0,
        "new_diabetes": 0,
        "referred": 0,
        "detected": 0,
    }
    take_up = raw["total"]["rates"]["take_up"]
    assert take_up["value"] == 5 / 24 and take_up["low"] < 5 / 24 < take_up["high"]
    client.get("/sign-out")

    analyst = client.application.test_client()
    sign_in(analyst, "analyst@example.nhs.uk")
    shown = analyst.get(f"/api/reports/uptake?campaign={campaign_id}&by=sex").get_json()
    assert shown["suppressed"] is True
    assert shown["total"]["counts"]["eligible"] == 25
    assert shown["total"]["counts"]["attended"] == "*"
    assert shown["total"]["rates"]["take_up"]["suppressed"] is True
