"""`flask campaigns create|approve|pause|resume|close|status`: run a campaign."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup

from app.domain import allocation
from app.runtime import get_clock, get_db, get_settings
from app.services import campaigns

campaigns_group = AppGroup("campaigns", help="Campaigns: create, approve, pause, resume, status.")


def _variant(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list:
    try:
        return [allocation.parse_variant(v) for v in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@campaigns_group.command("create", help="Create a draft campaign and print its id.")
@click.option("--name", required=True)
@click.option("--practice", "practices", multiple=True, required=True, help="ODS code (repeat)")
@click.option("--lawful-basis", required=True, help="Lawful basis for processing (free text)")
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="Cohort reference date")
@click.option(
    "--variant",
    "variants",
    multiple=True,
    callback=_variant,
    help="NAME=WEIGHT (repeat; the first is the control). Default: control=1",
)
@click.option("--hold-hours", type=int, default=48, show_default=True)
@click.option("--send-window", default="09:00-19:00", show_default=True)
@click.option("--send-days", default="mon-sat", show_default=True)
@click.option("--max-invitations", type=int, default=2, show_default=True)
@click.option("--reminder-hours", type=int, default=24, show_default=True)
@click.option("--info-url", default=None)
@click.option("--min-notice-hours", type=int, default=12, show_default=True)
@click.option("--seed", type=int, default=None, help="Allocation seed (default: the id)")
@click.option(
    "--on-reason", default="", help="Why the cohort date is not today (required if it is not)"
)
@click.option(
    "--unusual-window-reason",
    default="",
    help="Why texts may go before 08:00, after 20:00 or on Sundays (required if they may)",
)
def create(
    name: str,
    practices: tuple[str, ...],
    lawful_basis: str,
    on: object,
    variants: list[tuple[str, int]],
    hold_hours: int,
    send_window: str,
    send_days: str,
    max_invitations: int,
    reminder_hours: int,
    info_url: str | None,
    min_notice_hours: int,
    seed: int | None,
    on_reason: str,
    unusual_window_reason: str,
) -> None:
    spec = campaigns.CampaignSpec(
        name=name,
        practices=list(practices),
        lawful_basis=lawful_basis,
        on=on.date() if on is not None else None,  # type: ignore[attr-defined]
        variants=variants or [("control", 1)],
        hold_hours=hold_hours,
        send_window=send_window,
        send_days=send_days,
        max_invitations=max_invitations,
        reminder_hours=reminder_hours,
        info_url=info_url,
        min_notice_hours=min_notice_hours,
        seed=seed,
        on_reason=on_reason,
        unusual_window_reason=unusual_window_reason,
    )
    try:
        campaign_id = campaigns.create(get_db(), spec, now=get_clock().now(), actor="cli")
    except campaigns.CampaignError as exc:
        raise click.ClickException(_one_line(exc)) from exc
    click.echo(campaign_id)


def _one_line(error: campaigns.CampaignError) -> str:
    """Every problem on one line, each named by the option that sets it."""
    if not error.errors:
        return str(error)
    options = {"practices": "practice", "variants": "variant"}
    return "; ".join(
        f"--{options.get(field, field).replace('_', '-')}: {message}"
        for field, message in error.errors.items()
    )


@campaigns_group.command("approve", help="Approve a draft: snapshot its cohort; it may send.")
@click.argument("campaign_id", type=int)
@click.option(
    "--accept-english",
    "english_for",
    multiple=True,
    metavar="CODE",
    help="Send this language's people English: its translations are drafts (repeatable).",
)
def approve(campaign_id: int, english_for: tuple[str, ...]) -> None:
    try:
        result = campaigns.approve(
            get_db(),
            campaign_id,
            now=get_clock().now(),
            actor="cli",
            settings=get_settings(),
            english_for=english_for,
        )
    except campaigns.CampaignError as exc:
        raise click.ClickException(str(exc)) from exc
    arms = ", ".join(f"{k}={v}" for k, v in sorted(result.variants.items()))
    click.echo(
        f"Campaign {campaign_id} approved: {result.members} members"
        f" ({result.eligible} textable, {result.not_textable} not textable"
        + (f", {result.needs_review} held for review" if result.needs_review else "")
        + f"); arms {arms or '-'}"
    )


def _simple(action: str, help_text: str) -> None:
    @campaigns_group.command(action, help=help_text)
    @click.argument("campaign_id", type=int)
    def command(campaign_id: int) -> None:
        try:
            getattr(campaigns, action)(get_db(), campaign_id, now=get_clock().now(), actor="cli")
        except campaigns.CampaignError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(
            f"Campaign {campaign_id}: {action}d"
            if action != "close"
            else f"Campaign {campaign_id}: closed"
        )


_simple("pause", "Pause an active campaign: no new invitations or reminders.")
_simple("resume", "Resume a paused campaign.")
_simple("close", "Close a campaign for good; the retention period starts.")


@campaigns_group.command("status", help="Counts by state (--json for scripts).")
@click.argument("campaign_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def status(campaign_id: int, as_json: bool) -> None:
    try:
        record = campaigns.status(get_db(), campaign_id)
    except campaigns.CampaignError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(record, default=str))
        return
    for key, value in record.items():
        click.echo(f"{key:>16}: {value}")


def init_app(app: Flask) -> None:
    app.cli.add_command(campaigns_group)
