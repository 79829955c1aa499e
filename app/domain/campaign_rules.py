"""What a campaign's settings must be, checked all at once and keyed by the field they
belong to, so a form can put each message next to its own field and the CLI can print
them on one line. Messages are plain sentences a practice manager would write.

Two settings are allowed but risky, so they need the person creating the campaign to
say why: a cohort date other than today (eligibility would run as of another day) and a
send window outside 08:00-20:00 or on Sundays (people are texted when they do not
expect it). Bank holidays never open a send window (`send_window.is_open`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, time

from app.domain import priority
from app.domain.send_window import DAY_NAMES, SendWindow

USUAL_START = time(8, 0)
USUAL_END = time(20, 0)
SUNDAY = DAY_NAMES.index("sun")
LIMITS = {
    # field: (low, high, what the form calls it)
    "hold_hours": (1, 24 * 14, "Hours the three times are held"),
    "max_invitations": (1, 10, "Most invitations to one person"),
    "reminder_hours": (0, 24 * 14, "Reminder delay"),
    "min_notice_hours": (0, 24 * 7, "Minimum notice"),
}


@dataclass(frozen=True)
class Draft:
    """The settings of a campaign as typed, before anything is stored."""

    name: str
    lawful_basis: str
    practices: Sequence[str]
    variants: Sequence[tuple[str, int]]
    hold_hours: int
    max_invitations: int
    reminder_hours: int
    min_notice_hours: int
    info_url: str | None
    send_window: str
    send_days: str
    on: date
    on_reason: str = ""
    unusual_window_reason: str = ""
    priority: str = priority.DEFAULT_POLICY


def unusual_times(window: SendWindow) -> list[str]:
    """Why a send window would text people when they do not expect it; empty if it would not."""
    reasons = []
    if window.start < USUAL_START:
        reasons.append(f"it starts at {window.start:%H:%M}, before 08:00")
    if window.end > USUAL_END:
        reasons.append(f"it ends at {window.end:%H:%M}, after 20:00")
    if SUNDAY in window.days:
        reasons.append("it sends on Sundays")
    return reasons


def check(draft: Draft, *, today: date, known_variants: Collection[str]) -> dict[str, str]:
    """Every problem with `draft`, by field name; empty when it may be saved."""
    errors: dict[str, str] = {}
    if not draft.name.strip():
        errors["name"] = "Enter a name for the campaign"
    if not draft.practices:
        errors["practices"] = "Choose at least one practice"
    if not draft.on_reason.strip() and draft.on != today:
        errors["on"] = (
            f"The cohort date is {draft.on:%-d %B %Y}, not today: eligibility would be worked"
            " out as of that day. Use today's date or give a reason"
        )
        errors["on_reason"] = "Give a reason for using a cohort date other than today"
    if not draft.lawful_basis.strip():
        errors["lawful_basis"] = "Enter the lawful basis for processing (UK GDPR Article 6 and 9)"
    variant_error = _variants(draft.variants, known_variants)
    if variant_error:
        errors["variants"] = variant_error
    for field, (low, high, label) in LIMITS.items():
        value = getattr(draft, field)
        if not low <= value <= high:
            errors[field] = f"{label} must be from {low} to {high}"
    if (
        "reminder_hours" not in errors
        and "hold_hours" not in errors
        and draft.reminder_hours
        and draft.reminder_hours >= draft.hold_hours
    ):
        errors["reminder_hours"] = (
            "The reminder must come before the times stop being held: make it fewer hours"
            f" than {draft.hold_hours}"
        )
    errors.update(_window(draft))
    if draft.info_url and not draft.info_url.startswith(("https://", "http://")):
        errors["info_url"] = "Enter the information link as a full address starting https://"
    try:
        priority.check_policy(draft.priority)
    except ValueError as error:
        errors["priority"] = str(error)
    return errors


def _variants(variants: Sequence[tuple[str, int]], known: Collection[str]) -> str | None:
    if not variants:
        return "Choose at least one message variant"
    names = [name for name, _ in variants]
    if len(set(names)) != len(names):
        return "Give each message variant only once"
    for name, weight in variants:
        if name not in known:
            return f"There is no message template for the variant {name!r} (invitation_{name})"
        if weight < 1:
            return f"Give the variant {name.replace('_', ' ')} a weight of 1 or more"
    return None


def _window(draft: Draft) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        SendWindow.parse(draft.send_window, "mon")
    except ValueError:
        errors["send_window"] = "Enter the send window as a start and an end time, like 09:00-19:00"
    try:
        SendWindow.parse("09:00-19:00", draft.send_days)
    except ValueError:
        errors["send_days"] = (
            "Enter the send days as day names or ranges, like mon-sat or mon,wed,fri"
        )
    if errors:
        return errors
    window = SendWindow.parse(draft.send_window, draft.send_days)
    unusual = unusual_times(window)
    if unusual and not draft.unusual_window_reason.strip():
        errors["send_window"] = (
            f"This send window is unusual: {' and '.join(unusual)}. People may be woken or"
            " worried by a text then. Change it, or give a reason to confirm it"
        )
        errors["unusual_window_reason"] = "Give a reason for sending at these unusual times"
    return errors
