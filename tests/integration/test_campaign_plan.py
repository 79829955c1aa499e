"""What a campaign will do next: the approval plan (texted, first send, free slots and
the first wave, by practice) and the reasons a running campaign is not inviting."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.services import campaign_plan, campaigns
from tests.builders import add_free_slots, add_patient, add_practice, clinic_starts

# Saturday 17 January 2026, 20:00: after a 09:00-19:00 window, and Sunday is closed
SATURDAY_NIGHT = datetime(2026, 1, 17, 20, 0, tzinfo=UTC)


def _campaign(db, now: datetime) -> int:
    with db.transaction() as session:
        a = add_practice(session, ods="A00001", name="Riverside Medical Centre")
        b = add_practice(session, ods="B00001", name="Hillside Surgery")
        for i in range(5):
            add_patient(session, a, mobile=f"+44770090070{i}", dob=date(1970, 3, 1 + i), now=now)
            add_patient(session, b, mobile=f"+44770090080{i}", dob=date(1970, 3, 1 + i), now=now)
        # Riverside: 8 slots in the fortnight (2 invitations) and 4 more in March
        add_free_slots(session, a, clinic_starts(date(2026, 1, 26), 2), now=now)
        add_free_slots(session, a, clinic_starts(date(2026, 3, 2), 1), now=now)
    spec = campaigns.CampaignSpec(
        name="Winter checks", practices=["A00001", "B00001"], lawful_basis="Public task"
    )
    return campaigns.create(db, spec, now=now, actor="test")


def test_the_approval_plan_counts_slots_and_the_first_wave_by_practice(db) -> None:
    campaign_id = _campaign(db, SATURDAY_NIGHT)
    plan = campaign_plan.approval_plan(db, campaign_id, now=SATURDAY_NIGHT)
    assert plan is not None
    assert (plan.eligible, plan.not_textable) == (10, 0)
    # the window reopens on Monday 19th at 09:00 London (GMT)
    assert plan.first_send == datetime(2026, 1, 19, 9, 0, tzinfo=UTC)
    by_name = {p.practice.name: p for p in plan.practices}
    riverside, hillside = by_name["Riverside Medical Centre"], by_name["Hillside Surgery"]
    assert (riverside.free_in_horizon, riverside.free_slots, riverside.first_wave) == (8, 12, 4)
    assert (hillside.free_in_horizon, hillside.free_slots, hillside.first_wave) == (0, 0, 0)
    assert (plan.free_in_horizon, plan.first_wave) == (8, 4)


def test_a_running_campaign_outside_its_window_says_when_the_next_wave_goes(db) -> None:
    campaign_id = _campaign(db, SATURDAY_NIGHT)
    campaigns.approve(db, campaign_id, now=SATURDAY_NIGHT, actor="test")
    status = campaigns.status(db, campaign_id)
    reasons = campaign_plan.why_not_inviting(
        db,
        campaign_id,
        now=SATURDAY_NIGHT,
        members=status["members"],
        waiting=status["waiting"],
    )
    assert reasons == [
        "It is outside the send window (09:00-19:00 mon,tue,wed,thu,fri,sat):"
        " the next wave goes on Monday 19 January at 09:00."
    ]
    monday = datetime(2026, 1, 19, 10, 0, tzinfo=UTC)
    assert (
        campaign_plan.why_not_inviting(
            db, campaign_id, now=monday, members=status["members"], waiting=status["waiting"]
        )
        == []
    )
