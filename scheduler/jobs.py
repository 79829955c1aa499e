"""The job table: what runs when, each job a thin call into a service ("do what is due").

Every job is idempotent and query-driven, so running it twice, late, or in two scheduler
processes at once does no harm: the services claim work with conditional updates (and
`SKIP LOCKED` on PostgreSQL), and queueing a message twice leaves one row (dedupe keys).
`run_once` runs every job in dependency order (inbound texts first, so a reply's answer
goes out in the same run; expire before plan, so released slots can be offered; plan
and reminders before dispatch, so what they queue goes out now).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.clock import Clock
from app.data.db import Database
from app.domain.send_rate import TokenBucket
from app.services.dispatch import DispatchReport, dispatch_due
from app.services.gpconnect import sync_all as sync_gpconnect_slots
from app.services.offers import expire_offers as expire_due_offers
from app.services.offers import plan_waves as plan_due_waves
from app.services.outbox_receipts import report_deliveries
from app.services.received_texts import ReceivedTextSource
from app.services.received_texts import poll as poll_received_texts
from app.services.reconciliation import reconcile_early_callbacks, recover_and_reconcile
from app.services.reminders import queue_appointment_reminders, queue_no_reply_reminders
from app.services.replies import process_inbound
from app.services.reports import refresh_all
from app.services.retention import purge_personal_data as purge_due_campaigns
from app.settings import Settings
from app.sms.provider import SmsProvider

log = logging.getLogger(__name__)

# a claim older than this belongs to a dispatcher that died: a batch of DISPATCH_BATCH
# at the configured rate takes seconds, a hung provider call at most its timeout each
STALE_CLAIM_AFTER = timedelta(minutes=10)
DISPATCH_TICK_SECONDS = 3
RUN_ONCE_DISPATCH_BUDGET = 3600.0


@dataclass
class JobContext:
    """What jobs need, built once per scheduler process (see `runner.context_for`)."""

    db: Database
    clock: Clock
    settings: Settings
    provider: SmsProvider
    bucket: TokenBucket
    # seconds one dispatch run may keep going: under the tick (DISPATCH_TICK_SECONDS) for
    # the scheduler, so runs never pile up; `run-once` raises it to drain what is due
    dispatch_budget: float = 2.5
    worker_id: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[JobContext], str]  # returns a one-line account of what it did
    trigger: str  # "interval" or "cron", as APScheduler names them
    trigger_args: Mapping[str, Any]
    order: int  # position in `run_once`
    description: str = ""


def expire_offers(ctx: JobContext) -> str:
    return f"{expire_due_offers(ctx.db, now=ctx.clock.now(), settings=ctx.settings)} offers expired"


def gpconnect_slots(ctx: JobContext) -> str:
    """Free slots from GP Connect practices' own books (and their appointments' states)."""
    return sync_gpconnect_slots(ctx.db, now=ctx.clock.now(), settings=ctx.settings)


def plan_waves(ctx: JobContext) -> str:
    return f"{plan_due_waves(ctx.db, now=ctx.clock.now(), settings=ctx.settings)} offers made"


def no_reply_reminders(ctx: JobContext) -> str:
    queued = queue_no_reply_reminders(ctx.db, now=ctx.clock.now(), settings=ctx.settings)
    return f"{queued} reminders queued"


def appointment_reminders(ctx: JobContext) -> str:
    queued = queue_appointment_reminders(ctx.db, now=ctx.clock.now(), settings=ctx.settings)
    return f"{queued} reminders queued"


def dispatch(ctx: JobContext) -> str:
    """Send what is due, batch after batch, until nothing is left or the budget is spent."""
    total = DispatchReport()
    deadline = time.monotonic() + ctx.dispatch_budget
    batch = ctx.settings.dispatch_batch
    if ctx.bucket.rate:
        # claim no more than the rate lets out within a tick: a reply queued meanwhile
        # waits one tick, and a crash leaves at most one small batch uncertain
        batch = max(1, min(batch, int(ctx.bucket.rate * DISPATCH_TICK_SECONDS)))
    while True:
        report = dispatch_due(
            ctx.db,
            ctx.provider,
            now=ctx.clock.now(),
            limit=batch,
            worker_id=ctx.worker_id,
            bucket=ctx.bucket,
            max_attempts=ctx.settings.dispatch_max_attempts,
        )
        total.add(report)
        if not (report.claimed or report.cancelled) or time.monotonic() > deadline:
            break
    late = reconcile_early_callbacks(ctx.db, now=ctx.clock.now())
    return total.summary() + (f"; {late} early callbacks applied" if late else "")


def act_on_replies(ctx: JobContext) -> str:
    """Act on stored inbound texts (the webhook only stores them), then send the answers.

    Every second, so a conversational answer reaches the resident within a few seconds;
    the dispatch here only runs when there is something to answer, and is safe beside
    the dispatch job (claims are conditional updates, the token bucket is locked).
    """
    acted = process_inbound(ctx.db, now=ctx.clock.now(), settings=ctx.settings)
    if not acted:
        return "0"
    return f"acted on {acted} inbound; " + dispatch(ctx)


def recover_claims(ctx: JobContext) -> str:
    """Claims of dead dispatchers, and timeouts, settled against the provider's record."""
    count, report = recover_and_reconcile(
        ctx.db, ctx.provider, now=ctx.clock.now(), older_than=STALE_CLAIM_AFTER
    )
    return f"{count} stale claims marked uncertain; " + report.summary()


