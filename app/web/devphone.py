"""`/dev/phone`: a demo patient's conversation as a phone screen, with a reply box.

Development, demo and testing only (404 in production), and for signed-in admins only:
it shows a patient's texts. The number on screen is chosen by a form post and kept in
the session, never carried in a URL (where it would land in logs and browser history).
A reply typed here is sent to the real webhook exactly as the configured provider would
send it: for Twilio signed as Twilio signs (RequestValidator.compute_signature over
PUBLIC_BASE_URL + path and the form), for GOV.UK Notify as Notify's received-text
callback (JSON with the callback bearer token). So the dev phone exercises the same code
path as a resident's text: authentication, idempotent store; then it acts on the stored
text at once (`process_inbound`, as the replies job would a second later).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from twilio.request_validator import RequestValidator
from werkzeug.wrappers import Response

from app.runtime import get_clock, get_db, get_settings
from app.services import replies
from app.web.security import current_user, login_manager, record_denial
from app.web.webhooks import NON_PRODUCTION, callback_token, public_url, signing_token

bp = Blueprint("devphone", __name__, url_prefix="/dev/phone")

WEBHOOK_PATH = "/webhooks/twilio/sms"
NOTIFY_INBOUND_PATH = "/webhooks/notify/inbound"
_URL = re.compile(r"(https?://\S+)")
DRAMA_NUMBER = re.compile(r"^\+447700900\d{3}$")
NUMBER_KEY = "devphone_number"


@bp.before_request
def only_outside_production_for_admins() -> Response | None:
    if current_app.config["ENV"] not in NON_PRODUCTION:
        abort(404)
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        record_denial("role", role=current_user.role)
        abort(403)
    return None


def _segments(body: str) -> list[tuple[str, bool]]:
    """The text split into (part, is_link), so links are clickable and the rest escaped."""
    return [(part, bool(_URL.fullmatch(part))) for part in _URL.split(body) if part]


@bp.get("")
def phone() -> str:
    db = get_db()
    people = replies.demo_people(db)
    number = str(session.get(NUMBER_KEY) or "")
    if not number and people:
        number = session[NUMBER_KEY] = people[0].mobile
    messages = replies.conversation_log(db, number) if number else []
    shown: list[dict[str, Any]] = [
        {
            "id": m.id,
            "incoming": m.direction == "out",  # to the phone
            "parts": _segments(m.body),
            "status": m.status,
            "kind": m.kind,
            "intent": m.intent,
            "at": m.created_at,
        }
        for m in messages
    ]
    return render_template("devphone/phone.html", people=people, number=number, messages=shown)


def _drama_number(raw: str) -> str:
    if not DRAMA_NUMBER.match(raw):
        abort(400, "The dev phone only speaks for Ofcom drama-range numbers (+447700900xxx).")
    return raw


@bp.post("/open")
def open_number() -> Response:
    """Show this demo patient's phone (the choice is kept in the session)."""
    session[NUMBER_KEY] = _drama_number(request.form.get("number", ""))
    return redirect(url_for("devphone.phone"))


@bp.post("/send")
def send() -> Response:
    number = _drama_number(str(session.get(NUMBER_KEY) or ""))
    body = request.form.get("body", "")
    config = current_app.config
    if config.get("SMS_PROVIDER") == "notify":
        answer = _as_notify(number, body)
    else:
        answer = _as_twilio(number, body)
    if answer.status_code != 200:
        flash(f"The webhook answered {answer.status_code}", "error")
    else:
        # act now rather than on the replies job's next tick, so the demo answer is
        # on screen at once; the webhook itself stayed exactly the provider's path
        replies.process_inbound(get_db(), now=get_clock().now(), settings=get_settings())
    return redirect(url_for("devphone.phone", _anchor="latest"))


def _as_notify(number: str, body: str) -> Any:
    """Notify's received-text callback: its JSON, numbers as Notify writes them."""
    config = current_app.config
    payload = {
        "id": str(uuid.uuid4()),
        "source_number": number.lstrip("+"),
        "destination_number": str(config["SMS_FROM_NUMBER"]).lstrip("+"),
        "message": body,
        "date_received": get_clock().now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return current_app.test_client().post(
        NOTIFY_INBOUND_PATH,
        json=payload,
        headers={"Authorization": f"Bearer {callback_token(config)}"},
    )


def _as_twilio(number: str, body: str) -> Any:
    config = current_app.config
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": config.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32,
        "From": number,
        "To": config["SMS_FROM_NUMBER"],
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(signing_token(config)).compute_signature(
        public_url(config, WEBHOOK_PATH), params
    )
    return current_app.test_client().post(
        WEBHOOK_PATH, data=params, headers={"X-Twilio-Signature": signature}
    )
