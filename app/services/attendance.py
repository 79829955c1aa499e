"""Appointment outcomes (attended / did not attend), the day list and the clinical export.

Rules: staff record whether each booked patient attended; the
outcome feeds the uptake report (#6) through `booking.state`. The export gives the
practice a CSV its clinical system can import: NHS number, date, outcome and the SNOMED
CT concept for the event. Codes (see the README, "SNOMED CT codes"):
- 523221000000100 |NHS Health Check completed| for an attended appointment;
- the SMS invitation, declined and did-not-attend concepts are settings
  (SNOMED_INVITATION_CODE, SNOMED_DECLINED_CODE, SNOMED_DID_NOT_ATTEND_CODE), blank until
  the practice's clinical safety officer has confirmed the codes their system expects;
  a set code must be a well-formed SNOMED CT concept id (app.domain.coded.concept_id).
The completed-check code is looked up in the NHS Health Check completed cluster file.
`layout="coding"` gives only the coded rows as NHS Number, SNOMED Code, Date: the shape
batch-coding imports expect (and Nudge's own events import reads).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from sqlalchemy.orm import Session

from app.clock import LONDON, as_utc
from app.data import attendance as attendance_data
from app.data.db import Database
from app.domain import coded
from app.domain.outcomes import OutcomeError
from app.services import audit, check_outcomes
from app.settings import Settings

OUTCOMES = ("attended", "did_not_attend")
# SNOMED CT UK edition concept for the completed check (QOF / NHS Health Check cluster)
SNOMED_COMPLETED = ("523221000000100", "NHS Health Check completed")
SNOMED_INVITATION_TERM = "NHS Health Check invitation short message service text message"
SNOMED_DID_NOT_ATTEND_TERM = "Did not attend NHS Health Check"
SNOMED_DECLINED_TERM = "NHS Health Check declined"
CODING_COLUMNS = ("NHS Number", "SNOMED Code", "Date")
EXPORT_COLUMNS = (
    "nhs_number",
    "date",
    "time",
    "event",
    "outcome",
    "snomed_ct_code",
    "snomed_ct_term",
    "how_booked",
)
MAX_EXPORT_DAYS = 366


class AttendanceError(ValueError):
    """An outcome that cannot be recorded; the message is safe to show staff."""


@dataclass(frozen=True)
class DayRow:
    booking_id: int
    starts_at: datetime
    duration_minutes: int
    location: str
    given_name: str | None
    family_name: str | None
    nhs_number: str
    source: str
    state: str
    gpconnect_appointment_id: str | None = None
    attention: str | None = None


@dataclass(frozen=True)
class AttentionRow:
    """A booking staff must sort out by hand (e.g. a cancellation the GP system refused)."""

    booking_id: int
    starts_at: datetime
    given_name: str | None
    family_name: str | None
    nhs_number: str
    gpconnect_appointment_id: str | None
    attention: str
    since: datetime


def needing_attention(session: Session, practice_id: int) -> list[AttentionRow]:
    rows = attendance_data.needing_attention(session, practice_id)
    return [
        AttentionRow(
            booking_id=r[0],
            starts_at=as_utc(r[1]),
            given_name=r[2],
            family_name=r[3],
            nhs_number=r[4],
            gpconnect_appointment_id=r[5],
            attention=r[6],
            since=as_utc(r[7]),
        )
        for r in rows
    ]


def resolve_attention(db: Database, booking_id: int, *, now: datetime, actor: str) -> bool:
    """Staff say they have sorted the booking out in the clinical system (audited)."""
    with db.transaction() as session:
        cleared = attendance_data.clear_attention(session, booking_id)
        if cleared:
            audit.record(
                session,
                now=now,
                actor=actor,
                action="booking.attention_resolved",
                target=f"booking:{booking_id}",
                detail={},
            )
        return cleared


def london_day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants from the start of `first` to the end of `last`, London days."""
    start = datetime.combine(first, time(0), tzinfo=LONDON).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(UTC)
    return start, end


def day_list(session: Session, practice_id: int, day: date) -> list[DayRow]:
    """The practice's live and completed bookings on one London day, in time order."""
    start, end = london_day_bounds(day, day)
    rows = attendance_data.day_rows(session, practice_id, start, end)
    return [DayRow(r[0], as_utc(r[1]), *r[2:]) for r in rows]


def booking_practice(session: Session, booking_id: int) -> int | None:
    """The practice whose diary holds the booking (for scoping), or None if unknown."""
    return attendance_data.booking_practice(session, booking_id)


