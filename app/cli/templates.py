"""`flask templates check` and `flask templates count TEXT [--json]`: SMS length and cost."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.domain import languages, segments
from app.runtime import get_settings
from app.sms.template_check import TranslationReport, check_all, check_language
from app.sms.translations import TEMPLATE_DIR

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
@click.option(
    "--language",
    "only",
    multiple=True,
    help="Check only these translations (ISO 639-1 codes; default: every language folder).",
)
def check(directory: Path | None, only: tuple[str, ...]) -> None:
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
    failed += _check_translations(directory or TEMPLATE_DIR, only)
    if failed or not reports:
        raise SystemExit(1)


def _check_translations(directory: Path, only: tuple[str, ...]) -> int:
    """Each language folder's templates: status, encoding, segments, cost and flags; how
    many do not render (a translation's length is flagged, not failed: the reviewer
    weighs cost against being understood)."""
    settings = get_settings()
    price = settings.sms_cost_per_segment_gbp
    broken = 0
    for code in only or languages.TRANSLATED:
        if not (directory / code).is_dir():
            continue
        reports = check_language(directory, code, demo_approved=settings.translations_demo_approved)
        language = languages.get(code)
        click.echo(f"\n{language.label} [{code}, {language.direction}]:")
        for t in reports:
            broken += _echo_translation(t, price)
        offers = [t.plain for t in reports if t.plain is not None]
        if offers:
            click.echo(f"     GSM-7 spelling trade-off: {offers[0].trade_off}")
        flagged = sum(1 for t in reports if t.flagged)
        drafts = sum(1 for t in reports if t.status == "draft")
        click.echo(
            f"{code}: {len(reports)} templates, {drafts} drafts (English is sent for them),"
            f" {flagged} flagged at 4+ segments."
        )
    return broken


def _echo_translation(t: TranslationReport, price: float) -> int:
    r = t.report
    if r.error is not None:
        click.echo(f"FAIL {t.language}/{r.name}: does not render: {r.error}")
        return 1
    verdict = "FLAG" if t.flagged else "ok  "
    click.echo(
        f"{verdict} {t.language}/{r.name} [{t.status}]: {r.encoding}, {r.characters} characters,"
        f" {r.segments} segment{'s' if r.segments != 1 else ''}, £{r.segments * price:.2f}"
    )
    if t.plain is not None:
        after = t.plain.after
        click.echo(
            f"     GSM-7 spelling: {after.segments} segment{'s' if after.segments != 1 else ''},"
            f" £{after.segments * price:.2f} (see the trade-off below)"
        )
    return 0


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
