"""`flask templates check` and `flask templates count TEXT [--json]`: SMS length and cost."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.domain import segments
from app.sms.rendering import TEMPLATE_DIR
from app.sms.template_check import check_all

templates_group = AppGroup("templates", help="SMS templates: encoding and segment counts.")


@templates_group.command(
    "check",
    help="Render every template with worst-case data; fail over SMS_SEGMENT_LIMIT segments.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Template folder (default: message_templates/)",
)
def check(directory: Path | None) -> None:
    limit = int(current_app.config["SMS_SEGMENT_LIMIT"])
    reports = check_all(directory or TEMPLATE_DIR)
    failed = 0
    for report in reports:
        if report.error is not None:
            failed += 1
            click.echo(f"FAIL {report.name}: does not render: {report.error}")
            continue
        verdict = "ok  " if report.ok(limit) else "FAIL"
        failed += 0 if report.ok(limit) else 1
        click.echo(
            f"{verdict} {report.name}: {report.encoding}, {report.characters} characters,"
            f" {report.segments} segment{'s' if report.segments != 1 else ''}"
            f" (limit {report.limit(limit)})"
        )
        if report.unicode_chars:
            named = ", ".join(segments.describe(c) for c in report.unicode_chars)
            click.echo(f"     UCS-2 because of: {named}")
        if report.unknown_names:
            click.echo(f"     no worst case known for: {', '.join(report.unknown_names)}")
    click.echo(f"{len(reports)} templates, {failed} over the limit or broken.")
    if failed or not reports:
        raise SystemExit(1)


@templates_group.command("count", help="Encoding, characters and segments of TEXT, as given.")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True)
def count(text: str, as_json: bool) -> None:
    result = segments.count(text)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
        return
    click.echo(f"{result.encoding}, {result.characters} characters, {result.segments} segments")
    if result.unicode_chars:
        click.echo(
            "UCS-2 because of: " + ", ".join(segments.describe(c) for c in result.unicode_chars)
        )


def init_app(app: Flask) -> None:
    app.cli.add_command(templates_group)
