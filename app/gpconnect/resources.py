"""GP Connect's FHIR STU3 resources, read into plain values and built from them with the
`fhir.resources` STU3 models (so a malformed answer fails validation, not deep inside)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fhir.resources.STU3.appointment import Appointment
from fhir.resources.STU3.bundle import Bundle
from fhir.resources.STU3.extension import Extension
from fhir.resources.STU3.location import Location
from fhir.resources.STU3.operationoutcome import OperationOutcome
from fhir.resources.STU3.practitioner import Practitioner
from fhir.resources.STU3.schedule import Schedule
from fhir.resources.STU3.slot import Slot

APPOINTMENT_PROFILE = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Appointment-1"
BOOKING_ORGANISATION = (
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-BookingOrganisation-1"
)
CANCELLATION_REASON = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-AppointmentCancellationReason-1"
DELIVERY_CHANNEL = (
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2"
)
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"


@dataclass(frozen=True)
class FreeSlot:
    """One free slot from a search, with what its schedule says about it."""

    id: str
    start: datetime
    end: datetime
    delivery_channel: str | None
    service_type: str | None
    practitioner: str | None
    location: str | None


@dataclass(frozen=True)
class AppointmentInfo:
    id: str
    status: str
    start: datetime | None
    slot_ids: tuple[str, ...]
    description: str | None
    comment: str | None
    version: str | None


@dataclass(frozen=True)
class Problem:
    """An OperationOutcome's first issue: the spec's code (e.g. DUPLICATE_REJECTED)."""

    code: str
    diagnostics: str


def _utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _practitioner_name(practitioner: Practitioner) -> str | None:
    for name in practitioner.name or []:
        parts = [*(name.prefix or []), *(name.given or []), name.family or ""]
        text = " ".join(p for p in parts if p)
        if text:
            return text
    return None


def free_slots(body: bytes | str) -> list[FreeSlot]:
    """The free slots of a Slot search's searchset Bundle, with schedules, practitioners
    and locations resolved from its included resources.

    The included resources, and the first Slot, are validated with their STU3 models;
    the other Slots are read through `Slot.model_construct` once the fields Nudge uses
    are checked (`_slot_fields`), because validating 2,000 slots in full costs more
    than the rest of a 28-day sync together.
    """
    bundle = json.loads(body)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ValueError("a Slot search must answer with a Bundle")
    raw_slots: list[dict[str, Any]] = []
    schedules: dict[str, Schedule] = {}
    practitioners: dict[str, str | None] = {}
    locations: dict[str, str | None] = {}
    for entry in bundle.get("entry") or []:
        raw = entry.get("resource") or {}
        kind = raw.get("resourceType")
        if kind == "Slot":
            if not raw_slots:
                Slot.model_validate(raw)
            raw_slots.append(raw)
        elif kind == "Schedule":
            schedule = Schedule.model_validate(raw)
            schedules[f"Schedule/{schedule.id}"] = schedule
        elif kind == "Practitioner":
            person = Practitioner.model_validate(raw)
            practitioners[f"Practitioner/{person.id}"] = _practitioner_name(person)
        elif kind == "Location":
            place = Location.model_validate(raw)
            locations[f"Location/{place.id}"] = place.name
    actors: dict[str, tuple[str | None, str | None]] = {}
    for ref, schedule in schedules.items():
        refs = [actor.reference or "" for actor in schedule.actor or []]
        actors[ref] = (
            next((practitioners[r] for r in refs if r in practitioners), None),
            next((locations[r] for r in refs if r in locations), None),
        )
    found = []
    for raw in raw_slots:
        slot = Slot.model_construct(**_slot_fields(raw))
        if slot.status != "free":
            continue
        practitioner, location = actors.get(raw["schedule"]["reference"], (None, None))
        channel = next(
            (
                e.get("valueCode")
                for e in raw.get("extension") or []
                if e.get("url") == DELIVERY_CHANNEL
            ),
            None,
        )
        services = raw.get("serviceType") or []
        found.append(
            FreeSlot(
                id=str(slot.id),
                start=_utc(slot.start),
                end=_utc(slot.end),
                delivery_channel=channel,
                service_type=services[0].get("text") if services else None,
                practitioner=practitioner,
                location=location,
            )
        )
    return found


def _slot_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The fields of a Slot Nudge reads, checked as its model would check them."""
    if not raw.get("id") or raw.get("status") not in {
        "free",
        "busy",
        "busy-unavailable",
        "busy-tentative",
        "entered-in-error",
    }:
        raise ValueError(f"a Slot needs an id and a status: {raw.get('id')!r}")
    reference = (raw.get("schedule") or {}).get("reference")
    if not isinstance(reference, str) or not reference.startswith("Schedule/"):
        raise ValueError(f"Slot {raw['id']} has no schedule")
    start, end = _utc(raw["start"]), _utc(raw["end"])
    if end <= start:
        raise ValueError(f"Slot {raw['id']} ends before it starts")
    return {"id": str(raw["id"]), "status": raw["status"], "start": start, "end": end}


