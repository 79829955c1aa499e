"""Slots pages: the week view, CSV upload with its line-by-line report, recurring patterns
with a preview before saving, and cancelling a slot."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, time, timedelta
from typing import TYPE_CHECKING

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.clock import LONDON
from app.runtime import get_clock, get_db, get_settings
from app.services import diary, slot_queries, slots
from app.services.attendance import london_day_bounds
from app.web.display import aware, chosen_practice, london_today, parse_day
from app.web.security import current_user, practice_scope, roles_required

if TYPE_CHECKING:
    from app.data.models import Slot

bp = Blueprint("slots_pages", __name__, url_prefix="/slots")

STAFF = ("admin", "practice")
WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
PREVIEW_ROWS = 200
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


@bp.get("")
@roles_required(*STAFF)
def week() -> str:
    practice_id, practices = chosen_practice()
    first = parse_day(request.args.get("week"), london_today(), "week")
    monday = first - timedelta(days=first.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    by_day: dict[date, list[Slot]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    seen = slot_queries.Week(now=get_clock().now())
    if practice_id is not None:
        start, end = london_day_bounds(monday, days[-1])
        seen = slot_queries.week(get_db(), practice_id, start, end, now=get_clock().now())
        for slot in seen.slots:
            slot.starts_at = aware(slot.starts_at)
            by_day[slot.starts_at.astimezone(LONDON).date()].append(slot)
            counts[slot.state] += 1
    too_soon = sum(1 for slot in seen.slots if seen.too_soon(slot))
    # said once above the grid when every slot shares it, to keep each slot two lines
    locations = {slot.location for slot in seen.slots}
    durations = {slot.duration_minutes for slot in seen.slots}
    return render_template(
        "slots/week.html",
        practices=practices,
        practice_id=practice_id,
        days=days,
        by_day=by_day,
        counts=counts,
        week=seen,
        too_soon=too_soon,
        one_location=locations.pop() if len(locations) == 1 else None,
        one_duration=durations.pop() if len(durations) == 1 else None,
        previous_week=(monday - timedelta(days=7)).isoformat(),
        next_week=(monday + timedelta(days=7)).isoformat(),
        today=london_today(),
        source=slot_queries.source_status(get_db(), practice_id) if practice_id else None,
    )


@bp.route("/upload", methods=["GET", "POST"])
@roles_required(*STAFF)
def upload() -> str | tuple[str, int]:
    practice_id, practices = chosen_practice()
    errors: dict[str, str] = {}
    report = None
    if request.method == "POST":
        file = request.files.get("file")
        if practice_id is None:
            errors["practice"] = "Choose a practice"
        if file is None or not file.filename:
            errors["file"] = "Choose a CSV file of slots"
        else:
            raw = file.read(MAX_UPLOAD_BYTES + 1)
            if len(raw) > MAX_UPLOAD_BYTES:
                errors["file"] = "The file must be smaller than 2 MB"
            else:
                try:
                    text = slots.read_upload(raw, file.filename or "slots.csv")
                except slots.SlotError as exc:
                    errors["file"] = str(exc)
        if not errors:
            try:
                report = slots.import_slots(
                    get_db(),
                    text,
                    now=get_clock().now(),
                    practice_id=practice_id,
                    file_name=(file.filename or "slots.csv")[:200],  # type: ignore[union-attr]
                    actor=current_user.email,
                )
            except slots.SlotError as exc:
                errors["file"] = str(exc)
    status = 200 if not errors else 400
    page = render_template(
        "slots/upload.html",
        practices=practices,
        practice_id=practice_id,
        errors=errors,
        report=report,
        columns=slots.COLUMNS,
    )
    return page, status


def _pattern_form() -> tuple[dict[str, str | list[str]], dict[str, str], list[slots.SlotRow]]:
    form: dict[str, str | list[str]] = {
        k: request.form.get(k, "").strip()
        for k in (
            "first_day",
            "last_day",
            "day_start",
            "day_end",
            "duration_minutes",
            "gap_minutes",
            "location",
        )
    }
    form["weekdays"] = request.form.getlist("weekdays")
    errors: dict[str, str] = {}

    def day(name: str, label: str) -> date | None:
        try:
            return date.fromisoformat(str(form[name]))
        except ValueError:
            errors[name] = f"Enter the {label} as YYYY-MM-DD"
            return None

    def clock(name: str, label: str) -> time | None:
        try:
            return time.fromisoformat(str(form[name]))
        except ValueError:
            errors[name] = f"Enter the {label} as HH:MM, for example 09:00"
            return None

    first, last = day("first_day", "first day"), day("last_day", "last day")
    weekdays = [int(d) for d in form["weekdays"] if str(d).isdigit() and 0 <= int(d) <= 6]
    if not weekdays:
        errors["weekdays"] = "Choose at least one day of the week"
    start, end = clock("day_start", "start time"), clock("day_end", "end time")
    duration = str(form["duration_minutes"])
    if not duration.isdigit() or not 1 <= int(duration) <= slots.MAX_DURATION_MINUTES:
        errors["duration_minutes"] = "Enter the appointment length in minutes, from 1 to 480"
    gap = str(form["gap_minutes"] or "0")
    if not gap.isdigit():
        errors["gap_minutes"] = "Enter the gap between appointments in whole minutes"
    if not form["location"]:
        errors["location"] = "Enter the location, for example Room 2"
    if start and end and end <= start:
        errors["day_end"] = "The end time must be after the start time"
    rows: list[slots.SlotRow] = []
    if not errors and first and last and start and end:
        try:
            rows = slots.generate_pattern(
                first_day=first,
                last_day=last,
                weekdays=weekdays,
                day_start=start,
                day_end=end,
                duration_minutes=int(duration),
                location=" ".join(str(form["location"]).split())[:200],
                gap_minutes=int(gap),
            )
        except slots.SlotError as exc:
            errors["first_day"] = str(exc)
        if not rows and not errors:
            errors["weekdays"] = "These choices make no slots: check the days and times"
    return form, errors, rows


def _pattern_reason(reason: str) -> str:
    """A file import's reason, said of a pattern's slot (its day and time are beside it)."""
    return "in the past" if reason.endswith(" is in the past") else reason


@bp.route("/pattern", methods=["GET", "POST"])
@roles_required(*STAFF)
def pattern() -> str | Response | tuple[str, int]:
    practice_id, practices = chosen_practice()
    form: dict[str, str | list[str]] = {
        "gap_minutes": "0",
        "duration_minutes": "20",
        "day_start": "09:00",
        "day_end": "12:00",
        "weekdays": [],
    }
    errors: dict[str, str] = {}
    check: slots.RowCheck | None = None
    if request.method == "POST":
        form, errors, rows = _pattern_form()
        if practice_id is None:
            errors["practice"] = "Choose a practice"
        if not errors:
            assert practice_id is not None
            check = slots.check_pattern(
                get_db(), rows, practice_id=practice_id, now=get_clock().now()
            )
        if check is not None and check.new and request.form.get("action") == "save":
            assert practice_id is not None
            # what the preview said: only the slots it would add (past ones were shown left out)
            report = slots.save_pattern(
                get_db(),
                [row for row, _ in check.new],
                practice_id=practice_id,
                now=get_clock().now(),
                actor=current_user.email,
                description=f"pattern {form['first_day']} to {form['last_day']}",
            )
            if report.problems or not report.added:
                by_line = {row.line: row for row in rows}
                return render_template(
                    "slots/pattern_result.html",
                    practice_id=practice_id,
                    report=report,
                    not_added=[
                        (by_line[p["line"]], _pattern_reason(p["reason"])) for p in report.problems
                    ],
                    week_of=str(form["first_day"]),
                )
            left_out = len(check.past) + len(check.unchanged) + len(check.refused)
            flash(
                f"Saved {report.added} slots from the pattern"
                + (f" ({left_out} left out, as the preview said)." if left_out else "."),
                "success",
            )
            week_of = str(form["first_day"])
            return redirect(url_for("slots_pages.week", practice=practice_id, week=week_of))
    page = render_template(
        "slots/pattern.html",
        practices=practices,
        practice_id=practice_id,
        form=form,
        errors=errors,
        check=check,
        shown=check.new[:PREVIEW_ROWS] if check else [],
        weekdays=WEEKDAYS,
        now=get_clock().now(),
    )
    return page, (400 if errors else 200)


@bp.post("/<int:slot_id>/cancel")
@roles_required(*STAFF)
def cancel(slot_id: int) -> Response:
    db = get_db()
    found = slot_queries.summary(db, slot_id)
    if found is None:
        practice_scope(None)  # audited 404
    assert found is not None
    practice_id = practice_scope(found.practice_id)
    now = get_clock().now()
    try:
        if found.state == "booked":
            result = diary.cancel_booked_slot(
                db, slot_id, now=now, actor=current_user.email, settings=get_settings()
            )
            told = (
                "The patient has been sent a text"
                if result.patient_told
                else ("The patient could not be texted: phone them")
            )
            more = " with new times." if result.new_offer_id else "."
            flash(f"Booking cancelled. {told}{more}", "success")
        else:
            outcome = slots.cancel_slot(
                db, slot_id, now=now, actor=current_user.email, settings=get_settings()
            )
            flash(
                "Slot cancelled; the offer holding it was withdrawn and the patient told."
                if outcome == "withdrawn"
                else "Slot cancelled.",
                "success",
            )
    except (slots.SlotError, diary.DiaryError) as exc:
        flash(str(exc), "error")
    week_of = found.starts_at.astimezone(LONDON).date().isoformat()
    return redirect(url_for("slots_pages.week", practice=practice_id, week=week_of))
