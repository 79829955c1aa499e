"""A GP Connect Appointment Management consumer for one practice's provider.

Every request carries the Spine secure proxy headers (`Ssp-TraceID`, `Ssp-From`,
`Ssp-To`, `Ssp-InteractionID` naming the interaction), the audit JWT, and
`application/fhir+json`; on the real network it goes over mutual TLS (client
certificate and key, and the Spine CA bundle). A refusal (4xx, usually with an
OperationOutcome) raises `Refused`; no answer, or a 5xx, raises `Unavailable`, after
which the caller must find out what happened before trying again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import requests

from app.gpconnect import resources
from app.gpconnect.resources import AppointmentInfo, FreeSlot, NewAppointment, Problem
from app.gpconnect.token import (
    READ_ORGANISATION,
    READ_PATIENT,
    WRITE_PATIENT,
    Consumer,
    ResponsibleUser,
    audit_claims,
    bearer_token,
)

FHIR_JSON = "application/fhir+json"
_INTERACTION = "urn:nhs:names:services:gpconnect:fhir:rest:"
SEARCH_SLOTS = _INTERACTION + "search:slot-1"
SEARCH_PATIENT = _INTERACTION + "search:patient-1"
CREATE_APPOINTMENT = _INTERACTION + "create:appointment-1"
READ_APPOINTMENT = _INTERACTION + "read:appointment-1"
AMEND_APPOINTMENT = _INTERACTION + "update:appointment-1"
CANCEL_APPOINTMENT = _INTERACTION + "cancel:appointment-1"
PATIENT_APPOINTMENTS = _INTERACTION + "search:patient_appointments-1"
ORGANISATION_TYPE = "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1"


class GpConnectError(Exception):
    pass


class Refused(GpConnectError):
    """The provider answered no: DUPLICATE_REJECTED (409, slot taken), a bad request..."""

    def __init__(self, status: int, problem: Problem | None) -> None:
        self.status = status
        self.problem = problem
        code = problem.code if problem else "no OperationOutcome"
        super().__init__(f"GP Connect refused ({status} {code})")


class Unavailable(GpConnectError):
    """No answer (timeout, connection) or a 5xx: what happened is unknown."""


@dataclass(frozen=True)
class Tls:
    """Mutual TLS for the Spine: the client certificate and key, and the CA bundle."""

    cert: str = ""
    key: str = ""
    ca_bundle: str = ""


@dataclass(frozen=True)
class Provider:
    """One practice's provider: its FHIR service root and ASID, and its ODS code."""

    base_url: str
    asid: str
    ods_code: str
    user: ResponsibleUser


