"""What an admin reviews before approving a campaign: the cohort preview and each variant
rendered with example data, its encoding, segment count and cost.

The preview counts the same cohort query approval snapshots (`campaigns.cohort_select`,
lane A's eligibility query when present), grouped in the database: no patient row is
loaded. The example invitation is rendered by the production renderer
(`offers.render_invitation`) with deliberately long example values, so the segment
count shown is the worst case a real patient sees, not a flattering one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.data.db import Database
from app.domain.segments import count as count_segments
from app.services import campaigns, offers

GROUPS = ("age_band", "sex", "ethnic_group", "imd_quintile")
SEX_LABELS = {"1": "Male", "2": "Female", "9": "Indeterminate", "0": "Not known"}


@dataclass(frozen=True)
class VariantExample:
    name: str
    weight: int
    text: str
    encoding: str
    characters: int
    segments: int
    cost_gbp: float
    unicode_chars: tuple[str, ...]


def cohort_preview(db: Database, practice_ids: Sequence[int], on: date) -> dict[str, Any]:
    """Counts of the would-be cohort: eligible (textable), eligible but not textable, and
    each reporting group, as approval would snapshot them today."""
    cohort = campaigns.cohort_select(list(practice_ids), on).subquery()
    out: dict[str, Any] = {"by": {}}
    with db.transaction() as session:
        status: dict[str, int] = dict(
            session.execute(
                select(cohort.c.cohort_status, func.count()).group_by(cohort.c.cohort_status)
            ).all()
        )
        for group in GROUPS:
            column = cohort.c[group]
            rows = session.execute(
                select(column, func.count())
                .where(cohort.c.cohort_status == "eligible")
                .group_by(column)
                .order_by(column)
            ).all()
            out["by"][group] = [(_label(group, value), n) for value, n in rows]
    out["eligible"] = int(status.get("eligible", 0))
    out["not_textable"] = int(status.get("not_textable", 0))
    out["total"] = out["eligible"] + out["not_textable"]
    return out


def _label(group: str, value: Any) -> str:
    if value is None:
        return "Not recorded"
    if group == "sex":
        return SEX_LABELS.get(str(value), str(value))
    if group == "imd_quintile":
        return f"IMD quintile {value}" + (" (most deprived)" if value == 1 else "")
    return str(value).replace("_", " ").capitalize()


def variant_examples(
    variants: Mapping[str, int],
    *,
    practice_name: str,
    practice_phone: str | None,
    info_url: str | None,
    hold_hours: int,
    now: datetime,
    config: Mapping[str, Any],
) -> list[VariantExample]:
    """Each variant's invitation as a patient would get it, with its cost to send."""
    price = float(config.get("SMS_COST_PER_SEGMENT_GBP", 0.04))
    starts = [now + timedelta(days=d, hours=h) for d, h in ((2, 0), (3, 3), (5, 6))]
    examples = []
    for name, weight in variants.items():
        text = offers.render_invitation(
            offers.InvitationFacts(
                variant=name,
                first_name="Alexandra",
                practice_name=practice_name,
                practice_phone=practice_phone,
                slot_starts=starts,
                expires_at=offers.expiry_for(now, hold_hours),
                info_url=info_url or campaigns.DEFAULT_INFO_URL,
                age_band="40-44",
                sex="2",
            )
        )
        counted = count_segments(text)
        examples.append(
            VariantExample(
                name=name,
                weight=int(weight),
                text=text,
                encoding=counted.encoding,
                characters=counted.characters,
                segments=counted.segments,
                cost_gbp=round(counted.segments * price, 4),
                unicode_chars=counted.unicode_chars,
            )
        )
    return examples


def available_variants() -> list[str]:
    """Variant names that have an invitation template (message_templates/invitation_*)."""
    from app.sms.rendering import TEMPLATE_DIR

    return sorted(
        p.name.removeprefix("invitation_").removesuffix(".txt.j2")
        for p in TEMPLATE_DIR.glob("invitation_*.txt.j2")
    )
