"""The outbound claim's queries: due rows locked for one dispatcher, per-number locks and
recent sends, and the status changes a claim makes. The rules (send windows, per-number
caps) are applied by `app.services.claims`; these take a session and never commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, time
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.data.models import Campaign, Message, StatusEvent
from app.data.phones import unsendable_numbers

# messages that reached (or may have reached) the provider, for the per-number caps
HANDED_OVER = ("sending", "uncertain")


class CampaignWindow(NamedTuple):
    id: int
    send_window_start: time
    send_window_end: time
    send_days: str


class DueRow(NamedTuple):
    id: int
    to_number: str
    body: str
    kind: str
    expires_at: datetime | None
    unsendable: bool


class RecentSends(NamedTuple):
    """Sends to one number with one body since a cutoff: how many, and the oldest."""

    to_number: str
    body: str
    sends: int
    oldest: datetime | None


def campaign_windows(session: Session, states: Collection[str]) -> list[CampaignWindow]:
    """The stored send window of every campaign in `states`."""
    rows = session.execute(
        select(
            Campaign.id, Campaign.send_window_start, Campaign.send_window_end, Campaign.send_days
        ).where(Campaign.state.in_(states))
    )
    return [CampaignWindow(*row) for row in rows]


def due_outbound(
    session: Session,
    *,
    now: datetime,
    open_campaign_ids: Sequence[int],
    default_window_open: bool,
    limit: int,
) -> list[DueRow]:
    """Up to `limit` queued outbound rows due now (their window open, or expired), replies
    first, locked `SKIP LOCKED` (PostgreSQL); each with `unsendable` for its number."""
    clauses: list[ColumnElement[bool]] = [Message.in_send_window.is_(False)]
    if open_campaign_ids:
        clauses.append(Message.campaign_id.in_(open_campaign_ids))
    if default_window_open:
        clauses.append(Message.campaign_id.is_(None))
    window_open = or_(*clauses) if clauses else false()
    unsendable = Message.to_number.in_(unsendable_numbers())
    rows = session.execute(
        select(
            Message.id,
            Message.to_number,
            Message.body,
            Message.kind,
            Message.expires_at,
            unsendable.label("unsendable"),
        )
        .where(
            Message.direction == "out",
            Message.status == "queued",
            Message.not_before <= now,
            or_(window_open, Message.expires_at <= now),
        )
        # replies (outside the window rules) first: someone is waiting for them
        .order_by(Message.in_send_window, Message.not_before, Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return [DueRow(*row) for row in rows]


def lock_numbers(session: Session, to_numbers: Sequence[str]) -> None:
    """Serialise claims to the same numbers across dispatchers until this commits: a
    transaction-scoped advisory lock per number, taken in the order given (sort them: no
    deadlock). PostgreSQL only; SQLite's writers are serialised already."""
    if to_numbers and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtext(n))"
                " FROM unnest(CAST(:numbers AS text[])) AS n"
            ),
            {"numbers": list(to_numbers)},
        )


def recent_sends(
    session: Session, to_numbers: Sequence[str], *, since: datetime
) -> list[RecentSends]:
    """Outbound texts to these numbers sent (or handed over) after `since`, grouped by
    number and body; the oldest is the earliest send or claim time, in UTC."""
    rows = session.execute(
        select(
            Message.to_number,
            Message.body,
            func.count(),
            func.min(func.coalesce(Message.sent_at, Message.claimed_at)),
        )
        .where(
            Message.direction == "out",
            Message.to_number.in_(to_numbers),
            or_(
                Message.sent_at > since,
                and_(Message.status.in_(HANDED_OVER), Message.claimed_at > since),
            ),
        )
        .group_by(Message.to_number, Message.body)
    ).all()
    return [
        RecentSends(number, body, count, None if oldest is None else _utc(oldest))
        for number, body, count, oldest in rows
    ]


def _utc(at: datetime | str) -> datetime:
    """An aggregate over a UTC column comes back without the column's type on SQLite
    (naive, or text); every stored time is UTC."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def hold_until(session: Session, held: Sequence[tuple[int, datetime]]) -> None:
    """Move each still-queued message's `not_before` on to its moment, in one statement."""
    if not held:
        return
    table = cast(Table, Message.__table__)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("message_id"), table.c.status == "queued")
        .values(not_before=bindparam("free_at")),
        [{"message_id": i, "free_at": at} for i, at in held],
    )


def mark_sending(
    session: Session, ids: Sequence[int], *, worker_id: str, now: datetime
) -> set[int]:
    """Claim the still-queued messages among `ids` for `worker_id`; the ids claimed."""
    if not ids:
        return set()
    return set(
        session.scalars(
            update(Message)
            .where(Message.id.in_(ids), Message.status == "queued")
            .values(
                status="sending",
                claimed_by=worker_id,
                claimed_at=now,
                status_updated_at=now,
                attempts=Message.attempts + 1,
            )
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
    )


def set_status(
    session: Session, ids: Sequence[int], status: str, *, now: datetime, error_code: str
) -> None:
    if ids:
        session.execute(
            update(Message)
            .where(Message.id.in_(ids))
            .values(status=status, error_code=error_code, status_updated_at=now)
            .execution_options(synchronize_session=False)
        )


# -- after the provider call ---------------------------------------------------------------
def still_claimed(
    reader: Session | Connection, message_id: int, worker_id: str
) -> Row[str, bool] | None:
    """The message's status and whether its number is now unsendable, if `worker_id`
    still holds its claim (a claim recovered as stale is not ours)."""
    return reader.execute(
        select(
            Message.status,
            Message.to_number.in_(unsendable_numbers()).label("blocked"),
        ).where(Message.id == message_id, Message.claimed_by == worker_id)
    ).one_or_none()


def settle(session: Session, message_id: int, *, now: datetime, **values: Any) -> None:
    """Give a message still `sending` its outcome (`values`: status, error_code, ...)."""
    session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "sending")
        .values(status_updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )


def attempts_of(session: Session, message_id: int) -> int:
    return session.scalar(select(Message.attempts).where(Message.id == message_id)) or 0


def record_sent(session: Session, sent: Sequence[tuple[int, str | None]], *, now: datetime) -> None:
    """Record (message id, provider SID) pairs as sent in one executemany; also over
    `uncertain`: if recovery gave up on us but the provider took it, we know."""
    # on the Core table a list of parameters is one executemany (the ORM wants PK rows)
    table = cast(Table, Message.__table__)
    session.execute(
        update(table)
        .where(
            table.c.id == bindparam("message_id"),
            or_(table.c.status == "sending", table.c.status == "uncertain"),
        )
        .values(
            status="sent",
            provider_sid=bindparam("sid"),
            sent_at=now,
            status_updated_at=now,
            error_code=None,
        ),
        [{"message_id": message_id, "sid": sid} for message_id, sid in sent],
    )


def early_receipts(session: Session, sids: Sequence[str]) -> list[str]:
    """Which of these provider SIDs already have stored status callbacks."""
    return list(
        session.scalars(
            select(StatusEvent.provider_sid).distinct().where(StatusEvent.provider_sid.in_(sids))
        )
    )
