"""Practices on GP Connect: choosing the slot source, and syncing free slots from the
practice's own appointment book.

The sync searches free slots in windows of at most 14 days (the specification's limit),
with no transaction open during the calls, then applies what it found in one: new slots
are added with their provider ids; a free slot no longer listed leaves use; a held slot
no longer listed (the practice's reception gave it away) is stamped `gone_at`, shown to
staff, and the resident told the time has gone when they pick it; a slot that comes back
is offered again. Before the search it reads the practice's live GP Connect bookings, so
an appointment cancelled at the practice cancels the Nudge booking (staff told) and one
marked fulfilled or did-not-attend records the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.data import attendance as attendance_data
from app.data import gpconnect as gp_data
from app.data.db import Database
from app.data.models import Booking, Practice, Slot
from app.gpconnect.client import GpConnectClient, GpConnectError, Provider, Tls
from app.gpconnect.resources import FreeSlot
from app.gpconnect.token import Consumer, ResponsibleUser
from app.services import audit, booking, cancel_notice
from app.services.practices import PracticeError, require_by_ods
from app.settings import Settings

WINDOW_DAYS = 14
SOURCES = ("nudge", "gpconnect")
# the outcome a provider's appointment status records in Nudge
OUTCOMES = {"fulfilled": "attended", "arrived": "attended", "noshow": "did_not_attend"}
# how many patients' provider ids one sync looks up ahead of their reply
RESOLVE_AHEAD = 50


class SyncError(RuntimeError):
    """The practice's provider could not be searched; nothing changed."""


def client_for(practice: Practice, settings: Settings) -> GpConnectClient:
    """A client for the practice's provider, as Nudge (settings) on the practice's user."""
    if practice.slot_source != "gpconnect" or not practice.gpconnect_url:
        raise PracticeError(f"{practice.ods_code} does not take its slots from GP Connect")
    if not practice.gpconnect_user_id or not practice.gpconnect_user_name:
        raise PracticeError(
            f"{practice.ods_code} has not named the responsible user its GP Connect requests "
            "carry (practices set --gpconnect-user-id ... --gpconnect-user-name ...)"
        )
    consumer = Consumer(
        asid=settings.gpconnect_consumer_asid,
        ods_code=settings.gpconnect_consumer_ods,
        organisation_name=settings.gpconnect_consumer_name,
        device_id=settings.gpconnect_device_id,
        device_model=settings.gpconnect_device_model,
        device_version=settings.gpconnect_device_version,
        system_url=settings.public_base_url or "https://nudge.invalid",
    )
    provider = Provider(
        base_url=practice.gpconnect_url,
        asid=practice.gpconnect_provider_asid or "",
        ods_code=practice.ods_code,
        user=ResponsibleUser(
            sds_user_id=practice.gpconnect_user_id or "",
            name=practice.gpconnect_user_name or "",
        ),
    )
    tls = Tls(
        cert=settings.gpconnect_client_cert,
        key=settings.gpconnect_client_key,
        ca_bundle=settings.gpconnect_ca_bundle,
    )
    return GpConnectClient(
        consumer,
        provider,
        tls=tls,
        timeout=settings.gpconnect_timeout_seconds,
        clock=lambda: datetime.now(UTC),
    )


def set_slot_source(
    db: Database,
    ods: str,
    *,
    source: str,
    now: datetime,
    url: str | None = None,
    provider_asid: str | None = None,
    user_id: str | None = None,
    user_name: str | None = None,
    actor: str = "cli",
) -> Practice:
    """Move a practice to GP Connect (its own free slots leave use) or back to Nudge."""
    if source not in SOURCES:
        raise PracticeError(f"the slot source is nudge or gpconnect, not {source!r}")
    with db.transaction() as session:
        practice = require_by_ods(session, ods)
        retired = 0
        if source == "gpconnect":
            url = url or practice.gpconnect_url
            provider_asid = provider_asid or practice.gpconnect_provider_asid
            user_id = user_id or practice.gpconnect_user_id
            user_name = user_name or practice.gpconnect_user_name
            if not url or not provider_asid:
                raise PracticeError(
                    "GP Connect needs --gpconnect-url and --gpconnect-provider-asid"
                )
            practice.gpconnect_url = url.rstrip("/")
            practice.gpconnect_provider_asid = provider_asid
            practice.gpconnect_user_id = user_id
            practice.gpconnect_user_name = user_name
            if practice.slot_source != "gpconnect":
                retired = gp_data.retire_own_free_slots(session, practice.id, after=now)
        practice.slot_source = source
        audit.record(
            session,
            now=now,
            actor=actor,
            action="practice.slot_source",
            target=f"practice:{practice.id}",
            detail={"source": source, "url": practice.gpconnect_url, "retired_slots": retired},
        )
        session.flush()
        session.expunge(practice)
        return practice


@dataclass
class SyncReport:
    searched: int = 0
    added: int = 0
    removed: int = 0
    gone_held: int = 0
    returned: int = 0
    cancelled_at_practice: int = 0
    patients_told: int = 0  # of those cancelled at the practice, texted about it
    outcomes: int = 0
    patients_found: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.searched} free slots: {self.added} added, {self.removed} no longer free, "
            f"{self.gone_held} held slots given away, {self.returned} back; "
            f"{self.cancelled_at_practice} appointments cancelled at the practice "
            f"({self.patients_told} patients texted), "
            f"{self.outcomes} outcomes"
        )
        return text + "".join(f"; {p}" for p in self.problems)


