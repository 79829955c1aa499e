"""The campaign settings form (create and edit a draft): reading what was typed into a
`CampaignSpec`, and ordering the errors as the fields appear so the error summary reads
top to bottom. The rules themselves are the domain's (`app.domain.campaign_rules`)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from flask import request

from app.services import campaigns
from app.web.display import london_today

if TYPE_CHECKING:
    from app.data.models import Campaign

# in the order the form shows them: the error summary follows it
ORDER = (
    "name",
    "practices",
    "on",
    "on_reason",
    "lawful_basis",
    "variants",
    "hold_hours",
    "reminder_hours",
    "max_invitations",
    "min_notice_hours",
    "send_window",
    "send_days",
    "unusual_window_reason",
    "info_url",
    "priority",
)
TEXT_FIELDS = tuple(f for f in ORDER if f not in {"practices", "variants", "priority"})
NUMBERS = {
    "hold_hours": "Enter the hours the three times are held as a whole number, like 48",
    "reminder_hours": "Enter the reminder delay as a whole number of hours, or 0 for none",
    "max_invitations": "Enter the most invitations to one person as a whole number, like 2",
    "min_notice_hours": "Enter the minimum notice as a whole number of hours, like 12",
}
DEFAULTS = {
    "hold_hours": "48",
    "send_window": "09:00-19:00",
    "send_days": "mon-sat",
    "max_invitations": "2",
    "reminder_hours": "24",
    "min_notice_hours": "12",
    "info_url": campaigns.DEFAULT_INFO_URL,
    "lawful_basis": "",
    "name": "",
    "on_reason": "",
    "unusual_window_reason": "",
}


def blank() -> dict[str, Any]:
    """A new campaign's form: the documented defaults and today's cohort date."""
    return {**DEFAULTS, "on": london_today().isoformat()}


def from_campaign(campaign: Campaign) -> dict[str, Any]:
    """A draft's settings as the form shows them, for editing."""
    return {
        **DEFAULTS,
        "name": campaign.name,
        "on": campaign.reference_date.isoformat(),
        "lawful_basis": campaign.lawful_basis,
        "hold_hours": str(campaign.hold_hours),
        "reminder_hours": str(campaign.reminder_hours),
        "max_invitations": str(campaign.max_invitations),
        "min_notice_hours": str(campaign.min_notice_hours),
        "send_window": f"{campaign.send_window_start:%H:%M}-{campaign.send_window_end:%H:%M}",
        "send_days": campaign.send_days,
        "info_url": campaign.info_url or "",
    }


def posted(variants: list[str]) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """The submitted text fields, chosen practices and chosen variants with weights."""
    form = {k: request.form.get(k, "").strip() for k in TEXT_FIELDS}
    chosen_variants = {
        v: request.form.get(f"weight_{v}", "1").strip() or "1"
        for v in request.form.getlist("variants")
        if v in variants
    }
    return form, request.form.getlist("practices"), chosen_variants


def spec(
    form: dict[str, Any], practices: list[str], variants: dict[str, str]
) -> tuple[campaigns.CampaignSpec, dict[str, str]]:
    """A spec from the form and the errors only the form can see (a number that is not a
    number, a date that is not a date). Unreadable values fall back to the defaults so the
    domain still checks every other field in the same submission."""
    errors: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for name, message in NUMBERS.items():
        text = str(form[name])
        if text.isdigit():
            numbers[name] = int(text)
        else:
            errors[name] = message
            numbers[name] = int(DEFAULTS[name])
    weights: list[tuple[str, int]] = []
    for variant, weight in variants.items():
        if weight.isdigit() and int(weight) >= 1:
            weights.append((variant, int(weight)))
        else:
            errors["variants"] = (
                f"Give the variant {variant.replace('_', ' ')} a whole-number weight of 1 or more"
            )
            weights.append((variant, 1))
    on: date | None
    try:
        on = date.fromisoformat(form["on"])
    except ValueError:
        errors["on"] = "Enter the cohort date as a real date, like 2026-02-02"
        on = None
    # the control arm is the first variant: keep "control" first when chosen
    weights.sort(key=lambda item: (item[0] != "control", item[0]))
    return (
        campaigns.CampaignSpec(
            name=form["name"],
            practices=practices,
            lawful_basis=form["lawful_basis"],
            on=on,
            variants=weights,
            hold_hours=numbers["hold_hours"],
            send_window=form["send_window"],
            send_days=form["send_days"],
            max_invitations=numbers["max_invitations"],
            reminder_hours=numbers["reminder_hours"],
            info_url=form["info_url"] or None,
            min_notice_hours=numbers["min_notice_hours"],
            on_reason=form["on_reason"],
            unusual_window_reason=form["unusual_window_reason"],
        ),
        errors,
    )


def ordered(*sources: dict[str, str]) -> dict[str, str]:
    """Errors merged (earlier sources win a field) in the order the form shows the fields."""
    merged: dict[str, str] = {}
    for source in reversed(sources):
        merged.update(source)
    return {k: merged[k] for k in sorted(merged, key=_position)}


def _position(field: str) -> int:
    return ORDER.index(field) if field in ORDER else len(ORDER)
