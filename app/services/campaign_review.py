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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.data import campaigns as campaign_data
from app.data import cohort as cohort_data
from app.data.db import Database
from app.data.models import Campaign, Practice
from app.domain import eligibility, ethnicity, languages, spelling
from app.domain.offers import earliest_start, example_times
from app.domain.segments import count as count_segments
from app.domain.send_window import SendWindow, next_opening
from app.services import campaigns, cohort, offers
from app.settings import Settings
from app.sms import translations

# the words `flask cohort preview` prints, as a sentence
EXCLUSION_LABELS = {
    eligibility.AGE: "Age outside 40 to 74",
    eligibility.CONDITION: "A condition that excludes them (for example diabetes)",
    eligibility.RECENT_CHECK: "A health check in the last 5 years",
    eligibility.OPTED_OUT: "Opted out",
}


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
        "listed": counts.listed,
        "exclusions": [
            *((EXCLUSION_LABELS[r], counts.excluded.get(r, 0)) for r in eligibility.REASONS),
            ("Held for review (a condition Nudge does not recognise)", counts.needs_review),
        ],
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


def example_schedule(campaign: Campaign, now: datetime) -> tuple[datetime, list[datetime]]:
    """When an invitation sent at the campaign's next send would expire, and three
    plausible clinic times it could offer: after that expiry plus the minimum notice."""
    window = SendWindow.stored(
        campaign.send_window_start, campaign.send_window_end, campaign.send_days
    )
    try:
        sent = next_opening(window, now)
    except ValueError:
        sent = now
    expires_at = offers.expiry_for(sent, campaign.hold_hours)
    return expires_at, example_times(earliest_start(expires_at, campaign.min_notice_hours))


def variant_examples(
    campaign: Campaign,
    *,
    practice_name: str,
    practice_phone: str | None,
    now: datetime,
    settings: Settings,
    language: str = languages.ENGLISH,
) -> list[VariantExample]:
    """Each variant's invitation as a patient would get it, with its cost to send; in
    `language`, the translation even while it is a draft (for the reviewer to see). The
    times follow the campaign's own rules: sent in its send window, held for its hold
    hours, offering clinic times after the reply deadline plus the minimum notice."""
    price = settings.sms_cost_per_segment_gbp
    expires_at, starts = example_schedule(campaign, now)
    variants = campaign.variants
    info_url = campaign.info_url
    examples = []
    for name, weight in variants.items():
        text = offers.render_invitation(
            offers.InvitationFacts(
                variant=name,
                first_name="Alexandra",
                practice_name=practice_name,
                practice_phone=practice_phone,
                slot_starts=starts,
                expires_at=expires_at,
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
    campaign: Campaign,
    practices: Sequence[Practice],
    *,
    now: datetime,
    settings: Settings,
) -> list[LanguageReview]:
    """Each language of the would-be cohort, most people first (English always shown),
    with the campaign's invitations as that language's people would get them."""
    practice_ids = [p.id for p in practices]
    on = campaign.reference_date
    first = practices[0] if practices else None
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
            examples = variant_examples(
                campaign,
                practice_name=first.name if first else "Your GP practice",
                practice_phone=first.phone if first else None,
                now=now,
                settings=settings,
                language=code,
            )
        rows.append(
            LanguageReview(code, language.label, language.direction, people, status, examples)
        )
    return rows


def available_variants() -> list[str]:
    """Variant names that have an invitation template (message_templates/invitation_*),
    each followed by `<name>_english`: the same invitation always sent in English, so a
    campaign can randomise English against the translations."""
    names = sorted(n for n in campaigns.known_variants() if not languages.variant_template(n)[1])
    return [v for name in names for v in (name, name + languages.ENGLISH_VARIANT_SUFFIX)]


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
