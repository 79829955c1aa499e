"""`flask scheduler run` (the long-running scheduler) and `flask scheduler run-once`."""

from __future__ import annotations

import logging
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.clock import FixedClock
from scheduler.jobs import RUN_ONCE_DISPATCH_BUDGET, run_once
from scheduler.runner import build_scheduler, context_for

scheduler_group = AppGroup(
    "scheduler", help="Run the scheduled jobs (plan, remind, dispatch, expire, purge)."
)


@scheduler_group.command("run", help="Run the scheduler until stopped (its own process).")
def run() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # APScheduler logs every run of every job at INFO; the runner logs what each did
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    try:
        scheduler = build_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]
    except ValueError as refused:  # a provider setting it cannot send with
        raise click.ClickException(str(refused)) from None
    click.echo("Scheduler running: " + ", ".join(job.id for job in scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("Scheduler stopped.")


@scheduler_group.command(
    "run-once", help="Run every job once, now, in dependency order, then exit."
)
@click.option("--now", "at", help="Pretend it is this ISO 8601 time (aware), e.g. for demos.")
def run_once_command(at: str | None) -> None:
    try:
        ctx = context_for(current_app._get_current_object())  # type: ignore[attr-defined]
    except ValueError as refused:
        raise click.ClickException(str(refused)) from None
    ctx.dispatch_budget = RUN_ONCE_DISPATCH_BUDGET  # drain what is due, at the send rate
    if at:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter(
                f"{at!r} is not an ISO 8601 time; give one like 2026-01-14T10:00+00:00",
                param_hint="--now",
            ) from None
        if moment.tzinfo is None:
            raise click.BadParameter(
                "give a time zone, e.g. 2026-01-14T10:00+00:00", param_hint="--now"
            )
        ctx.clock = FixedClock(moment)
    for name, result in run_once(ctx):
        click.echo(f"{name}: {result}")


def init_app(app: Flask) -> None:
    app.cli.add_command(scheduler_group)