def sync_practice(
    db: Database, ods: str, *, now: datetime, settings: Settings, days: int | None = None
) -> SyncReport:
    """Bring the practice's diary in line with its provider's free slots (see module)."""
    days = days or settings.gpconnect_sync_days
    with db.transaction() as session:
        practice = require_by_ods(session, ods)
        client = client_for(practice, settings)
        practice_id = practice.id
        lo = now
        hi = now + timedelta(days=days)
        appointments = gp_data.live_appointments(session, practice_id, now - timedelta(days=1), hi)
        unresolved = gp_data.unresolved_patients(session, practice_id, RESOLVE_AHEAD)
    report = SyncReport()
    try:
        statuses = [(b, client.read(a)[0].status) for b, a, _ in appointments if a]
        found: list[FreeSlot] = []
        first = now.date()
        for offset in range(0, days, WINDOW_DAYS):
            start = first + timedelta(days=offset)
            end = first + timedelta(days=min(offset + WINDOW_DAYS, days) - 1)
            found += client.search_free_slots(start, end)
        resolved = []
        for patient_id, nhs_number in unresolved:
            logical = client.find_patient(nhs_number)
            if logical is not None:
                resolved.append((patient_id, logical))
    except GpConnectError as error:
        with db.transaction() as session:
            practice = require_by_ods(session, ods)
            practice.slots_sync_error = f"{now:%Y-%m-%d %H:%M} {error}"[:400]
        raise SyncError(str(error)) from error
    finally:
        client.close()
    with db.transaction() as session:
        for booking_id, status in statuses:
            _apply_status(session, booking_id, status, now=now, report=report, settings=settings)
        _apply_slots(session, practice_id, found, lo=lo, hi=hi, now=now, report=report)
        for patient_id, logical in resolved:
            gp_data.remember_patient(session, patient_id, logical)
        report.patients_found = len(resolved)
        practice = require_by_ods(session, ods)
        practice.slots_synced_at = now
        practice.slots_sync_error = None
    return report


def _apply_status(
    session: Session,
    booking_id: int,
    status: str,
    *,
    now: datetime,
    report: SyncReport,
    settings: Settings,
) -> None:
    if status == "cancelled":
        if booking.cancel_booking(
            session, booking_id, now=now, reason="cancelled at the practice", by="gpconnect"
        ):
            gp_data.settle_cancellation(
                session,
                booking_id,
                state="cancelled",
                attention="Cancelled in the practice's appointment book",
                now=now,
            )
            report.cancelled_at_practice += 1
            cancelled = session.get(Booking, booking_id)
            assert cancelled is not None
            slot = session.get(Slot, cancelled.slot_id)
            assert slot is not None
            told, _ = cancel_notice.tell(session, cancelled, slot, now=now, settings=settings)
            report.patients_told += told
    elif status in OUTCOMES and attendance_data.set_outcome(
        session,
        booking_id,
        previous="booked",
        outcome=OUTCOMES[status],
        now=now,
        actor="gpconnect",
    ):
        report.outcomes += 1


def _location(slot: FreeSlot) -> str:
    place = slot.location or "The practice"
    return f"{place} ({slot.practitioner})" if slot.practitioner else place


def _apply_slots(
    session: Session,
    practice_id: int,
    found: list[FreeSlot],
    *,
    lo: datetime,
    hi: datetime,
    now: datetime,
    report: SyncReport,
) -> None:
    known = gp_data.slots_by_gpconnect_id(session, practice_id, lo, hi)
    report.searched = len(found)
    listed = {s.id for s in found}
    places = gp_data.taken_places(session, practice_id, lo, hi)
    rows: list[dict[str, Any]] = []
    back_from_cancelled, back_from_booked, still_there = [], [], []
    for slot in found:
        if not lo <= slot.start < hi:
            continue
        row = known.get(slot.id)
        if row is not None:
            slot_id, state, gone_at, _ = row
            if state == "cancelled":
                back_from_cancelled.append(slot_id)
            elif state == "booked":
                back_from_booked.append(slot_id)
            elif gone_at is not None:
                still_there.append(slot_id)
            continue
        location = _location(slot)
        if (location, slot.start) in places:
            continue  # one slot per place and time (a duplicate listing)
        places.add((location, slot.start))
        rows.append(
            {
                "practice_id": practice_id,
                "starts_at": slot.start,
                "duration_minutes": max(1, int((slot.end - slot.start).total_seconds() // 60)),
                "location": location[:200],
                "state": "free",
                "created_at": now,
                "gpconnect_id": slot.id,
                "delivery_channel": slot.delivery_channel,
                "service_type": (slot.service_type or "")[:200] or None,
                "practitioner": (slot.practitioner or "")[:200] or None,
            }
        )
    gp_data.insert_slots(session, rows)
    report.added = len(rows)
    missing = [row for gp_id, row in known.items() if gp_id not in listed]
    report.removed = gp_data.set_state(
        session, (r[0] for r in missing if r[1] == "free"), frm="free", to="cancelled"
    )
    report.gone_held = gp_data.mark_gone(
        session, (r[0] for r in missing if r[1] == "held"), now=now
    )
    report.returned = gp_data.set_state(
        session, back_from_cancelled, frm="cancelled", to="free"
    ) + gp_data.free_if_unbooked(session, back_from_booked)
    gp_data.clear_gone(session, still_there)


def sync_all(db: Database, *, now: datetime, settings: Settings) -> str:
    """Sync every GP Connect practice; one practice's provider failing stops no other."""
    with db.sessions() as session:
        codes = gp_data.gpconnect_practices(session)
    lines = []
    for ods in codes:
        try:
            lines.append(f"{ods}: {sync_practice(db, ods, now=now, settings=settings).summary()}")
        except (SyncError, PracticeError) as error:
            lines.append(f"{ods}: FAILED {error}")
    return "; ".join(lines) or "no GP Connect practices"
