"""Admin pages: the audit log, staff accounts and practices."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.runtime import get_clock, get_db
from app.services import audit as audit_service
from app.services import practices as practice_service
from app.services import users
from app.web.display import parse_page
from app.web.security import current_user, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 100


@bp.get("/audit")
@roles_required("admin")
def audit() -> str:
    action = request.args.get("action", "").strip()[:60]
    actor = request.args.get("actor", "").strip()[:254]
    page = parse_page(request.args.get("page"))
    events = audit_service.recent(
        get_db(), action=action, actor=actor, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
    )
    return render_template(
        "admin/audit.html",
        events=events[:PAGE_SIZE],
        more=len(events) > PAGE_SIZE,
        page=page,
        action=action,
        actor=actor,
    )


@bp.route("/users", methods=["GET", "POST"])
@roles_required("admin")
def users_page() -> str | tuple[str, int]:
    errors: dict[str, str] = {}
    link = None
    form = {"email": "", "role": "practice", "practice": ""}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in form}
        codes = [form["practice"]] if form["practice"] and form["role"] == "practice" else []
        try:
            _, token = users.create_user(
                get_db(),
                email=form["email"],
                role=form["role"],
                practice_ods=codes,
                now=get_clock().now(),
                actor=current_user.email,
            )
        except users.UserError as exc:
            errors["email"] = str(exc)
        else:
            base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
            link = f"{base}/set-password/{token}"
            form = {"email": "", "role": "practice", "practice": ""}
    with get_db().transaction() as session:
        accounts = users.list_users(session)
        for account in accounts:
            _ = account.practices  # load before the session closes
    practices = practice_service.by_name(get_db())
    page = render_template(
        "admin/users.html",
        accounts=accounts,
        practices=practices,
        errors=errors,
        form=form,
        link=link,
        roles=users.ROLES,
    )
    return page, (400 if errors else 200)


@bp.post("/users/<int:user_id>/disable")
@roles_required("admin")
def disable_user(user_id: int) -> Response:
    """Disable an account: its sessions end now and it can no longer sign in."""
    try:
        email = users.disable(
            get_db(), user_id=user_id, now=get_clock().now(), actor=current_user.email
        )
    except users.UserError:
        abort(404)
    flash(f"{email} is disabled and signed out everywhere.", "success")
    return redirect(url_for("admin.users_page"))


@bp.route("/practices", methods=["GET", "POST"])
@roles_required("admin")
def practices() -> str | tuple[str, int]:
    errors: dict[str, str] = {}
    form = {"ods": "", "name": "", "phone": ""}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in form}
        if not form["ods"]:
            errors["ods"] = "Enter the practice's ODS code"
        if not form["name"]:
            errors["name"] = "Enter the practice name"
        if not errors:
            try:
                practice_service.add_practice(
                    get_db(),
                    ods=form["ods"],
                    name=form["name"],
                    phone=form["phone"] or None,
                    now=get_clock().now(),
                    actor=current_user.email,
                )
                form = {"ods": "", "name": "", "phone": ""}
            except practice_service.PracticeError as exc:
                errors["ods"] = str(exc)
    rows = practice_service.by_name(get_db())
    page = render_template("admin/practices.html", practices=rows, errors=errors, form=form)
    return page, (400 if errors else 200)
