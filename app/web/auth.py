"""Sign-in, sign-out, the one-time set-password page and the start page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import logout_user
from werkzeug.wrappers import Response

from app.runtime import get_clock, get_db
from app.services import audit, day_work, users
from app.web.display import london_today
from app.web.security import (
    client_ip,
    current_user,
    limiter,
    roles_required,
    start_session,
)

bp = Blueprint("auth", __name__)

# Shown for every failed sign-in: never say whether the email or the password was wrong
SIGN_IN_FAILED = "Enter a correct email address and password"


def _per_address_limit() -> str:
    return str(current_app.config.get("SIGN_IN_LIMIT_PER_ADDRESS", "20 per 15 minutes"))


def _per_account_limit() -> str:
    return str(current_app.config.get("SIGN_IN_LIMIT_PER_ACCOUNT", "5 per 15 minutes"))


def _account_key() -> str:
    return "account:" + users.normalise_email(request.form.get("email", ""))[:254]


def _failed(response: Response) -> bool:
    """Only failed attempts count towards the limits (a success redirects)."""
    return response.status_code != 302


def _safe_next(target: str | None) -> str | None:
    """Follow `next` only to a path on this site (no open redirect), and never one with
    a control character or backslash (a header split, or a browser's `/\\evil` host)."""
    if not target or any(ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/")
@roles_required("admin", "practice", "analyst")
def home() -> str:
    """The day's work for this person's practices (an analyst: campaign progress)."""
    today = london_today()
    if current_user.role == "analyst":
        work = day_work.for_analyst(get_db(), today)
    else:
        only = None if current_user.is_admin else frozenset(current_user.practice_ids)
        work = day_work.for_staff(get_db(), only, today)
    return render_template("home.html", work=work, summary=day_work.summary(work))


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_per_address_limit, methods=["POST"], deduct_when=_failed, scope="sign-in-ip")
@limiter.limit(
    _per_account_limit,
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="sign-in-account",
)
def sign_in() -> str | Response | tuple[str, int]:
    next_url = _safe_next(request.args.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_url or url_for("auth.home"))
        return render_template("auth/sign_in.html", errors={}, email="", next_url=next_url)
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    who = None
    if email.strip() and password:
        who = users.authenticate(
            get_db(),
            email=email,
            password=password,
            now=get_clock().now(),
            ip=client_ip(),
            allow_demo=current_app.config["ENV"] != "production",
        )
    if who is None:
        if not (email.strip() and password):  # still audited: a blank attempt is an attempt
            with get_db().transaction() as db_session:
                audit.record(
                    db_session,
                    now=get_clock().now(),
                    actor=users.normalise_email(email)[:254] or "(blank)",
                    action="sign_in.failed",
                    detail={"blank": True},
                    ip=client_ip(),
                )
        errors = {"email": SIGN_IN_FAILED}
        page = render_template(
            "auth/sign_in.html", errors=errors, email=email[:254], next_url=next_url
        )
        return page, 200
    start_session(who)
    return redirect(next_url or url_for("auth.home"))


@bp.post("/sign-out")
def sign_out() -> Response:
    if current_user.is_authenticated:
        users.sign_out(get_db(), user_id=current_user.id, now=get_clock().now(), ip=client_ip())
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def set_password(token: str) -> str | Response:
    now = get_clock().now()
    db = get_db()
    valid = users.token_is_valid(db, token, now=now)
    errors: dict[str, str] = {}
    if request.method == "POST" and valid:
        password = request.form.get("password", "")
        if len(password) < users.MIN_PASSWORD_LENGTH:
            errors["password"] = f"Password must be at least {users.MIN_PASSWORD_LENGTH} characters"
        elif password != request.form.get("confirm", ""):
            errors["confirm"] = "The two passwords are not the same"
        else:
            try:
                users.set_password(db, token=token, password=password, now=now)
            except users.UserError as exc:
                errors["password"] = str(exc)
            else:
                logout_user()
                session.clear()
                flash("Your password is set. Sign in with it now.", "success")
                return redirect(url_for("auth.sign_in"))
    response = render_template(
        "auth/set_password.html", valid=valid, errors=errors, min_length=users.MIN_PASSWORD_LENGTH
    )
    return response
