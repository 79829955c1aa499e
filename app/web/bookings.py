"""Bookings pages: the day list, marking attended / did not attend, and the CSV export."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.domain.outcomes import QRISK_BANDS, STAFF_KINDS
from app.runtime import get_clock, get_db, get_settings
from app.services import attendance, check_outcomes, gp_booking
from app.web.display import chosen_practice, london_today, parse_day
from app.web.security import current_user, practice_scope, roles_required

bp = Blueprint("bookings", __name__, url_prefix="/bookings")

STAFF = ("admin", "practice")


@bp.get("")
@roles_required(*STAFF)
def day() -> str:
    practice_id, practices = chosen_practice()
    shown = parse_day(request.args.get("day"), london_today())
    rows = []
    attention: list[attendance.AttentionRow] = []
    if practice_id is not None:
        with get_db().transaction() as session:
            rows = attendance.day_list(session, practice_id, shown)
            attention = attendance.needing_attention(session, practice_id)
    found = check_outcomes.staff_outcomes(get_db(), [r.booking_id for r in rows])
    return render_template(
        "bookings/day.html",
        practices=practices,
        practice_id=practice_id,
        day=shown,
        rows=rows,
        found=found,
        bands={v: k for k, v in QRISK_BANDS.items()},
        attention=attention,
        previous_day=(shown - timedelta(days=1)).isoformat(),
        next_day=(shown + timedelta(days=1)).isoformat(),
        can_record=shown <= london_today(),
        today=london_today(),
    )


@bp.post("/<int:booking_id>/outcome")
@roles_required(*STAFF)
def outcome(booking_id: int) -> Response:
    with get_db().transaction() as session:
        owner = attendance.booking_practice(session, booking_id)
    practice_id = practice_scope(owner)
    try:
        attendance.record_outcome(
            get_db(),
            booking_id,
            request.form.get("outcome", ""),
            now=get_clock().now(),
            actor=current_user.email,
            found={k: request.form.get(k) or None for k in STAFF_KINDS},
        )
        flash("Outcome saved.", "success")
    except attendance.AttendanceError as exc:
        flash(str(exc), "error")
    return redirect(url_for("bookings.day", practice=practice_id, day=request.form.get("day")))


@bp.post("/<int:booking_id>/resolved")
@roles_required(*STAFF)
def resolved(booking_id: int) -> Response:
    """Staff have sorted out by hand what the booking needed in the clinical system."""
    with get_db().transaction() as session:
        owner = attendance.booking_practice(session, booking_id)
    practice_id = practice_scope(owner)
    if attendance.resolve_attention(
        get_db(), booking_id, now=get_clock().now(), actor=current_user.email
    ):
        flash("Marked as sorted out.", "success")
    return redirect(url_for("bookings.day", practice=practice_id, day=request.form.get("day")))


@bp.post("/<int:booking_id>/note")
@roles_required(*STAFF)
def note(booking_id: int) -> Response:
    """A note for the appointment in the practice's own book (GP Connect amend)."""
    with get_db().transaction() as session:
        owner = attendance.booking_practice(session, booking_id)
    practice_id = practice_scope(owner)
    text = " ".join(request.form.get("note", "").split())[:500]
    if not text:
        flash("Write the note to add to the appointment.", "error")
    else:
        try:
            gp_booking.amend_in_provider(
                get_db(),
                booking_id,
                comment=text,
                now=get_clock().now(),
                actor=current_user.email,
                settings=get_settings(),
            )
            flash("Note saved in the practice's appointment book.", "success")
        except (LookupError, gp_booking.NotAmended) as exc:
            flash(f"The note was not saved: {exc}", "error")
    return redirect(url_for("bookings.day", practice=practice_id, day=request.form.get("day")))


@bp.route("/export", methods=["GET", "POST"])
@roles_required(*STAFF)
def export() -> str | Response | tuple[str, int]:
    practice_id, practices = chosen_practice()
    today = london_today()
    form = {
        "first": request.values.get("first", today.isoformat()),
        "last": request.values.get("last", today.isoformat()),
        "layout": "coding" if request.values.get("layout") == "coding" else "full",
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        dates: dict[str, date] = {}
        for name, label in (("first", "first day"), ("last", "last day")):
            try:
                dates[name] = date.fromisoformat(form[name])
            except ValueError:
                errors[name] = f"Enter the {label} as YYYY-MM-DD"
        if practice_id is None:
            errors["practice"] = "Choose a practice"
        if not errors:
            assert practice_id is not None
            try:
                text, _count = attendance.export_csv(
                    get_db(),
                    practice_id=practice_id,
                    first=dates["first"],
                    last=dates["last"],
                    now=get_clock().now(),
                    actor=current_user.email,
                    settings=get_settings(),
                    layout=form["layout"],
                )
            except attendance.AttendanceError as exc:
                errors["last"] = str(exc)
            else:
                kind = "coding" if form["layout"] == "coding" else "checks"
                name = f"nhs-health-{kind}-{dates['first']}-to-{dates['last']}.csv"
                return Response(
                    text,
                    mimetype="text/csv",
                    headers={
                        "Content-Disposition": f'attachment; filename="{name}"',
                        "Cache-Control": "no-store",
                    },
                )
    page = render_template(
        "bookings/export.html",
        practices=practices,
        practice_id=practice_id,
        form=form,
        errors=errors,
        completed=attendance.SNOMED_COMPLETED,
    )
    return page, (400 if errors else 200)
