"""`flask replies ...`: how the service reads residents' replies, for staff and tools."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup

from app.domain.keywords import parse

replies = AppGroup("replies", help="Understand residents' replies.")


@replies.command("parse")
@click.argument("texts", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def parse_command(texts: tuple[str, ...], as_json: bool) -> None:
    """Print the intent the service would act on for each TEXT."""
    for text in texts:
        intent = parse(text)
        if as_json:
            click.echo(json.dumps(intent.as_dict(text)))
        else:
            choice = f" {intent.choice}" if intent.kind == "choice" else ""
            click.echo(f"{text!r}: {intent.kind}{choice}")


def init_app(app: Flask) -> None:
    app.cli.add_command(replies)
