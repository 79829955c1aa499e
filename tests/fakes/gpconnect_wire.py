"""The fake GP Connect provider's wire: the spec's error OperationOutcome, searchset
Bundles, which interaction each method and path is, and the HTTP handler."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import jwt

if TYPE_CHECKING:
    from tests.fakes.gpconnect_server import FakeGpConnect

PREFIX = "urn:nhs:names:services:gpconnect:fhir:rest:"
ERROR_SYSTEM = "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1"
OUTCOME_PROFILE = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1"

SCOPES = {
    "search:slot-1": "organization/*.read",
    "search:patient-1": "patient/*.read",
    "create:appointment-1": "patient/*.write",
    "read:appointment-1": "patient/*.read",
    "update:appointment-1": "patient/*.write",
    "cancel:appointment-1": "patient/*.write",
    "search:patient_appointments-1": "patient/*.read",
}


def outcome(status: int, code: str, diagnostics: str) -> tuple[int, dict[str, Any]]:
    """The spec's error: an OperationOutcome with the Spine error code."""
    issue_code = {400: "invalid", 404: "not-found", 409: "duplicate", 422: "invalid"}.get(
        status, "exception"
    )
    return status, {
        "resourceType": "OperationOutcome",
        "meta": {"profile": [OUTCOME_PROFILE]},
        "issue": [
            {
                "severity": "error",
                "code": issue_code,
                "details": {"coding": [{"system": ERROR_SYSTEM, "code": code, "display": code}]},
                "diagnostics": diagnostics,
            }
        ],
    }


def bundle(resources: Iterable[dict[str, Any]]) -> dict[str, Any]:
    entries = [{"resource": r, "fullUrl": f"{r['resourceType']}/{r.get('id')}"} for r in resources]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def interaction_for(method: str, path: str) -> str | None:
    parts = path.strip("/").split("/")
    if method == "GET" and parts == ["Slot"]:
        return "search:slot-1"
    if method == "GET" and parts == ["Patient"]:
        return "search:patient-1"
    if method == "POST" and parts == ["Appointment"]:
        return "create:appointment-1"
    if method == "GET" and len(parts) == 2 and parts[0] == "Appointment":
        return "read:appointment-1"
    if method == "PUT" and len(parts) == 2 and parts[0] == "Appointment":
        return "update:appointment-1"  # a cancel is a PUT too: see _handler_for
    if method == "GET" and len(parts) == 3 and parts[2] == "Appointment":
        return "search:patient_appointments-1"
    return None


def handler_for(fake: FakeGpConnect) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            root = urlsplit(fake.base_url).path
            path = split.path.removeprefix(root)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = self.headers
            swapped = method == "PUT" and b'"cancelled"' in body
            if swapped:
                # the spec gives cancel its own interaction on the same PUT: a cancel
                # must carry it, and is then checked as the PUT it is
                given = headers.get("Ssp-InteractionID")
                ok = given == PREFIX + "cancel:appointment-1"
                headers = _Swapped(headers, PREFIX + "update:appointment-1" if ok else "")
            refused = fake.check(method, path, headers)
            if swapped:
                fake.requests[-1] = (method, path, str(given))
            answer = refused or fake.handle(method, path, parse_qsl(split.query), body)
            if isinstance(answer, tuple) and answer[0] == "lose":
                self.close_connection = True
                self.connection.close()
                return
            status, payload = answer
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._serve("PUT")

    return Handler


class _Swapped:
    """Headers with the interaction id swapped (a cancel checked as the PUT it is)."""

    def __init__(self, headers: Any, interaction: str) -> None:
        self._headers = headers
        self._interaction = interaction

    def get(self, name: str, default: Any = None) -> Any:
        if name == "Ssp-InteractionID":
            return self._interaction
        return self._headers.get(name, default)


def token_problems(header: str, interaction: str | None, base_url: str) -> list[str]:
    """What a provider refuses in the bearer token: unsigned JWT, audit claims, scope."""
    if not header.startswith("Bearer "):
        return ["no bearer token"]
    token = header.removeprefix("Bearer ")
    try:
        if jwt.get_unverified_header(token).get("alg") != "none":
            return ["the JWT must be unsigned (alg none)"]
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        return [f"bad JWT: {error}"]
    problems = []
    now = time.time()
    if not claims.get("iat") or claims["iat"] > now + 60:
        problems.append("iat missing or in the future")
    if claims.get("exp", 0) - claims.get("iat", 0) != 300:
        problems.append("exp must be iat + 300")
    if not str(base_url).startswith(str(claims.get("aud", "")).rstrip("/")):
        problems.append("aud is not this provider's endpoint")
    if claims.get("reason_for_request") != "directcare":
        problems.append("reason_for_request must be directcare")
    if interaction and claims.get("requested_scope") != SCOPES[interaction]:
        problems.append(f"requested_scope must be {SCOPES[interaction]}")
    for claim, kind in (
        ("requesting_device", "Device"),
        ("requesting_organization", "Organization"),
        ("requesting_practitioner", "Practitioner"),
    ):
        value = claims.get(claim) or {}
        if value.get("resourceType") != kind or not value.get("identifier"):
            problems.append(f"{claim} must be a {kind} with an identifier")
    practitioner = claims.get("requesting_practitioner") or {}
    ids = [i.get("value") for i in practitioner.get("identifier", [])]
    if claims.get("sub") not in ids:
        problems.append("sub must be the requesting practitioner's id")
    if not practitioner.get("name"):
        problems.append("requesting_practitioner needs a name")
    return problems
