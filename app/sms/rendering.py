"""Rendering SMS text from message_templates/ with a Jinja environment of its own.

Separate from Flask's HTML templates: no autoescaping (an SMS is plain text),
StrictUndefined (a missing field is a bug, never a blank in a patient's text), and
trimmed blocks so template logic leaves no stray blank lines.

A text goes in the resident's language when its translation may be sent
(app.sms.translations), else in English; times given as datetimes are written in the
language the text is actually in, so an English fallback never carries Polish dates.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.domain import timefmt
from app.sms.translations import TEMPLATE_DIR, template_for

# fields written as a deadline (`Thu 5 Dec, 6pm`); every other datetime is a slot time
DEADLINE_FIELDS = frozenset({"expiry", "deadline"})


@cache
def environment(directory: Path = TEMPLATE_DIR) -> Environment:
    return Environment(
        loader=FileSystemLoader(str(directory)),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def localise(context: dict[str, Any], language: str) -> dict[str, Any]:
    """Datetimes (alone or in a list) written in `language`, in UK time."""
    out = dict(context)
    for key, value in context.items():
        if isinstance(value, datetime):
            write = timefmt.deadline if key in DEADLINE_FIELDS else timefmt.slot_time
            out[key] = write(value, language)
        elif isinstance(value, list) and value and isinstance(value[0], datetime):
            out[key] = [timefmt.slot_time(v, language) for v in value]
    return out


def render(
    name: str, *, language: str | None = None, demo_approved: bool = False, **context: Any
) -> str:
    """Render `<name>` in `language` when its translation may be sent (approved, or
    `demo_approved`), else in English; trimmed of surrounding whitespace."""
    template, used = template_for(name, language, demo_approved=demo_approved)
    return environment().get_template(template).render(**localise(context, used)).strip()
