"""Fault 6, bad input on the staff pages: every GET page, signed in as an admin, fuzzed in
its query string (ids past any integer column, days at the calendar's edges, control
characters), and the sign-in page's `next` after a correct password. The answer is a
page or a 4xx that says what is wrong, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import STAFF_PASSWORD, add_practice, add_user
from tests.web.staff import csrf_token, sign_in

FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
STAFF_BLUEPRINTS = {
    "auth",
    "slots_pages",
    "bookings",
    "conversations",
    "patients",
    "campaign_pages",
    "reports",
    "admin",
    "devphone",
}
# every name a staff page reads from its query string
PARAMETERS = [
    "practice",
    "page",
    "week",
    "day",
    "first",
    "last",
    "from",
    "to",
    "campaign",
    "by",
    "within",
    "format",
    "action",
    "actor",
    "raw",
    "next",
]

integers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["0", "-1", "2147483648", "9223372036854775808", "1e9", "0x10", "١٢"]),
)
days = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        ["0001-01-01", "0001-01-03", "9999-12-31", "2026-02-30", "2026-13-01", "", "today"]
    ),
)
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["/\r\nSet-Cookie: x=1", "//evil.test", "\x00", "%00", "\\\\evil"]),
)
values = st.one_of(integers, days, texts)
queries = st.dictionaries(st.sampled_from(PARAMETERS), values, max_size=4)


@pytest.fixture
def admin(app, db):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is a 500 page, as in production
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "admin@example.nhs.uk", "admin")
    client = app.test_client()
    sign_in(client, "admin@example.nhs.uk")
    return client, practice.id


def _staff_pages(app: Any) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set())
        and not rule.arguments
        and rule.endpoint.split(".")[0] in STAFF_BLUEPRINTS
        and rule.endpoint != "auth.sign_in"
    )


@pytest.mark.slow
def test_every_staff_page_answers_a_fuzzed_query_string_without_a_5xx(app, admin) -> None:
    client, _ = admin
    pages = _staff_pages(app)
    assert {"/slots", "/bookings", "/admin/audit"} <= set(pages)
    failures: list[str] = []

    @FUZZ
    @given(page=st.sampled_from(pages), query=queries)
    def check(page: str, query: dict[str, str]) -> None:
        response = client.get(page, query_string=query)
        if response.status_code >= 500:
            failures.append(f"GET {page} {query!r} -> {response.status_code}")
        elif response.status_code == 400 and "text/html" in response.content_type:
            # a 400 page says what is wrong, not only that something is
            assert "There is a problem" in response.text or "form" in response.text

    check()
    assert not failures, "\n".join(failures[:20])


@pytest.mark.slow
def test_sign_in_with_any_next_after_a_correct_password_redirects_on_site(app, db) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with db.transaction() as session:
        add_user(session, "admin@example.nhs.uk", "admin")

    @settings(FUZZ, max_examples=60)
    @given(target=texts)
    def check(target: str) -> None:
        client = app.test_client()
        response = client.post(
            "/sign-in",
            query_string={"next": target},
            data={
                "email": "admin@example.nhs.uk",
                "password": STAFF_PASSWORD,
                "csrf_token": csrf_token(client),
            },
        )
        assert response.status_code in (302, 429), (target, response.status_code)
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), location
        assert not any(ord(c) < 0x20 for c in location), location

    check()
