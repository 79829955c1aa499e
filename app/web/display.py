"""Shared helpers for staff pages: London dates in templates and the practice picker."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import Flask, abort, current_app, request
from markupsafe import Markup, escape

from app.clock import LONDON
from app.clock import as_utc as aware
from app.domain import diary_range
from app.runtime import get_clock, get_db
from app.services import patient_language
from app.services import practices as practice_service
from app.web.security import current_user, practice_scope

if TYPE_CHECKING:
    from app.data.models import Practice


def london(value: datetime | None, fmt: str = "%a %-d %b %Y %H:%M") -> str:
    if value is None:
        return ""
    return aware(value).astimezone(LONDON).strftime(fmt)


_BREAK_AFTER = re.compile(r"([._@:/])")


def breakable(value: object) -> Markup:
    """Text that may wrap after its dots, underscores, @, colons and slashes (emails,
    action names, targets), so a narrow column wraps it between words, not mid-word."""
    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(escape("" if value is None else value))))


def london_today() -> date:
    return get_clock().now().astimezone(LONDON).date()


def example_date(days_ahead: int = 14, iso: bool = False) -> str:
    """A date hint that is never in the past and reads the same whatever order the
    browser's date box shows day, month and year in: "For example, 2 March 2027"
    (`iso`: 2027-03-02, for a file's columns)."""
    day = london_today() + timedelta(days=days_ahead)
    return day.isoformat() if iso else day.strftime("%-d %B %Y")


# ids are PostgreSQL `integer` columns: a larger number can name nothing (and would
# overflow the driver), so it is a malformed request, not a missing record
MAX_ID = 2**31 - 1


def parse_day(raw: str | None, default: date, name: str = "day") -> date:
    """A YYYY-MM-DD query value inside the diary's years; anything else is a 400 page
    saying what to enter (an empty value means `default`)."""
    if not raw:
        return default
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        abort(400, f"The {name} must be a date written YYYY-MM-DD, for example 2026-01-14.")
    if not diary_range.covers(day):
        abort(400, f"The {name} {day.isoformat()} is outside the diary: {diary_range.RANGE_HELP}.")
    return day


def parse_id(raw: Any, name: str) -> int:
    """A record number from a query or form; a malformed or impossible one is a 400."""
    text = str(raw).strip()
    if not text.isdecimal() or not 1 <= int(text) <= MAX_ID:
        abort(400, f"The {name} must be a record number from 1 to {MAX_ID}.")
    return int(text)


def parse_page(raw: str | None, limit: int = 1_000_000) -> int:
    """A page number from 1 to `limit` (1 when absent)."""
    if raw in (None, ""):
        return 1
    text = str(raw).strip()
    if not text.isdecimal() or not 1 <= int(text) <= limit:
        abort(400, f"The page must be a whole number from 1 to {limit}.")
    return int(text)


def visible_practices() -> list[Practice]:
    only = None if current_user.is_admin else frozenset(current_user.practice_ids)
    return practice_service.by_name(get_db(), only)


def chosen_practice(raw: Any = None) -> tuple[int | None, list[Practice]]:
    """The practice a page shows (from `raw`, the form or the query), scope-checked.

    Any id the user may not see gets 404 (via `practice_scope`), whatever the form says.
    """
    practices = visible_practices()
    if raw is None:
        raw = request.values.get("practice")
    if raw not in (None, ""):
        return practice_scope(parse_id(raw, "practice")), practices
    return (practices[0].id if practices else None), practices


def upload_limit() -> str:
    """The largest request body the app takes (MAX_CONTENT_LENGTH), for people: "10 MB"."""
    size = int(current_app.config["MAX_CONTENT_LENGTH"])
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{max(size // 1024, 1)} KB"


def practice_options(practices: list[Practice]) -> list[tuple[int, str]]:
    return [(p.id, f"{p.name} ({p.ods_code})") for p in practices]


def practice_codes(practices: list[Practice]) -> list[tuple[str, str]]:
    return [(p.ods_code, f"{p.name} ({p.ods_code})") for p in practices]


def init_app(app: Flask) -> None:
    app.add_template_filter(london, "london")
    app.add_template_filter(breakable, "breakable")
    app.add_template_global(practice_options, "practice_options")
    app.add_template_global(practice_codes, "practice_codes")
    app.add_template_global(example_date, "example_date")
    app.add_template_global(patient_language.choices, "language_choices")
    app.add_template_filter(patient_language.label, "language_label")
