"""What an admin reviews before approving a campaign: the cohort preview and each variant
rendered with example data, its encoding, segment count and cost.

The preview counts the same cohort query approval snapshots
(`app.data.cohort.cohort_query`), grouped in the database: no patient row is loaded.
The example invitation is rendered by the production renderer
(`offers.render_invitation`) with deliberately long example values, so the segment
count shown is the worst case a real patient sees, not a flattering one.

Per language the review shows how many people the cohort has in it, whether they get
the translation or English (a draft is never sent), the translated invitation even
while a draft, its cost, and the GSM-7-friendly spelling the language allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.data import campaigns as campaign_data
from app.data import cohort as cohort_data
from app.data.db import Database
from app.data.models import Campaign, Practice
from app.domain import eligibility, ethnicity, languages, spelling
from app.domain.segments import count as count_segments
from app.services import campaigns, cohort, offers
from app.settings import Settings
from app.sms import translations


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
    language: str = languages.ENGLISH
    plain: spelling.SpellingOffer | None = None
    plain_cost_gbp: float = 0.0


def cohort_preview(db: Database, practice_ids: Sequence[int], on: date) -> dict[str, Any]:
    """Counts of the would-be cohort as approval would snapshot it today: eligible
    (textable), eligible but not textable, held for review (with the unrecognised
    condition terms), and the textable people in each reporting group. A view of
    `app.services.cohort.preview`, the one cohort query."""
    with db.transaction() as session:
        counts = cohort.preview(session, list(practice_ids), on)
    tables = {
        "age_band": counts.by_age_band,
        "sex": counts.by_sex,
        "ethnic_group": counts.by_ethnic_group,
        "imd_quintile": counts.by_imd_quintile,
    }
    return {
        "eligible": counts.eligible,
        "not_textable": counts.not_textable,
        "total": counts.eligible_total,
        "needs_review": counts.needs_review,
        "review_terms": counts.review_terms,
        "excluded": counts.excluded,
        "by": {
            group: [
                (_label(group, key), split.textable) for key, split in table.items() if split.total
            ]
            for group, table in tables.items()
        },
    }


def _label(group: str, key: str) -> str:
    if group == "sex":
        return eligibility.SEX_LABELS.get(key, key)
    if group == "ethnic_group":
        return ethnicity.GROUP_LABELS.get(key, key)
    if group == "imd_quintile":
        if key == "unknown":
            return "Not recorded"
        return f"IMD quintile {key}" + (" (most deprived)" if key == "1" else "")
    return key


def variant_examples(
    variants: Mapping[str, int],
    *,
    practice_name: str,
    practice_phone: str | None,
    info_url: str | None,
    hold_hours: int,
    now: datetime,
    settings: Settings,
    language: str = languages.ENGLISH,
) -> list[VariantExample]:
    """Each variant's invitation as a patient would get it, with its cost to send; in
    `language`, the translation even while it is a draft (for the reviewer to see)."""
    price = settings.sms_cost_per_segment_gbp
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
                language=language,
            ),
            demo_approved=True,
        )
        counted = count_segments(text)
        plain = spelling.offer(language, text)
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
                language=language,
                plain=plain,
                plain_cost_gbp=round(plain.after.segments * price, 4) if plain else 0.0,
            )
        )
    return examples


@dataclass(frozen=True)
class LanguageReview:
    """One language of the cohort: who is in it and what they would be sent."""

    code: str
    label: str
    direction: str
    people: int
    status: translations.LanguageStatus | None  # None for English
    examples: list[VariantExample]

    @property
    def sends(self) -> str:
        """What these people are sent: the translation, or English and why."""
        if self.status is None:
            return "English"
        if self.status.drafts:
            return "English: the translation is a draft"
        if self.status.demo:
            return "translation (demo approval, not a translator's)"
        if self.status.approved:
            return "translation"
        return "English: no translation"

    @property
    def blocked(self) -> bool:
        """Approval waits for this language's drafts, or the reviewer's acceptance of English."""
        return self.status is not None and not self.status.sendable


def language_review(
    db: Database,
    practice_ids: Sequence[int],
    on: date,
    variants: Mapping[str, int],
    *,
    example: Mapping[str, Any],
    settings: Settings,
) -> list[LanguageReview]:
    """Each language of the would-be cohort, most people first (English always shown).
    `example`: practice_name, practice_phone, info_url, hold_hours and now for the
    example invitations."""
    with db.transaction() as session:
        counts = cohort_data.language_counts(session, list(practice_ids), on)
    counts.setdefault(languages.ENGLISH, 0)
    rows = []
    for code, people in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        language = languages.get(code)
        english = code == languages.ENGLISH
        status = None
        examples: list[VariantExample] = []
        if not english:
            status = translations.language_status(
                code, demo_approved=settings.translations_demo_approved
            )
            examples = variant_examples(variants, **example, settings=settings, language=code)
        rows.append(
            LanguageReview(code, language.label, language.direction, people, status, examples)
        )
    return rows


def available_variants() -> list[str]:
    """Variant names that have an invitation template (message_templates/invitation_*);
    `<name>_english` (the same, always in English) is accepted too, not listed."""
    from app.sms.rendering import TEMPLATE_DIR

    return sorted(
        p.name.removeprefix("invitation_").removesuffix(".txt.j2")
        for p in TEMPLATE_DIR.glob("invitation_*.txt.j2")
    )


def listing(db: Database) -> list[dict[str, Any]]:
    """Every campaign, newest first, with its member counts (the campaigns page)."""
    with db.transaction() as session:
        rows = campaign_data.newest_first(session)
        return [{"campaign": c, "counts": campaigns.counts(session, c.id)} for c in rows]


def with_practices(db: Database, campaign_id: int) -> tuple[Campaign, list[Practice]] | None:
    """A campaign and its practices in name order; None when there is no such campaign."""
    with db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return None
        return campaign, campaign_data.practices_by_name(session, campaign_id)
