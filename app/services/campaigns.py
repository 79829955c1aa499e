"""Campaigns: create a draft, approve its cohort, pause, resume, close, and count progress.

Rules (README, "Campaigns"): a campaign names its practices, cohort reference date,
variants and weights (the first is the control), hold time, send window, invitation
limit, reminder delay, information link and lawful basis (required: the ICO expects it
documented). A draft never sends. Approval snapshots the cohort into `campaign_member`
in one INSERT ... SELECT and allocates each member's trial arm once (seeded), so the
trial is analysed by intention to treat. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.clock import LONDON
from app.data import campaigns as campaign_data
from app.data.db import Database
from app.data.models import Campaign, Practice
from app.domain import allocation, campaign_rules, languages, priority
from app.domain.send_window import SendWindow
from app.services import audit
from app.settings import Settings
from app.sms import translations
from app.sms.translations import TEMPLATE_DIR

STATES = ("draft", "active", "paused", "closed")
# the NHS page about the check: official, readable, on a domain residents trust
DEFAULT_INFO_URL = "https://www.nhs.uk/conditions/nhs-health-check/"


class CampaignError(ValueError):
    """A campaign request that cannot be done as asked. `errors` keys each problem by the
    setting it belongs to (empty for a request about the campaign as a whole)."""

    def __init__(self, problem: str | dict[str, str]) -> None:
        self.errors = dict(problem) if isinstance(problem, dict) else {}
        super().__init__("; ".join(self.errors.values()) if self.errors else problem)


@dataclass
class CampaignSpec:
    """Everything `campaigns create` accepts, with its documented defaults."""

    name: str
    practices: Sequence[str]  # ODS codes
    lawful_basis: str
    on: date | None = None
    variants: Sequence[tuple[str, int]] = (("control", 1),)
    hold_hours: int = 48
    send_window: str = "09:00-19:00"
    send_days: str = "mon-sat"
    max_invitations: int = 2
    reminder_hours: int = 24
    info_url: str | None = None
    min_notice_hours: int = 12
    priority: str = priority.DEFAULT_POLICY
    seed: int | None = None
    on_reason: str = ""  # why the cohort date is not today (audited)
    unusual_window_reason: str = ""  # why texts may go at unusual times (audited)


def known_variants() -> set[str]:
    """Variant names that have an invitation template (message_templates/invitation_*),
    each also as `<name>_english`: the same invitation, always sent in English."""
    names = {
        p.name.removeprefix("invitation_").removesuffix(".txt.j2")
        for p in TEMPLATE_DIR.glob("invitation_*.txt.j2")
    }
    return names | {name + languages.ENGLISH_VARIANT_SUFFIX for name in names}


def check(spec: CampaignSpec, *, today: date) -> SendWindow:
    """The spec's send window, or a CampaignError naming every problem by field."""
    draft = campaign_rules.Draft(
        name=spec.name,
        lawful_basis=spec.lawful_basis,
        practices=spec.practices,
        variants=spec.variants,
        hold_hours=spec.hold_hours,
        max_invitations=spec.max_invitations,
        reminder_hours=spec.reminder_hours,
        min_notice_hours=spec.min_notice_hours,
        info_url=spec.info_url,
        send_window=spec.send_window,
        send_days=spec.send_days,
        on=spec.on or today,
        on_reason=spec.on_reason,
        unusual_window_reason=spec.unusual_window_reason,
        priority=spec.priority,
    )
    errors = campaign_rules.check(draft, today=today, known_variants=known_variants())
    if errors:
        raise CampaignError(errors)
    return SendWindow.parse(spec.send_window, spec.send_days)


def practices_for(session: Session, spec: CampaignSpec) -> list[Practice]:
    """The spec's practices, or a CampaignError naming the ODS codes that match none."""
    practices = campaign_data.practices_with_ods(session, spec.practices)
    missing = sorted({p.upper() for p in spec.practices} - {p.ods_code for p in practices})
    if missing:
        raise CampaignError(
            {"practices": f"There is no practice with ODS code {', '.join(missing)}"}
        )
    return list(practices)


