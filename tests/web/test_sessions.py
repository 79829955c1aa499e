"""Sessions end: on sign-out (even for a copied cookie), password change, reset, disabling
the account, after 30 idle minutes and after the absolute lifetime; the cookie is named
by the settings and carries its expiry from sign-in; common passwords are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.services import demo, users
from tests.builders import add_practice, add_user
from tests.conftest import make_test_config
from tests.web.staff import post, sign_in


@pytest.fixture
def staff(db):
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "admin@example.nhs.uk", "admin")
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
    return practice.id


def _cookie(client, app) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def _copy_opens_pages(app, value: str) -> bool:
    """A second browser given a copy of the cookie: does it see the start page?"""
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return other.get("/").status_code == 200


def test_a_cookie_copied_before_sign_out_no_longer_opens_pages(app, client, staff):
    sign_in(client, "gp@example.nhs.uk")
    copy = _cookie(client, app)
    assert _copy_opens_pages(app, copy)
    assert post(client, "/sign-out").status_code == 302
    assert not _copy_opens_pages(app, copy)


def test_a_reset_link_and_a_new_password_end_every_session(app, client, db, clock, staff):
    sign_in(client, "gp@example.nhs.uk")
    copy = _cookie(client, app)
    token = users.issue_set_password_token(
        db, email="gp@example.nhs.uk", now=clock.now(), actor="admin@example.nhs.uk"
    )
    assert not _copy_opens_pages(app, copy)
    sign_in(client, "gp@example.nhs.uk")
    copy = _cookie(client, app)
    users.set_password(db, token=token, password="a new long passphrase here", now=clock.now())
    assert not _copy_opens_pages(app, copy)


def test_disabling_an_account_ends_its_sessions_and_its_sign_in(app, client, db, clock, staff):
    sign_in(client, "gp@example.nhs.uk")
    copy = _cookie(client, app)
    admin = app.test_client()
    sign_in(admin, "admin@example.nhs.uk")
    with db.transaction() as session:
        gp_id = users.user_id_for(session, "gp@example.nhs.uk")
        admin_id = users.user_id_for(session, "admin@example.nhs.uk")
    assert post(client, f"/admin/users/{admin_id}/disable").status_code == 403  # staff cannot
    assert post(admin, f"/admin/users/{gp_id}/disable").status_code == 302
    assert not _copy_opens_pages(app, copy)
    assert sign_in(app.test_client(), "gp@example.nhs.uk").status_code == 200  # refused


def test_a_busy_session_still_ends_after_the_absolute_lifetime(app, client, clock, staff):
    assert app.config["SESSION_ABSOLUTE_HOURS"] == 12
    sign_in(client, "gp@example.nhs.uk")
    for _ in range(11 * 3):  # active every 20 minutes for 11 hours
        clock.advance(minutes=20)
        assert client.get("/").status_code == 200
    clock.advance(minutes=61)
    response = client.get("/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_session_cookie_is_named_by_the_settings_and_expires_from_sign_in(app, client, staff):
    assert app.config["SESSION_COOKIE_NAME"] == "nudge_session"
    cookie = sign_in(client, "gp@example.nhs.uk").headers["Set-Cookie"]
    assert cookie.startswith("nudge_session=")
    assert "Expires=" in cookie


@pytest.mark.parametrize(
    "password", ["password1234", "PASSWORD1234", "qwertyuiop123", "1q2w3e4r5t6y7u"]
)
def test_common_passwords_are_refused_whatever_their_length(password: str) -> None:
    with pytest.raises(users.UserError, match="common"):
        users.check_password_rules(password)


def test_a_long_uncommon_password_is_accepted() -> None:
    users.check_password_rules("correct horse battery staple")


def test_production_refuses_sign_in_to_accounts_made_by_demo_load(
    sqlite_url, tmp_path: Path, clock, monkeypatch
):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    production = make_test_config(
        sqlite_url,
        tmp_path,
        ENV="production",
        SECRET_KEY="k" * 32,
        ALLOW_SQLITE_IN_PRODUCTION=True,
        ALLOW_OUTBOX_IN_PRODUCTION=True,
    )
    app = create_app(production, clock=clock)
    db = app.extensions["nudge.db"]
    with db.transaction() as session:
        add_user(session, demo.DEMO_USERS[0][0], "admin")
        add_user(session, "admin@example.nhs.uk", "admin")
    users.set_password_directly(
        db, email=demo.DEMO_USERS[0][0], password=demo.DEMO_PASSWORD, now=clock.now()
    )
    refused = sign_in(app.test_client(), demo.DEMO_USERS[0][0], demo.DEMO_PASSWORD)
    assert refused.status_code == 200 and "Enter a correct email" in refused.text
    assert sign_in(app.test_client(), "admin@example.nhs.uk").status_code == 302
    db.dispose()


@pytest.mark.browser
def test_an_admin_disables_an_account_in_the_browser(live_server):
    """The Disable button on the users page, with its confirmation; and a 400 page."""
    playwright = pytest.importorskip("playwright.sync_api")
    from tests.builders import STAFF_PASSWORD
    from tests.web.browser import ARTIFACTS, launch

    app, base = live_server
    with app.extensions["nudge.db"].transaction() as session:
        practice = add_practice(session)
        add_user(session, "admin@example.nhs.uk", "admin")
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(f"{base}/sign-in?next=/admin/users")
        page.fill("#email", "admin@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("form[action*='sign-in'] button")
        page.wait_for_url(f"{base}/admin/users")
        page.on("dialog", lambda dialog: dialog.accept())
        page.click("button:has-text('Disable') >> nth=0")
        page.wait_for_selector("text=is disabled and signed out everywhere")
        page.screenshot(path=str(ARTIFACTS / "admin-users-disabled.png"), full_page=True)
        row = page.locator("tr", has_text="gp@example.nhs.uk")
        assert "Disabled" in row.inner_text()
        page.goto(f"{base}/slots?week=9999-12-31")
        assert page.get_by_text("outside the diary").is_visible()
        page.screenshot(path=str(ARTIFACTS / "bad-request-page.png"), full_page=True)
        browser.close()
