"""`flask users ...`: staff accounts and their one-time set-password links."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.runtime import get_clock, get_db
from app.services import users

# an AppGroup so every subcommand runs in the app context
users_group = AppGroup("users", help="Staff accounts: create users and issue set-password links.")


def _link(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/set-password/{token}"


@users_group.command("create", help="Create a user and print a one-time set-password link.")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(users.ROLES))
@click.option("--practice", "practices", multiple=True, help="ODS code (practice staff; repeat)")
def create(email: str, role: str, practices: tuple[str, ...]) -> None:
    if role == "practice" and not practices:
        raise click.UsageError("Practice staff need at least one --practice ODS code.")
    try:
        _, token = users.create_user(
            get_db(), email=email, role=role, practice_ods=list(practices), now=get_clock().now()
        )
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    hours = int(users.SET_PASSWORD_TTL.total_seconds() // 3600)
    click.echo(f"Created {role} {users.normalise_email(email)}.")
    click.echo(f"One-time link to set the password (valid {hours} hours):")
    click.echo(_link(token))


@users_group.command("reset", help="Print a fresh one-time set-password link for a user.")
@click.option("--email", required=True)
def reset(email: str) -> None:
    try:
        token = users.issue_set_password_token(
            get_db(), email=email, now=get_clock().now(), actor="cli"
        )
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_link(token))


@users_group.command("disable", help="Disable a user: no more sign-ins, open sessions end now.")
@click.option("--email", required=True)
def disable(email: str) -> None:
    db = get_db()
    with db.transaction() as session:
        user_id = users.user_id_for(session, email)
    if user_id is None:
        raise click.ClickException(f"no user with email {email}")
    users.disable(db, user_id=user_id, now=get_clock().now(), actor="cli")
    click.echo(f"Disabled {users.normalise_email(email)}; their sessions have ended.")


@users_group.command("list", help="List users with their roles and practices.")
def list_users() -> None:
    with get_db().transaction() as session:
        for user in users.list_users(session):
            codes = ",".join(p.ods_code for p in user.practices) or "-"
            state = "active" if user.active else "disabled"
            password = "password set" if user.password_hash else "no password yet"
            click.echo(f"{user.email}\t{user.role}\t{codes}\t{state}\t{password}")


@users_group.command("token", help="Create a user's API token and print it once.")
@click.option("--email", required=True)
@click.option("--revoke", is_flag=True, help="remove the user's token instead")
def token(email: str, revoke: bool) -> None:
    from app.services import api_token

    try:
        if revoke:
            gone = api_token.revoke(get_db(), email=email, now=get_clock().now(), actor="cli")
            click.echo("Token revoked." if gone else "That user had no token.")
            return
        value = api_token.issue(get_db(), email=email, now=get_clock().now(), actor="cli")
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("API token (shown once; send it as 'Authorization: Bearer <token>'):")
    click.echo(value)


def init_app(app: Flask) -> None:
    app.cli.add_command(users_group)
