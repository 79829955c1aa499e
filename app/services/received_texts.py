"""Texts residents send to a GOV.UK Notify inbound number: stored once by Notify's id.

They arrive by Notify's received-text callback, or, for services that cannot receive
callbacks, by polling Notify's received-texts endpoint; both store through the one path
Twilio's inbound texts take (`replies.receive_inbound`, unique on the provider id), so a
text seen both ways, or redelivered, is stored and acted on once, by the same replies job.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from app.data import receipts
from app.data.db import Database
from app.services import replies

log = logging.getLogger(__name__)

# Notify keeps received texts for 7 days; one poll reads at most this many
MAX_POLLED = 5000


@runtime_checkable
class ReceivedTextSource(Protocol):
    def received_texts(self) -> Iterable[Mapping[str, Any]]: ...


@dataclass(frozen=True)
class PollReport:
    stored: int
    seen: int

    def summary(self) -> str:
        return f"{self.stored} received texts stored ({self.seen} read)"


def e164(number: str | None) -> str:
    """Notify writes UK numbers as 447700900123 (or 07700900123): Nudge stores +44..."""
    text = re.sub(r"[\s()\-.]", "", number or "")
    if text.startswith("+"):
        return text
    if text.startswith("00"):
        return "+" + text[2:]
    if text.startswith("0"):
        return "+44" + text[1:]
    return "+" + text if text.isdigit() else text


def store(
    db: Database,
    *,
    text_id: str,
    source_number: str,
    destination_number: str | None,
    message: str,
    now: datetime,
    inbound_number: str,
) -> bool:
    """Store one received text for the replies job; False if this id is stored already."""
    return replies.receive_inbound(
        db,
        message_sid=text_id,
        from_number=e164(source_number),
        to_number=e164(destination_number) if destination_number else inbound_number,
        body=message,
        now=now,
    )


def poll(
    db: Database, source: ReceivedTextSource, *, now: datetime, inbound_number: str
) -> PollReport:
    """Store what Notify received that we have not: read newest first until a stored
    text, then store oldest first, so an interrupted poll leaves no gap behind it."""
    new: list[Mapping[str, Any]] = []
    seen = 0
    for text in source.received_texts():
        seen += 1
        if _is_stored(db, str(text["id"])) or seen > MAX_POLLED:
            break
        new.append(text)
    stored = 0
    for text in reversed(new):
        stored += store(
            db,
            text_id=str(text["id"]),
            source_number=str(text["user_number"]),
            destination_number=text.get("notify_number"),
            message=str(text.get("content") or ""),
            now=now,
            inbound_number=inbound_number,
        )
    return PollReport(stored=stored, seen=seen)


def _is_stored(db: Database, text_id: str) -> bool:
    with db.transaction() as session:
        return receipts.inbound_stored(session, text_id)
