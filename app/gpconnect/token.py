"""The JWT bearer token every GP Connect request carries: unsigned (alg none, as the
specification requires of consumer-generated tokens) and made of audit claims that
name the consumer's device, organisation and the responsible practitioner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from fhir.resources.STU3.device import Device
from fhir.resources.STU3.organization import Organization
from fhir.resources.STU3.practitioner import Practitioner

ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SDS_USER_SYSTEM = "https://fhir.nhs.uk/Id/sds-user-id"
SDS_ROLE_SYSTEM = "https://fhir.nhs.uk/Id/sds-role-profile-id"
DEVICE_SYSTEM = "https://fhir.nhs.uk/Id/nudge-device-identifier"
# the token lives five minutes, the specification's maximum
LIFETIME_SECONDS = 300

READ_ORGANISATION = "organization/*.read"
READ_PATIENT = "patient/*.read"
WRITE_PATIENT = "patient/*.write"


@dataclass(frozen=True)
class Consumer:
    """Nudge on the network: its ASID, its organisation, and the device it runs as."""

    asid: str
    ods_code: str
    organisation_name: str = "Nudge"
    device_id: str = "nudge"
    device_model: str = "Nudge"
    device_version: str = "1.0"
    system_url: str = "https://nudge.invalid"


@dataclass(frozen=True)
class ResponsibleUser:
    """The practice's named user its requests carry (no generic system user)."""

    sds_user_id: str
    name: str
    role_profile_id: str = ""


def audit_claims(
    consumer: Consumer,
    user: ResponsibleUser,
    *,
    audience: str,
    scope: str,
    now: datetime,
) -> dict[str, Any]:
    """The claims, each resource built as its FHIR STU3 model."""
    given, _, family = user.name.strip().rpartition(" ")
    identifiers = [{"system": SDS_USER_SYSTEM, "value": user.sds_user_id}]
    if user.role_profile_id:
        identifiers.append({"system": SDS_ROLE_SYSTEM, "value": user.role_profile_id})
    practitioner = Practitioner.model_validate(
        {
            "resourceType": "Practitioner",
            "id": "1",
            "identifier": identifiers,
            "name": [{"family": family, "given": given.split()}],
        }
    )
    device = Device.model_validate(
        {
            "resourceType": "Device",
            "identifier": [{"system": DEVICE_SYSTEM, "value": consumer.device_id}],
            "model": consumer.device_model,
            "version": consumer.device_version,
        }
    )
    organisation = Organization.model_validate(
        {
            "resourceType": "Organization",
            "identifier": [{"system": ODS_SYSTEM, "value": consumer.ods_code}],
            "name": consumer.organisation_name,
        }
    )
    issued = int(now.timestamp())
    return {
        "iss": consumer.system_url,
        "sub": user.sds_user_id,
        "aud": audience,
        "exp": issued + LIFETIME_SECONDS,
        "iat": issued,
        "reason_for_request": "directcare",
        "requested_scope": scope,
        "requesting_device": device.model_dump(mode="json", exclude_none=True),
        "requesting_organization": organisation.model_dump(mode="json", exclude_none=True),
        "requesting_practitioner": practitioner.model_dump(mode="json", exclude_none=True),
    }


def bearer_token(claims: dict[str, Any]) -> str:
    """`header.payload.` with `{"alg": "none", "typ": "JWT"}`."""
    return jwt.encode(claims, key=None, algorithm="none", headers={"typ": "JWT"})
