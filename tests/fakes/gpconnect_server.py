"""A fake GP Connect Appointment Management provider (1.2.x, FHIR STU3), served locally.

Its resources follow the specification's examples (nhsconnect/gpconnect,
`_includes/appointments/search-for-free-slots-response-payload-2.json`,
`book-appt-request-payload-1.json`, `cancel-appt-request-payload-1.json` ...): searchset
Bundles of Slots with
their Schedule, Practitioner, Location and Organization included; Patients found by
NHS number; Appointments with the booking-organisation extension, created, read,
amended and cancelled; errors as the spec's OperationOutcome (GPConnect-OperationOutcome-1
with the spine-error-or-warning-code: DUPLICATE_REJECTED 409, BAD_REQUEST 400,
INVALID_RESOURCE 422, NO_RECORD_FOUND / APPOINTMENT_NOT_FOUND 404).

Every request is checked as a provider checks it: `Ssp-TraceID`, `Ssp-From` (the
consumer ASID it expects), `Ssp-To` (its own ASID), `Ssp-InteractionID` matching the
method and path, an unsigned JWT whose claims name the audience, scope, device,
organisation and practitioner (`gpconnect_wire.token_problems`), and
`application/fhir+json`. Fault modes: a slot taken
between search and booking (`take_slot`), 500s (`fail_next`), hangs (`hang_next`), and
a booking that succeeds but whose answer is lost (`lose_next_answer`).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

from tests.fakes.gpconnect_wire import (
    PREFIX,
    bundle,
    handler_for,
    interaction_for,
    outcome,
    token_problems,
)

PROVIDER_ASID = "918999198738"
CONSUMER_ASID = "200000000359"
STRUCTURE = "https://fhir.nhs.uk/STU3/StructureDefinition"
DELIVERY_CHANNEL = (
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2"
)
CANCELLATION_REASON = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-AppointmentCancellationReason-1"


@dataclass
class FakeSlot:
    id: str
    start: datetime
    minutes: int
    schedule: str
    status: str = "free"


@dataclass
class FakeAppointment:
    id: str
    slot_id: str
    patient_id: str
    start: datetime
    end: datetime
    description: str
    comment: str
    status: str = "booked"
    version: int = 1
    cancellation_reason: str | None = None
    body: dict[str, Any] = field(default_factory=dict)


class FakeGpConnect:
    """One practice's provider; `add_slots` fills its book, `add_patient` its list."""

    def __init__(
        self,
        *,
        ods: str = "A20047",
        provider_asid: str = PROVIDER_ASID,
        consumer_asid: str = CONSUMER_ASID,
    ) -> None:
        self.ods = ods
        self.provider_asid = provider_asid
        self.consumer_asid = consumer_asid
        self.slots: dict[str, FakeSlot] = {}
        self.patients: dict[str, str] = {}  # NHS number -> logical id
        self.appointments: dict[str, FakeAppointment] = {}
        self.requests: list[tuple[str, str, str]] = []  # (method, path, interaction)
        self.refused: list[str] = []  # why a request was refused at the door
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        # (kind, seconds, method or None for any): fail | hang | lose
        self._faults: list[tuple[str, float, str | None]] = []
        self._server: ThreadingHTTPServer | None = None
        self.on_create: Any = None  # called (in the server thread) before a booking is made

    # -- the book --------------------------------------------------------------------

    def add_slots(
        self, first: date, days: int, *, per_day: int, minutes: int = 20, start_hour: int = 9
    ) -> list[FakeSlot]:
        """Weekday slots, `per_day` a day from `start_hour` (UTC), over two schedules."""
        made = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for n in range(per_day):
                schedule = "1" if n % 2 == 0 else "2"
                start = datetime(day.year, day.month, day.day, start_hour, tzinfo=UTC)
                start += timedelta(minutes=minutes * (n // 2))
                slot = FakeSlot(str(next(self._ids)), start, minutes, schedule)
                self.slots[slot.id] = slot
                made.append(slot)
        return made

    def add_patient(self, nhs_number: str) -> str:
        logical = str(next(self._ids))
        self.patients[nhs_number] = logical
        return logical

    def take_slot(self, slot_id: str) -> None:
        """The practice's reception gives the slot to someone who phoned."""
        self.slots[slot_id].status = "busy"

    def cancel_at_practice(self, appointment_id: str) -> None:
        with self.lock:
            appointment = self.appointments[appointment_id]
            appointment.status = "cancelled"
            self.slots[appointment.slot_id].status = "free"

    def set_status(self, appointment_id: str, status: str) -> None:
        self.appointments[appointment_id].status = status

    def booked(self) -> list[FakeAppointment]:
        return [a for a in self.appointments.values() if a.status == "booked"]

    def fail_next(self, count: int = 1, *, method: str | None = None) -> None:
        """The next `count` requests (of `method`, else any) answer 500."""
        self._faults += [("fail", 0.0, method)] * count

    def hang_next(self, count: int = 1, *, seconds: float = 5.0, method: str | None = None) -> None:
        """The next requests are served `seconds` late (past the consumer's timeout)."""
        self._faults += [("hang", seconds, method)] * count

    def lose_next_answer(self) -> None:
        """The next booking (POST) is made, then the connection drops before the answer."""
        self._faults.append(("lose", 0.0, "POST"))

    def interactions(self) -> list[str]:
        return [i.removeprefix(PREFIX) for _, _, i in self.requests]

    # -- serving ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/{self.ods}/STU3/1/gpconnect"

    def start(self) -> FakeGpConnect:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeGpConnect:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- checking a request as a provider would -----------------------------------------

    def check(self, method: str, path: str, headers: Any) -> tuple[int, dict[str, Any]] | None:
        interaction = headers.get("Ssp-InteractionID", "")
        self.requests.append((method, path, interaction))
        expected = interaction_for(method, path)
        problems = []
        if not headers.get("Ssp-TraceID"):
            problems.append("Ssp-TraceID missing")
        if headers.get("Ssp-From") != self.consumer_asid:
            problems.append("Ssp-From is not the consumer's ASID")
        if headers.get("Ssp-To") != self.provider_asid:
            problems.append("Ssp-To is not this provider's ASID")
        if interaction != PREFIX + (expected or ""):
            problems.append(f"Ssp-InteractionID {interaction!r} does not match {method} {path}")
        if "application/fhir+json" not in headers.get("Accept", ""):
            problems.append("Accept is not application/fhir+json")
        if method in ("POST", "PUT") and headers.get("Content-Type") != "application/fhir+json":
            problems.append("Content-Type is not application/fhir+json")
        problems += token_problems(headers.get("Authorization", ""), expected, self.base_url)
        if problems:
            self.refused.extend(problems)
            return outcome(400, "BAD_REQUEST", "; ".join(problems))
        return None

    # -- the interactions ------------------------------------------------------------------

    def handle(self, method: str, path: str, query: list[tuple[str, str]], body: bytes) -> Any:
        fault = next((f for f in self._faults if f[2] in (None, method)), None)
        if fault is not None:
            self._faults.remove(fault)
            kind, seconds, _ = fault
            if kind == "fail":
                return outcome(500, "INTERNAL_SERVER_ERROR", "the GP system is unavailable")
            if kind == "hang":
                time.sleep(seconds)
            if kind == "lose":
                answer = self.handle(method, path, query, body)
                return ("lose", answer)
        parts = path.strip("/").split("/")
        if parts == ["Slot"] and method == "GET":
            return self._search_slots(query)
        if parts == ["Patient"] and method == "GET":
            return self._search_patient(query)
        if parts == ["Appointment"] and method == "POST":
            return self._create(json.loads(body))
        if len(parts) == 2 and parts[0] == "Appointment":
            appointment = self.appointments.get(parts[1])
            if appointment is None:
                return outcome(404, "APPOINTMENT_NOT_FOUND", f"no appointment {parts[1]}")
            if method == "GET":
                return 200, self._appointment(appointment)
            if method == "PUT":
                return self._update(appointment, json.loads(body))
        if len(parts) == 3 and parts[0] == "Patient" and parts[2] == "Appointment":
            mine = [a for a in self.appointments.values() if a.patient_id == parts[1]]
            return 200, bundle(self._appointment(a) for a in mine)
        return outcome(400, "BAD_REQUEST", f"unsupported {method} {path}")

    def _search_slots(self, query: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        params = dict(query)
        if params.get("status") != "free":
            return outcome(422, "INVALID_PARAMETER", "status=free is required")
        try:
            lo = date.fromisoformat(params["start"].removeprefix("ge"))
            hi = date.fromisoformat(params["end"].removeprefix("le"))
        except (KeyError, ValueError):
            return outcome(422, "INVALID_PARAMETER", "start=ge and end=le dates are required")
        if (hi - lo).days > 14:
            return outcome(422, "INVALID_PARAMETER", "a search may span at most 14 days")
        filters = [v for k, v in query if k == "searchFilter"]
        if not any(f.startswith("https://fhir.nhs.uk/Id/ods-organization-code|") for f in filters):
            return outcome(422, "INVALID_PARAMETER", "searchFilter for the consumer is required")
        includes = {v for k, v in query if k.startswith("_include")}
        with self.lock:
            free = [
                s for s in self.slots.values() if s.status == "free" and lo <= s.start.date() <= hi
            ]
        resources: list[dict[str, Any]] = [self._slot(s) for s in free]
        if free and "Slot:schedule" in includes:
            for schedule in sorted({s.schedule for s in free}):
                resources += self._schedule(schedule, includes)
            if "Location:managingOrganization" in includes:
                resources.append(self._organisation())
        return 200, bundle(resources)

    def _slot(self, slot: FakeSlot) -> dict[str, Any]:
        return {
            "resourceType": "Slot",
            "id": slot.id,
            "meta": {
                "versionId": "1",
                "profile": ["https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Slot-1"],
            },
            "extension": [{"url": DELIVERY_CHANNEL, "valueCode": "In-person"}],
            "serviceType": [{"text": "NHS Health Check"}],
            "schedule": {"reference": f"Schedule/{slot.schedule}"},
            "status": "free",
            "start": slot.start.isoformat(),
            "end": (slot.start + timedelta(minutes=slot.minutes)).isoformat(),
        }

    def _schedule(self, schedule: str, includes: set[str]) -> list[dict[str, Any]]:
        actors = []
        found: list[dict[str, Any]] = []
        if "Schedule:actor:Practitioner" in includes:
            actors.append({"reference": f"Practitioner/{schedule}"})
            found.append(
                {
                    "resourceType": "Practitioner",
                    "id": schedule,
                    "name": [
                        {
                            "family": ["Parsons", "Lee"][int(schedule) % 2],
                            "given": ["Kim"],
                            "prefix": ["Nurse"],
                        }
                    ],
                    "gender": "female",
                }
            )
        if "Schedule:actor:Location" in includes:
            actors.append({"reference": "Location/1"})
            found.append(
                {
                    "resourceType": "Location",
                    "id": "1",
                    "name": "Bow Health Centre",
                    "managingOrganization": {"reference": "Organization/1"},
                }
            )
        found.insert(
            0,
            {
                "resourceType": "Schedule",
                "id": schedule,
                "meta": {"versionId": "1", "profile": [f"{STRUCTURE}/GPConnect-Schedule-1"]},
                "extension": [
                    {
                        "url": f"{STRUCTURE}/Extension-GPConnect-PractitionerRole-1",
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": "https://fhir.nhs.uk/STU3/CodeSystem/"
                                    "CareConnect-SDSJobRoleName-1",
                                    "code": "R0270",
                                    "display": "Nurse",
                                }
                            ]
                        },
                    }
                ],
                "serviceCategory": {"text": "Health checks"},
                "actor": actors,
            },
        )
        return found

    def _organisation(self) -> dict[str, Any]:
        return {
            "resourceType": "Organization",
            "id": "1",
            "meta": {"versionId": "1", "profile": [f"{STRUCTURE}/CareConnect-GPC-Organization-1"]},
            "identifier": [
                {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": self.ods}
            ],
            "name": "Bow Practice",
            "telecom": [{"system": "phone", "value": "02079460000", "use": "work"}],
        }

    def _search_patient(self, query: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
        identifier = dict(query).get("identifier", "")
        system, _, nhs_number = identifier.partition("|")
        if system != "https://fhir.nhs.uk/Id/nhs-number" or not re.fullmatch(r"\d{10}", nhs_number):
            return outcome(422, "INVALID_IDENTIFIER_VALUE", "identifier must be an NHS number")
        logical = self.patients.get(nhs_number)
        found = (
            []
            if logical is None
            else [
                {
                    "resourceType": "Patient",
                    "id": logical,
                    "identifier": [
                        {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number}
                    ],
                }
            ]
        )
        return 200, bundle(found)

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("resourceType") != "Appointment" or body.get("status") != "booked":
            return outcome(422, "INVALID_RESOURCE", "a booked Appointment is required")
        slots = [s.get("reference", "").rpartition("/")[2] for s in body.get("slot", [])]
        patients = [
            p["actor"]["reference"].rpartition("/")[2]
            for p in body.get("participant", [])
            if p.get("actor", {}).get("reference", "").startswith("Patient/")
        ]
        orgs = [e for e in body.get("extension", []) if "BookingOrganisation" in e.get("url", "")]
        if len(slots) != 1 or len(patients) != 1 or not orgs or not body.get("description"):
            return outcome(
                422,
                "INVALID_RESOURCE",
                "slot, patient, booking organisation and description are required",
            )
        if patients[0] not in self.patients.values():
            return outcome(404, "NO_RECORD_FOUND", "no such patient")
        if self.on_create is not None:
            self.on_create(body)
        with self.lock:
            slot = self.slots.get(slots[0])
            if slot is None or slot.status != "free":
                return outcome(409, "DUPLICATE_REJECTED", "the slot is no longer free")
            slot.status = "busy"
            appointment = FakeAppointment(
                id=str(next(self._ids)),
                slot_id=slot.id,
                patient_id=patients[0],
                start=slot.start,
                end=slot.start + timedelta(minutes=slot.minutes),
                description=body["description"],
                comment=body.get("comment", ""),
                body=body,
            )
            self.appointments[appointment.id] = appointment
        return 201, self._appointment(appointment)

    def _update(self, appointment: FakeAppointment, body: dict[str, Any]) -> Any:
        if body.get("id") != appointment.id:
            return outcome(400, "BAD_REQUEST", "the id must match the URL")
        with self.lock:
            if body.get("status") == "cancelled":
                if appointment.status == "cancelled":
                    return outcome(409, "DUPLICATE_REJECTED", "already cancelled")
                reasons = [
                    e.get("valueString")
                    for e in body.get("extension", [])
                    if e.get("url") == CANCELLATION_REASON
                ]
                if not reasons or not reasons[0]:
                    return outcome(422, "INVALID_RESOURCE", "a cancellation reason is required")
                appointment.status = "cancelled"
                appointment.cancellation_reason = reasons[0]
                self.slots[appointment.slot_id].status = "free"
            else:
                appointment.description = body.get("description", appointment.description)
                appointment.comment = body.get("comment", appointment.comment)
            appointment.version += 1
        return 200, self._appointment(appointment)

    def _appointment(self, a: FakeAppointment) -> dict[str, Any]:
        extensions = [e for e in a.body.get("extension", []) if e.get("url") != CANCELLATION_REASON]
        if a.cancellation_reason:
            extensions.append({"url": CANCELLATION_REASON, "valueString": a.cancellation_reason})
        return {
            **a.body,
            "id": a.id,
            "meta": {
                "versionId": str(a.version),
                "profile": ["https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Appointment-1"],
            },
            "extension": extensions,
            "status": a.status,
            "start": a.start.isoformat(),
            "end": a.end.isoformat(),
            "description": a.description,
            "comment": a.comment,
        }