def fill(campaign: Campaign, spec: CampaignSpec, window: SendWindow, today: date) -> None:
    """Copy a checked spec onto a draft campaign's columns."""
    campaign.name = spec.name.strip()
    campaign.reference_date = spec.on or today
    campaign.lawful_basis = spec.lawful_basis.strip()
    campaign.variants = dict(spec.variants)
    campaign.control_variant = spec.variants[0][0]
    campaign.hold_hours = spec.hold_hours
    campaign.min_notice_hours = spec.min_notice_hours
    campaign.send_window_start = window.start
    campaign.send_window_end = window.end
    campaign.send_days = window.describe().split(" ", 1)[1]
    campaign.max_invitations = spec.max_invitations
    campaign.reminder_hours = spec.reminder_hours
    campaign.info_url = spec.info_url or DEFAULT_INFO_URL
    campaign.priority = spec.priority


def reasons(spec: CampaignSpec) -> dict[str, str]:
    """The reasons given for risky settings, for the audit record."""
    given = {
        "on_reason": spec.on_reason.strip(),
        "unusual_window_reason": spec.unusual_window_reason.strip(),
    }
    return {k: v for k, v in given.items() if v}


def create(db: Database, spec: CampaignSpec, *, now: datetime, actor: str) -> int:
    """Create a draft campaign and return its id."""
    today = now.astimezone(LONDON).date()
    window = check(spec, today=today)
    with db.transaction() as session:
        practices = practices_for(session, spec)
        campaign = Campaign(state="draft", seed=spec.seed or 0, created_by=actor, created_at=now)
        fill(campaign, spec, window, today)
        campaign.practices = practices
        session.add(campaign)
        session.flush()
        if spec.seed is None:
            campaign.seed = campaign.id  # recorded, so the allocation can be reproduced
        audit.record(
            session,
            now=now,
            actor=actor,
            action="campaign.create",
            target=f"campaign:{campaign.id}",
            detail={
                "name": campaign.name,
                "practices": sorted(p.ods_code for p in practices),
                "variants": campaign.variants,
                "lawful_basis": campaign.lawful_basis,
                **reasons(spec),
            },
        )
        return campaign.id


def _transition(
    session: Session,
    campaign_id: int,
    *,
    from_states: tuple[str, ...],
    to_state: str,
    values: dict[str, Any] | None = None,
) -> None:
    if not campaign_data.move_state(
        session, campaign_id, from_states=from_states, to_state=to_state, values=values
    ):
        state = campaign_data.state_of(session, campaign_id)
        if state is None:
            raise CampaignError(f"There is no campaign {campaign_id}")
        raise CampaignError(
            f"Campaign {campaign_id} is {state}: that can only be done to a"
            f" {' or '.join(from_states)} campaign"
        )


@dataclass
class ApprovalResult:
    members: int
    eligible: int
    not_textable: int
    variants: dict[str, int] = field(default_factory=dict)
    needs_review: int = 0  # held for review: members, never offered until resolved


def approve(
    db: Database,
    campaign_id: int,
    *,
    now: datetime,
    actor: str,
    settings: Settings = Settings(),
    english_for: Collection[str] = (),
) -> ApprovalResult:
    """Approve a draft: snapshot its cohort, allocate arms and lottery ranks, go active.

    Refused (nothing changes) while a language its members need has draft translations,
    unless the reviewer accepts English for that language (`english_for`): drafts are
    never sent, so the reviewer must see who would get English instead.
    """
    with db.transaction() as session:
        _transition(
            session,
            campaign_id,
            from_states=("draft",),
            to_state="active",
            values={"approved_by": actor, "approved_at": now},
        )
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        practice_ids = list(campaign_data.campaign_practices(session, campaign_id))
        campaign_data.snapshot_members(
            session, campaign_id, practice_ids, campaign.reference_date, now=now
        )
        english = _check_translations(session, campaign_id, settings, english_for)
        members = campaign_data.members_of(session, campaign_id)
        ids = [m.id for m in members]
        arms = allocation.allocate(ids, campaign.variants, campaign.seed)
        ranks = priority.lottery_ranks(ids, campaign.seed)
        campaign_data.set_arms(
            session, [{"id": i, "variant": arms[i], "priority_rank": ranks[i]} for i in ids]
        )
        counts: dict[str, int] = {}
        for arm in arms.values():
            counts[arm] = counts.get(arm, 0) + 1
        held = sum(1 for m in members if m.state == "needs_review")
        eligible = sum(
            1 for m in members if m.state != "needs_review" and m.cohort_status == "eligible"
        )
        result = ApprovalResult(len(ids), eligible, len(ids) - eligible - held, counts, held)
        audit.record(
            session,
            now=now,
            actor=actor,
            action="campaign.approve",
            target=f"campaign:{campaign_id}",
            detail={
                "members": result.members,
                "eligible": eligible,
                "variants": counts,
                **({"english_accepted_for": english} if english else {}),
            },
        )
        return result


