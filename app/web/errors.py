"""Request limits and machine-readable errors: bad or oversized requests get 4xx, never 500.

Twilio's webhooks are a few hundred bytes, so their body limit is far below the upload
limit (config WEBHOOK_MAX_CONTENT_LENGTH vs MAX_CONTENT_LENGTH): a flood of huge posts
to a public URL is refused with 413 before anything is parsed. Callers of the JSON API
and the webhooks are programs, so their errors are JSON; staff pages keep HTML errors.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

bp = Blueprint("errors", __name__)

WEBHOOK_PREFIX = "/webhooks/"
JSON_PREFIXES = ("/api/", WEBHOOK_PREFIX, "/openapi.json")


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == (
        "application/json"
    )


def _webhook_field_limits() -> dict[str, int]:
    """Twilio form fields Nudge stores, and the width of the column each one lands in."""
    from app.data.models import Message, StatusEvent

    def width(column: Any) -> int:
        return int(column.type.length)

    return {
        "From": width(Message.from_number),
        "To": width(Message.to_number),
        "MessageSid": width(Message.provider_sid),
        "SmsSid": width(Message.provider_sid),
        "MessageStatus": width(StatusEvent.status),
        "SmsStatus": width(StatusEvent.status),
        "ErrorCode": width(StatusEvent.error_code),
    }


def limit_webhook_bodies() -> None:
    """Apply the small webhook limit before any code (CSRF included) reads the body, and
    refuse form values no real Twilio request carries: a NUL byte (PostgreSQL text cannot
    hold one) or a field wider than its column (PostgreSQL refuses, SQLite would keep it).
    Found by fuzzing the webhooks from /openapi.json: both were 500s."""
    if not request.path.startswith(WEBHOOK_PREFIX):
        return
    limit = current_app.config["WEBHOOK_MAX_CONTENT_LENGTH"]
    request.max_content_length = limit
    request.max_form_memory_size = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    if request.method != "POST":
        return
    widths = _webhook_field_limits()
    for name, value in request.form.items(multi=True):
        if "\x00" in value or "\x00" in name:
            raise BadRequest("a form field holds a NUL byte")
        width = widths.get(name)
        if width is not None and len(value) > width:
            raise BadRequest(f"{name} is longer than {width} characters")


@bp.record_once
def _first_before_request(state: BlueprintSetupState) -> None:
    # first in line, ahead of hooks registered earlier that might read the form
    state.app.before_request_funcs.setdefault(None, []).insert(0, limit_webhook_bodies)


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response | HTTPException:
    if error.response is not None or not wants_json():
        return error
    response = jsonify(
        error=(error.name or "error").lower().replace(" ", "_"),
        message=error.description or "",
        status=error.code,
    )
    response.status_code = error.code or 500
    # keep Allow on 405, WWW-Authenticate on 401 and Retry-After on 429 / 503
    for name, value in error.get_headers():
        if name in {"Allow", "Retry-After", "WWW-Authenticate"}:
            response.headers[name] = value
    return response