def patient_id(body: bytes | str) -> str | None:
    """The logical id of the one Patient a search by NHS number found, or None."""
    bundle = Bundle.model_validate_json(body)
    for entry in bundle.entry or []:
        if entry.resource is not None and entry.resource.__resource_type__ == "Patient":
            return str(entry.resource.id)
    return None


def appointment(body: bytes | str) -> AppointmentInfo:
    return _info(Appointment.model_validate_json(body))


def appointments(body: bytes | str) -> list[AppointmentInfo]:
    bundle = Bundle.model_validate_json(body)
    return [_info(e.resource) for e in bundle.entry or [] if isinstance(e.resource, Appointment)]


def _info(resource: Appointment) -> AppointmentInfo:
    return AppointmentInfo(
        id=str(resource.id),
        status=str(resource.status),
        start=_utc(resource.start) if resource.start else None,
        slot_ids=tuple(
            (s.reference or "").rpartition("/")[2] for s in resource.slot or [] if s.reference
        ),
        description=resource.description,
        comment=resource.comment,
        version=resource.meta.versionId if resource.meta else None,
    )


def problem(body: bytes | str) -> Problem | None:
    """The OperationOutcome's spec code and diagnostics, or None if the body is not one."""
    try:
        outcome = OperationOutcome.model_validate_json(body)
    except ValueError:
        return None
    for issue in outcome.issue or []:
        codings = issue.details.coding if issue.details and issue.details.coding else []
        code = codings[0].code if codings else issue.code
        return Problem(code=str(code), diagnostics=issue.diagnostics or "")
    return None


@dataclass(frozen=True)
class NewAppointment:
    slot_id: str
    patient_id: str
    start: datetime
    end: datetime
    description: str
    comment: str
    booking_ods: str
    booking_name: str
    created: datetime


def new_appointment(new: NewAppointment) -> str:
    """The Appointment to POST: the slot, the patient, the booking organisation."""
    resource = Appointment.model_validate(
        {
            "resourceType": "Appointment",
            "meta": {"profile": [APPOINTMENT_PROFILE]},
            "contained": [
                {
                    "resourceType": "Organization",
                    "id": "1",
                    "identifier": [{"system": ODS_SYSTEM, "value": new.booking_ods}],
                    "name": new.booking_name,
                }
            ],
            "extension": [{"url": BOOKING_ORGANISATION, "valueReference": {"reference": "#1"}}],
            "status": "booked",
            "start": new.start.isoformat(),
            "end": new.end.isoformat(),
            "slot": [{"reference": f"Slot/{new.slot_id}"}],
            "created": new.created.isoformat(),
            "description": new.description,
            "comment": new.comment or None,
            "participant": [
                {"actor": {"reference": f"Patient/{new.patient_id}"}, "status": "accepted"}
            ],
        }
    )
    return resource.model_dump_json(exclude_none=True)


def changed_appointment(
    body: bytes | str,
    *,
    status: str | None = None,
    cancellation_reason: str | None = None,
    description: str | None = None,
    comment: str | None = None,
) -> str:
    """The appointment as read, changed for a cancel (status and reason) or an amend."""
    resource = Appointment.model_validate_json(body)
    if status is not None:
        resource.status = status
    if cancellation_reason is not None:
        extensions = [e for e in resource.extension or [] if e.url != CANCELLATION_REASON]
        extensions.append(Extension(url=CANCELLATION_REASON, valueString=cancellation_reason))
        resource.extension = extensions
    if description is not None:
        resource.description = description
    if comment is not None:
        resource.comment = comment
    return resource.model_dump_json(exclude_none=True)