def _check_translations(
    session: Session, campaign_id: int, settings: Settings, english_for: Collection[str]
) -> dict[str, int]:
    """Refuse approval while a language the members need has drafts the reviewer has not
    accepted English for; the languages accepted in English, with their people."""
    needed = campaign_data.member_languages(session, campaign_id)
    blocked: list[str] = []
    accepted: dict[str, int] = {}
    for code, people in sorted(needed.items()):
        if code == languages.ENGLISH or not people:
            continue
        state = translations.language_status(
            code, demo_approved=settings.translations_demo_approved
        )
        if state.sendable:
            continue
        if code in english_for:
            accepted[code] = people
        else:
            blocked.append(
                f"{languages.get(code).english} ({people} {'person' if people == 1 else 'people'})"
            )
    if blocked:
        raise CampaignError(
            "Not approved: draft translations for "
            + ", ".join(blocked)
            + ". Have them approved (approved-by and approved-on in each template's header)"
            " or accept English for those languages."
        )
    return accepted


def pause(db: Database, campaign_id: int, *, now: datetime, actor: str) -> None:
    """Stop new invitations and reminders; open offers stay open until they expire."""
    with db.transaction() as session:
        _transition(session, campaign_id, from_states=("active",), to_state="paused")
        audit.record(
            session, now=now, actor=actor, action="campaign.pause", target=f"campaign:{campaign_id}"
        )


def resume(db: Database, campaign_id: int, *, now: datetime, actor: str) -> None:
    with db.transaction() as session:
        _transition(session, campaign_id, from_states=("paused",), to_state="active")
        audit.record(
            session,
            now=now,
            actor=actor,
            action="campaign.resume",
            target=f"campaign:{campaign_id}",
        )


def close(db: Database, campaign_id: int, *, now: datetime, actor: str) -> None:
    """End the campaign: no more waves; the retention clock starts now."""
    with db.transaction() as session:
        _transition(
            session,
            campaign_id,
            from_states=("draft", "active", "paused"),
            to_state="closed",
            values={"closed_at": now},
        )
        audit.record(
            session, now=now, actor=actor, action="campaign.close", target=f"campaign:{campaign_id}"
        )


def counts(session: Session, campaign_id: int) -> dict[str, Any]:
    """Progress by state: members, offers and messages (set-based, three queries)."""
    member_rows, offers, messages = campaign_data.state_counts(session, campaign_id)
    members = {state: n for state, n, _ in member_rows}
    invited = sum(int(i or 0) for _, _, i in member_rows)
    return {
        "members": sum(members.values()),
        "invited": invited,
        "waiting": members.get("waiting", 0),
        "offered": members.get("offered", 0),
        "booked": members.get("booked", 0),
        "declined": members.get("declined", 0),
        "exhausted": members.get("exhausted", 0),
        "opted_out": members.get("opted_out", 0),
        "not_textable": members.get("not_textable", 0),
        "needs_review": members.get("needs_review", 0),
        "offers": sum(offers.values()),
        "open": offers.get("open", 0),
        "expired": offers.get("expired", 0),
        "queued": messages.get("queued", 0),
        "sending": messages.get("sending", 0),
        "sent": messages.get("sent", 0) + messages.get("delivered", 0),
        "delivered": messages.get("delivered", 0),
        "failed": messages.get("failed", 0) + messages.get("undelivered", 0),
        "uncertain": messages.get("uncertain", 0),
    }


def status(db: Database, campaign_id: int) -> dict[str, Any]:
    """The campaign record and its counts, for `campaigns status` and the staff pages."""
    with db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise CampaignError(f"There is no campaign {campaign_id}")
        record: dict[str, Any] = {
            "id": campaign.id,
            "name": campaign.name,
            "state": campaign.state,
            "practices": sorted(p.ods_code for p in campaign.practices),
            "reference_date": campaign.reference_date.isoformat(),
            "lawful_basis": campaign.lawful_basis,
            "variants": campaign.variants,
            "control_variant": campaign.control_variant,
            "seed": campaign.seed,
            "priority": campaign.priority,
            "hold_hours": campaign.hold_hours,
            "send_window": f"{campaign.send_window_start:%H:%M}-{campaign.send_window_end:%H:%M}",
            "send_days": campaign.send_days,
            "max_invitations": campaign.max_invitations,
            "reminder_hours": campaign.reminder_hours,
            "info_url": campaign.info_url,
        }
        record.update(counts(session, campaign_id))
        return record
