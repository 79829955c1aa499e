"""Campaign pages: create a draft, see the cohort preview and each variant's rendered text
with its segments and cost, then approve, pause and resume; admins only."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.data.models import AuditEvent, Campaign, CampaignMember
from tests.builders import add_patient, add_practice, add_user
from tests.web.staff import post, sign_in


@pytest.fixture
def practice(db):
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "admin@example.nhs.uk", "admin")
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
        add_user(session, "analyst@example.nhs.uk", "analyst")
        for i in range(3):
            add_patient(session, practice, mobile=f"+44770090010{i}", dob=date(1970, 1, 1))
        add_patient(session, practice, mobile=None, dob=date(1970, 1, 1))  # not textable
        add_patient(session, practice, dob=date(1995, 1, 1), mobile="+447700900199")  # too young
    return practice


def _create(client) -> str:
    response = post(
        client,
        "/campaigns/new",
        {
            "name": "Winter checks",
            "practices": ["F84003"],
            "on": "2026-01-14",
            "lawful_basis": "UK GDPR 6(1)(e) public task; 9(2)(h) health care",
            "variants": ["control", "deadline"],
            "weight_control": "1",
            "weight_deadline": "2",
            "hold_hours": "48",
            "reminder_hours": "24",
            "max_invitations": "2",
            "min_notice_hours": "12",
            "send_window": "09:00-19:00",
            "send_days": "mon-sat",
            "info_url": "https://www.nhs.uk/conditions/nhs-health-check/",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def test_an_admin_creates_a_draft_and_sees_the_cohort_preview_and_variants(client, db, practice):
    sign_in(client, "admin@example.nhs.uk")
    page = client.get(_create(client)).get_data(as_text=True)
    assert ">Draft</strong>" in page
    assert "<strong>4</strong> people" in page
    assert "<strong>3</strong> eligible and textable" in page
    assert "<strong>1</strong> eligible but not textable" in page
    assert "Control (control): weight 1" in page and "Deadline: weight 2" in page
    assert "Alexandra, Test Medical Centre offers you a free NHS Health Check" in page
    assert "GSM-7" in page and "segments</strong>" in page and "£0." in page
    with db.transaction() as session:
        campaign = session.scalar(select(Campaign))
        assert campaign.variants == {"control": 1, "deadline": 2}
        assert campaign.control_variant == "control"


def test_approve_pause_and_resume_from_the_page_are_audited(client, db, practice):
    sign_in(client, "admin@example.nhs.uk")
    path = _create(client)
    assert post(client, f"{path}/approve").status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert ">Active</strong>" in page and "Progress" in page
    post(client, f"{path}/pause")
    assert ">Paused</strong>" in client.get(path).get_data(as_text=True)
    post(client, f"{path}/resume")
    with db.transaction() as session:
        assert session.scalar(select(Campaign.state)) == "active"
        assert len(session.scalars(select(CampaignMember)).all()) == 4
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("campaign.%"))
        ).all()
        assert {"campaign.approve", "campaign.pause", "campaign.resume"} <= set(actions)


def test_a_create_form_missing_fields_shows_the_error_summary(client, practice):
    sign_in(client, "admin@example.nhs.uk")
    response = post(client, "/campaigns/new", {"name": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for field in ("name", "lawful_basis", "practices", "variants"):
        assert f'href="#{field}"' in page


@pytest.mark.parametrize("who", ["gp@example.nhs.uk", "analyst@example.nhs.uk"])
def test_only_admins_see_campaign_pages(client, practice, who):
    sign_in(client, who)
    assert client.get("/campaigns").status_code == 403
    assert client.get("/campaigns/new").status_code == 403
