"""Role and practice scoping on every staff route, table-driven.

Practice staff get 404 for another practice's data whatever the URL or form field says
(and the denial is audited); roles get 403 for pages not theirs. A new staff route that
takes an id must be added to ID_ROUTES, or `test_every_staff_route_with_an_id_is_in_the_table`
fails.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.data.models import AuditEvent, Booking, Conversation, PhoneNumber, Slot
from tests.builders import (
    BUILDER_NOW,
    add_booking,
    add_inbound,
    add_patient,
    add_practice,
    add_slot,
    add_user,
)
from tests.web.staff import post, sign_in

STAFF_BLUEPRINTS = {
    "slots_pages",
    "bookings",
    "conversations",
    "campaign_pages",
    "patients",
    "admin",
}
B_MOBILE = "+447700900222"
A_MOBILE = "+447700900111"


@pytest.fixture
def world(db, app):
    with db.transaction() as session:
        a = add_practice(session, ods="A00001", name="Practice A")
        b = add_practice(session, ods="B00001", name="Practice B")
        add_user(session, "a@example.nhs.uk", "practice", [a])
        add_user(session, "admin@example.nhs.uk", "admin")
        add_user(session, "analyst@example.nhs.uk", "analyst")
        pa = add_patient(session, a, mobile=A_MOBILE, given_name="Alice")
        pb = add_patient(session, b, mobile=B_MOBILE, given_name="Bertha")
        slot_b = add_slot(session, b, datetime(2026, 1, 14, 9, 0, tzinfo=UTC))
        free_b = add_slot(session, b, datetime(2026, 1, 20, 9, 0, tzinfo=UTC))
        free_a = add_slot(session, a, datetime(2026, 1, 20, 9, 0, tzinfo=UTC))
        booking_b = add_booking(session, pb, slot_b)
        for number, practice in ((A_MOBILE, a), (B_MOBILE, b)):
            add_inbound(session, number, "what?")
            session.add(
                Conversation(
                    number=number,
                    practice_id=practice.id,
                    flagged_at=BUILDER_NOW,
                    flag_reason="unclear",
                )
            )
    with db.transaction() as session:
        keys = {
            "a": session.get(Conversation, A_MOBILE).key,
            "b": session.get(Conversation, B_MOBILE).key,
        }
    return {
        "a": a.id,
        "b": b.id,
        "pa": pa.id,
        "pb": pb.id,
        "pb_nhs": pb.nhs_number,
        "slot_b": slot_b.id,
        "free_b": free_b.id,
        "free_a": free_a.id,
        "booking_b": booking_b.id,
        "conv_a": keys["a"],
        "conv_b": keys["b"],
    }


# (endpoint, method, path template, form) — all aimed at practice B's data
ID_ROUTES = [
    ("slots_pages.cancel", "POST", "/slots/{slot_b}/cancel", {}),
    ("bookings.outcome", "POST", "/bookings/{booking_b}/outcome", {"outcome": "attended"}),
    ("conversations.show", "GET", "/conversations/{conv_b}", None),
    ("conversations.reply", "POST", "/conversations/{conv_b}/reply", {"body": "hi"}),
    (
        "conversations.book",
        "POST",
        "/conversations/{conv_b}/book",
        {"patient_id": "{pb}", "slot_id": "{free_b}"},
    ),
    ("conversations.opt_out", "POST", "/conversations/{conv_b}/opt-out", {}),
    ("conversations.resolve", "POST", "/conversations/{conv_b}/resolve", {}),
    (
        "conversations.language",
        "POST",
        "/conversations/{conv_b}/language",
        {"patient_id": "{pb}", "language": "pl"},
    ),
    ("bookings.resolved", "POST", "/bookings/{booking_b}/resolved", {}),
    ("bookings.note", "POST", "/bookings/{booking_b}/note", {"note": "Running late"}),
]
# routes without an id in the path, where the practice comes from the query or a form field
FIELD_ROUTES = [
    ("GET", "/slots?practice={b}", None),
    ("POST", "/slots/pattern", {"practice": "{b}", "action": "preview"}),
    ("POST", "/slots/upload", {"practice": "{b}"}),
    ("GET", "/bookings?practice={b}", None),
    ("GET", "/bookings/export?practice={b}", None),
    ("POST", "/bookings/export", {"practice": "{b}", "first": "2026-01-14", "last": "2026-01-14"}),
    # A's own conversation, but B's patient and B's slot in the form fields
    ("POST", "/conversations/{conv_a}/book", {"patient_id": "{pb}", "slot_id": "{free_b}"}),
    ("POST", "/conversations/{conv_a}/book", {"patient_id": "{pa}", "slot_id": "{free_b}"}),
]


def _fill(value, world):
    if value is None:
        return None
    if isinstance(value, str):
        return value.format(**world)
    return {k: _fill(v, world) for k, v in value.items()}


def _denials(db) -> int:
    with db.transaction() as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "permission.denied")
        )


def _call(client, method, path, form):
    if method == "GET":
        return client.get(path)
    return post(client, path, form or {})


@pytest.mark.parametrize(("endpoint", "method", "path", "form"), ID_ROUTES)
def test_practice_staff_get_404_for_another_practices_data_by_id(
    client, db, world, endpoint, method, path, form
):
    sign_in(client, "a@example.nhs.uk")
    before = _denials(db)
    response = _call(client, method, _fill(path, world), _fill(form, world))
    assert response.status_code == 404, endpoint
    assert "Bertha" not in response.get_data(as_text=True)
    assert _denials(db) == before + 1
    with db.transaction() as session:  # nothing of B's changed
        assert session.get(Slot, world["slot_b"]).state == "booked"
        assert session.get(Booking, world["booking_b"]).state == "booked"
        assert session.get(Slot, world["free_b"]).state == "free"
        assert session.get(PhoneNumber, B_MOBILE) is None
        assert session.get(Conversation, B_MOBILE).resolved_at is None


@pytest.mark.parametrize(("method", "path", "form"), FIELD_ROUTES)
def test_practice_staff_get_404_whatever_the_query_or_form_field_says(
    client, db, world, method, path, form
):
    sign_in(client, "a@example.nhs.uk")
    response = _call(client, method, _fill(path, world), _fill(form, world))
    assert response.status_code == 404
    assert "Bertha" not in response.get_data(as_text=True)
    with db.transaction() as session:
        assert session.get(Slot, world["free_b"]).state == "free"


def test_an_admin_can_reach_every_practice(client, world):
    sign_in(client, "admin@example.nhs.uk")
    for method, path, form in FIELD_ROUTES[:6]:
        # 200, or 400 for a form that fails validation: never the scoping 404
        response = _call(client, method, _fill(path, world), _fill(form, world))
        assert response.status_code in {200, 400}, path
    assert client.get(f"/conversations/{world['conv_b']}").status_code == 200


def test_patient_search_finds_only_the_users_own_practices(client, world):
    sign_in(client, "a@example.nhs.uk")
    page = post(client, "/patients", {"nhs_number": world["pb_nhs"]}).get_data(as_text=True)
    assert "Bertha" not in page and "No patient with that NHS number" in page
    post(client, "/sign-out")
    sign_in(client, "admin@example.nhs.uk")
    page = post(client, "/patients", {"nhs_number": world["pb_nhs"]}).get_data(as_text=True)
    assert "Bertha" in page


def test_the_conversation_queue_shows_only_the_users_practices(client, world):
    sign_in(client, "a@example.nhs.uk")
    page = client.get("/conversations").get_data(as_text=True)
    assert "Alice" in page and "Bertha" not in page


def test_the_home_page_shows_only_the_users_practices_work(client, app, world):
    sign_in(client, "a@example.nhs.uk")
    page = client.get("/").get_data(as_text=True)
    assert "Alice" in page and "Bertha" not in page and "Practice B" not in page
    admin = app.test_client()
    sign_in(admin, "admin@example.nhs.uk")
    page = admin.get("/").get_data(as_text=True)
    assert "Alice" in page and "Bertha" in page  # B's booking today and both conversations
    analyst = app.test_client()
    sign_in(analyst, "analyst@example.nhs.uk")
    page = analyst.get("/").get_data(as_text=True)
    assert "Alice" not in page and "Bertha" not in page


ROLE_TABLE = [
    # path, admin, practice, analyst
    ("/", 200, 200, 200),
    ("/slots", 200, 200, 403),
    ("/slots/upload", 200, 200, 403),
    ("/slots/pattern", 200, 200, 403),
    ("/bookings", 200, 200, 403),
    ("/bookings/export", 200, 200, 403),
    ("/conversations", 200, 200, 403),
    ("/patients", 200, 200, 403),
    ("/patients/upload", 200, 200, 403),
    ("/campaigns", 200, 403, 403),
    ("/campaigns/new", 200, 403, 403),
    ("/admin/audit", 200, 403, 403),
    ("/admin/users", 200, 403, 403),
    ("/admin/practices", 200, 403, 403),
]


@pytest.mark.parametrize(("path", "admin", "practice", "analyst"), ROLE_TABLE)
def test_each_role_sees_only_its_pages(app, world, path, admin, practice, analyst):
    for email, expected in (
        ("admin@example.nhs.uk", admin),
        ("a@example.nhs.uk", practice),
        ("analyst@example.nhs.uk", analyst),
    ):
        client = app.test_client()
        sign_in(client, email)
        assert client.get(path).status_code == expected, (path, email)
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]


def test_every_staff_route_with_an_id_is_in_the_table(app):
    covered = (
        {endpoint for endpoint, *_ in ID_ROUTES}
        | {"campaign_pages.show"}
        | {
            f"campaign_pages.{a}"
            for a in (
                "approve",
                "confirm_approve",
                "edit",
                "delete",
                "pause",
                "resume",
                "close",
                "recheck_conditions",
            )
        }
        | {"admin.disable_user"}
    )
    with_ids = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.arguments and rule.endpoint.split(".")[0] in STAFF_BLUEPRINTS
    }
    # campaigns and staff accounts are admin-only (every practice): their scoping is the
    # role check
    assert with_ids <= covered, with_ids - covered


def test_campaign_routes_with_ids_refuse_non_admins(app, world):
    client = app.test_client()
    sign_in(client, "a@example.nhs.uk")
    assert client.get("/campaigns/1").status_code == 403
    for action in ("approve", "edit", "delete"):
        assert client.get(f"/campaigns/1/{action}").status_code == 403
    for action in ("approve", "edit", "delete", "pause", "resume", "close", "recheck-conditions"):
        assert post(client, f"/campaigns/1/{action}").status_code == 403


def test_no_page_puts_an_nhs_number_or_phone_number_in_a_url(client, db, world):
    import re

    from app.data.models import Patient

    with db.transaction() as session:
        identifiers = [
            value
            for p in session.scalars(select(Patient))
            for value in (p.nhs_number, p.mobile, (p.mobile or "")[3:])
            if value
        ]
    sign_in(client, "admin@example.nhs.uk")
    pages = [
        client.get(path).get_data(as_text=True)
        for path in (
            "/slots?practice={b}".format(**world),
            "/bookings?practice={b}&day=2026-01-14".format(**world),
            "/conversations",
            "/conversations/{conv_b}".format(**world),
            "/admin/audit",
        )
    ]
    pages.append(post(client, "/patients", {"nhs_number": world["pb_nhs"]}).get_data(as_text=True))
    assert "Bertha" in pages[1] and "Bertha" in pages[-1]  # the pages do show the patient
    for page in pages:
        for url in re.findall(r'(?:href|action|src)="([^"]*)"', page):
            for value in identifiers:
                assert value not in url, (value, url)
