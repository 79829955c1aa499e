"""Crafted query strings and forms get a 400 page that says what is wrong, never a 500."""

from __future__ import annotations

import io

import pytest

from tests.builders import add_practice, add_user
from tests.web.staff import csrf_token, post, sign_in

HUGE = "9" * 40  # past any database integer


@pytest.fixture
def admin(app, client, db):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is a 500 page, as in production
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "admin@example.nhs.uk", "admin")
    sign_in(client, "admin@example.nhs.uk")
    return practice.id


def _says(response, status: int, *words: str) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, text[:300])
    for word in words:
        assert word in text, (word, text[:2000])


def test_a_next_address_with_a_line_break_after_a_correct_password(app, db):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with db.transaction() as session:
        add_user(session, "admin@example.nhs.uk", "admin")
    from tests.builders import STAFF_PASSWORD

    for target in ("/\r\nSet-Cookie:%20x=1", "/admin\r\nLocation: https://evil.test", "/a\x00b"):
        client = app.test_client()
        token = csrf_token(client)
        response = client.post(
            "/sign-in?next=" + target.replace("\r", "%0D").replace("\n", "%0A"),
            data={"email": "admin@example.nhs.uk", "password": STAFF_PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302, response.status_code
        assert response.headers["Location"] == "/"  # an unsafe next is dropped, not followed
        assert "x=1" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize(
    "path",
    ["/slots?week=9999-12-31", "/slots?week=0001-01-01", "/slots?week=0001-01-03"],
)
def test_a_week_at_the_edge_of_the_calendar(client, admin, path):
    _says(client.get(path), 400, "week")


@pytest.mark.parametrize("value", ["", "9999-12-31", "0001-01-01", "yesterday", "2026-02-30"])
def test_a_bookings_day_that_is_empty_or_out_of_range(client, admin, value):
    response = client.get(f"/bookings?day={value}")
    if value == "":
        assert response.status_code == 200  # empty means today
    else:
        _says(response, 400, "day")


@pytest.mark.parametrize("path", ["/slots", "/bookings", "/slots/upload", "/slots/pattern"])
def test_a_huge_practice_id_as_admin(client, admin, path):
    _says(client.get(f"{path}?practice={HUGE}"), 400, "practice")


def test_a_huge_audit_page_number(client, admin):
    _says(client.get(f"/admin/audit?page={HUGE}"), 400, "page")


def test_a_slot_file_in_year_9999(client, admin):
    body = "date,start,duration_minutes,location\n9999-12-31,23:50,20,Room 1\n"
    response = post(
        client,
        f"/slots/upload?practice={admin}",
        {"file": (io.BytesIO(body.encode()), "slots.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 400), response.status_code
    assert "9999" in response.get_data(as_text=True) or "year" in response.get_data(as_text=True)


def test_a_slot_pattern_in_year_9999(client, admin):
    form = {
        "first_day": "9999-12-30",
        "last_day": "9999-12-31",
        "weekdays": ["0", "1", "2", "3", "4", "5", "6"],
        "day_start": "23:00",
        "day_end": "23:59",
        "duration_minutes": "20",
        "gap_minutes": "0",
        "location": "Room 1",
    }
    _says(post(client, f"/slots/pattern?practice={admin}", form), 400, "year")