def record_outcome(
    db: Database,
    booking_id: int,
    outcome: str,
    *,
    now: datetime,
    actor: str,
    found: Mapping[str, str | None] | None = None,
) -> str:
    """Record attended / did not attend; returns the previous state.

    `found` is what staff chose the check found (qrisk_band, bp_high, referred: see
    app.domain.outcomes); it replaces what was recorded before, and a check marked not
    attended keeps none.

    Allowed from the appointment's London day onwards (not for a future day: that is
    a mistake), and may be corrected (attended <-> did not attend). A cancelled booking
    has no outcome. The update is conditional on the state read, so two staff marking
    at once cannot both believe they changed it from `booked`.
    """
    if outcome not in OUTCOMES:
        raise AttendanceError("Choose attended or did not attend")
    with db.transaction() as session:
        row = attendance_data.state_and_start(session, booking_id)
        if row is None:
            raise AttendanceError("There is no such booking")
        previous, starts_at = row
        if previous == "cancelled":
            raise AttendanceError("This booking was cancelled, so it has no outcome")
        if as_utc(starts_at).astimezone(LONDON).date() > now.astimezone(LONDON).date():
            raise AttendanceError("You can record an outcome from the day of the appointment")
        if not attendance_data.set_outcome(
            session, booking_id, previous=previous, outcome=outcome, now=now, actor=actor
        ):
            raise AttendanceError("Someone else changed this booking; reload and try again")
        values: dict[str, float] = {}
        if found is not None or outcome != "attended":
            given = found if found is not None and outcome == "attended" else {}
            try:
                values = check_outcomes.record_staff_outcome(
                    session, booking_id, now=now, qrisk_band=given.get("qrisk_band"),
                    bp_high=given.get("bp_high"), referred=given.get("referred"),
                )  # fmt: skip
            except OutcomeError as exc:
                raise AttendanceError(str(exc)) from None
        audit.record(
            session,
            now=now,
            actor=actor,
            action="booking.outcome",
            target=f"booking:{booking_id}",
            detail={"from": previous, "to": outcome, **({"found": values} if values else {})},
        )
        return str(previous)


def _setting_code(raw: str, name: str) -> str:
    if not raw:
        return ""
    try:
        return coded.concept_id(raw)
    except coded.ConceptIdError as exc:
        raise AttendanceError(f"Setting NUDGE_{name}: {exc}") from None


def _codes(settings: Settings) -> dict[str, tuple[str, str]]:
    return {
        "invited": (
            _setting_code(settings.snomed_invitation_code, "SNOMED_INVITATION_CODE"),
            SNOMED_INVITATION_TERM,
        ),
        "declined": (
            _setting_code(settings.snomed_declined_code, "SNOMED_DECLINED_CODE"),
            SNOMED_DECLINED_TERM,
        ),
        "attended": coded.completed_check_code(coded.national_clusters()),
        "did_not_attend": (
            _setting_code(settings.snomed_did_not_attend_code, "SNOMED_DID_NOT_ATTEND_CODE"),
            SNOMED_DID_NOT_ATTEND_TERM,
        ),
        "booked": ("", ""),
    }


def export_csv(
    db: Database,
    *,
    practice_id: int,
    first: date,
    last: date,
    now: datetime,
    actor: str,
    settings: Settings,
    layout: str = "full",
) -> tuple[str, int]:
    """The clinical-system CSV for a practice and London date range; (text, rows).

    One row per SMS invitation sent in the range, one per invitation declined in it,
    and one per appointment in it (its outcome: attended, did_not_attend, or booked when
    not yet recorded). `layout="coding"` keeps only rows with a code, as NHS Number,
    SNOMED Code, Date. The export is audited: it carries NHS numbers out of Nudge.
    """
    if last < first:
        raise AttendanceError("The end date is before the start date")
    if (last - first).days >= MAX_EXPORT_DAYS:
        raise AttendanceError("Export at most a year at a time")
    start, end = london_day_bounds(first, last)
    codes = _codes(settings)
    out = io.StringIO()
    full = csv.writer(out, lineterminator="\r\n")
    coding = layout == "coding"

    class _Writer:
        written = 0

        def writerow(self, row: list[str]) -> None:
            if coding and not row[5]:
                return  # nothing to code back
            full.writerow([row[0], row[5], row[1]] if coding else row)
            self.written += 1

    writer = _Writer()
    full.writerow(CODING_COLUMNS if coding else EXPORT_COLUMNS)
    with db.transaction() as session:
        invitations = attendance_data.invitations_between(session, practice_id, start, end)
        declined = attendance_data.declines_between(session, practice_id, start, end)
        appointments = attendance_data.appointments_between(session, practice_id, start, end)
        for nhs_number, at in invitations:
            local = as_utc(at).astimezone(LONDON)
            code, term = codes["invited"]
            writer.writerow(
                [
                    nhs_number,
                    f"{local:%Y-%m-%d}",
                    f"{local:%H:%M}",
                    "invitation",
                    "invited",
                    code,
                    term,
                    "sms",
                ]
            )
        for nhs_number, closed_at in declined:
            local = as_utc(cast(datetime, closed_at)).astimezone(LONDON)
            code, term = codes["declined"]
            writer.writerow(
                [nhs_number, f"{local:%Y-%m-%d}", f"{local:%H:%M}", "invitation", "declined",
                 code, term, "sms"]
            )  # fmt: skip
        for nhs_number, at, state, source in appointments:
            local = as_utc(at).astimezone(LONDON)
            code, term = codes.get(state, ("", ""))
            writer.writerow(
                [
                    nhs_number,
                    f"{local:%Y-%m-%d}",
                    f"{local:%H:%M}",
                    "appointment",
                    state,
                    code,
                    term,
                    source,
                ]
            )
        audit.record(
            session,
            now=now,
            actor=actor,
            action="bookings.export",
            target=f"practice:{practice_id}",
            detail={
                "from": first.isoformat(),
                "to": last.isoformat(),
                "rows": writer.written,
                **({"layout": layout} if coding else {}),
            },  # fmt: skip
        )
    return out.getvalue(), writer.written
