"""Conversations pages: the flagged-reply work queue and one conversation with the staff
actions (reply, book for the patient, record an opt-out asked for by phone, close).

A conversation is addressed by a random key stored on its row (found by its unique
index), never the number itself: no patient data in URLs or access logs. Staff, and an
admin acting for a practice, see only the conversation's practice's part of it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from app.clock import LONDON
from app.runtime import get_clock, get_db, get_settings
from app.services import follow_up, patient_language
from app.services.attendance import london_day_bounds
from app.web.display import aware, london_today, parse_day
from app.web.security import current_user, practice_scope, record_denial, roles_required

if TYPE_CHECKING:
    from app.data.models import Conversation

bp = Blueprint("conversations", __name__, url_prefix="/conversations")

STAFF = ("admin", "practice")


def _scope() -> frozenset[int] | None:
    """The practices whose conversations this user may see (admins: all, None)."""
    return None if current_user.is_admin else current_user.practice_ids


def _find(key: str) -> Conversation:
    """The conversation for `key` among those the user may see; 404 (audited) otherwise."""
    # another practice's key finds nothing and gets the same audited 404
    found = follow_up.find(get_db(), key, _scope())
    if found is None:
        record_denial("conversation", key=key[:8])
        abort(404)
    if not current_user.is_admin:
        practice_scope(found.practice_id)
    return found


@bp.get("")
@roles_required(*STAFF)
def queue() -> str:
    items = follow_up.flagged_queue(get_db(), _scope())
    return render_template("conversations/queue.html", items=items)


@bp.get("/<key>")
@roles_required(*STAFF)
def show(key: str) -> str:
    conversation = _find(key)
    now = get_clock().now()
    times_from = parse_day(request.args.get("times_from"), london_today(), "first day for times")
    start, _ = london_day_bounds(times_from, times_from)
    seen = follow_up.view(get_db(), conversation, now=now, times_from=start)
    later_from = None
    if seen.free_more:  # the last listed day again (its later times), or the next if full
        last_day = aware(seen.free_slots[-1].starts_at).astimezone(LONDON).date()
        later_from = last_day if last_day > times_from else times_from + timedelta(days=1)
    for message in seen.messages:
        message.created_at = aware(message.created_at)
    return render_template(
        "conversations/show.html",
        key=key,
        conversation=conversation,
        messages=seen.messages,
        patients=seen.patients,
        phone=seen.phone,
        free_slots=seen.free_slots,
        free_from=seen.free_from,
        free_until=seen.free_until,
        free_more=seen.free_more,
        free_listed=follow_up.FREE_TIMES_LISTED,
        times_from=times_from,
        later_from=later_from,
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
            conversation,
            request.form.get("body", ""),
            now=get_clock().now(),
            actor=current_user.email,
            settings=get_settings(),
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
    parties = follow_up.booking_parties(get_db(), conversation, patient_id, slot_id)
    # the patient must be this conversation's practice's patient on its number, and the
    # slot at that practice, whoever asks (an admin acts for the conversation's practice)
    if parties is None:
        record_denial("conversation_patient", patient_id=patient_id)
        abort(404)
    patient_practice, slot_practice = parties
    practice_scope(patient_practice)
    practice_scope(slot_practice)
    try:
        follow_up.book_for_patient(
            get_db(),
            patient_id=patient_id,
            slot_id=slot_id,
            now=get_clock().now(),
            actor=current_user.email,
            settings=get_settings(),
        )
        flash("Booked. The patient will get a confirmation text.", "success")
    except follow_up.FollowUpError as exc:
        flash(str(exc), "error")
    return redirect(url_for("conversations.show", key=key))


@bp.post("/<key>/language")
@roles_required(*STAFF)
def language(key: str) -> Response:
    """Change the language of a patient on this conversation's number."""
    conversation = _find(key)
    try:
        patient_language.set_language(
            get_db(),
            int(request.form.get("patient_id", "0") or 0),
            language=request.form.get("language", ""),
            interpreter_needed=bool(request.form.get("interpreter_needed")),
            now=get_clock().now(),
            actor=current_user.email,
            practice_ids=_scope(),
            mobile=conversation.number,
        )
        flash("Language changed: texts from now on use it.", "success")
    except (ValueError, patient_language.LanguageError) as exc:
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
