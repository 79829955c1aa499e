"""What must hold after any fault, checked by query: the four promises of fault tolerance.

1. No message sent twice: one provider create per outbound row (the fake Twilio's or a
   recording provider's log), provider SIDs unique, every SID we hold was really created.
2. None queued lost: every outbound row still exists and is in a known state; rows
   claimed by a dispatcher that died are `uncertain` (never resent), not stuck.
3. No slot double-booked: one live booking per slot and per offer; a booked slot has one.
4. Nobody texted after STOP: no create to an opted-out number after its opt-out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text

from app.services.dispatch import STOP_ACK

OUT_STATES = frozenset(
    {
        "queued",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "cancelled",
        "uncertain",
        "expired",
        "accepted",
    }
)
PROVIDER_STATES = frozenset({"sent", "delivered", "undelivered", "failed", "accepted"})


@dataclass(frozen=True)
class Create:
    """One message the provider accepted: whom to, what, its SID and when (aware UTC)."""

    to: str
    body: str
    sid: str
    at: datetime | None = None


def check_no_message_sent_twice(engine: Engine, creates: Iterable[Create]) -> None:
    creates = list(creates)
    twice = [k for k, n in Counter((c.to, c.body) for c in creates).items() if n > 1]
    assert not twice, f"{len(twice)} messages created twice at the provider, e.g. {twice[:3]}"
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, to_number, body, status, provider_sid FROM message"
                " WHERE direction = 'out'"
            )
        ).all()
        dup_sids = conn.execute(
            text(
                "SELECT provider_sid FROM message WHERE provider_sid IS NOT NULL"
                " GROUP BY provider_sid HAVING count(*) > 1"
            )
        ).all()
    assert not dup_sids, f"provider SIDs stored twice: {dup_sids[:3]}"
    created_sids = {c.sid for c in creates}
    held = {r.provider_sid for r in rows if r.provider_sid}
    assert held <= created_sids, f"SIDs the provider never issued: {list(held - created_sids)[:3]}"
    # a row may match a create without holding its SID only when the dispatcher died or
    # timed out after the provider accepted it: then it must be uncertain, never re-queued
    by_sid = {r.provider_sid: r for r in rows if r.provider_sid}
    by_content = Counter((r.to_number, r.body) for r in rows)
    for c in creates:
        if c.sid in by_sid:
            continue
        assert by_content[(c.to, c.body)] >= 1, f"a create matches no outbound row: {c}"
        statuses = {
            r.status for r in rows if (r.to_number, r.body) == (c.to, c.body) and not r.provider_sid
        }
        assert statuses <= {"uncertain", "sending"}, (
            f"accepted by the provider yet {statuses} in the outbox (would be resent): {c}"
        )


def check_none_lost(engine: Engine, expected_ids: Iterable[int] | None = None) -> Counter[str]:
    """Every outbound row is in a known state; the ids queued before the fault all remain."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, status FROM message WHERE direction = 'out'")).all()
    statuses = Counter(r.status for r in rows)
    unknown = set(statuses) - OUT_STATES
    assert not unknown, f"outbound messages in unknown states: {unknown}"
    if expected_ids is not None:
        missing = set(expected_ids) - {r.id for r in rows}
        assert not missing, f"{len(missing)} queued messages vanished, e.g. {sorted(missing)[:5]}"
    return statuses


def check_no_slot_double_booked(engine: Engine) -> None:
    with engine.connect() as conn:
        per_slot = conn.execute(
            text(
                "SELECT slot_id, count(*) FROM booking WHERE state != 'cancelled'"
                " GROUP BY slot_id HAVING count(*) > 1"
            )
        ).all()
        per_offer = conn.execute(
            text(
                "SELECT offer_id, count(*) FROM booking WHERE state != 'cancelled'"
                " AND offer_id IS NOT NULL GROUP BY offer_id HAVING count(*) > 1"
            )
        ).all()
        booked_without = conn.execute(
            text(
                "SELECT s.id FROM slot s WHERE s.state = 'booked' AND NOT EXISTS ("
                " SELECT 1 FROM booking b WHERE b.slot_id = s.id AND b.state != 'cancelled')"
            )
        ).all()
        held_twice = conn.execute(
            text(
                "SELECT os.slot_id FROM offer_slot os JOIN offer o ON o.id = os.offer_id"
                " WHERE o.state = 'open' GROUP BY os.slot_id HAVING count(*) > 1"
            )
        ).all()
    assert not per_slot, f"slots double-booked: {per_slot[:3]}"
    assert not per_offer, f"offers booked twice: {per_offer[:3]}"
    assert not booked_without, f"slots marked booked with no live booking: {booked_without[:3]}"
    assert not held_twice, f"slots held by two open offers: {held_twice[:3]}"


def check_nobody_texted_after_stop(engine: Engine, creates: Iterable[Create] = ()) -> None:
    """No outbound row sent, or left queued, to a number after it opted out, and no
    provider create to it timed after the opt-out (creates that carry the dispatcher's
    `now`); the acknowledgement of the STOP itself is the one message allowed.

    Exact, with no slack: `opted_out_at` is when the STOP was received (not when the
    replies job acted on it), so a text sent before the STOP arrived is never counted.
    """
    ack = f"'{STOP_ACK}'"
    with engine.connect() as conn:
        opted = {
            r.number: r.opted_out_at
            for r in conn.execute(
                text("SELECT number, opted_out_at FROM phone_number WHERE opted_out_at IS NOT NULL")
            )
        }
        sent_after = conn.execute(
            text(
                "SELECT m.id, m.to_number, m.kind, m.sent_at FROM message m"
                " JOIN phone_number p ON p.number = m.to_number"
                " WHERE m.direction = 'out' AND p.opted_out_at IS NOT NULL"
                f" AND m.sent_at > p.opted_out_at AND m.kind != {ack}"
            )
        ).all()
        still_queued = conn.execute(
            text(
                "SELECT m.id, m.to_number, m.kind FROM message m"
                " JOIN phone_number p ON p.number = m.to_number"
                " WHERE m.direction = 'out' AND p.opted_out_at IS NOT NULL"
                f" AND m.status IN ('queued', 'sending') AND m.kind != {ack}"
            )
        ).all()
        acks = {
            (r.to_number, r.body)
            for r in conn.execute(text(f"SELECT to_number, body FROM message WHERE kind = {ack}"))
        }
    assert not sent_after, f"texted after STOP: {sent_after[:3]}"
    assert not still_queued, f"still queued to opted-out numbers: {still_queued[:3]}"
    late = [
        c
        for c in creates
        if c.to in opted and c.at is not None and c.at > opted[c.to] and (c.to, c.body) not in acks
    ]
    assert not late, f"the provider was asked to text opted-out numbers: {late[:3]}"


def check_all(
    engine: Engine,
    creates: Iterable[Create] = (),
    *,
    expected_ids: Iterable[int] | None = None,
) -> Counter[str]:
    """All four promises at once; returns the outbound status counts for further asserts."""
    creates = list(creates)
    check_no_message_sent_twice(engine, creates)
    statuses = check_none_lost(engine, expected_ids)
    check_no_slot_double_booked(engine)
    check_nobody_texted_after_stop(engine, creates)
    return statuses
