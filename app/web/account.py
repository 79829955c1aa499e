"""The signed-in person's own account: their personal API token, made and revoked here
rather than by an administrator on the server (the same service as `flask users token`)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app.runtime import get_clock, get_db
from app.services import api_token
from app.web.security import client_ip, current_user, roles_required

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/api-token", methods=["GET", "POST"])
@roles_required(*api_token.API_ROLES)
def token_page() -> str:
    """Create (or replace) or revoke your own token; a new one is shown on this page once."""
    db, email = get_db(), current_user.email
    token = None
    revoked = False
    had_token = api_token.has_token(db, email=email)
    if request.method == "POST":
        now = get_clock().now()
        if request.form.get("action") == "revoke":
            revoked = api_token.revoke(db, email=email, now=now, actor=email, ip=client_ip())
        else:
            token = api_token.issue(db, email=email, now=now, actor=email, ip=client_ip())
    return render_template(
        "account/api_token.html",
        token=token,
        revoked=revoked,
        had_token=had_token,
        has_token=api_token.has_token(db, email=email),
    )
