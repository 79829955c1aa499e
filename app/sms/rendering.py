"""Rendering SMS text from message_templates/ with a Jinja environment of its own.

Separate from Flask's HTML templates: no autoescaping (an SMS is plain text),
StrictUndefined (a missing field is a bug, never a blank in a patient's text), and
trimmed blocks so template logic leaves no stray blank lines.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app import PROJECT_ROOT

TEMPLATE_DIR = PROJECT_ROOT / "message_templates"


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


def render(name: str, **context: Any) -> str:
    """Render `message_templates/<name>.txt.j2`, trimmed of surrounding whitespace."""
    return environment().get_template(f"{name}.txt.j2").render(**context).strip()
