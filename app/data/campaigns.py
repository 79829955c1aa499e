"""Campaign rows: practices by ODS code, state changes that check the state they leave,
the cohort snapshot into members with their arms and ranks, and progress counts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, case, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from app.data.cohort import cohort_query
from app.data.models import (
    Campaign,
    CampaignMember,
    CampaignPractice,
    Message,
    Offer,
    Patient,
    Practice,
)
from app.domain import eligibility


def practices_with_ods(session: Session, ods_codes: Sequence[str]) -> list[Practice]:
    codes = [code.upper() for code in ods_codes]
    return list(session.scalars(select(Practice).where(Practice.ods_code.in_(codes))))


def move_state(
    session: Session,
    campaign_id: int,
    *,
    from_states: tuple[str, ...],
    to_state: str,
    values: dict[str, Any] | None = None,
) -> bool:
    """Move the campaign to `to_state` only from one of `from_states`; False if it was not."""
    changed = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.state.in_(from_states))
        .values(state=to_state, **(values or {}))
    ).rowcount  # type: ignore[attr-defined]
    return bool(changed == 1)


def state_of(session: Session, campaign_id: int) -> str | None:
    return session.scalar(select(Campaign.state).where(Campaign.id == campaign_id))


def cohort_select(practice_ids: Sequence[int], on: date) -> Select[Any]:
    """The cohort to snapshot: (patient_id, practice_id, cohort_status, held, age_band,
    sex, ethnic_group, ethnic_category, imd_quintile): eligible and not-textable patients,
    and those held for review (`held`), whose cohort_status is what they will be once the
    unrecognised condition is resolved as not excluding.

    The eligibility rule itself lives in `app.data.cohort.cohort_query`, the one
    query the preview, the export and approval share.
    """
    everyone = cohort_query(practice_ids, on).subquery()
    return select(
        everyone.c.patient_id,
        everyone.c.practice_id,
        everyone.c.contact_status.label("cohort_status"),
        (everyone.c.status == eligibility.NEEDS_REVIEW).label("held"),
        everyone.c.age_band,
        everyone.c.sex,
        everyone.c.ethnic_group,
        everyone.c.ethnic_category,
        everyone.c.imd_quintile,
        everyone.c.language,
        everyone.c.interpreter_needed,
    ).where(
        everyone.c.status.in_(
            (eligibility.ELIGIBLE, eligibility.NOT_TEXTABLE, eligibility.NEEDS_REVIEW)
        )
    )


def snapshot_members(
    session: Session, campaign_id: int, practice_ids: Sequence[int], on: date, *, now: datetime
) -> None:
    """Copy the cohort into the campaign's members in one statement: the held wait for
    review, the eligible wait for an offer, the rest are not textable."""
    cohort = cohort_select(practice_ids, on).subquery()
    session.execute(
        insert(CampaignMember).from_select(
            [
                "campaign_id",
                "patient_id",
                "practice_id",
                "cohort_status",
                "state",
                "age_band",
                "sex",
                "ethnic_group",
                "ethnic_category",
                "imd_quintile",
                "language",
                "interpreter_needed",
                "invitations",
                "priority_rank",
                "updated_at",
            ],
            select(
                literal(campaign_id),
                cohort.c.patient_id,
                cohort.c.practice_id,
                cohort.c.cohort_status,
                case(
                    (cohort.c.held, literal("needs_review")),
                    (cohort.c.cohort_status == "eligible", literal("waiting")),
                    else_=literal("not_textable"),
                ),
                cohort.c.age_band,
                cohort.c.sex,
                cohort.c.ethnic_group,
                cohort.c.ethnic_category,
                cohort.c.imd_quintile,
                cohort.c.language,
                cohort.c.interpreter_needed,
                literal(0),
                literal(0),
                literal(now),
            ),
        )
    )


def members_of(session: Session, campaign_id: int) -> list[Any]:
    """(id, cohort_status, state) of every member."""
    return list(
        session.execute(
            select(CampaignMember.id, CampaignMember.cohort_status, CampaignMember.state).where(
                CampaignMember.campaign_id == campaign_id
            )
        ).all()
    )


def set_arms(session: Session, rows: list[dict[str, Any]]) -> None:
    """Each member's variant and priority rank (`id`, `variant`, `priority_rank` dicts)."""
    if rows:
        session.execute(update(CampaignMember), rows)


def state_counts(
    session: Session, campaign_id: int
) -> tuple[list[Any], dict[str, int], dict[str, int]]:
    """(member state, count, invited) rows, offers by state, outbound messages by status."""
    member_rows = session.execute(
        select(
            CampaignMember.state,
            func.count(),
            func.sum(case((CampaignMember.invitations > 0, 1), else_=0)),
        )
        .where(CampaignMember.campaign_id == campaign_id)
        .group_by(CampaignMember.state)
    ).all()
    offers = dict(
        session.execute(
            select(Offer.state, func.count())
            .where(Offer.campaign_id == campaign_id)
            .group_by(Offer.state)
        ).all()
    )
    messages = dict(
        session.execute(
            select(Message.status, func.count())
            .where(Message.campaign_id == campaign_id, Message.direction == "out")
            .group_by(Message.status)
        ).all()
    )
    return list(member_rows), offers, messages


