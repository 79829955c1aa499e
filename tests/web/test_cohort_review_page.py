"""The campaign page's cohort preview names the people held for review and their terms."""

from __future__ import annotations

from tests.builders import add_patient, add_practice, add_user
from tests.web.staff import post, sign_in


def test_the_draft_campaign_page_shows_who_is_held_for_review_and_why(client, db) -> None:
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "admin@example.nhs.uk", "admin")
        add_patient(session, practice, mobile="+447700900101")
        add_patient(
            session, practice, mobile="+447700900102", unrecognised_conditions="funny turns"
        )
    sign_in(client, "admin@example.nhs.uk")
    response = post(
        client,
        "/campaigns/new",
        {
            "name": "Winter checks",
            "practices": ["F84003"],
            "on": "2026-01-14",
            "lawful_basis": "UK GDPR 6(1)(e) public task; 9(2)(h) health care",
            "variants": ["control"],
            "weight_control": "1",
            "hold_hours": "48",
            "reminder_hours": "24",
            "max_invitations": "2",
            "min_notice_hours": "12",
            "send_window": "09:00-19:00",
            "send_days": "mon-sat",
            "info_url": "https://www.nhs.uk/conditions/nhs-health-check/",
        },
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<strong>1</strong> eligible and textable" in page
    assert "1 held for review" in page
    assert '<td class="nhsuk-table__cell">funny turns</td>' in page
