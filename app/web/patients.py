"""Patients pages: search by NHS number (a POST form, so the number is never in a URL or
an access log) and the patient's timeline."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from app.runtime import get_clock, get_db
from app.services import audit, timeline
from app.web.security import client_ip, current_user, roles_required

bp = Blueprint("patients", __name__, url_prefix="/patients")


@bp.route("", methods=["GET", "POST"])
@roles_required("admin", "practice")
def search() -> str | tuple[str, int]:
    errors: dict[str, str] = {}
    results = None
    typed = ""
    if request.method == "POST":
        typed = request.form.get("nhs_number", "")[:20]
        scope = None if current_user.is_admin else current_user.practice_ids
        try:
            results = timeline.find(get_db(), typed, scope)
        except timeline.SearchError as exc:
            errors["nhs_number"] = str(exc)
        else:
            with get_db().transaction() as session:
                audit.record(
                    session,
                    now=get_clock().now(),
                    actor=current_user.email,
                    action="patient.view",
                    target=",".join(f"patient:{t.patient.id}" for t in results)[:200] or None,
                    detail={"found": len(results)},
                    ip=client_ip(),
                )
    page = render_template("patients/search.html", errors=errors, results=results, typed=typed)
    return page, (400 if errors else 200)
