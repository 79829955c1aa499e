"""Web security: sign-in sessions, roles, practice scoping, CSRF, rate limits and headers.

Other blueprints use `roles_required(...)`, `practice_scope(practice_id)` and
`current_user` (with `.role`, `.email`, `.practice_ids`). CSRF protection covers every
form; only blueprints named in `CSRF_EXEMPT_BLUEPRINTS` skip it, because they
authenticate each request another way (Twilio's request signature).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import AnonymousUserMixin, LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

from app.runtime import get_clock, get_db
from app.services import audit, users

__all__ = [
    "CSRF_EXEMPT_BLUEPRINTS",
    "NAV",
    "StaffUser",
    "csrf",
    "current_user",
    "init_app",
    "limiter",
    "login_manager",
    "practice_scope",
    "record_denial",
    "record_event",
    "roles_required",
]

# Blueprints whose requests carry their own proof (Twilio's X-Twilio-Signature) rather
# than a browser session, so a CSRF token means nothing to them
CSRF_EXEMPT_BLUEPRINTS = {"webhooks"}

# Header navigation: (endpoint, label, roles). Items whose blueprint is not registered
# are left out.
NAV: list[tuple[str, str, frozenset[str]]] = [
    ("slots_pages.week", "Slots", frozenset({"admin", "practice"})),
    ("bookings.day", "Bookings", frozenset({"admin", "practice"})),
    ("conversations.queue", "Conversations", frozenset({"admin", "practice"})),
    ("patients.search", "Patients", frozenset({"admin", "practice"})),
    ("campaign_pages.index", "Campaigns", frozenset({"admin"})),
    ("reports.index", "Reports", frozenset({"admin", "analyst", "practice"})),
    ("quarterly.index", "Quarterly return", frozenset({"admin", "analyst", "practice"})),
    ("admin.audit", "Audit log", frozenset({"admin"})),
    ("admin.users_page", "Users", frozenset({"admin"})),
    ("admin.practices", "Practices", frozenset({"admin"})),
]

login_manager = LoginManager()
csrf = CSRFProtect()
# keyed by the client address ProxyFix yields; stored in Redis when NUDGE_REDIS_URL is set
limiter = Limiter(key_func=get_remote_address, default_limits=[])

SESSION_SEEN_KEY = "_seen"
SESSION_STARTED_KEY = "_started"


class StaffUser:
    """The signed-in person, as Flask-Login's `current_user`."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, who: users.StaffIdentity) -> None:
        self.id = who.id
        self.email = who.email
        self.role = who.role
        self.practice_ids = who.practice_ids
        self.session_version = who.session_version

    def get_id(self) -> str:
        # the session carries the account's session version: sign-out, a password
        # change or reset and disabling the account bump it, and the old session is refused
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_see_practice(self, practice_id: int | None) -> bool:
        if self.role == "admin":
            return True
        return self.role == "practice" and practice_id in self.practice_ids


class AnonymousStaff(AnonymousUserMixin):
    role = ""
    email = ""
    practice_ids: frozenset[int] = frozenset()
    is_admin = False

    def can_see_practice(self, practice_id: int | None) -> bool:
        return False


def _user() -> StaffUser:
    return cast(StaffUser, current_user._get_current_object())


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    try:
        uid, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    with get_db().transaction() as db_session:
        who = users.load_identity(db_session, uid, version)
    return StaffUser(who) if who is not None else None


def client_ip() -> str | None:
    """The client's address: the TCP peer's, or behind NUDGE_TRUSTED_PROXIES proxies the
    one they forwarded (ProxyFix in the factory rewrites remote_addr)."""
    return request.remote_addr


# Pages that show patients' data in bulk: each opening is audited (endpoint -> action),
# as patient searches and exports are where they happen
AUDITED_PAGES = {
    "bookings.day": "bookings.view",
    "conversations.show": "conversation.view",
}


def record_event(
    action: str, *, actor: str | None = None, target: str | None = None, **detail: Any
) -> None:
    """Audit this request. Written after the response is made (`_write_audit`), so
    callers may record from inside an open transaction without waiting on themselves."""
    if actor is None:
        actor = current_user.email if current_user.is_authenticated else "(anonymous)"
    g.setdefault("audit_entries", []).append(
        {
            "now": get_clock().now(),
            "actor": actor,
            "action": action,
            "target": (target or request.endpoint or request.path)[:200],
            "detail": {"method": request.method, **detail},
            "ip": client_ip(),
        }
    )


def record_denial(reason: str, **detail: Any) -> None:
    """Audit a refused request."""
    record_event("permission.denied", reason=reason, **detail)


def _audit_page_views(response: Response) -> Response:
    action = AUDITED_PAGES.get(request.endpoint or "")
    if action and response.status_code == 200 and current_user.is_authenticated:
        shown = {k: request.args[k][:40] for k in ("practice", "day") if k in request.args}
        record_event(action, target=request.path, **shown)
    return response


