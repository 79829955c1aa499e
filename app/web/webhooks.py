"""Provider webhooks: verify the caller, hand the work to a service, answer at once.

Twilio's (`/webhooks/twilio/...`) are form posts signed with `X-Twilio-Signature` and
answered with empty TwiML; GOV.UK Notify's (`/webhooks/notify/...`) are JSON posts
carrying the bearer token set on Notify's callbacks page (NOTIFY_CALLBACK_TOKEN),
compared in constant time; a missing or wrong token gets 401, logged without patient
data, and changes nothing.

Verify, persist, answer (the GOV.UK Notify shape): an inbound text is stored in one
statement and acted on by the replies job (app.services.replies.process_inbound, every
second), so the request holds no lock and does no work it could fail. A request whose
`X-Twilio-Signature` does not match the auth token, the public URL Twilio called
(PUBLIC_BASE_URL, so it holds behind a proxy or tunnel) and the form parameters gets 403,
is logged without any patient data, and changes nothing. Validation is never off: the
dev phone signs its requests exactly as Twilio does. Replies to the resident go through
the outbox, never the TwiML answer, so they are tracked and retried like every other SMS.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator

from app.runtime import get_clock, get_db
from app.services import delivery, received_texts, replies

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SIGNATURE_HEADER = "X-Twilio-Signature"
NON_PRODUCTION = frozenset({"development", "demo", "testing"})


def signing_token(config: Mapping[str, Any]) -> str:
    """The secret Twilio signs with: TWILIO_AUTH_TOKEN.

    Outside production a missing token is replaced by the instance's own random
    WEBHOOK_SIGNING_TOKEN (generated into instance/, never derived from another secret),
    so the dev phone can sign and validation stays on; production refuses every request
    until a token is configured.
    """
    token = str(config.get("TWILIO_AUTH_TOKEN") or "")
    if token or config.get("ENV") not in NON_PRODUCTION:
        return token
    return str(config.get("WEBHOOK_SIGNING_TOKEN") or "")


def callback_token(config: Mapping[str, Any]) -> str:
    """The bearer token Notify sends with its callbacks: NOTIFY_CALLBACK_TOKEN, or outside
    production one keyed by the instance's random WEBHOOK_SIGNING_TOKEN (never by
    SECRET_KEY) so the dev phone can authenticate."""
    token = str(config.get("NOTIFY_CALLBACK_TOKEN") or "")
    if token or config.get("ENV") not in NON_PRODUCTION:
        return token
    key = str(config.get("WEBHOOK_SIGNING_TOKEN") or "")
    if not key:
        return ""
    return "dev-notify-" + hmac.new(key.encode(), b"notify-callbacks", hashlib.sha256).hexdigest()


def public_url(config: Mapping[str, Any], full_path: str) -> str:
    """The URL as Twilio called it: PUBLIC_BASE_URL plus path and query (no bare `?`)."""
    path = full_path[:-1] if full_path.endswith("?") else full_path
    return str(config["PUBLIC_BASE_URL"]).rstrip("/") + path


def _verify() -> None:
    token = signing_token(current_app.config)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    url = public_url(current_app.config, request.full_path)
    if (
        not token
        or not signature
        or not RequestValidator(token).validate(url, request.form, signature)
    ):
        # the path only: the form holds phone numbers and message text
        log.warning(
            "rejected Twilio webhook %s: %s signature",
            request.path,
            "missing" if not signature else "invalid",
        )
        abort(403)


def _twiml() -> Response:
    return Response(EMPTY_TWIML, mimetype="text/xml")


@bp.post("/twilio/sms")
def inbound_sms() -> Response:
    _verify()
    form = request.form
    if not form.get("MessageSid") or not form.get("From"):
        abort(400)
    # persist and hand on: the replies job acts on it within about a second
    replies.receive_inbound(
        get_db(),
        message_sid=form["MessageSid"],
        from_number=form["From"],
        to_number=form.get("To") or current_app.config["SMS_FROM_NUMBER"],
        body=form.get("Body", ""),
        now=get_clock().now(),
        opt_out_type=form.get("OptOutType") or None,
    )
    return _twiml()


@bp.post("/twilio/status")
def status_callback() -> Response:
    _verify()
    form = request.form
    if not form.get("MessageSid") or not form.get("MessageStatus"):
        abort(400)
    delivery.record_status(
        get_db(),
        message_sid=form["MessageSid"],
        status=form["MessageStatus"],
        error_code=form.get("ErrorCode") or None,
        now=get_clock().now(),
    )
    return _twiml()


def _verify_bearer() -> None:
    token = callback_token(current_app.config)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if (
        not token
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(given.strip().encode(), token.encode())
    ):
        # the path only: the body holds phone numbers and message text
        log.warning(
            "rejected Notify callback %s: %s bearer token",
            request.path,
            "missing" if not given else "wrong",
        )
        abort(401)


def _json_fields(required: tuple[str, ...], widths: Mapping[str, int]) -> dict[str, str]:
    """The callback's string fields; 400 for a missing one, a NUL byte, a lone surrogate,
    or a value wider than the column it lands in (none of which Notify sends)."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400)
    fields: dict[str, str] = {}
    for name, value in payload.items():
        if isinstance(value, str):
            if "\x00" in value or len(value) > widths.get(name, len(value)):
                abort(400)
            try:
                value.encode("utf-8")  # JSON may carry a lone surrogate; no database takes it
            except UnicodeEncodeError:
                abort(400)
            fields[name] = value
    if any(not fields.get(name) for name in required):
        abort(400)
    return fields


@bp.post("/notify/status")
def notify_status() -> tuple[str, int]:
    _verify_bearer()
    fields = _json_fields(("id", "status"), {"id": 64, "status": 40, "reference": 64})
    if fields["status"].strip().lower() not in delivery.NOTIFY_RECEIPTS:
        abort(400)
    delivery.record_notify_receipt(
        get_db(), notification_id=fields["id"], status=fields["status"], now=get_clock().now()
    )
    return "", 200


@bp.post("/notify/inbound")
def notify_inbound() -> tuple[str, int]:
    _verify_bearer()
    fields = _json_fields(
        ("id", "source_number"), {"id": 64, "source_number": 19, "destination_number": 19}
    )
    # persist and hand on: the replies job acts on it, as on Twilio's inbound texts
    received_texts.store(
        get_db(),
        text_id=fields["id"],
        source_number=fields["source_number"],
        destination_number=fields.get("destination_number"),
        message=fields.get("message", ""),
        now=get_clock().now(),
        inbound_number=current_app.config["SMS_FROM_NUMBER"],
    )
    return "", 200
