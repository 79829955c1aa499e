"""Sign-in, sessions, CSRF, throttling, headers and the set-password link."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.data.models import AuditEvent
from app.services import users
from tests.builders import STAFF_PASSWORD, add_practice, add_user
from tests.conftest import make_test_config
from tests.web.staff import csrf_token, post, sign_in


@pytest.fixture
def staff(db):
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "admin@example.nhs.uk", "admin")
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
    return practice.id


def _actions(db) -> list[tuple[str, str]]:
    with db.transaction() as session:
        return [
            (e.action, e.actor) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def test_signing_in_with_the_right_password_opens_the_start_page_and_is_audited(client, db, staff):
    response = sign_in(client, "GP@example.nhs.uk ")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "gp@example.nhs.uk" in page
    assert ("sign_in.ok", "gp@example.nhs.uk") in _actions(db)


def test_a_wrong_password_and_an_unknown_email_get_the_same_generic_error(client, db, staff):
    wrong_password = sign_in(client, "gp@example.nhs.uk", "not the password at all").get_data(
        as_text=True
    )
    unknown_email = sign_in(client, "nobody@example.nhs.uk").get_data(as_text=True)
    generic = "Enter a correct email address and password"
    assert generic in wrong_password and generic in unknown_email
    for page in (wrong_password, unknown_email):
        assert "not found" not in page.lower() and "incorrect password" not in page.lower()
    failures = [a for a in _actions(db) if a[0] == "sign_in.failed"]
    assert failures == [
        ("sign_in.failed", "gp@example.nhs.uk"),
        ("sign_in.failed", "nobody@example.nhs.uk"),
    ]


def test_pages_need_sign_in(client, staff):
    response = client.get("/")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_a_form_posted_without_the_csrf_token_is_refused(client, db, staff):
    response = client.post(
        "/sign-in", data={"email": "gp@example.nhs.uk", "password": STAFF_PASSWORD}
    )
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    sign_in(client, "gp@example.nhs.uk")
    assert client.post("/sign-out").status_code == 400
    assert client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/").status_code == 200  # still signed in


def test_sign_out_ends_the_session(client, staff):
    sign_in(client, "gp@example.nhs.uk")
    assert post(client, "/sign-out").status_code == 302
    assert client.get("/").status_code == 302


def test_a_session_idle_for_more_than_30_minutes_is_signed_out(client, clock, staff):
    sign_in(client, "gp@example.nhs.uk")
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    clock.advance(minutes=29)  # active 29 minutes ago: still fine
    assert client.get("/").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert client.get("/").status_code == 302  # and stays signed out


def test_security_headers_are_set_on_every_page(client, staff):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # testing runs over http


def test_pages_have_no_inline_scripts(client, staff):
    sign_in(client, "admin@example.nhs.uk")
    page = client.get("/").get_data(as_text=True)
    assert "<script>" not in page
    assert '<script type="module" src="/static/js/nudge.js">' in page


def test_the_session_cookie_is_httponly_and_samesite_lax(client, staff):
    response = sign_in(client, "gp@example.nhs.uk")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # testing is plain http


def test_outside_development_cookies_are_secure_and_hsts_is_sent(
    sqlite_url, tmp_path: Path, clock, monkeypatch
):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(sqlite_url, tmp_path, ENV="demo"), clock=clock)
    with app.extensions["nudge.db"].transaction() as session:
        add_user(session, "admin@example.nhs.uk", "admin")
    client = app.test_client()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = client.get("/sign-in")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    app.extensions["nudge.db"].dispose()


def test_sign_in_is_throttled_per_account_whatever_the_address(
    sqlite_url, tmp_path: Path, clock, monkeypatch
):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(make_test_config(sqlite_url, tmp_path, RATELIMIT_ENABLED=True), clock=clock)
    with app.extensions["nudge.db"].transaction() as session:
        add_user(session, "gp@example.nhs.uk", "admin")
    client = app.test_client()
    token = csrf_token(client)
    for attempt in range(5):
        response = client.post(
            "/sign-in",
            data={
                "email": "gp@example.nhs.uk",
                "password": f"wrong {attempt}",
                "csrf_token": token,
            },
            environ_base={"REMOTE_ADDR": f"10.0.0.{attempt}"},
        )
        assert response.status_code == 200
    blocked = client.post(
        "/sign-in",
        data={"email": "gp@example.nhs.uk", "password": STAFF_PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.99"},
    )
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    # another account from a fresh address is unaffected
    other = client.post(
        "/sign-in",
        data={"email": "other@example.nhs.uk", "password": "x" * 12, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.1.1"},
    )
    assert other.status_code == 200
    app.extensions["nudge.db"].dispose()


def test_sign_in_is_throttled_per_address_across_accounts(
    sqlite_url, tmp_path: Path, clock, monkeypatch
):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    config = make_test_config(
        sqlite_url, tmp_path, RATELIMIT_ENABLED=True, SIGN_IN_LIMIT_PER_ADDRESS="3 per 15 minutes"
    )
    app = create_app(config, clock=clock)
    client = app.test_client()
    token = csrf_token(client)
    codes = [
        client.post(
            "/sign-in",
            data={"email": f"user{i}@example.nhs.uk", "password": "x" * 12, "csrf_token": token},
        ).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    app.extensions["nudge.db"].dispose()


def test_the_set_password_link_works_once_and_needs_12_characters(client, db, clock, staff):
    practice_code = "F84003"
    _, token = users.create_user(
        db,
        email="new@example.nhs.uk",
        role="practice",
        practice_ods=[practice_code],
        now=clock.now(),
    )
    path = f"/set-password/{token}"
    form_token = csrf_token(client, path)
    short = client.post(
        path, data={"password": "short", "confirm": "short", "csrf_token": form_token}
    )
    assert "at least 12 characters" in short.get_data(as_text=True)
    good = "a long enough passphrase"
    done = client.post(path, data={"password": good, "confirm": good, "csrf_token": form_token})
    assert done.status_code == 302
    assert sign_in(client, "new@example.nhs.uk", good).status_code == 302
    again = client.get(path).get_data(as_text=True)
    assert "expired or has already been used" in again


def test_the_set_password_link_expires(client, db, clock, staff):
    _, token = users.create_user(
        db, email="late@example.nhs.uk", role="analyst", practice_ods=[], now=clock.now()
    )
    clock.advance(hours=73)
    assert "expired or has already been used" in client.get(f"/set-password/{token}").get_data(
        as_text=True
    )


def test_the_token_is_stored_hashed(db, clock, staff):
    _, token = users.create_user(
        db, email="hash@example.nhs.uk", role="admin", practice_ods=[], now=clock.now()
    )
    from app.data.models import User

    with db.transaction() as session:
        user = session.scalar(select(User).where(User.email == "hash@example.nhs.uk"))
        assert user.set_password_token_hash != token
        assert user.set_password_token_hash == users.token_hash(token)


def test_users_create_prints_a_one_time_link(runner, db, staff):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "cli@example.nhs.uk",
            "--role",
            "practice",
            "--practice",
            "F84003",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "https://nudge.example.test/set-password/" in result.output
    refused = runner.invoke(
        args=["users", "create", "--email", "x@example.nhs.uk", "--role", "practice"]
    )
    assert refused.exit_code != 0 and "at least one --practice ODS code" in refused.output


def test_passwords_are_hashed_with_argon2(db, staff):
    assert users.hash_password("twelve chars!").startswith("$argon2")
    with pytest.raises(users.UserError):
        users.hash_password("eleven char")


def test_twilio_webhooks_are_exempt_from_csrf_but_check_their_signature(client, staff):
    # no CSRF token and no signature: refused by the signature check (403), not CSRF (400)
    response = client.post("/webhooks/twilio/sms", data={"From": "+447700900001", "Body": "1"})
    assert response.status_code == 403
