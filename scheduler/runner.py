"""The scheduler process: APScheduler 3.x running the job table, in a process of its own.

APScheduler 3 cannot share a job store between processes, so this must never run inside
web workers (each would run every job). Jobs are coalesced (a backlog of missed runs is
one run), never overlap themselves (`max_instances=1`), and tolerate minutes of delay
(`misfire_grace_time`): the default grace of 1 s silently skips a job delayed by a restart
or a long previous run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from app.domain.send_rate import TokenBucket
from app.services import status
from app.services.dispatch import default_worker_id
from app.sms import provider_from_config
from scheduler.jobs import JOBS, Job, JobContext

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 300


def context_for(app: Flask) -> JobContext:
    rate = float(app.config.get("SEND_RATE_PER_SECOND") or 0) or None
    return JobContext(
        db=app.extensions["nudge.db"],
        clock=app.extensions["nudge.clock"],
        settings=app.extensions["nudge.settings"],
        provider=provider_from_config(app.config),
        bucket=TokenBucket(rate),
        worker_id=default_worker_id(),
    )


def _run(app: Flask, job: Job, ctx: JobContext) -> None:
    with app.app_context():
        result = job.run(ctx)
    # dispatch ticks every few seconds: say so only when something happened
    idle = result.startswith("claimed 0, sent 0") or result in {"0", "nothing due"}
    log.log(logging.DEBUG if idle else logging.INFO, "%s: %s", job.name, result)


def _heartbeat(app: Flask, ctx: JobContext, worker_id: str, started_at: datetime) -> None:
    # a beat goes through the same executor as the jobs: a scheduler whose jobs cannot
    # run stops beating, and `/readyz` turns unready
    status.beat(ctx.db, worker_id=worker_id, started_at=started_at, now=ctx.clock.now())


def build_scheduler(app: Flask, ctx: JobContext | None = None) -> BlockingScheduler:
    context = ctx or context_for(app)
    scheduler = BlockingScheduler(
        timezone=app.config.get("TIMEZONE", "Europe/London"),
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )
    # every job also runs once at start, a second apart in dependency order, so a
    # restarted scheduler (or `make run`) does what is due now, not after a whole interval
    start = datetime.now(UTC)
    scheduler.add_job(
        _heartbeat,
        "interval",
        args=(app, context, context.worker_id or default_worker_id(), start),
        id="heartbeat",
        name="tell /readyz this scheduler is alive",
        seconds=status.HEARTBEAT_SECONDS,
        next_run_time=start,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    for position, job in enumerate(JOBS):
        trigger_args: dict[str, Any] = dict(job.trigger_args)
        trigger_args.setdefault("next_run_time", start + timedelta(seconds=position))
        scheduler.add_job(
            _run,
            job.trigger,
            args=(app, job, context),
            id=job.name,
            name=job.description or job.name,
            replace_existing=True,
            # explicit as well as defaults, so each job carries them from the start
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            **trigger_args,
        )
    return scheduler
