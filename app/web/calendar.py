"""`/c/<token>.ics`: a booking as an RFC 5545 calendar file, found by its unguessable token.

The token (`secrets.token_urlsafe(24)`, stored on the booking) is the only key: it names
no patient, practice or time, and an unknown or cancelled booking's token gets 404, so
the link cannot be used to probe. The file carries what a diary needs and no clinical
detail: the time (UTC), the practice and its address, and a reminder alarm.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort
from icalendar import Alarm, Calendar, Event

from app.runtime import get_clock, get_db
from app.services import booking as booking_service

if TYPE_CHECKING:
    from app.data.models import Practice, Slot

bp = Blueprint("calendar", __name__)

ALARM_BEFORE = timedelta(hours=2)
# a fixed namespace: the event UID is derived from the token, stable across downloads
UID_NAMESPACE = uuid.UUID("5f1c7c2e-8f6a-4c35-9f55-2d6b8f1f0e4a")


def build_calendar(booking_token: str, slot: Slot, practice: Practice, now: datetime) -> bytes:
    """The VCALENDAR for one booking: UTC times, location, a reminder alarm."""
    calendar = Calendar()
    calendar.add("prodid", "-//Nudge//NHS Health Check booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{uuid.uuid5(UID_NAMESPACE, booking_token)}@nudge")
    event.add("dtstamp", now)
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.starts_at + timedelta(minutes=slot.duration_minutes))
    event.add("summary", f"NHS Health Check at {practice.name}")
    location = ", ".join(part for part in (slot.location, practice.name, practice.address) if part)
    event.add("location", location)
    how_to_change = "To change it, reply CHANGE to our text"
    if practice.phone:
        how_to_change += f" or call {practice.phone}"
    event.add(
        "description",
        "Your free NHS Health Check, in person. A nurse checks your blood pressure, "
        f"cholesterol and weight. Bring a list of any medicines. {how_to_change}.",
    )
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"NHS Health Check at {practice.name}")
    alarm.add("trigger", -ALARM_BEFORE)
    event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()


@bp.get("/c/<token>.ics")
def booking_ics(token: str) -> Response:
    if len(token) > 64:
        abort(404)
    found = booking_service.calendar_entry(get_db(), token)
    if found is None:
        abort(404)
    slot, practice = found
    body = build_calendar(token, slot, practice, get_clock().now())
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'attachment; filename="nhs-health-check.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
