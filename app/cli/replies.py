"""`flask replies ...`: how the service reads residents' replies, for staff and tools."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup

from app.domain import languages
from app.domain.keywords import parse

replies = AppGroup("replies", help="Understand residents' replies.")


@replies.command("parse")
@click.argument("texts", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--language",
    default=languages.ENGLISH,
    show_default=True,
    help="The sender's language: an ISO 639-1 code or its name.",
)
def parse_command(texts: tuple[str, ...], as_json: bool, language: str) -> None:
    """Print the intent the service would act on for each TEXT."""
    code = languages.lookup(language)
    if code is None:
        known = ", ".join(languages.LANGUAGES)
        raise click.BadParameter(f"{language!r} is not one of {known}", param_hint="--language")
    for text in texts:
        intent = parse(text, code)
        if as_json:
            click.echo(json.dumps(intent.as_dict(text)))
        else:
            choice = f" {intent.choice}" if intent.kind == "choice" else ""
            named = f" {intent.language}" if intent.kind == "language" else ""
            click.echo(f"{text!r}: {intent.kind}{choice}{named}")


def init_app(app: Flask) -> None:
    app.cli.add_command(replies)