class GpConnectClient:
    def __init__(
        self,
        consumer: Consumer,
        provider: Provider,
        *,
        tls: Tls = Tls(),
        timeout: float = 10.0,
        clock: Callable[[], datetime],
        session: requests.Session | None = None,
    ) -> None:
        self.consumer = consumer
        self.provider = provider
        self.timeout = timeout
        self.clock = clock
        self.http = session or requests.Session()
        if tls.cert:
            self.http.cert = (tls.cert, tls.key) if tls.key else tls.cert
        if tls.ca_bundle:
            self.http.verify = tls.ca_bundle

    def close(self) -> None:
        self.http.close()

    # -- the interactions --------------------------------------------------------

    def search_free_slots(self, start: date, end: date) -> list[FreeSlot]:
        """Free slots from `start` to `end` (the caller keeps each search to 14 days)."""
        params: list[tuple[str, str]] = [
            ("start", f"ge{start.isoformat()}"),
            ("end", f"le{end.isoformat()}"),
            ("status", "free"),
            ("_include", "Slot:schedule"),
            ("_include:recurse", "Schedule:actor:Practitioner"),
            ("_include:recurse", "Schedule:actor:Location"),
            ("_include:recurse", "Location:managingOrganization"),
            (
                "searchFilter",
                f"https://fhir.nhs.uk/Id/ods-organization-code|{self.consumer.ods_code}",
            ),
            ("searchFilter", f"{ORGANISATION_TYPE}|gp-practice"),
        ]
        body = self._call("GET", "Slot", SEARCH_SLOTS, READ_ORGANISATION, params=params)
        return resources.free_slots(body)

    def find_patient(self, nhs_number: str) -> str | None:
        params = [("identifier", f"{resources.NHS_NUMBER_SYSTEM}|{nhs_number}")]
        body = self._call("GET", "Patient", SEARCH_PATIENT, READ_PATIENT, params=params)
        return resources.patient_id(body)

    def book(self, new: NewAppointment) -> AppointmentInfo:
        """POST the appointment; only a 201 returns."""
        body = self._call(
            "POST",
            "Appointment",
            CREATE_APPOINTMENT,
            WRITE_PATIENT,
            data=resources.new_appointment(new),
            expect=201,
        )
        return resources.appointment(body)

    def read(self, appointment_id: str) -> tuple[AppointmentInfo, bytes]:
        body = self._call("GET", f"Appointment/{appointment_id}", READ_APPOINTMENT, READ_PATIENT)
        return resources.appointment(body), body

    def patient_appointments(
        self, patient_id: str, start: date, end: date
    ) -> list[AppointmentInfo]:
        params = [("start", f"ge{start.isoformat()}"), ("start", f"le{end.isoformat()}")]
        body = self._call(
            "GET",
            f"Patient/{patient_id}/Appointment",
            PATIENT_APPOINTMENTS,
            READ_PATIENT,
            params=params,
        )
        return resources.appointments(body)

    def cancel(self, appointment_id: str, reason: str) -> AppointmentInfo:
        """Read the appointment, then PUT it back with status cancelled and the reason
        (one already cancelled, e.g. by an earlier attempt whose answer was lost, is left)."""
        info, current = self.read(appointment_id)
        if info.status == "cancelled":
            return info
        changed = resources.changed_appointment(
            current, status="cancelled", cancellation_reason=reason
        )
        body = self._call(
            "PUT",
            f"Appointment/{appointment_id}",
            CANCEL_APPOINTMENT,
            WRITE_PATIENT,
            data=changed,
        )
        return resources.appointment(body)

    def amend(
        self, appointment_id: str, *, description: str | None = None, comment: str | None = None
    ) -> AppointmentInfo:
        _, current = self.read(appointment_id)
        changed = resources.changed_appointment(current, description=description, comment=comment)
        body = self._call(
            "PUT",
            f"Appointment/{appointment_id}",
            AMEND_APPOINTMENT,
            WRITE_PATIENT,
            data=changed,
        )
        return resources.appointment(body)

    # -- the wire ------------------------------------------------------------------

    def headers(self, interaction: str, scope: str) -> dict[str, str]:
        claims = audit_claims(
            self.consumer,
            self.provider.user,
            audience=self.provider.base_url,
            scope=scope,
            now=self.clock(),
        )
        return {
            "Ssp-TraceID": str(uuid.uuid4()),
            "Ssp-From": self.consumer.asid,
            "Ssp-To": self.provider.asid,
            "Ssp-InteractionID": interaction,
            "Authorization": f"Bearer {bearer_token(claims)}",
            "Accept": FHIR_JSON,
            "Content-Type": FHIR_JSON,
        }

    def _call(
        self,
        method: str,
        path: str,
        interaction: str,
        scope: str,
        *,
        params: list[tuple[str, str]] | None = None,
        data: str | None = None,
        expect: int = 200,
    ) -> bytes:
        url = f"{self.provider.base_url.rstrip('/')}/{path}"
        kwargs: dict[str, Any] = {"params": params, "timeout": self.timeout}
        if data is not None:
            kwargs["data"] = data.encode()
        try:
            response = self.http.request(
                method, url, headers=self.headers(interaction, scope), **kwargs
            )
        except requests.RequestException as error:
            raise Unavailable(f"{method} {path}: {type(error).__name__}") from error
        if response.status_code >= 500:
            raise Unavailable(f"{method} {path}: {response.status_code}")
        if response.status_code != expect:
            raise Refused(response.status_code, resources.problem(response.content))
        return response.content
