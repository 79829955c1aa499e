"""Uptake reports: the campaign funnel, breakdowns by group, the trial and the equity view.

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

The funnel reads only campaign_member, whose stamps (`invited_at` ... `attended_at`) are
refreshed set-based from offers, messages and bookings while the campaign's personal data
exists: by the scheduler (`refresh_all`), by the retention purge just before it blanks the
data, and by a report that finds them older than `max_age` (a refresh scans every offer,
message and booking of the campaign: seconds at 200,000 invitations, so not on every
read). Each report says when its figures were brought up to date. After the purge the
stamps stand alone. Every aggregate is one GROUP BY in the database: no member row is
loaded into Python.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from app.data.db import Database
from app.data.models import Booking, Campaign, CampaignMember, Message, Offer, Practice
from app.domain import eligibility, ethnicity, stats
from app.domain.suppression import ALL, Rule, disclose, disclose_cube, shown

DIMENSIONS: dict[str, str] = {
    "age_band": "Age band",
    "sex": "Sex",
    "ethnic_group": "Ethnic group",
    "ethnic_category": "Ethnic category",
    "imd_quintile": "IMD quintile",
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
}
FUNNEL = ("eligible", "invited", "delivered", "replied", "booked", "attended")

# name -> (numerator, denominator, label)
RATES: dict[str, tuple[str, str, str]] = {
    "coverage": ("invited", "eligible", "Coverage (invited / eligible)"),
    "textable_coverage": ("textable", "eligible", "Textable (textable / eligible)"),
    "delivery": ("delivered", "invited", "Delivery (delivered / invited)"),
    "response": ("replied", "invited", "Response (replied / invited)"),
    "booking": ("booked", "invited", "Booking (booked / invited)"),
    "attendance": ("attended", "booked", "Attendance (attended / booked)"),
    "take_up": ("attended", "invited", "Take-up (attended / invited)"),
}
TRIAL_RATES = ("booking", "take_up")

SENT_STATUSES = ("sent", "delivered", "undelivered", "failed", "uncertain")
FAILED_STATUSES = ("undelivered", "failed")
NOT_KNOWN = "Not known"
REFRESH_MAX_AGE = timedelta(minutes=10)


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
            "equity": _equity_dict(self.equity) if self.equity else None,
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


@dataclass(frozen=True)
class CampaignChoice:
    id: int
    name: str
    state: str
    approved_at: datetime | None


def disclosure_note(suppressed: bool, rule: Rule) -> str:
    if suppressed:
        return (
            f"NHS Digital rule: 0 shown as 0, 1-{rule.suppress_below - 1} shown as *, other "
            f"counts rounded to the nearest {rule.round_to}; rates from the rounded counts; "
            "a second cell hidden where a total would reveal a hidden one."
        )
    return "For admins only, never to be published: exact counts with no disclosure control."


# ---------------------------------------------------------------- use cases


def list_campaigns(
    db: Database, *, practice_ids: Iterable[int] | None = None
) -> list[CampaignChoice]:
    """Approved campaigns a user may report on (those touching their practices)."""
    with db.transaction() as session:
        query = select(Campaign).where(Campaign.approved_at.is_not(None))
        if practice_ids is not None:
            query = query.where(
                Campaign.id.in_(
                    select(CampaignMember.campaign_id).where(
                        CampaignMember.practice_id.in_(list(practice_ids))
                    )
                )
            )
        rows = session.scalars(query.order_by(Campaign.approved_at.desc(), Campaign.id.desc()))
        return [CampaignChoice(c.id, c.name, c.state, c.approved_at) for c in rows]


def campaigns_between(db: Database, start: datetime, end: datetime) -> list[int]:
    """Campaigns running at any time in [start, end]: approved by the end, not closed before
    the start. A date-range report is the funnel of those campaigns taken together."""
    with db.transaction() as session:
        query = select(Campaign.id).where(
            Campaign.approved_at.is_not(None),
            Campaign.approved_at <= end,
            or_(Campaign.closed_at.is_(None), Campaign.closed_at >= start),
        )
        return list(session.scalars(query.order_by(Campaign.id)))


def uptake(
    db: Database,
    *,
    campaign_ids: Sequence[int],
    by: Sequence[str] = (),
    practice_ids: Iterable[int] | None = None,
    raw: bool = False,
    rule: Rule,
    now: datetime,
    max_age: timedelta = REFRESH_MAX_AGE,
) -> UptakeReport:
    """The funnel for the campaigns, overall and by up to two crossed dimensions.

    `practice_ids` limits the figures to those practices (a practice user's own);
    `raw` gives unsuppressed counts, which callers allow only for admins; stamps older
    than `max_age` are refreshed first (timedelta(0): always).
    """
    dims = check_dimensions(by)
    scope = None if practice_ids is None else sorted(set(practice_ids))
    with db.transaction() as session:
        names = _campaign_names(session, campaign_ids)
        as_of = ensure_fresh(session, campaign_ids, now=now, max_age=max_age)
        cells = _aggregate(session, campaign_ids, dims, scope)
        labeller = _labeller(session, dims, cells)
        held = _held_for_review(session, campaign_ids, scope)
    total, groups = _publish(cells, dims, raw=raw, rule=rule, labeller=labeller)
    equity = _equity(groups, total) if dims else None
    return UptakeReport(
        campaign_ids=tuple(campaign_ids),
        campaign_names=tuple(names),
        by=dims,
        suppressed=not raw,
        rule=rule,
        total=total,
        groups=groups,
        equity=equity,
        generated_at=now,
        figures_as_of=as_of,
        held_for_review=held if raw else disclose(held, rule),
    )


def _held_for_review(
    session: Session, campaign_ids: Sequence[int], practice_ids: list[int] | None
) -> int:
    """Members held for review: in the cohort, never invited while it lasts."""
    m = CampaignMember
    query = (
        select(func.count())
        .where(m.campaign_id.in_(list(campaign_ids)), m.state == "needs_review")
        .group_by(m.state)
    )
    if practice_ids is not None:
        query = query.where(m.practice_id.in_(practice_ids))
    return int(session.scalar(query) or 0)


def trial(
    db: Database,
    *,
    campaign_ids: Sequence[int],
    within: str | None = None,
    practice_ids: Iterable[int] | None = None,
    raw: bool = False,
    rule: Rule,
    now: datetime,
    max_age: timedelta = REFRESH_MAX_AGE,
) -> TrialReport:
    """Booking and take-up per variant against control, with Newcombe 95% intervals for the
    difference and two-sided z-test p-values, overall and within each group of `within`;
    and the balance of baseline characteristics between arms (randomisation check).

    In a suppressed report the comparison uses the rounded counts and is withheld when any
    count it needs is suppressed: a p-value must not leak a hidden cell.
    """
    if within is not None:
        check_dimensions([within])
        if within == "variant":
            raise ReportError("compare variants within another dimension, not variant")
    scope = None if practice_ids is None else sorted(set(practice_ids))
    with db.transaction() as session:
        control, arms = _trial_arms(session, campaign_ids)
        as_of = ensure_fresh(session, campaign_ids, now=now, max_age=max_age)
        dims: tuple[str, ...] = ("variant",) if within is None else ("variant", within)
        cells = _aggregate(session, campaign_ids, dims, scope)
        labeller = _labeller(session, dims, cells)
        balance_cells = _aggregate_by_variant(session, campaign_ids, BASELINE_DIMENSIONS, scope)
        balance_labels = {
            d: _labeller(session, ("variant", d), c) for d, c in balance_cells.items()
        }
    _total, groups = _publish(cells, dims, raw=raw, rule=rule, labeller=labeller)
    comparisons = _compare(groups, dims, control, arms)
    balance: list[BalanceRow] = []
    for d in BASELINE_DIMENSIONS:
        _t, bgroups = _publish(
            balance_cells[d], ("variant", d), raw=raw, rule=rule, labeller=balance_labels[d]
        )
        balance.extend(_balance(bgroups, d, arms))
    return TrialReport(
        campaign_ids=tuple(campaign_ids),
        control=control,
        variants=tuple(arms),
        within=within,
        suppressed=not raw,
        rule=rule,
        comparisons=comparisons,
        balance=balance,
        figures_as_of=as_of,
    )


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


# ------------------------------------------------------------ progress stamps


def refresh_all(db: Database, *, now: datetime) -> str:
    """Refresh the funnel stamps of every approved campaign not yet purged (scheduler)."""
    with db.transaction() as session:
        ids = list(
            session.scalars(
                select(Campaign.id).where(
                    Campaign.approved_at.is_not(None), Campaign.purged_at.is_(None)
                )
            )
        )
        ensure_fresh(session, ids, now=now, max_age=timedelta(0))
    return f"funnel stamps refreshed for {len(ids)} campaigns"


def ensure_fresh(
    session: Session, campaign_ids: Sequence[int], *, now: datetime, max_age: timedelta
) -> datetime | None:
    """Refresh the stamps of the campaigns whose last refresh is older than `max_age`;
    return when the oldest of them was last brought up to date (None if never).

    The refresh is claimed with a conditional UPDATE of the campaign rows, so two reports
    arriving together do not both refresh (on PostgreSQL the second waits on the row lock,
    then finds the stamps fresh); they never race each other's UPDATEs of the members.
    """
    claimed = list(
        session.scalars(
            update(Campaign)
            .where(
                Campaign.id.in_(sorted(set(campaign_ids))),
                Campaign.purged_at.is_(None),
                or_(
                    Campaign.progress_refreshed_at.is_(None),
                    Campaign.progress_refreshed_at <= now - max_age,
                ),
            )
            .values(progress_refreshed_at=now)
            .returning(Campaign.id)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed:
        refresh_progress(session, claimed)
    times = session.execute(
        select(func.coalesce(Campaign.progress_refreshed_at, Campaign.purged_at)).where(
            Campaign.id.in_(list(campaign_ids))
        )
    ).scalars()
    known = [t for t in times if t is not None]
    return min(known) if known and len(known) == len(set(campaign_ids)) else None


def refresh_progress(
    session: Session, campaign_ids: Sequence[int], *, include_purged: bool = False
) -> None:
    """Bring each member's funnel stamps up to date from offers, messages and bookings.

    Three set-based UPDATE ... FROM statements, each writing only the members whose stamps
    changed. Campaigns already purged are left alone: their numbers are blanked and the
    stamps are all that is left. The retention purge calls this (include_purged=True, in
    the transaction that claims the campaign) before it blanks anything.
    """
    query = select(Campaign.id).where(Campaign.id.in_(list(campaign_ids)))
    if not include_purged:
        query = query.where(Campaign.purged_at.is_(None))
    live = list(session.scalars(query))
    if not live:
        return
    member = CampaignMember.__table__
    assert isinstance(member, Table)
    for source in (_outbound_stamps(live), _reply_stamps(live), _booking_stamps(live)):
        stamp_names = [c.name for c in source.columns if c.name != "member_id"]
        changed = or_(*(member.c[n].is_distinct_from(source.c[n]) for n in stamp_names))
        session.execute(
            update(member)
            .where(member.c.id == source.c.member_id, changed)
            .values({n: source.c[n] for n in stamp_names}),
            execution_options={"synchronize_session": False},
        )


def _first(condition: ColumnElement[bool], value: Any) -> Any:
    return func.min(case((condition, value)))


def _outbound_stamps(campaign_ids: list[int]) -> Any:
    o, m = Offer, Message
    invitation = m.kind == "invitation"
    status_time = func.coalesce(m.status_updated_at, m.sent_at, m.created_at)
    return (
        select(
            o.member_id.label("member_id"),
            _first(
                and_(invitation, m.status.in_(SENT_STATUSES)),
                func.coalesce(m.sent_at, m.created_at),
            ).label("invited_at"),
            _first(and_(invitation, m.status == "delivered"), status_time).label("delivered_at"),
            _first(and_(invitation, m.status.in_(FAILED_STATUSES)), status_time).label(
                "undeliverable_at"
            ),
            _first(o.state == "expired", func.coalesce(o.closed_at, o.expires_at)).label(
                "expired_at"
            ),
        )
        .select_from(o)
        .outerjoin(m, and_(m.offer_id == o.id, m.direction == "out"))
        .where(o.campaign_id.in_(campaign_ids))
        .group_by(o.member_id)
        .subquery("outbound")
    )


def _reply_stamps(campaign_ids: list[int]) -> Any:
    """First inbound SMS per member while one of its offers was open: the webhook links a
    reply to the number's open (or latest) offer; an unlinked reply from the offer's number
    in its open window counts too. A reply after the offer closed is not a response to it.
    """
    o, m = Offer, aliased(Message)
    window = and_(
        m.created_at >= o.created_at, m.created_at <= func.coalesce(o.closed_at, o.expires_at)
    )
    linked = (
        select(o.member_id.label("member_id"), m.created_at.label("at"))
        .join(m, and_(m.offer_id == o.id, m.direction == "in", window))
        .where(o.campaign_id.in_(campaign_ids))
    )
    by_number = (
        select(o.member_id.label("member_id"), m.created_at.label("at"))
        .join(
            m,
            and_(m.from_number == o.mobile, m.direction == "in", m.offer_id.is_(None), window),
        )
        .where(o.campaign_id.in_(campaign_ids))
    )
    replies = union_all(linked, by_number).subquery("replies")
    return (
        select(replies.c.member_id, func.min(replies.c.at).label("replied_at"))
        .group_by(replies.c.member_id)
        .subquery("reply_stamps")
    )


def _booking_stamps(campaign_ids: list[int]) -> Any:
    b, cm = Booking, aliased(CampaignMember)
    return (
        select(
            cm.id.label("member_id"),
            _first(b.state != "cancelled", b.booked_at).label("booked_at"),
            _first(b.state == "attended", func.coalesce(b.outcome_recorded_at, b.booked_at)).label(
                "attended_at"
            ),
        )
        .select_from(b)
        .join(cm, and_(cm.campaign_id == b.campaign_id, cm.patient_id == b.patient_id))
        .where(b.campaign_id.in_(campaign_ids))
        .group_by(cm.id)
        .subquery("booking_stamps")
    )


# ---------------------------------------------------------------- aggregation

Cells = dict[tuple[Any, ...], dict[str, int]]


def _dimension_column(name: str) -> Any:
    m = CampaignMember
    column = {
        "age_band": m.age_band,
        "sex": m.sex,
        "ethnic_group": m.ethnic_group,
        "ethnic_category": m.ethnic_category,
        "imd_quintile": m.imd_quintile,
        "practice": m.practice_id,
        "variant": m.variant,
    }[name]
    return column


def _stage_columns() -> list[Any]:
    m = CampaignMember
    invited = m.invited_at.is_not(None)

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.count(case((condition, literal(1))))

    return [
        func.count().label("eligible"),
        count_if(m.cohort_status == "not_textable").label("not_textable"),
        count_if(m.cohort_status != "not_textable").label("textable"),
        func.count(m.invited_at).label("invited"),
        count_if(and_(invited, m.delivered_at.is_not(None))).label("delivered"),
        count_if(and_(invited, m.replied_at.is_not(None))).label("replied"),
        count_if(and_(invited, m.booked_at.is_not(None))).label("booked"),
        count_if(and_(invited, m.attended_at.is_not(None))).label("attended"),
        count_if(m.state == "opted_out").label("opted_out"),
        count_if(or_(m.state == "declined", m.declined_at.is_not(None))).label("declined"),
        count_if(
            and_(m.expired_at.is_not(None), m.replied_at.is_(None), m.booked_at.is_(None))
        ).label("expired"),
        count_if(and_(m.undeliverable_at.is_not(None), m.delivered_at.is_(None))).label(
            "undeliverable"
        ),
    ]


def _aggregate(
    session: Session,
    campaign_ids: Sequence[int],
    dims: Sequence[str],
    practice_ids: list[int] | None,
) -> Cells:
    """One GROUP BY over campaign_member: stage counts per combination of `dims`."""
    columns = [_dimension_column(d).label(f"d{i}") for i, d in enumerate(dims)]
    query = select(*columns, *_stage_columns()).where(
        CampaignMember.campaign_id.in_(list(campaign_ids)),
        CampaignMember.state != "removed",
    )
    if practice_ids is not None:
        query = query.where(CampaignMember.practice_id.in_(practice_ids))
    if columns:
        query = query.group_by(*columns)
    cells: Cells = {}
    for row in session.execute(query).mappings():
        key = tuple(row[f"d{i}"] for i in range(len(dims)))
        counts = {s: int(row[s] or 0) for s in STAGES}
        if not dims and counts["eligible"] == 0:
            continue
        cells[key] = counts
    return cells


def _aggregate_by_variant(
    session: Session,
    campaign_ids: Sequence[int],
    dims: Sequence[str],
    practice_ids: list[int] | None,
) -> dict[str, Cells]:
    """Stage counts per (variant, value) for each of `dims`.

    On PostgreSQL one scan with GROUPING SETS ((variant, d1), (variant, d2), ...), where
    GROUPING(d) tells which set a row belongs to (a NULL value is a real "not known"
    group, so NULL cannot); elsewhere one GROUP BY per dimension.
    """
    if session.get_bind().dialect.name != "postgresql":
        return {d: _aggregate(session, campaign_ids, ("variant", d), practice_ids) for d in dims}
    variant = _dimension_column("variant")
    columns = [_dimension_column(d) for d in dims]
    query = select(
        variant.label("v"),
        *(c.label(f"d{i}") for i, c in enumerate(columns)),
        *(func.grouping(c).label(f"g{i}") for i, c in enumerate(columns)),
        *_stage_columns(),
    ).where(
        CampaignMember.campaign_id.in_(list(campaign_ids)),
        CampaignMember.state != "removed",
    )
    if practice_ids is not None:
        query = query.where(CampaignMember.practice_id.in_(practice_ids))
    query = query.group_by(func.grouping_sets(*(tuple_(variant, c) for c in columns)))
    out: dict[str, Cells] = {d: {} for d in dims}
    for row in session.execute(query).mappings():
        i = next(i for i in range(len(dims)) if row[f"g{i}"] == 0)
        out[dims[i]][(row["v"], row[f"d{i}"])] = {s: int(row[s] or 0) for s in STAGES}
    return out


def _campaign_names(session: Session, campaign_ids: Sequence[int]) -> list[str]:
    if not campaign_ids:
        raise ReportError("choose at least one campaign")
    found = dict(
        session.execute(
            select(Campaign.id, Campaign.name).where(Campaign.id.in_(list(campaign_ids)))
        ).all()
    )
    missing = [i for i in campaign_ids if i not in found]
    if missing:
        raise ReportError(f"no such campaign: {', '.join(map(str, missing))}")
    return [found[i] for i in campaign_ids]


def _trial_arms(session: Session, campaign_ids: Sequence[int]) -> tuple[str, list[str]]:
    campaigns = list(session.scalars(select(Campaign).where(Campaign.id.in_(list(campaign_ids)))))
    if len(campaigns) != len(set(campaign_ids)):
        raise ReportError("no such campaign")
    controls = {c.control_variant for c in campaigns}
    if len(controls) != 1:
        raise ReportError("campaigns compared together must share a control variant")
    control = controls.pop()
    names = sorted({v for c in campaigns for v in c.variants} - {control})
    return control, [control, *names]


# ------------------------------------------------------------------ labels


def _labeller(session: Session, dims: Sequence[str], cells: Cells) -> dict[str, dict[Any, str]]:
    """Display labels for every value present, per dimension (specific groups, never
    "BAME"; ethnicity labels from app.domain.ethnicity)."""
    labels: dict[str, dict[Any, str]] = {}
    for i, d in enumerate(dims):
        values = {k[i] for k in cells}
        if d == "practice":
            ids = [v for v in values if v is not None]
            names = dict(
                session.execute(
                    select(Practice.id, Practice.ods_code + " " + Practice.name).where(
                        Practice.id.in_(ids)
                    )
                ).all()
            )
            labels[d] = {v: names.get(v, NOT_KNOWN) if v is not None else NOT_KNOWN for v in values}
        else:
            labels[d] = {v: label(d, v) for v in values}
    return labels


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
    if dimension == "imd_quintile":
        q = int(value)
        suffix = {1: " (most deprived)", 5: " (least deprived)"}.get(q, "")
        return f"Q{q}{suffix}"
    return str(value)


def _sort_key(dimension: str, value: Any) -> tuple[int, Any]:
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
    if dimension == "variant":
        return (0, str(value))
    return (0, str(value))


# -------------------------------------------------------------- disclosure


def _publish(
    cells: Cells,
    dims: tuple[str, ...],
    *,
    raw: bool,
    rule: Rule,
    labeller: Mapping[str, Mapping[Any, str]],
) -> tuple[GroupRow, list[GroupRow]]:
    """Margins, disclosure and rates: the group rows as the caller may see them."""
    table = _with_margins(cells, len(dims))
    published: dict[tuple[Any, str], int | None]
    if raw:
        published = {(k, s): n for k, counts in table.items() for s, n in counts.items()}
    else:
        published = _disclose(table, dims, rule)
    rows: list[GroupRow] = []
    total_key = (ALL,) * len(dims)
    total_row: GroupRow | None = None
    for key in table:
        counts = {s: published[(key, s)] for s in STAGES}
        labels = tuple(
            "All" if v == ALL else labeller[d].get(v, NOT_KNOWN)
            for d, v in zip(dims, key, strict=True)
        )
        row = GroupRow(key, labels, counts, _rates(counts), is_margin=ALL in key)
        if key == total_key:
            total_row = row
        else:
            rows.append(row)
    if total_row is None:  # nothing to report: every stage 0
        zero = dict.fromkeys(STAGES, 0)
        total_row = GroupRow(total_key, ("All",) * len(dims), dict(zero), _rates(zero), True)
    rows.sort(
        key=lambda r: (
            r.is_margin,
            [_sort_key(d, v) for d, v in zip(dims, r.key, strict=True)],
        )
    )
    return total_row, rows


def _with_margins(cells: Cells, width: int) -> dict[tuple[Any, ...], dict[str, int]]:
    """The cells plus every margin (ALL in one or more positions), summed from the cells.

    A two-way table gets every combination of the values present, empty ones as zeros:
    an absent row would publish its zero beyond the reach of suppression (which hides a
    zero where that protects a small count beside it).
    """
    table: dict[tuple[Any, ...], dict[str, int]] = {k: dict(v) for k, v in cells.items()}
    if width > 1:
        axes = [dict.fromkeys(k[i] for k in cells) for i in range(width)]
        for key in itertools.product(*axes):
            table.setdefault(key, dict.fromkeys(STAGES, 0))
    for key, counts in cells.items():
        for mask in range(1, 2**width):
            margin = tuple(ALL if mask >> i & 1 else v for i, v in enumerate(key))
            into = table.setdefault(margin, dict.fromkeys(STAGES, 0))
            for s, n in counts.items():
                into[s] += n
    if width == 0 and () not in table:
        table[()] = dict.fromkeys(STAGES, 0)
    return table


SPLIT = ("textable", "not_textable")  # add up to eligible: one table with that margin


def _disclose(
    table: Mapping[tuple[Any, ...], Mapping[str, int]], dims: tuple[str, ...], rule: Rule
) -> dict[tuple[Any, str], int | None]:
    """The published form of every (group, stage) count of a table with its margins.

    Each stage is a table of its own, but for textable, not textable and eligible, which
    form one (eligible its margin). Dimensions go to the suppression in a fixed order so
    that ethnic group x sex and sex x ethnic group publish the same cells.
    """
    order = sorted(range(len(dims)), key=lambda i: list(DIMENSIONS).index(dims[i]))

    def canonical(key: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(key[i] for i in order)

    out: dict[tuple[Any, str], int | None] = {}
    split = {
        canonical(k) + (part,): counts["eligible" if part == ALL else part]
        for k, counts in table.items()
        for part in (*SPLIT, ALL)
    }
    shown_split = disclose_cube(split, rule, dims=len(dims))
    for k in table:
        for part in (*SPLIT, ALL):
            out[(k, "eligible" if part == ALL else part)] = shown_split[canonical(k) + (part,)]
    for stage in STAGES:
        if stage in (*SPLIT, "eligible"):
            continue
        one = disclose_cube(
            {canonical(k): c[stage] for k, c in table.items()}, rule, dims=len(dims)
        )
        for k in table:
            out[(k, stage)] = one[canonical(k)]
    return out


def _rates(counts: Mapping[str, int | None]) -> dict[str, Rate]:
    rates: dict[str, Rate] = {}
    for name, (num, den, _label) in RATES.items():
        x, n = counts[num], counts[den]
        if x is None or n is None:
            rates[name] = Rate(None, None, None, suppressed=True)
            continue
        p = stats.proportion(min(x, n), n)
        rates[name] = Rate(p.value, p.low, p.high)
    return rates


# ------------------------------------------------------------ equity, trial


def _equity(groups: list[GroupRow], total: GroupRow) -> EquityView:
    cells = [g for g in groups if not g.is_margin]
    names = {" / ".join(g.labels): g for g in cells}
    overall = total.rates["take_up"].value
    eq = stats.equity({n: g.rates["take_up"].value for n, g in names.items()}, overall)
    rows = [
        EquityRow(
            labels=g.labels,
            take_up=g.rates["take_up"],
            ratio_to_overall=eq.ratios[n],
            textable_coverage=g.rates["textable_coverage"],
            coverage=g.rates["coverage"],
        )
        for n, g in names.items()
    ]
    return EquityView(eq.highest, eq.lowest, eq.gap, rows)


def _compare(
    groups: list[GroupRow], dims: tuple[str, ...], control: str, arms: list[str]
) -> list[Comparison]:
    """Each arm against control, per rate, overall (the variant margin rows) and within groups."""
    by_key = {g.key: g for g in groups}
    within_values: list[Any] = [ALL]
    if len(dims) == 2:
        within_values = sorted(
            {g.key[1] for g in groups if g.key[1] != ALL}, key=lambda v: _sort_key(dims[1], v)
        ) + [ALL]
    out: list[Comparison] = []
    for w in within_values:

        def find(arm: str, w: Any = w) -> GroupRow | None:
            return by_key.get((arm,) if len(dims) == 1 else (arm, w))

        ctl = find(control)
        group_label: tuple[str, ...] = ()
        if len(dims) == 2:
            sample = next((g for g in groups if g.key[1] == w), None)
            group_label = (sample.labels[1] if sample else NOT_KNOWN,)
        for rate in TRIAL_RATES:
            num, den, _ = RATES[rate]
            for arm in arms:
                row = find(arm)
                x = row.counts[num] if row else 0
                n = row.counts[den] if row else 0
                value = row.rates[rate] if row else Rate(None, None, None)
                cx = ctl.counts[num] if ctl else 0
                cn = ctl.counts[den] if ctl else 0
                hidden = any(v is None for v in (x, n, cx, cn))
                if arm == control or hidden:
                    out.append(
                        Comparison(
                            group_label,
                            rate,
                            arm,
                            x,
                            n,
                            value,
                            None,
                            None,
                            None,
                            None,
                            suppressed=hidden,
                        )
                    )
                    continue
                assert x is not None and n is not None and cx is not None and cn is not None
                d = stats.difference(min(x, n), n, min(cx, cn), cn)
                out.append(
                    Comparison(
                        group_label,
                        rate,
                        arm,
                        x,
                        n,
                        value,
                        d.difference,
                        d.low,
                        d.high,
                        d.p_value,
                        suppressed=False,
                    )
                )
    return out


def _balance(groups: list[GroupRow], dimension: str, arms: list[str]) -> list[BalanceRow]:
    """Allocated members by baseline characteristic and arm, as counts and shares of arm."""
    arm_totals = {g.key[0]: g.counts["eligible"] for g in groups if g.key[1] == ALL}
    values = sorted(
        {g.key[1] for g in groups if g.key[1] != ALL}, key=lambda v: _sort_key(dimension, v)
    )
    by_key = {g.key: g for g in groups}
    rows: list[BalanceRow] = []
    for v in values:
        counts: dict[str, int | None] = {}
        shares: dict[str, float | None] = {}
        label_text = NOT_KNOWN
        for arm in arms:
            g = by_key.get((arm, v))
            if g is not None:
                label_text = g.labels[1]
            n = g.counts["eligible"] if g else 0
            total = arm_totals.get(arm, 0)
            counts[arm] = n
            shares[arm] = n / total if n is not None and total else None
        rows.append(BalanceRow(dimension, label_text, counts, shares))
    return rows


def _equity_dict(view: EquityView) -> dict[str, Any]:
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


# ------------------------------------------------------------------- export


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v * 100:.1f}"


def _cell(text: str) -> str:
    """A label made safe for spreadsheets: a practice name starting with = + - @ would
    otherwise run as a formula when the CSV is opened (OWASP CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def uptake_csv(report: UptakeReport) -> str:
    """The report as CSV: one row per group (then the total), counts as published (`*` for
    suppressed), each rate as % with its 95% interval, and the disclosure on every row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [DIMENSIONS[d] for d in report.by]
    header += [STAGES[s] for s in STAGES]
    for name, (_n, _d, text) in RATES.items():
        header += [f"{text} %", f"{name} 95% CI low %", f"{name} 95% CI high %"]
    header.append("Figures")
    writer.writerow(header)
    figures = "suppressed" if report.suppressed else "raw (unsuppressed)"
    for row in [*report.groups, report.total]:
        line: list[Any] = [_cell(label) for label in row.labels]
        line += [shown(row.counts[s]) for s in STAGES]
        for name in RATES:
            r = row.rates[name]
            if r.suppressed:
                line += ["*", "*", "*"]
            else:
                line += [_pct(r.value), _pct(r.low), _pct(r.high)]
        line.append(figures)
        writer.writerow(line)
    return out.getvalue()


def table_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], suppressed: bool) -> str:
    """Any published table as CSV with the disclosure column the uptake CSV has."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*header, "Figures"])
    figures = "suppressed" if suppressed else "raw (unsuppressed)"
    for r in rows:
        writer.writerow([*r, figures])
    return out.getvalue()


def trial_csv(report: TrialReport) -> str:
    header = [
        "Group",
        "Rate",
        "Variant",
        "Numerator",
        "Denominator",
        "Rate %",
        "CI low %",
        "CI high %",
        "Difference from control (pp)",
        "Diff CI low (pp)",
        "Diff CI high (pp)",
        "p-value",
    ]
    rows = []
    for c in report.comparisons:
        rows.append(
            [
                _cell(" / ".join(c.group) or "All"),
                RATES[c.rate][2],
                c.variant,
                shown(c.numerator),
                shown(c.denominator),
                "*" if c.value.suppressed else _pct(c.value.value),
                "*" if c.value.suppressed else _pct(c.value.low),
                "*" if c.value.suppressed else _pct(c.value.high),
                "*" if c.suppressed else _pct(c.difference),
                "*" if c.suppressed else _pct(c.low),
                "*" if c.suppressed else _pct(c.high),
                "*" if c.suppressed else ("" if c.p_value is None else f"{c.p_value:.4g}"),
            ]
        )
    return table_csv(header, rows, report.suppressed)


def balance_csv(report: TrialReport) -> str:
    header = ["Characteristic", "Group"]
    for arm in report.variants:
        header += [f"{arm} n", f"{arm} %"]
    rows = []
    for b in report.balance:
        line: list[Any] = [DIMENSIONS[b.dimension], _cell(b.label)]
        for arm in report.variants:
            line += [shown(b.counts.get(arm, 0)), _pct(b.shares.get(arm))]
        rows.append(line)
    return table_csv(header, rows, report.suppressed)


def equity_csv(report: UptakeReport) -> str:
    header = [
        *(DIMENSIONS[d] for d in report.by),
        "Take-up %",
        "CI low %",
        "CI high %",
        "Ratio to overall",
        "Textable coverage %",
        "Coverage %",
    ]
    rows = []
    if report.equity is not None:
        for r in report.equity.rows:
            tu = r.take_up
            rows.append(
                [
                    *(_cell(label) for label in r.labels),
                    "*" if tu.suppressed else _pct(tu.value),
                    "*" if tu.suppressed else _pct(tu.low),
                    "*" if tu.suppressed else _pct(tu.high),
                    "" if r.ratio_to_overall is None else f"{r.ratio_to_overall:.2f}",
                    "*" if r.textable_coverage.suppressed else _pct(r.textable_coverage.value),
                    "*" if r.coverage.suppressed else _pct(r.coverage.value),
                ]
            )
    return table_csv(header, rows, report.suppressed)
