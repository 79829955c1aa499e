"""`flask status`: the operator's first look: ready or not, and is anything piling up."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import with_appcontext

from app.runtime import get_clock, get_db, get_settings
from app.services import status


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "none"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@click.command("status", help="Readiness, queue depths, replies backlog and scheduler heartbeats.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
@with_appcontext
def status_command(as_json: bool) -> None:
    snap = status.snapshot(
        get_db(),
        now=get_clock().now(),
        max_heartbeat_age=status.heartbeat_max_age(get_settings()),
    )
    if as_json:
        click.echo(json.dumps(snap.as_dict(), indent=2))
        return
    data = snap.as_dict()
    checks = data["checks"]
    click.echo(f"Ready:               {'yes' if data['ready'] else 'NO'}")
    click.echo(f"  database           {'ok' if checks['database'] else 'UNREACHABLE'}")
    click.echo(f"  migrations at head {'yes' if checks['migrations_at_head'] else 'NO'}")
    click.echo(f"  scheduler alive    {'yes' if checks['scheduler_alive'] else 'NO'}")
    for problem in data["problems"]:
        click.echo(f"  ! {problem}")
    click.echo("Schedulers (last heartbeat):")
    if not snap.heartbeats:
        click.echo("  none has ever run against this database")
    for beat in snap.heartbeats:
        state = "alive" if beat.alive else "SILENT"
        click.echo(
            f"  {beat.worker_id:<40} {_age(beat.age_seconds)} ago  {state}"
            f"  (up since {beat.started_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
    if not checks["migrations_at_head"]:
        return
    click.echo("Outbound messages:")
    for name, count in data["messages_by_status"].items():
        click.echo(f"  {name:<12} {count:>10,}")
    if not data["messages_by_status"]:
        click.echo("  none")
    click.echo(
        f"Queued and due:      {data['queued']:,} (oldest {_age(snap.oldest_queued_age_seconds)})"
    )
    click.echo(f"Uncertain:           {data['uncertain']:,} (staff decide: see Conversations)")
    click.echo(
        f"Replies backlog:     {data['replies_backlog']:,} "
        f"(oldest {_age(snap.replies_lag_seconds)})"
    )
    click.echo(f"Send rate:           {data['send_rate_per_second']} a second (last minute)")
    errors = ", ".join(f"{code}: {n:,}" for code, n in data["provider_errors_by_code"].items())
    click.echo(f"Provider errors:     {errors or 'none'}")
    click.echo(f"Sign-in failures:    {data['sign_in_failures']:,}")


def init_app(app: Flask) -> None:
    app.cli.add_command(status_command)
