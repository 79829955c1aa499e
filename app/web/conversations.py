"""Conversations pages: the flagged-reply work queue and one conversation with the staff
actions (reply, book for the patient, record an opt-out asked for by phone, close).

A conversation is addressed by an HMAC of its number under the app's secret key, never
the number itself: no patient data in URLs or access logs.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.data.models import Conversation, Patient, Slot
from app.runtime import get_clock, get_db
from app.services import follow_up
from app.web.display import aware
from app.web.security import current_user, practice_scope, record_denial, roles_required

bp = Blueprint("conversations", __name__, url_prefix="/conversations")

STAFF = ("admin", "practice")
BOOKABLE_DAYS = 28


def key_for(number: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, number.encode(), hashlib.sha256).hexdigest()[:24]


def _visible(query: Select[Any]) -> Select[Any]:
    """Conversations this user may see: their practices' (admins: all, with unknown senders)."""
    if current_user.is_admin:
        return query
    return query.where(Conversation.practice_id.in_(current_user.practice_ids))


def _find(key: str) -> Conversation:
    """The conversation for `key` among those the user may see; 404 (audited) otherwise."""
    found = None
    with get_db().transaction() as session:
        # only the user's own practices' conversations can match: another practice's
        # key then finds nothing and gets the same audited 404
        for conversation in session.scalars(_visible(select(Conversation))):
            if hmac.compare_digest(key_for(conversation.number), key):
                found = conversation
                break
    # scope checks audit a denial in their own transaction: never inside one
    if found is None:
        record_denial("conversation", key=key[:8])
        abort(404)
    if not current_user.is_admin:
        practice_scope(found.practice_id)
    return found


def _patients(session: Session, number: str) -> list[Patient]:
    query = select(Patient).where(Patient.mobile == number).order_by(Patient.id)
    if not current_user.is_admin:
        query = query.where(Patient.practice_id.in_(current_user.practice_ids))
    return list(session.scalars(query))


@bp.get("")
@roles_required(*STAFF)
def queue() -> str:
    with get_db().transaction() as session:
        flagged = session.scalars(
            _visible(
                select(Conversation).where(
                    Conversation.flagged_at.is_not(None), Conversation.resolved_at.is_(None)
                )
            ).order_by(Conversation.flagged_at)
        ).all()
        items = []
        for c in flagged:
            last = follow_up.thread(session, c.number, limit=1)
            patients = _patients(session, c.number)
            items.append(
                {
                    "key": key_for(c.number),
                    "reason": c.flag_reason or "unclear",
                    "flagged_at": c.flagged_at,
                    "last": last[-1] if last else None,
                    "who": ", ".join(
                        " ".join(filter(None, [p.given_name, p.family_name])) or "Name not known"
                        for p in patients
                    )
                    or "Unknown sender",
                }
            )
    return render_template("conversations/queue.html", items=items)


@bp.get("/<key>")
@roles_required(*STAFF)
def show(key: str) -> str:
    conversation = _find(key)
    now = get_clock().now()
    with get_db().transaction() as session:
        messages = follow_up.thread(session, conversation.number)
        patients = _patients(session, conversation.number)
        phone = follow_up.phone_state(session, conversation.number)
        practice_ids = {p.practice_id for p in patients}
        free = session.scalars(
            select(Slot)
            .where(
                Slot.practice_id.in_(practice_ids),
                Slot.state == "free",
                Slot.starts_at > now,
                Slot.starts_at < now + timedelta(days=BOOKABLE_DAYS),
            )
            .order_by(Slot.starts_at)
            .limit(100)
        ).all()
    for message in messages:
        message.created_at = aware(message.created_at)
    return render_template(
        "conversations/show.html",
        key=key,
        conversation=conversation,
        messages=messages,
        patients=patients,
        phone=phone,
        free_slots=free,
        masked=_mask(conversation.number),
        errors={},
    )


def _mask(number: str) -> str:
    """Enough of the number to match a caller (last 4 digits), not to copy it."""
    return "•••• " + number[-4:]


@bp.post("/<key>/reply")
@roles_required(*STAFF)
def reply(key: str) -> Response:
    conversation = _find(key)
    try:
        follow_up.reply(
            get_db(),
            conversation.number,
            request.form.get("body", ""),
            now=get_clock().now(),
            actor=current_user.email,
            config=current_app.config,
        )
        flash("Reply queued: it will be sent within a minute.", "success")
    except follow_up.FollowUpError as exc:
        flash(str(exc), "error")
    return redirect(url_for("conversations.show", key=key))


@bp.post("/<key>/book")
@roles_required(*STAFF)
def book(key: str) -> Response:
    conversation = _find(key)
    try:
        patient_id = int(request.form.get("patient_id", ""))
        slot_id = int(request.form.get("slot_id", ""))
    except ValueError:
        flash("Choose the patient and a time", "error")
        return redirect(url_for("conversations.show", key=key))
    with get_db().transaction() as session:
        patient = session.get(Patient, patient_id)
        slot_practice = session.scalar(select(Slot.practice_id).where(Slot.id == slot_id))
    # the patient must be on this conversation's number and in the user's practices
    if patient is None or patient.mobile != conversation.number:
        practice_scope(None)
    assert patient is not None
    practice_scope(patient.practice_id)
    practice_scope(slot_practice)
    try:
        follow_up.book_for_patient(
            get_db(),
            patient_id=patient_id,
            slot_id=slot_id,
            now=get_clock().now(),
            actor=current_user.email,
            config=current_app.config,
        )
        flash("Booked. The patient will get a confirmation text.", "success")
    except follow_up.FollowUpError as exc:
        flash(str(exc), "error")
    return redirect(url_for("conversations.show", key=key))


@bp.post("/<key>/opt-out")
@roles_required(*STAFF)
def opt_out(key: str) -> Response:
    conversation = _find(key)
    follow_up.record_opt_out(
        get_db(), conversation.number, now=get_clock().now(), actor=current_user.email
    )
    flash("Opt-out recorded: this number will get no more texts from Nudge.", "success")
    return redirect(url_for("conversations.show", key=key))


@bp.post("/<key>/resolve")
@roles_required(*STAFF)
def resolve(key: str) -> Response:
    conversation = _find(key)
    follow_up.resolve(
        get_db(), conversation.number, now=get_clock().now(), actor=current_user.email
    )
    flash("Marked as dealt with.", "success")
    return redirect(url_for("conversations.queue"))
