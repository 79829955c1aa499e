"""Campaign lifecycle: create, approve (cohort snapshot and arms), pause, resume, status."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.data.models import AuditEvent, Campaign, CampaignMember, Offer
from app.services import campaigns, offers
from tests.builders import (
    add_free_slots,
    add_patient,
    add_practice,
    approved_campaign,
    clinic_starts,
)

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)


@pytest.fixture
def practice(db):
    with db.transaction() as session:
        return add_practice(session)


def create_args(*extra: str) -> list[str]:
    return [
        "campaigns",
        "create",
        "--name",
        "Winter checks",
        "--practice",
        "F84003",
        "--lawful-basis",
        "Direct care (UK GDPR 6(1)(e), 9(2)(h))",
        *extra,
    ]


def test_create_prints_the_new_id_and_records_every_option(runner, db, practice) -> None:
    result = runner.invoke(
        args=create_args(
            "--on",
            "2026-01-10",
            "--on-reason",
            "The practice list was exported on 10 January",
            "--variant",
            "control=1",
            "--variant",
            "deadline=2",
            "--hold-hours",
            "72",
            "--send-window",
            "10:00-18:00",
            "--send-days",
            "mon-fri",
            "--max-invitations",
            "3",
            "--reminder-hours",
            "30",
            "--info-url",
            "https://example.nhs.uk/check",
        )
    )
    assert result.exit_code == 0, result.output
    campaign_id = int(result.output.strip())
    with db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign.state == "draft"
        assert campaign.reference_date == date(2026, 1, 10)
        assert campaign.variants == {"control": 1, "deadline": 2}
        assert campaign.control_variant == "control"
        assert (campaign.hold_hours, campaign.max_invitations, campaign.reminder_hours) == (
            72,
            3,
            30,
        )
        assert (
            f"{campaign.send_window_start:%H:%M}-{campaign.send_window_end:%H:%M}" == "10:00-18:00"
        )
        assert campaign.send_days == "mon,tue,wed,thu,fri"
        assert campaign.info_url == "https://example.nhs.uk/check"
        assert campaign.lawful_basis.startswith("Direct care")
        assert session.scalar(select(AuditEvent.action)) == "campaign.create"


def test_a_cohort_date_other_than_today_needs_a_reason_which_is_audited(
    runner, db, practice
) -> None:
    refused = runner.invoke(args=create_args("--on", "2020-01-01"))
    assert refused.exit_code != 0
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert len(lines) == 1, refused.output
    assert "--on: The cohort date is 1 January 2020, not today" in lines[0]
    assert "--on-reason" in lines[0] and "Traceback" not in refused.output
    reason = "Re-running the 2020 cohort for an audit"
    result = runner.invoke(args=create_args("--on", "2020-01-01", "--on-reason", reason))
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.create"))
        assert event.detail["on_reason"] == reason


def test_an_unusual_send_window_needs_a_reason_saying_why_it_is_unusual(
    runner, db, practice
) -> None:
    args = ("--send-window", "02:00-03:00", "--send-days", "sun")
    refused = runner.invoke(args=create_args(*args))
    assert refused.exit_code != 0
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert len(lines) == 1, refused.output
    assert "it starts at 02:00, before 08:00" in lines[0]
    assert "it sends on Sundays" in lines[0] and "--unusual-window-reason" in lines[0]
    reason = "Night-shift workers asked for early texts"
    result = runner.invoke(args=create_args(*args, "--unusual-window-reason", reason))
    assert result.exit_code == 0, result.output
    with db.transaction() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.create"))
        assert event.detail["unusual_window_reason"] == reason
    # the usual window needs no reason
    assert runner.invoke(args=create_args("--send-window", "08:00-20:00")).exit_code == 0


def test_every_bad_setting_is_reported_at_once_on_one_line(runner, practice) -> None:
    result = runner.invoke(
        args=create_args("--hold-hours", "0", "--send-days", "funday", "--max-invitations", "99")
    )
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "--hold-hours: Hours the three times are held must be from 1 to 336" in lines[0]
    assert "--max-invitations: Most invitations to one person must be from 1 to 10" in lines[0]
    assert "--send-days: Enter the send days as day names or ranges" in lines[0]


def test_the_lawful_basis_is_required(runner, practice) -> None:
    result = runner.invoke(args=["campaigns", "create", "--name", "X", "--practice", "F84003"])
    assert result.exit_code != 0
    assert "--lawful-basis" in result.output


def test_a_variant_without_a_template_is_refused(runner, practice) -> None:
    result = runner.invoke(args=create_args("--variant", "nosuchthing=1"))
    assert result.exit_code != 0
    assert "invitation_nosuchthing" in result.output


def test_approval_snapshots_the_cohort_with_its_reporting_dimensions(db, practice) -> None:
    with db.transaction() as session:
        eligible = add_patient(session, practice, dob=date(1960, 3, 1), sex="2", imd_decile=1)
        add_patient(session, practice, mobile=None)  # eligible but not textable
        add_patient(session, practice, dob=date(1995, 1, 1))  # too young
        add_patient(session, practice, conditions="diabetes")
        add_patient(session, practice, last_health_check=date(2024, 1, 1))
    campaign_id = approved_campaign(db)
    with db.transaction() as session:
        members = session.scalars(select(CampaignMember)).all()
        assert len(members) == 2
        first = next(m for m in members if m.patient_id == eligible.id)
        assert (first.age_band, first.sex, first.imd_quintile, first.state) == (
            "65-69",
            "2",
            1,
            "waiting",
        )
        other = next(m for m in members if m.patient_id != eligible.id)
        assert other.state == "not_textable"
        assert all(m.variant == "control" for m in members)
        assert session.get(Campaign, campaign_id).state == "active"


def test_approval_allocates_arms_by_weight_and_every_offer_copies_the_arm(db, practice) -> None:
    with db.transaction() as session:
        for i in range(120):
            add_patient(session, practice, mobile=f"+447700900{i:03d}")
        add_free_slots(session, practice, clinic_starts(date(2026, 1, 19), 30, ("09:00", "14:00")))
    campaign_id = approved_campaign(db, variants=(("control", 1), ("deadline", 1)))
    with db.transaction() as session:
        arms = Counter(session.scalars(select(CampaignMember.variant)))
    assert set(arms) == {"control", "deadline"}
    assert abs(arms["control"] - arms["deadline"]) <= 20
    assert offers.plan_wave(db, campaign_id, now=NOW) == 20
    with db.transaction() as session:
        mismatched = session.scalar(
            select(func.count())
            .select_from(Offer)
            .join(CampaignMember, CampaignMember.id == Offer.member_id)
            .where(Offer.variant != CampaignMember.variant)
        )
    assert mismatched == 0


def test_a_draft_never_sends(db, practice) -> None:
    with db.transaction() as session:
        add_patient(session, practice)
        add_free_slots(session, practice, clinic_starts(date(2026, 1, 19), 3))
    spec = campaigns.CampaignSpec(name="Draft", practices=["F84003"], lawful_basis="Direct care")
    campaign_id = campaigns.create(db, spec, now=NOW, actor="test")
    assert offers.plan_waves(db, now=NOW) == 0
    with pytest.raises(campaigns.CampaignError, match="draft"):
        campaigns.pause(db, campaign_id, now=NOW, actor="test")


def test_a_paused_campaign_plans_no_wave_until_resumed(runner, db, practice) -> None:
    with db.transaction() as session:
        add_patient(session, practice)
        add_free_slots(session, practice, clinic_starts(date(2026, 1, 19), 3))
    campaign_id = approved_campaign(db)
    assert runner.invoke(args=["campaigns", "pause", str(campaign_id)]).exit_code == 0
    assert offers.plan_waves(db, now=NOW) == 0
    assert runner.invoke(args=["campaigns", "resume", str(campaign_id)]).exit_code == 0
    assert offers.plan_waves(db, now=NOW) == 1
    with db.transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["campaign.pause", "campaign.resume"]


def test_status_json_has_the_counts_scripts_rely_on(runner, db, practice) -> None:
    with db.transaction() as session:
        add_patient(session, practice)
        add_free_slots(session, practice, clinic_starts(date(2026, 1, 19), 3))
    campaign_id = approved_campaign(db)
    offers.plan_waves(db, now=NOW)
    result = runner.invoke(args=["campaigns", "status", str(campaign_id), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    for key in (
        "state",
        "invited",
        "booked",
        "declined",
        "expired",
        "opted_out",
        "queued",
        "uncertain",
    ):
        assert key in status
    assert (status["state"], status["invited"], status["queued"]) == ("active", 1, 1)


def test_approving_twice_is_refused(db, practice) -> None:
    campaign_id = approved_campaign(db)
    with pytest.raises(campaigns.CampaignError, match="active"):
        campaigns.approve(db, campaign_id, now=NOW, actor="test")
