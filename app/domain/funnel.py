"""The uptake funnel as published: stages, rates, dimensions, labels and report shapes.

Counting rules (intention to treat: each cohort member counts once, in the arm and groups
they had at approval, from the snapshot columns of campaign_member):
- eligible: every member not removed; of them, not textable (cohort_status) and textable;
- invited: an invitation SMS left us (sent, delivered, undelivered, failed or uncertain);
- delivered / undeliverable: an invitation was delivered / none was and one failed;
- replied: an inbound SMS from the offer's number while the offer was open;
- booked: a live booking (not cancelled) in the campaign; attended: one marked attended;
  replied, booked and attended count only invited members, so the funnel nests;
- opted out, declined: the member's state; expired without reply: an offer expired and
  the member neither replied nor booked.
Rates (OHID definitions; take-up = attended / invited is the national measure):
coverage = invited / eligible, textable coverage = textable / eligible, delivery =
delivered / invited, response = replied / invited, booking = booked / invited, attendance
= attended / booked, take-up = attended / invited. Every rate has a 95% Wilson interval.
Outcomes (rules in app.domain.outcomes), among invited members whose check was attended:
checks completed (= attended), found at 10%+ / 20%+ ten-year CVD risk, new hypertension,
new diabetes or non-diabetic hyperglycaemia, referred, and detected (10%+ risk, new
hypertension, or new diabetes or NDH); detections per 100 invited = 100 x detected /
invited (its interval likewise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain import eligibility, ethnicity, languages
from app.domain.suppression import ALL, Rule, shown

DIMENSIONS: dict[str, str] = {
    "age_band": "Age band",
    "sex": "Sex",
    "ethnic_group": "Ethnic group",
    "ethnic_category": "Ethnic category",
    "imd_quintile": "IMD quintile",
    "language": "Language",
    "interpreter_needed": "Interpreter needed",
    "practice": "Practice",
    "variant": "Message variant",
}
BASELINE_DIMENSIONS = ("age_band", "sex", "ethnic_group", "imd_quintile", "practice")

STAGES: dict[str, str] = {
    "eligible": "Eligible",
    "not_textable": "Eligible, not textable",
    "textable": "Eligible, textable",
    "invited": "Invited",
    "delivered": "Delivered",
    "replied": "Replied",
    "booked": "Booked",
    "attended": "Attended",
    "opted_out": "Opted out",
    "declined": "Declined",
    "expired": "Expired without reply",
    "undeliverable": "Undeliverable",
    # what the checks found (app.domain.outcomes): attended members with an outcome
    "checks_completed": "Checks completed",
    "risk_10": "Found at 10%+ CVD risk",
    "risk_20": "Found at 20%+ CVD risk",
    "new_hypertension": "New hypertension",
    "new_diabetes": "New diabetes or NDH",
    "referred": "Referred",
    "detected": "Detections",
}
FUNNEL = ("eligible", "invited", "delivered", "replied", "booked", "attended")
OUTCOME_STAGES = (
    "invited",
    "checks_completed",
    "risk_10",
    "risk_20",
    "new_hypertension",
    "new_diabetes",
    "referred",
    "detected",
)

# name -> (numerator, denominator, label)
RATES: dict[str, tuple[str, str, str]] = {
    "coverage": ("invited", "eligible", "Coverage (invited / eligible)"),
    "textable_coverage": ("textable", "eligible", "Textable (textable / eligible)"),
    "delivery": ("delivered", "invited", "Delivery (delivered / invited)"),
    "response": ("replied", "invited", "Response (replied / invited)"),
    "booking": ("booked", "invited", "Booking (booked / invited)"),
    "attendance": ("attended", "booked", "Attendance (attended / booked)"),
    "take_up": ("attended", "invited", "Take-up (attended / invited)"),
    "detection": ("detected", "invited", "Detections per 100 invited"),
}
TRIAL_RATES = ("booking", "take_up")
NOT_KNOWN = "Not known"


class ReportError(ValueError):
    """A report request that cannot be answered (unknown dimension, no such campaign)."""


@dataclass(frozen=True)
class Rate:
    """A published rate: value and 95% Wilson interval, or suppressed."""

    value: float | None
    low: float | None
    high: float | None
    suppressed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "suppressed": self.suppressed,
        }


@dataclass(frozen=True)
class GroupRow:
    """One group of a breakdown (or its margin, or the total) as published."""

    key: tuple[str, ...]  # raw dimension values; ALL for a margin
    labels: tuple[str, ...]
    counts: dict[str, int | None]  # None = suppressed
    rates: dict[str, Rate]
    is_margin: bool = False

    def as_dict(self, by: Sequence[str]) -> dict[str, Any]:
        return {
            "group": dict(zip(by, self.labels, strict=True)),
            "is_total": self.is_margin,
            "counts": {k: shown(v) for k, v in self.counts.items()},
            "rates": {k: r.as_dict() for k, r in self.rates.items()},
        }


@dataclass(frozen=True)
class EquityRow:
    labels: tuple[str, ...]
    take_up: Rate
    ratio_to_overall: float | None
    textable_coverage: Rate
    coverage: Rate


@dataclass(frozen=True)
class EquityView:
    """Take-up gap between the highest and lowest group, ratios to overall, coverage."""

    highest: str | None
    lowest: str | None
    gap: float | None
    rows: list[EquityRow]


@dataclass(frozen=True)
class UptakeReport:
    campaign_ids: tuple[int, ...]
    campaign_names: tuple[str, ...]
    by: tuple[str, ...]
    suppressed: bool
    rule: Rule
    total: GroupRow
    groups: list[GroupRow]  # cells first, then margins (2-way), sorted
    equity: EquityView | None
    generated_at: datetime
    figures_as_of: datetime | None = None  # when the funnel stamps were last refreshed
    # members not invited because a condition the vocabulary does not know holds them
    # (state needs_review), as published: None = suppressed
    held_for_review: int | None = 0

    @property
    def disclosure(self) -> str:
        return disclosure_note(self.suppressed, self.rule)

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaigns": [
                {"id": i, "name": n}
                for i, n in zip(self.campaign_ids, self.campaign_names, strict=True)
            ],
            "by": list(self.by),
            "suppressed": self.suppressed,
            "disclosure": self.disclosure,
            "generated_at": self.generated_at.isoformat(),
            "figures_as_of": self.figures_as_of.isoformat() if self.figures_as_of else None,
            "total": self.total.as_dict(self.by),
            "groups": [g.as_dict(self.by) for g in self.groups],
            "equity": equity_dict(self.equity) if self.equity else None,
            "held_for_review": shown(self.held_for_review),
        }


@dataclass(frozen=True)
class Comparison:
    """One arm against control for one rate, within one group (or overall)."""

    group: tuple[str, ...]
    rate: str
    variant: str
    numerator: int | None
    denominator: int | None
    value: Rate
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    suppressed: bool


@dataclass(frozen=True)
class BalanceRow:
    dimension: str
    label: str
    counts: dict[str, int | None]  # variant -> members allocated
    shares: dict[str, float | None]  # variant -> share of that arm


@dataclass(frozen=True)
class TrialReport:
    """The randomised comparison of message variants, and the baseline balance table."""

    campaign_ids: tuple[int, ...]
    control: str
    variants: tuple[str, ...]
    within: str | None
    suppressed: bool
    rule: Rule
    comparisons: list[Comparison]
    balance: list[BalanceRow] = field(default_factory=list)
    figures_as_of: datetime | None = None

    @property
    def disclosure(self) -> str:
        return disclosure_note(self.suppressed, self.rule)


def disclosure_note(suppressed: bool, rule: Rule) -> str:
    if suppressed:
        return (
            f"NHS Digital rule: 0 shown as 0, 1-{rule.suppress_below - 1} shown as *, other "
            f"counts rounded to the nearest {rule.round_to}; rates from the rounded counts; "
            "other cells hidden wherever a total would reveal a hidden one."
        )
    return "For admins only, never to be published: exact counts with no disclosure control."


def check_dimensions(by: Sequence[str]) -> tuple[str, ...]:
    """The dimensions asked for, checked: known names, at most two, no repeats."""
    dims = tuple(d.strip() for d in by if d.strip())
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise ReportError(
            f"unknown dimension {', '.join(unknown)}; choose from {', '.join(DIMENSIONS)}"
        )
    if len(dims) > 2:
        raise ReportError("break down by at most two dimensions")
    if len(set(dims)) != len(dims):
        raise ReportError("a dimension cannot be crossed with itself")
    return dims


def label(dimension: str, value: Any) -> str:
    """The published label for one value of a dimension."""
    if value is None:
        return "Not allocated" if dimension == "variant" else NOT_KNOWN
    if dimension == "sex":
        return eligibility.SEX_LABELS.get(str(value), NOT_KNOWN)
    if dimension == "ethnic_group":
        return ethnicity.GROUP_LABELS.get(str(value), str(value))
    if dimension == "ethnic_category":
        code = str(value)
        name = ethnicity.CATEGORY_LABELS.get(code)
        if name is None:
            return NOT_KNOWN
        group = ethnicity.group_of(code)
        if group == "not_stated":
            return name
        return f"{ethnicity.GROUP_LABELS[group]}: {name}"
    if dimension == "language":
        known = languages.LANGUAGES.get(str(value))
        return known.label if known else NOT_KNOWN
    if dimension == "interpreter_needed":
        return "Interpreter needed" if value else "No interpreter needed"
    if dimension == "imd_quintile":
        q = int(value)
        suffix = {1: " (most deprived)", 5: " (least deprived)"}.get(q, "")
        return f"Q{q}{suffix}"
    return str(value)


def sort_key(dimension: str, value: Any) -> tuple[int, Any]:
    if value is None or value == ALL:
        return (9, "")
    if dimension == "sex":
        return (0, "1290".index(str(value)) if str(value) in "1290" else 8)
    if dimension == "ethnic_group":
        groups = ethnicity.GROUPS
        return (0, groups.index(value) if value in groups else len(groups))
    if dimension == "ethnic_category":
        order = list(ethnicity.CATEGORY_LABELS)
        return (0, order.index(value) if value in order else len(order))
    if dimension == "imd_quintile":
        return (0, int(value))
    if dimension == "language":
        order = list(languages.LANGUAGES)
        return (0, order.index(value) if value in order else len(order))
    if dimension == "interpreter_needed":
        return (0, 0 if value else 1)
    if dimension == "variant":
        return (0, str(value))
    return (0, str(value))


def equity_dict(view: EquityView) -> dict[str, Any]:
    return {
        "highest": view.highest,
        "lowest": view.lowest,
        "gap": view.gap,
        "groups": [
            {
                "group": list(r.labels),
                "take_up": r.take_up.as_dict(),
                "ratio_to_overall": r.ratio_to_overall,
                "textable_coverage": r.textable_coverage.as_dict(),
                "coverage": r.coverage.as_dict(),
            }
            for r in view.rows
        ],
    }
