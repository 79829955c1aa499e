"""Uptake reports on the database: funnel rules, breakdowns, disclosure and the trial."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.data import report_queries
from app.data.db import Database
from app.data.models import Campaign, CampaignMember, Message
from app.domain import report_csv
from app.domain.funnel import BASELINE_DIMENSIONS, ReportError
from app.domain.suppression import Rule
from app.services import reports
from app.settings import Settings
from tests.builders import (
    BUILDER_NOW,
    add_campaign_booking,
    add_inbound,
    add_invitation,
    add_member,
    add_patient,
    add_practice,
    add_trial_campaign,
)

RULE = Rule()
NOW = BUILDER_NOW


def _mobile(i: int) -> str:
    return f"+4477009{i:05d}"[:13]


def build_small_scenario(db: Database) -> int:
    """Ten members with one of every funnel outcome; returns the campaign id."""
    with db.transaction() as s:
        practice = add_practice(s)
        campaign = add_trial_campaign(s, [practice])
        people = [
            add_patient(s, practice, mobile=f"+4477009001{i:02d}", sex="1" if i % 2 else "2")
            for i in range(10)
        ]
        m = [
            add_member(s, campaign, p, variant="control" if i < 5 else "deadline")
            for i, p in enumerate(people)
        ]
        # 0: delivered, replied, booked, attended
        o0 = add_invitation(s, m[0])
        add_inbound(s, people[0].mobile, "1", at=NOW + timedelta(hours=1))
        add_campaign_booking(s, m[0], state="attended", offer=o0)
        # 1: delivered, replied, booked (still booked)
        o1 = add_invitation(s, m[1])
        add_inbound(s, people[1].mobile, "2", at=NOW + timedelta(hours=2))
        add_campaign_booking(s, m[1], offer=o1)
        # 2: delivered, replied, booked then cancelled; declined
        o2 = add_invitation(s, m[2])
        add_inbound(s, people[2].mobile, "1", at=NOW + timedelta(hours=1))
        add_campaign_booking(s, m[2], state="cancelled", offer=o2)
        m[2].state = "declined"
        # 3: delivered, expired without reply
        add_invitation(s, m[3], offer_state="expired")
        # 4: undeliverable
        add_invitation(s, m[4], status="undelivered", offer_state="withdrawn")
        # 5: invitation failed at the provider, then a second one delivered
        add_invitation(s, m[5], status="failed", offer_state="withdrawn")
        add_invitation(s, m[5], sequence=2, now=NOW + timedelta(days=3))
        # 6: STOP reply: replied and opted out
        add_invitation(s, m[6], offer_state="withdrawn")
        add_inbound(s, people[6].mobile, "STOP", at=NOW + timedelta(minutes=5))
        m[6].state = "opted_out"
        # 7: invitation still queued: not invited
        add_invitation(s, m[7], status="queued")
        # 8: a reply from the number after the offer expired does not count
        add_invitation(s, m[8], offer_state="expired")
        add_inbound(s, people[8].mobile, "1", at=NOW + timedelta(hours=50))
        # 9: not textable at approval, never invited
        m[9].cohort_status = "not_textable"
        m[9].variant = None
        return campaign.id


@pytest.fixture
def small(db: Database) -> int:
    return build_small_scenario(db)


def test_funnel_counts_each_member_once_by_the_documented_rules(db: Database, small: int) -> None:
    r = reports.uptake(db, campaign_ids=[small], raw=True, rule=RULE, now=NOW)
    assert r.total.counts == {
        "eligible": 10,
        "not_textable": 1,
        "textable": 9,
        "invited": 8,
        "delivered": 7,
        "replied": 4,
        "booked": 2,
        "attended": 1,
        "opted_out": 1,
        "declined": 1,
        "expired": 2,
        "undeliverable": 1,
        "checks_completed": 1,
        "risk_10": 0,
        "risk_20": 0,
        "new_hypertension": 0,
        "new_diabetes": 0,
        "referred": 0,
        "detected": 0,
    }
    assert r.total.rates["take_up"].value == pytest.approx(1 / 8)
    assert r.total.rates["attendance"].value == pytest.approx(1 / 2)
    assert r.total.rates["coverage"].value == pytest.approx(8 / 10)
    assert not r.suppressed and "admins only" in r.disclosure


def test_suppressed_funnel_hides_small_counts_and_their_rates(db: Database, small: int) -> None:
    r = reports.uptake(db, campaign_ids=[small], rule=RULE, now=NOW)
    assert r.suppressed and "NHS Digital rule" in r.disclosure
    assert r.total.counts["eligible"] == 10
    assert r.total.counts["attended"] is None
    assert r.total.rates["take_up"].suppressed
    assert r.total.rates["take_up"].value is None
    assert all(v is None or v == 0 or v >= 8 for v in r.total.counts.values())


def test_breakdown_by_sex_sums_to_the_total_and_labels_groups(db: Database, small: int) -> None:
    r = reports.uptake(db, campaign_ids=[small], by=["sex"], raw=True, rule=RULE, now=NOW)
    labels = [g.labels for g in r.groups]
    assert labels == [("Male",), ("Female",)]
    assert sum(g.counts["invited"] for g in r.groups) == r.total.counts["invited"]  # type: ignore[misc]
    assert r.equity is not None and {x.labels for x in r.equity.rows} == set(labels)


def test_two_way_breakdown_has_cells_then_margins(db: Database, small: int) -> None:
    r = reports.uptake(
        db, campaign_ids=[small], by=["sex", "variant"], raw=True, rule=RULE, now=NOW
    )
    cells = [g for g in r.groups if not g.is_margin]
    margins = [g for g in r.groups if g.is_margin]
    assert sum(g.counts["eligible"] for g in cells) == 10  # type: ignore[misc]
    assert {g.labels for g in margins} >= {("Male", "All"), ("All", "control")}
    assert ("Male", "Not allocated") in {g.labels for g in cells}


def test_the_funnel_survives_the_purge_of_offers_messages_and_bookings(
    db: Database, small: int
) -> None:
    before = reports.uptake(db, campaign_ids=[small], raw=True, rule=RULE, now=NOW)
    with db.transaction() as s:
        from sqlalchemy import delete, update

        from app.data.models import Booking, Offer, Slot

        s.execute(update(Campaign).where(Campaign.id == small).values(purged_at=NOW))
        s.execute(delete(Message))
        s.execute(delete(Booking))
        s.execute(update(Slot).values(held_by_offer_id=None, state="free"))
        s.execute(delete(Offer))
    after = reports.uptake(db, campaign_ids=[small], raw=True, rule=RULE, now=NOW)
    assert after.total.counts == before.total.counts


def test_refresh_clears_a_booking_stamp_when_the_booking_is_cancelled(
    db: Database, small: int
) -> None:
    from sqlalchemy import update

    from app.data.models import Booking

    reports.uptake(db, campaign_ids=[small], raw=True, rule=RULE, now=NOW)
    with db.transaction() as s:
        s.execute(update(Booking).where(Booking.state == "booked").values(state="cancelled"))
    stale = reports.uptake(db, campaign_ids=[small], raw=True, rule=RULE, now=NOW)
    assert stale.total.counts["booked"] == 2  # within max_age: the stamps stand
    assert stale.figures_as_of == NOW
    later = NOW + reports.REFRESH_MAX_AGE
    r = reports.uptake(db, campaign_ids=[small], raw=True, rule=RULE, now=later)
    assert r.total.counts["booked"] == 1  # the attended one only
    assert r.figures_as_of == later


def test_the_scheduler_refresh_brings_every_live_campaign_up_to_date(
    db: Database, small: int
) -> None:
    assert reports.refresh_all(db, now=NOW) == "funnel stamps refreshed for 1 campaigns"
    with db.transaction() as s:
        invited = s.scalar(select(func.count(CampaignMember.invited_at)))
        stamped = s.scalar(select(Campaign.progress_refreshed_at).where(Campaign.id == small))
    assert invited == 8 and stamped == NOW


def test_practice_scope_limits_figures_to_that_practice(db: Database) -> None:
    with db.transaction() as s:
        a = add_practice(s, ods="F84003", name="Alpha")
        b = add_practice(s, ods="F84004", name="Beta")
        campaign = add_trial_campaign(s, [a, b])
        for i in range(12):
            add_member(s, campaign, add_patient(s, a, mobile=f"+4477009002{i:02d}"))
        for i in range(20):
            add_member(s, campaign, add_patient(s, b, mobile=f"+4477009003{i:02d}"))
        cid, aid = campaign.id, a.id
    r = reports.uptake(
        db, campaign_ids=[cid], by=["practice"], practice_ids=[aid], raw=True, rule=RULE, now=NOW
    )
    assert r.total.counts["eligible"] == 12
    assert [g.labels for g in r.groups] == [("F84003 Alpha",)]
    assert [c.id for c in reports.list_campaigns(db, practice_ids=[aid])] == [cid]
    assert reports.list_campaigns(db, practice_ids=[999]) == []


def test_unknown_dimensions_and_campaigns_are_refused(db: Database, small: int) -> None:
    with pytest.raises(ReportError, match="unknown dimension"):
        reports.uptake(db, campaign_ids=[small], by=["bame"], rule=RULE, now=NOW)
    with pytest.raises(ReportError, match="at most two"):
        reports.uptake(
            db, campaign_ids=[small], by=["sex", "age_band", "variant"], rule=RULE, now=NOW
        )
    with pytest.raises(ReportError, match="no such campaign"):
        reports.uptake(db, campaign_ids=[small + 99], rule=RULE, now=NOW)


def build_trial(db: Database, rows: dict[tuple[str, str], tuple[int, int, int]]) -> int:
    """Members per (variant, sex): (invited, booked, attended) counts; returns campaign id."""
    with db.transaction() as s:
        practice = add_practice(s)
        campaign = add_trial_campaign(s, [practice])
        for (variant, sex), (invited, booked, attended) in rows.items():
            for i in range(invited):
                p = add_patient(s, practice, sex=sex, mobile=None)
                member = add_member(s, campaign, p, variant=variant)
                assert isinstance(member, CampaignMember)
                member.invited_at = NOW
                if i < booked:
                    member.booked_at = NOW
                if i < attended:
                    member.attended_at = NOW
        return campaign.id


def test_variant_comparison_matches_statsmodels_overall_and_within_groups(db: Database) -> None:
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    cid = build_trial(
        db,
        {
            ("control", "1"): (40, 10, 6),
            ("control", "2"): (50, 20, 15),
            ("deadline", "1"): (45, 20, 14),
            ("deadline", "2"): (55, 30, 21),
        },
    )
    t = reports.trial(db, campaign_ids=[cid], within="sex", raw=True, rule=RULE, now=NOW)
    assert t.control == "control" and t.variants == ("control", "deadline")
    overall = {(c.rate, c.variant): c for c in t.comparisons if c.group == ("All",)}
    d = overall[("take_up", "deadline")]
    assert (d.numerator, d.denominator) == (35, 100)
    low, high = confint_proportions_2indep(35, 100, 21, 90, method="newcomb", compare="diff")
    _z, p = proportions_ztest([35, 21], [100, 90])
    assert d.difference == pytest.approx(35 / 100 - 21 / 90)
    assert (d.low, d.high, d.p_value) == (pytest.approx(low), pytest.approx(high), pytest.approx(p))
    men = {(c.rate, c.variant): c for c in t.comparisons if c.group == ("Male",)}
    b = men[("booking", "deadline")]
    low, high = confint_proportions_2indep(20, 45, 10, 40, method="newcomb", compare="diff")
    assert (b.low, b.high) == (pytest.approx(low), pytest.approx(high))
    assert men[("booking", "control")].difference is None
    sexes = [row for row in t.balance if row.dimension == "sex"]
    assert [(r.label, r.counts) for r in sexes] == [
        ("Male", {"control": 40, "deadline": 45}),
        ("Female", {"control": 50, "deadline": 55}),
    ]
    assert sexes[0].shares["control"] == pytest.approx(40 / 90)


def test_suppressed_trial_withholds_comparisons_that_need_a_hidden_count(db: Database) -> None:
    cid = build_trial(
        db,
        {
            ("control", "1"): (40, 5, 3),
            ("control", "2"): (50, 20, 15),
            ("deadline", "1"): (45, 20, 14),
            ("deadline", "2"): (55, 30, 21),
        },
    )
    t = reports.trial(db, campaign_ids=[cid], within="sex", rule=RULE, now=NOW)
    men = {(c.rate, c.variant): c for c in t.comparisons if c.group == ("Male",)}
    assert men[("take_up", "deadline")].suppressed
    assert men[("take_up", "deadline")].p_value is None
    overall = {(c.rate, c.variant): c for c in t.comparisons if c.group == ("All",)}
    # computed from rounded counts: 35 of 100 vs 20 of 90 (18 rounds to 20)
    assert overall[("take_up", "deadline")].difference == pytest.approx(35 / 100 - 20 / 90)


def test_csv_export_is_suppressed_as_shown_and_says_so(db: Database, small: int) -> None:
    r = reports.uptake(db, campaign_ids=[small], by=["sex"], rule=RULE, now=NOW)
    rows = list(csv.reader(io.StringIO(report_csv.uptake_csv(r))))
    header, body = rows[0], rows[1:]
    assert header[0] == "Sex" and header[-1] == "Figures"
    assert {row[-1] for row in body} == {"suppressed"}
    assert body[-1][0] == "All"
    for row in body:
        for cell in row[1:13]:
            assert cell == "*" or int(cell) == 0 or int(cell) >= 8


def test_reports_aggregate_without_loading_member_rows(db: Database, small: int) -> None:
    statements: list[str] = []
    from sqlalchemy import event

    def capture(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        reports.uptake(db, campaign_ids=[small], by=["sex", "age_band"], rule=RULE, now=NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    selects = [
        s for s in statements if "FROM campaign_member" in s and s.lstrip().startswith("SELECT")
    ]
    assert selects and all("GROUP BY" in s for s in selects)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(CampaignMember)) == 10


def test_the_retention_purge_stamps_the_funnel_before_it_blanks_the_numbers(
    db: Database, small: int
) -> None:
    from sqlalchemy import update

    from app.services import retention

    with db.transaction() as s:
        s.execute(
            update(Campaign)
            .where(Campaign.id == small)
            .values(state="closed", closed_at=NOW - timedelta(days=100))
        )
    # no report has run yet: the purge itself must stamp the funnel first
    assert retention.purge_personal_data(db, now=NOW, settings=Settings(retention_days=90)) == 1
    from app.data.models import Offer

    with db.transaction() as s:
        assert set(s.scalars(select(Offer.mobile).where(Offer.state != "open"))) == {""}
    r = reports.uptake(db, campaign_ids=[small], raw=True, rule=RULE, now=NOW + timedelta(days=1))
    assert (r.total.counts["invited"], r.total.counts["replied"], r.total.counts["booked"]) == (
        8,
        4,
        2,
    )


def test_a_group_label_cannot_smuggle_a_spreadsheet_formula_into_the_csv(db: Database) -> None:
    with db.transaction() as s:
        practice = add_practice(s, ods="F84009")
        campaign = add_trial_campaign(s, [practice])
        for i in range(10):
            patient = add_patient(s, practice, mobile=f"+4477009004{i:02d}")
            add_member(s, campaign, patient, variant="=SUM(A1)")
        cid = campaign.id
    r = reports.uptake(db, campaign_ids=[cid], by=["variant"], rule=RULE, now=NOW)
    rows = list(csv.reader(io.StringIO(report_csv.uptake_csv(r))))
    assert rows[1][0] == "'=SUM(A1)"


def test_reports_arriving_together_refresh_once_and_agree(pg_url: str) -> None:
    """Eight threads ask for the same stale report at once (PostgreSQL, real threads)."""
    import threading

    db = Database.from_url(pg_url)
    try:
        campaign_id = build_small_scenario(db)
        results: list[dict[str, int | None]] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(8)

        def ask() -> None:
            try:
                barrier.wait()
                r = reports.uptake(db, campaign_ids=[campaign_id], raw=True, rule=RULE, now=NOW)
                results.append(r.total.counts)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert len(results) == 8
        assert all(r == results[0] for r in results)
        assert results[0]["invited"] == 8 and results[0]["replied"] == 4
    finally:
        db.dispose()


def test_the_balance_counts_are_the_same_by_grouping_sets_as_one_query_per_dimension(
    db: Database,
) -> None:
    with db.transaction() as s:
        practice = add_practice(s)
        campaign = add_trial_campaign(s, [practice])
        for i in range(30):
            patient = add_patient(s, practice, sex="12"[i % 2], mobile=f"+4477009005{i:02d}")
            add_member(
                s,
                campaign,
                patient,
                variant=("control", "deadline", None)[i % 3],
                age_band=("40-44", "55-59")[i % 2],
                imd_quintile=(None, 1, 5)[i % 5 % 3],
            )
        cid = campaign.id
    with db.transaction() as s:
        together = report_queries.aggregate_by_variant(s, [cid], BASELINE_DIMENSIONS, None)
        apart = {
            d: report_queries.aggregate(s, [cid], ("variant", d), None) for d in BASELINE_DIMENSIONS
        }
    assert together == apart
    assert (None, None) in together["imd_quintile"]
