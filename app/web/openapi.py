"""The OpenAPI 3 description of Nudge's machine-facing HTTP surface, served at /openapi.json.

It covers what programs call: the analysts' JSON API, Twilio's two webhooks and the
calendar file. Staff pages are HTML for people and are left out. The fault tests fuzz
every operation here with schemathesis, so a route added to those surfaces belongs here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

bp = Blueprint("openapi", __name__)

TWILIO_STATUSES = [
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "canceled",
    "read",
    "receiving",
    "received",
]

ERROR = {"$ref": "#/components/schemas/Error"}


# the query parameters every report endpoint takes: CSV or JSON, suppressed or not
_FORMAT_AND_RAW: list[dict[str, Any]] = [
    {
        "name": "format",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["json", "csv"]},
    },
    {
        "name": "raw",
        "in": "query",
        "required": False,
        "description": "1: unsuppressed figures (admins only; others 403)",
        "schema": {"type": "string", "enum": ["0", "1"]},
    },
]


def _json_error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _form(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }


SIGNATURE = {
    "name": "X-Twilio-Signature",
    "in": "header",
    "required": False,
    "description": "base64 HMAC-SHA1 of the public URL plus the sorted form parameters, "
    "keyed with the Twilio auth token; missing or wrong gets 403",
    "schema": {"type": "string"},
}

WEBHOOK_RESPONSES: dict[str, Any] = {
    "200": {
        "description": "Accepted (empty TwiML: replies go through the outbox)",
        "content": {"text/xml": {"schema": {"type": "string"}}},
    },
    "204": {"description": "Accepted, nothing to say"},
    "400": _json_error("Malformed form body"),
    "403": _json_error("Missing or wrong X-Twilio-Signature; nothing changed"),
    "413": _json_error("Body over WEBHOOK_MAX_CONTENT_LENGTH (64 KB)"),
}


def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document (a fresh dict: callers may change their copy)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Nudge",
            "version": "1",
            "description": "NHS Health Check invitations by SMS: the JSON API for analysts, "
            "the Twilio webhooks and the calendar file.",
        },
        "paths": {
            "/api/reports/uptake": {
                "get": {
                    "operationId": "uptakeReport",
                    "summary": "Uptake by group with 95% intervals, suppressed for the caller",
                    "security": [{"apiToken": []}],
                    "parameters": [
                        {
                            "name": "campaign",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "integer"},
                        },
                        {
                            "name": "by",
                            "in": "query",
                            "required": False,
                            "description": "comma-separated dimensions, e.g. sex,ethnic_group",
                            "schema": {"type": "string"},
                        },
                        *_FORMAT_AND_RAW,
                    ],
                    "responses": {
                        "200": {
                            "description": "Counts and rates per group",
                            "content": {
                                "application/json": {"schema": {"type": "object"}},
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        "400": _json_error("Bad parameter (unknown dimension, not a number)"),
                        "401": _json_error("No or unknown API token"),
                        "403": _json_error("The token's user may not see this campaign"),
                        "404": _json_error("No such campaign"),
                        "429": _json_error("Rate limited"),
                    },
                }
            },
            "/api/reports/quarterly": {
                "get": {
                    "operationId": "quarterlyReturn",
                    "summary": "The NHS Health Check quarterly return, suppressed for the caller",
                    "security": [{"apiToken": []}],
                    "parameters": [
                        {
                            "name": "quarter",
                            "in": "query",
                            "required": True,
                            "description": "a calendar quarter, e.g. 2026Q3 (July-September)",
                            "schema": {"type": "string", "example": "2026Q3"},
                        },
                        *_FORMAT_AND_RAW,
                    ],
                    "responses": {
                        "200": {
                            "description": "Offered, received and take-up per local "
                            "authority and practice, with the reconciliation",
                            "content": {
                                "application/json": {"schema": {"type": "object"}},
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        "400": _json_error("Not a quarter, or an unknown format"),
                        "401": _json_error("No or unknown API token"),
                        "403": _json_error("Unsuppressed figures asked for by a non-admin"),
                        "429": _json_error("Rate limited"),
                    },
                }
            },
            "/webhooks/twilio/sms": {
                "post": {
                    "operationId": "inboundSms",
                    "summary": "Twilio's inbound-message webhook: a resident's reply",
                    "parameters": [SIGNATURE],
                    "requestBody": _form(
                        {
                            "type": "object",
                            "properties": {
                                "From": {"type": "string", "example": "+447700900123"},
                                "To": {"type": "string", "example": "+447700900000"},
                                "Body": {"type": "string", "maxLength": 1600},
                                "MessageSid": {"type": "string", "example": "SM" + "0" * 32},
                                "AccountSid": {"type": "string"},
                                "NumMedia": {"type": "string"},
                                "OptOutType": {
                                    "type": "string",
                                    "enum": ["STOP", "START", "HELP"],
                                },
                            },
                            "required": ["From", "To", "Body", "MessageSid"],
                        }
                    ),
                    "responses": WEBHOOK_RESPONSES,
                }
            },
            "/webhooks/twilio/status": {
                "post": {
                    "operationId": "statusCallback",
                    "summary": "Twilio's status callback: repeats and arrives out of order",
                    "parameters": [SIGNATURE],
                    "requestBody": _form(
                        {
                            "type": "object",
                            "properties": {
                                "MessageSid": {"type": "string"},
                                "MessageStatus": {"type": "string", "enum": TWILIO_STATUSES},
                                "ErrorCode": {"type": "string", "example": "30003"},
                                "To": {"type": "string"},
                                "From": {"type": "string"},
                                "AccountSid": {"type": "string"},
                            },
                            "required": ["MessageSid", "MessageStatus"],
                        }
                    ),
                    "responses": WEBHOOK_RESPONSES,
                }
            },
            "/c/{token}.ics": {
                "get": {
                    "operationId": "calendarFile",
                    "summary": "An RFC 5545 calendar file for one booking",
                    "parameters": [
                        {
                            "name": "token",
                            "in": "path",
                            "required": True,
                            "description": "unguessable; reveals nothing by itself",
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The appointment with a reminder alarm",
                            "content": {"text/calendar": {"schema": {"type": "string"}}},
                        },
                        "404": {"description": "Unknown, cancelled or purged booking"},
                        "410": {"description": "The appointment has passed"},
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3 document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "apiToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An analyst's personal API token (`flask users token`)",
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "status": {"type": "integer"},
                    },
                    "required": ["error"],
                }
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())