def active_campaign(session: Session, campaign_id: int) -> Campaign | None:
    return session.scalar(
        select(Campaign).where(Campaign.id == campaign_id, Campaign.state == "active")
    )


def active_campaign_ids(session: Session) -> list[int]:
    return list(
        session.scalars(select(Campaign.id).where(Campaign.state == "active").order_by(Campaign.id))
    )


def campaign_of_member(session: Session, member_id: int) -> Campaign | None:
    """The member's campaign if it is active (offers are made only then)."""
    return session.scalar(
        select(Campaign)
        .join(CampaignMember, CampaignMember.campaign_id == Campaign.id)
        .where(CampaignMember.id == member_id, Campaign.state == "active")
    )


def campaign_practices(session: Session, campaign_id: int) -> dict[int, Practice]:
    return {
        p.id: p
        for p in session.scalars(
            select(Practice)
            .join(CampaignPractice, CampaignPractice.practice_id == Practice.id)
            .where(CampaignPractice.campaign_id == campaign_id)
        )
    }


def practices(session: Session, practice_ids: Iterable[int]) -> dict[int, Practice]:
    return {
        p.id: p
        for p in session.scalars(select(Practice).where(Practice.id.in_(list(practice_ids))))
    }


def campaign_named(session: Session, name: str) -> int | None:
    return session.scalar(select(Campaign.id).where(Campaign.name == name))


def newest_first(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.created_at.desc())))


def practices_by_name(session: Session, campaign_id: int) -> list[Practice]:
    """The campaign's practices in name order."""
    return list(
        session.scalars(
            select(Practice)
            .join(CampaignPractice, CampaignPractice.practice_id == Practice.id)
            .where(CampaignPractice.campaign_id == campaign_id)
            .order_by(Practice.name)
        )
    )


def draft_for_update(session: Session, campaign_id: int) -> Campaign | None:
    """The campaign if it is still a draft, locked so approval cannot race an edit."""
    return session.scalar(
        select(Campaign)
        .where(Campaign.id == campaign_id, Campaign.state == "draft")
        .with_for_update()
    )


def delete_draft(session: Session, campaign_id: int) -> bool:
    """Delete a campaign that is still a draft (it has no members, offers or messages)."""
    if state_of(session, campaign_id) != "draft":
        return False
    session.execute(delete(CampaignPractice).where(CampaignPractice.campaign_id == campaign_id))
    gone = session.execute(
        delete(Campaign).where(Campaign.id == campaign_id, Campaign.state == "draft")
    ).rowcount  # type: ignore[attr-defined]
    return bool(gone == 1)


def running(session: Session, practice_ids: Iterable[int] | None) -> list[Campaign]:
    """Active and paused campaigns (None: all; else those covering one of `practice_ids`)."""
    query = select(Campaign).where(Campaign.state.in_(("active", "paused")))
    if practice_ids is not None:
        covering = select(CampaignPractice.campaign_id).where(
            CampaignPractice.practice_id.in_(list(practice_ids))
        )
        query = query.where(Campaign.id.in_(covering))
    return list(session.scalars(query.order_by(Campaign.created_at)))


def member_progress(
    session: Session, campaign_ids: Sequence[int], practice_ids: Iterable[int] | None
) -> dict[int, dict[str, int]]:
    """Per campaign: members, invited (at least once) and members by state, counting only
    `practice_ids`' patients (None: all)."""
    query = select(
        CampaignMember.campaign_id,
        CampaignMember.state,
        func.count(),
        func.sum(case((CampaignMember.invitations > 0, 1), else_=0)),
    ).where(CampaignMember.campaign_id.in_(list(campaign_ids)))
    if practice_ids is not None:
        query = query.where(CampaignMember.practice_id.in_(list(practice_ids)))
    progress: dict[int, dict[str, int]] = {
        cid: {"members": 0, "invited": 0} for cid in campaign_ids
    }
    for campaign_id, state, n, invited in session.execute(
        query.group_by(CampaignMember.campaign_id, CampaignMember.state)
    ):
        counts = progress[campaign_id]
        counts[state] = int(n)
        counts["members"] += int(n)
        counts["invited"] += int(invited or 0)
    return progress


def member_languages(session: Session, campaign_id: int) -> dict[str, int]:
    """The campaign's eligible members by their language code (whom its texts reach)."""
    query = (
        select(Patient.language, func.count())
        .select_from(CampaignMember)
        .join(Patient, Patient.id == CampaignMember.patient_id)
        .where(
            CampaignMember.campaign_id == campaign_id,
            CampaignMember.cohort_status == "eligible",
        )
        .group_by(Patient.language)
    )
    return {code: int(n) for code, n in session.execute(query)}
