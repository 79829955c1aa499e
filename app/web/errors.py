"""Request limits and error pages: bad or oversized requests get 4xx, never 500.

Twilio's webhooks are a few hundred bytes, so their body limit is far below the upload
limit (config WEBHOOK_MAX_CONTENT_LENGTH vs MAX_CONTENT_LENGTH): a flood of huge posts
to a public URL is refused with 413 before anything is parsed. Callers of the JSON API
and the webhooks are programs, so their errors are JSON; staff get a page saying what
went wrong (CSRF failures and rate-limit refusals are audited as they are shown).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request
from flask.blueprints import BlueprintSetupState
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from app.data.limits import twilio_form_widths
from app.services import users
from app.web.display import upload_limit
from app.web.security import record_event

bp = Blueprint("errors", __name__)

WEBHOOK_PREFIX = "/webhooks/"
JSON_PREFIXES = ("/api/", WEBHOOK_PREFIX, "/openapi.json")


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == (
        "application/json"
    )


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
    widths = twilio_form_widths()
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


def _error_page(exc: HTTPException, heading: str, message: str) -> Any:
    if wants_json():  # API and webhook callers are programs: keep their JSON errors
        return http_error(exc)
    return render_template("errors.html", heading=heading, message=message), exc.code or 500


@bp.app_errorhandler(CSRFError)
def csrf_failed(exc: CSRFError) -> Any:
    record_event("csrf.failed", reason=exc.description)
    return _error_page(
        exc,
        "This form has expired",
        "Go back, reload the page and try again. Nothing was changed.",
    )


@bp.app_errorhandler(400)
def bad_request(exc: HTTPException) -> Any:
    described = exc.description != BadRequest.description
    return _error_page(
        exc,
        "There is a problem with this request",
        (exc.description if described else "Check the address or the form, then try again.") or "",
    )


@bp.app_errorhandler(403)
def forbidden(exc: HTTPException) -> Any:
    return _error_page(exc, "You cannot see this page", "Your role does not include it.")


@bp.app_errorhandler(404)
def not_found(exc: HTTPException) -> Any:
    return _error_page(exc, "Page not found", "Check the address, or go back and try again.")


@bp.app_errorhandler(413)
def too_big(exc: HTTPException) -> Any:
    return _error_page(
        exc,
        "This file is too big to upload",
        f"Files up to {upload_limit()} can be uploaded here. Nothing was changed. For a "
        "bigger patient list, ask your system administrator to load it on the server, "
        "where there is no size limit.",
    )


@bp.app_errorhandler(429)
def too_many(exc: HTTPException) -> Any:
    if request.endpoint == "auth.sign_in":
        email = users.normalise_email(request.form.get("email", ""))[:254] or "(blank)"
        record_event("sign_in.throttled", actor=email, limit=str(exc.description)[:100])
    else:
        record_event("rate_limited", limit=str(exc.description)[:100])
    return _error_page(
        exc,
        "Too many attempts",
        "Wait 15 minutes, then try again. Ask an administrator if you are locked out.",
    )
