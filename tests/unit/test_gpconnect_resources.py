"""GP Connect's token and resources, without a provider."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.gpconnect import resources
from app.gpconnect.client import (
    CANCEL_APPOINTMENT,
    SEARCH_SLOTS,
    GpConnectClient,
    Provider,
)
from app.gpconnect.token import (
    READ_ORGANISATION,
    Consumer,
    ResponsibleUser,
    audit_claims,
    bearer_token,
)

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
CONSUMER = Consumer(asid="200000000359", ods_code="X26", device_id="nudge-1")
USER = ResponsibleUser(sds_user_id="G13579135", name="Jane Ann Smith")


def test_the_token_is_unsigned_and_carries_the_audit_claims() -> None:
    claims = audit_claims(
        CONSUMER, USER, audience="https://p.example/gpconnect", scope=READ_ORGANISATION, now=NOW
    )
    token = bearer_token(claims)
    assert jwt.get_unverified_header(token) == {"alg": "none", "typ": "JWT"}
    assert token.endswith(".")  # no signature
    read = jwt.decode(token, options={"verify_signature": False})
    assert read["exp"] - read["iat"] == 300
    assert read["reason_for_request"] == "directcare"
    assert read["requested_scope"] == "organization/*.read"
    assert read["sub"] == "G13579135"
    practitioner = read["requesting_practitioner"]
    assert practitioner["name"] == [{"family": "Smith", "given": ["Jane", "Ann"]}]
    assert read["requesting_organization"]["identifier"][0]["value"] == "X26"
    assert read["requesting_device"]["resourceType"] == "Device"


def test_headers_name_the_interaction_and_both_asids() -> None:
    client = GpConnectClient(
        CONSUMER,
        Provider("https://p.example/gpconnect", "918999198738", "A20047", USER),
        clock=lambda: NOW,
    )
    headers = client.headers(SEARCH_SLOTS, READ_ORGANISATION)
    assert headers["Ssp-From"] == "200000000359" and headers["Ssp-To"] == "918999198738"
    assert headers["Ssp-InteractionID"] == (
        "urn:nhs:names:services:gpconnect:fhir:rest:search:slot-1"
    )
    assert headers["Accept"] == headers["Content-Type"] == "application/fhir+json"
    assert client.headers(CANCEL_APPOINTMENT, "x")["Ssp-TraceID"] != headers["Ssp-TraceID"]
    client.close()


def test_a_new_appointment_names_slot_patient_and_booking_organisation() -> None:
    body = json.loads(
        resources.new_appointment(
            resources.NewAppointment(
                slot_id="7",
                patient_id="2",
                start=NOW,
                end=NOW + timedelta(minutes=20),
                description="booked by text",
                comment="",
                booking_ods="X26",
                booking_name="Nudge",
                created=NOW,
            )
        )
    )
    assert body["slot"] == [{"reference": "Slot/7"}]
    assert body["participant"][0]["actor"] == {"reference": "Patient/2"}
    assert body["extension"][0]["valueReference"] == {"reference": "#1"}
    assert body["contained"][0]["identifier"][0]["value"] == "X26"
    cancelled = json.loads(
        resources.changed_appointment(
            json.dumps({**body, "id": "9"}), status="cancelled", cancellation_reason="changed"
        )
    )
    assert cancelled["status"] == "cancelled"
    assert cancelled["extension"][-1] == {
        "url": resources.CANCELLATION_REASON,
        "valueString": "changed",
    }


def test_an_operation_outcome_gives_the_spine_code() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "duplicate",
                "details": {"coding": [{"system": "x", "code": "DUPLICATE_REJECTED"}]},
                "diagnostics": "taken",
            }
        ],
    }
    problem = resources.problem(json.dumps(outcome))
    assert problem == resources.Problem("DUPLICATE_REJECTED", "taken")
    assert resources.problem("not json") is None


def test_a_slot_answer_that_is_not_a_bundle_is_refused() -> None:
    with pytest.raises(ValueError):
        resources.free_slots(json.dumps({"resourceType": "OperationOutcome"}))
