"""The message log: every SMS in and out, oldest first, as staff and scripts read it."""

from __future__ import annotations

from typing import Any

from app.data import messages
from app.data.db import Database


def message_log(
    db: Database, *, number: str | None = None, our_number: str = ""
) -> list[dict[str, Any]]:
    """The conversation log (optionally with one resident's number, either direction).

    `kind` is '' for inbound messages (the `messages list --json` contract); an
    outbound row without its own sender shows `our_number`, the number it goes out from.
    """
    with db.transaction() as session:
        return [
            {
                "id": m.id,
                "direction": m.direction,
                "to": m.to_number,
                "from": m.from_number or (our_number if m.direction == "out" else ""),
                "body": m.body,
                "status": m.status,
                "kind": m.kind if m.direction == "out" else "",
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "provider_sid": m.provider_sid,
                "error_code": m.error_code,
                "attempts": m.attempts,
            }
            for m in messages.thread(session, number=number or None)
        ]