def received_texts(ctx: JobContext) -> str:
    """Poll GOV.UK Notify for received texts, for services that cannot take callbacks."""
    source = ctx.provider
    if not ctx.settings.notify_poll_received_texts or not isinstance(source, ReceivedTextSource):
        return "off"
    report = poll_received_texts(
        ctx.db, source, now=ctx.clock.now(), inbound_number=ctx.settings.sms_from_number or ""
    )
    return report.summary()


def outbox_receipts(ctx: JobContext) -> str:
    """Development and demo: the outbox provider's delivery receipts, as a network gives."""
    if ctx.provider.name != "outbox":
        return "off"
    counts = report_deliveries(ctx.db, now=ctx.clock.now())
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "0"


def refresh_report_stamps(ctx: JobContext) -> str:
    """Bring campaign members' funnel stamps up to date for the uptake reports."""
    return refresh_all(ctx.db, now=ctx.clock.now())


def purge_personal_data(ctx: JobContext) -> str:
    purged = purge_due_campaigns(ctx.db, now=ctx.clock.now(), settings=ctx.settings)
    return f"{purged} campaigns purged"


JOBS: tuple[Job, ...] = (
    # first in `run_once`: what the replies queue is sent by dispatch in the same run
    Job("replies", act_on_replies, "interval", {"seconds": 1}, 5, "act on inbound texts"),
    Job("expire_offers", expire_offers, "interval", {"minutes": 1}, 10, "release expired holds"),
    # before plan: waves offer only what the practice's own book still has free
    Job(
        "gpconnect_slots",
        gpconnect_slots,
        "interval",
        {"minutes": 5},
        15,
        "sync GP Connect slots",
    ),
    Job("plan_waves", plan_waves, "interval", {"minutes": 5}, 20, "offer free slots"),
    Job("no_reply_reminders", no_reply_reminders, "interval", {"minutes": 5}, 30, "one nudge"),
    Job(
        "appointment_reminders",
        appointment_reminders,
        "interval",
        {"minutes": 15},
        40,
        "the day before",
    ),
    # every few seconds: a conversational reply should reach the phone within seconds
    Job(
        "dispatch", dispatch, "interval", {"seconds": DISPATCH_TICK_SECONDS}, 50, "send what is due"
    ),
    Job("outbox_receipts", outbox_receipts, "interval", {"seconds": 10}, 55, "outbox delivery"),
    Job("recover_claims", recover_claims, "interval", {"minutes": 5}, 60, "dead dispatchers"),
    Job("received_texts", received_texts, "interval", {"seconds": 30}, 62, "poll Notify"),
    Job(
        "refresh_report_stamps",
        refresh_report_stamps,
        "interval",
        {"minutes": 10},
        65,
        "funnel stamps for reports",
    ),
    Job(
        "purge_personal_data",
        purge_personal_data,
        "cron",
        {"hour": 3, "minute": 15},
        70,
        "retention period",
    ),
)


def run_once(ctx: JobContext, jobs: tuple[Job, ...] = JOBS) -> list[tuple[str, str]]:
    """Every job once, now, in dependency order; a failing job is reported, not fatal."""
    results: list[tuple[str, str]] = []
    for job in sorted(jobs, key=lambda j: j.order):
        try:
            results.append((job.name, job.run(ctx)))
        except Exception as exc:
            log.exception("job %s failed", job.name)
            results.append((job.name, f"FAILED: {type(exc).__name__}: {exc}"))
    return results