def _write_audit(response: Response) -> Response:
    entries = g.pop("audit_entries", None)
    if entries:
        with get_db().transaction() as db_session:
            for entry in entries:
                audit.record(db_session, **entry)
    return response


F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: str) -> Callable[[F], F]:
    """Require a signed-in user with one of `roles`; others get 403 and an audit entry."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                record_denial("role", role=current_user.role)
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def practice_scope(practice_id: int | None) -> int:
    """Abort 404 (and audit) unless the signed-in user may see this practice's data.

    404 rather than 403 so a probe cannot tell another practice's record from a missing
    one. Returns the id so views can write `pid = practice_scope(slot.practice_id)`.
    """
    if not current_user.is_authenticated or not _user().can_see_practice(practice_id):
        record_denial("practice", practice_id=practice_id)
        abort(404)
    assert practice_id is not None
    return practice_id


def _now() -> datetime:
    return get_clock().now()


def start_session(who: users.StaffIdentity) -> None:
    """Sign `who` in on a fresh session (no fixation) whose cookie carries its expiry."""
    session.clear()
    session.permanent = True
    login_user(StaffUser(who))
    now = _now().timestamp()
    session[SESSION_STARTED_KEY] = now
    session[SESSION_SEEN_KEY] = now


def _expired(now: datetime) -> str | None:
    """Why this signed-in session has ended by the clock, or None while it has not."""
    config = current_app.config
    seen = session.get(SESSION_SEEN_KEY)
    started = session.get(SESSION_STARTED_KEY)
    if seen is None or started is None:
        return "Sign in to see this page."
    idle = timedelta(minutes=config["SESSION_IDLE_MINUTES"])
    if now - datetime.fromtimestamp(float(seen), UTC) > idle:
        minutes = config["SESSION_IDLE_MINUTES"]
        return f"You were signed out because you were inactive for {minutes} minutes."
    lifetime = timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])
    if now - datetime.fromtimestamp(float(started), UTC) > lifetime:
        hours = config["SESSION_ABSOLUTE_HOURS"]
        return f"You were signed out because you signed in more than {hours} hours ago."
    return None


def _session_expiry() -> Response | None:
    """Sign out a session idle for longer than SESSION_IDLE_MINUTES or older than
    SESSION_ABSOLUTE_HOURS (by the app clock), however busy it has been."""
    if request.endpoint == "static" or request.blueprint in CSRF_EXEMPT_BLUEPRINTS:
        return None
    if not current_user.is_authenticated:
        return None
    now = _now()
    why = _expired(now)
    if why is not None:
        logout_user()
        session.clear()
        flash(why, "info")
        if request.method == "GET":
            return redirect(url_for("auth.sign_in", next=request.path))
        return redirect(url_for("auth.sign_in"))
    session[SESSION_SEEN_KEY] = now.timestamp()
    return None


def _csrf_protect() -> None:
    if request.blueprint in CSRF_EXEMPT_BLUEPRINTS:
        return
    csrf.protect()


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if current_user.is_authenticated and response.mimetype == "text/html":
        # pages show patient data: keep them out of shared caches and the back button
        response.headers["Cache-Control"] = "no-store"
    if current_app.config["ENV"] not in {"development", "testing"}:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def _nav() -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    if current_user.is_authenticated:
        shown = [
            (endpoint, label)
            for endpoint, label, roles in NAV
            if current_user.role in roles and endpoint in current_app.view_functions
        ]
        blueprints = [endpoint.split(".")[0] for endpoint, _ in shown]
        for endpoint, label in shown:
            blueprint = endpoint.split(".")[0]
            # a blueprint with one menu item is "current" on all its pages
            current = request.endpoint == endpoint or (
                request.blueprint == blueprint and blueprints.count(blueprint) == 1
            )
            items.append({"href": url_for(endpoint), "text": label, "current": current})
    return {"nav_items": items}


def _configure(app: Flask) -> None:
    relaxed = app.config["ENV"] in {"development", "testing"}
    app.config["SESSION_COOKIE_SECURE"] = not relaxed
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(0)
    # checked in our before_request so signed webhooks can be exempt by blueprint
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's own expiry bounds it
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    if app.config["REDIS_URL"]:
        # limits and sign-in lock-outs hold across every node sharing this Redis
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]


def init_app(app: Flask) -> None:
    _configure(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.anonymous_user = AnonymousStaff
    csrf.init_app(app)
    limiter.init_app(app)
    app.before_request(_csrf_protect)
    app.before_request(_session_expiry)
    app.after_request(_headers)
    app.after_request(_write_audit)
    app.after_request(_audit_page_views)
    app.context_processor(_nav)

    @app.before_request
    def _permanent_session() -> None:
        session.permanent = True
