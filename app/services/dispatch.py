"""Dispatch: hand every queued message to the SMS provider at most once, and lose none.

The protocol, in three kinds of short transaction so no lock is held while the provider
is called:
1. claim (app.services.claims): due rows are marked `sending` for this dispatcher, within
   their send windows and the per-number hourly caps.
2. per message, just before the provider call: check the row is still ours and the
   number has not sent STOP since the claim.
3. record what the provider said: `sent` with its id; `queued` again after a temporary
   failure with exponential backoff and jitter, until `DISPATCH_MAX_ATTEMPTS`; `failed`
   with the number-level action for a permanent one (the provider says whether the
   number is to blame: opted out at the carrier, or not a mobile); `uncertain` when the
   request may have gone out.
A dispatcher that dies between 1 and 3 leaves rows `sending`; those and the `uncertain`
ones are settled against the provider's own record (app.services.reconciliation): found
means sent, absent means queued again. Nothing is resent on a guess.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from time import monotonic

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from app.data import claims as claim_data
from app.data.db import Database
from app.domain.send_rate import TokenBucket, backoff
from app.services import delivery, numbers
from app.services.claims import STOP_ACK, ClaimedMessage, DispatchReport, claim_due
from app.sms.provider import (
    NOT_TEXTABLE,
    OPTED_OUT,
    OutgoingSms,
    PermanentFailure,
    SmsProvider,
    TemporaryFailure,
    UncertainFailure,
)

log = logging.getLogger(__name__)

__all__ = ["STOP_ACK", "ClaimedMessage", "DispatchReport", "claim_due", "dispatch_due"]

# Accepted sends are recorded in small groups, so the database commits once per group, not
# once per message (a commit costs a disk flush: about 4 ms, which alone would cap dispatch
# near 250 messages/s). A crash loses at most one group's records: those rows stay
# `sending` and are settled against the provider's record. At the production rate (10/s) the
# interval, not the size, closes a group: two or three messages.
RECORD_BATCH = 100
RECORD_INTERVAL = 0.25  # seconds


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | retry | failed | uncertain
    provider_sid: str | None = None
    error_code: str | None = None


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


def dispatch_due(
    db: Database,
    provider: SmsProvider,
    *,
    now: datetime,
    limit: int = 100,
    worker_id: str | None = None,
    bucket: TokenBucket | None = None,
    max_attempts: int = 5,
    rng: random.Random | None = None,
) -> DispatchReport:
    """Claim up to `limit` due messages and send each at most once (see the module doc)."""
    worker = (worker_id or default_worker_id())[:80]
    claimed, report = claim_due(db, now=now, limit=limit, worker_id=worker)
    accepted: list[tuple[ClaimedMessage, Outcome]] = []
    last_flush = monotonic()

    def flush(also: tuple[ClaimedMessage, Outcome, SmsProvider] | None = None) -> None:
        nonlocal last_flush
        with db.transaction() as session:
            _record_sent(session, accepted, now=now, report=report)
            if also is not None:
                _record(session, *also, now=now, max_attempts=max_attempts, rng=rng, report=report)
        accepted.clear()
        last_flush = monotonic()

    # the re-check is one read; on PostgreSQL an autocommit connection makes it one round
    # trip instead of three (BEGIN, SELECT, COMMIT). SQLite's BEGIN IMMEDIATE hook needs
    # a real transaction, and is cheap there.
    reader = (
        None
        if db.is_sqlite
        else db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    )
    try:
        for sms in claimed:
            if bucket is not None:
                bucket.acquire()
            if not _still_ours_and_sendable(db, reader, sms, worker=worker, now=now, report=report):
                continue
            outcome = _call(provider, sms, now)
            if outcome.kind != "sent":
                # failures act on the number (opt-out, not textable) before the next re-check
                flush(also=(sms, outcome, provider))
                continue
            accepted.append((sms, outcome))
            if len(accepted) >= RECORD_BATCH or monotonic() - last_flush >= RECORD_INTERVAL:
                flush()
        if accepted:
            flush()
    finally:
        if reader is not None:
            reader.close()
    return report


# -- send helpers ----------------------------------------------------------------------
def _still_ours_and_sendable(
    db: Database,
    reader: Connection | None,
    sms: ClaimedMessage,
    *,
    worker: str,
    now: datetime,
    report: DispatchReport,
) -> bool:
    """STOP may have arrived since the claim; and a claim recovered as stale is not ours."""
    if reader is not None:
        row = claim_data.still_claimed(reader, sms.id, worker)
    else:
        with db.transaction() as session:
            row = claim_data.still_claimed(session, sms.id, worker)
    if row is None or row.status != "sending":
        return False
    if row.blocked and sms.kind != STOP_ACK:
        with db.transaction() as session:
            claim_data.settle(session, sms.id, now=now, status="cancelled", error_code="unsendable")
        report.cancelled += 1
        return False
    return True


def _call(provider: SmsProvider, sms: ClaimedMessage, now: datetime) -> Outcome:
    outgoing = OutgoingSms(message_id=sms.id, to=sms.to, body=sms.body, expires_at=sms.expires_at)
    try:
        result = provider.send(outgoing, now)
    except TemporaryFailure as exc:
        log.warning("message %s: temporary failure, will retry: %s", sms.id, exc)
        return Outcome("retry", error_code=_code(exc.error_code))
    except PermanentFailure as exc:
        log.warning("message %s: refused for good: %s", sms.id, exc)
        return Outcome("failed", error_code=_code(exc.error_code) or "refused")
    except UncertainFailure as exc:
        log.error("message %s: fate unknown, not resending: %s", sms.id, exc)
        return Outcome("uncertain", error_code=_code(exc.error_code) or "unknown")
    except Exception:
        # a bug or an unexpected library error after the request may have gone out
        log.exception("message %s: provider raised unexpectedly; marking uncertain", sms.id)
        return Outcome("uncertain", error_code="error")
    return Outcome("sent", provider_sid=result.provider_sid)


def _code(code: str | None) -> str | None:
    return code[:10] if code else None


def _record_sent(
    session: Session,
    accepted: Sequence[tuple[ClaimedMessage, Outcome]],
    *,
    now: datetime,
    report: DispatchReport,
) -> None:
    """Record provider SIDs in one statement (executemany); apply early callbacks."""
    if not accepted:
        return
    claim_data.record_sent(
        session, [(sms.id, outcome.provider_sid) for sms, outcome in accepted], now=now
    )
    report.sent += len(accepted)
    # Twilio's status callbacks can beat us here; the webhook stores them by SID for replay
    sids = [outcome.provider_sid for _, outcome in accepted if outcome.provider_sid]
    for sid in claim_data.early_receipts(session, sids):
        delivery.replay_stored_events(session, sid, now=now)


def _record(
    session: Session,
    sms: ClaimedMessage,
    outcome: Outcome,
    provider: SmsProvider,
    *,
    now: datetime,
    max_attempts: int,
    rng: random.Random | None,
    report: DispatchReport,
) -> None:
    if outcome.kind == "sent":
        _record_sent(session, [(sms, outcome)], now=now, report=report)
    elif outcome.kind == "retry":
        attempts = claim_data.attempts_of(session, sms.id)
        if attempts >= max_attempts:
            values: dict[str, object] = {"status": "failed"}
            report.failed += 1
            report.failed_codes[outcome.error_code or "retries"] += 1
        else:
            values = {"status": "queued", "not_before": now + backoff(attempts, rng)}
            report.retried += 1
        claim_data.settle(session, sms.id, now=now, error_code=outcome.error_code, **values)
    elif outcome.kind == "failed":
        claim_data.settle(session, sms.id, now=now, status="failed", error_code=outcome.error_code)
        report.failed += 1
        report.failed_codes[outcome.error_code or "refused"] += 1
        fault = provider.number_fault(outcome.error_code)
        reason = f"{provider.name} {outcome.error_code}"
        if fault == OPTED_OUT:
            numbers.opt_out(session, sms.to, now=now, word=reason[:20], source="provider")
        elif fault == NOT_TEXTABLE:
            numbers.mark_not_textable(session, sms.to, now=now, reason=reason)
    else:
        claim_data.settle(
            session, sms.id, now=now, status="uncertain", error_code=outcome.error_code
        )
        report.uncertain += 1
