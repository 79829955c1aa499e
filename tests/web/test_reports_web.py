"""The report page, its CSV downloads, the uptake API and the report CLI: who sees what."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from app.data.models import AuditEvent, User
from app.domain.funnel import STAGES
from app.domain.suppression import ALL, Rule
from tests import disclosure_audit
from tests.builders import (
    add_campaign_booking,
    add_invitation,
    add_member,
    add_patient,
    add_practice,
    add_trial_campaign,
    add_user,
)
from tests.web.staff import sign_in

NHS_NUMBER = re.compile(r"\b999\d{7}\b")
MOBILE = re.compile(r"\+?447700\d{6}")


@pytest.fixture
def scene(db):
    """Two practices in one campaign (Alpha 30 members, Beta 12), one in another; staff."""
    with db.transaction() as s:
        alpha = add_practice(s, ods="F84003", name="Alpha Surgery")
        beta = add_practice(s, ods="F84004", name="Beta Health Centre")
        gamma = add_practice(s, ods="F84005", name="Gamma Practice")
        campaign = add_trial_campaign(s, [alpha, beta], name="Winter invitations")
        other = add_trial_campaign(s, [gamma], name="Gamma only")
        serial = 0
        for practice, n in ((alpha, 30), (beta, 12)):
            for i in range(n):
                serial += 1
                p = add_patient(
                    s, practice, sex="1" if i % 2 else "2", mobile=f"+447700900{serial:03d}"
                )
                m = add_member(s, campaign, p, variant="control" if i % 2 else "deadline")
                if i < n - 2:
                    offer = add_invitation(s, m)
                    if i % 3 == 0:
                        add_campaign_booking(s, m, state="attended", offer=offer)
        p = add_patient(s, gamma, mobile="+447700900900")
        add_member(s, other, p)
        add_user(s, "admin@example.nhs.uk", "admin")
        add_user(s, "analyst@example.nhs.uk", "analyst")
        add_user(s, "gp@example.nhs.uk", "practice", [beta])
        return {"campaign": campaign.id, "other": other.id, "beta": beta.id}


def test_analyst_sees_suppressed_funnel_breakdown_trial_and_equity(client, scene):
    sign_in(client, "analyst@example.nhs.uk")
    page = client.get(f"/reports?campaign={scene['campaign']}&by1=sex&by2=variant")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Suppressed figures" in html and "Unsuppressed" not in html
    for section in ('id="funnel"', 'id="breakdown"', 'id="equity"', 'id="trial"', 'id="balance"'):
        assert section in html
    assert 'type="application/json" id="report-data"' in html
    assert "<script>" not in html  # CSP: no inline script
    assert not NHS_NUMBER.search(html) and not MOBILE.search(html)
    assert 'name="raw"' not in html  # analysts are never offered raw figures


def test_analyst_cannot_ask_for_raw_figures_or_reach_patient_pages(client, scene):
    sign_in(client, "analyst@example.nhs.uk")
    assert client.get(f"/reports?campaign={scene['campaign']}&raw=1").status_code == 403
    assert client.get(f"/reports/funnel.csv?campaign={scene['campaign']}&raw=1").status_code == 403
    for path in ("/bookings", "/conversations", "/slots", "/patients"):
        response = client.get(path)
        assert response.status_code in (403, 404), path
        assert not NHS_NUMBER.search(response.get_data(as_text=True))


def test_admin_may_toggle_raw_and_the_page_says_so(client, scene):
    sign_in(client, "admin@example.nhs.uk")
    html = client.get(f"/reports?campaign={scene['campaign']}&raw=1").get_data(as_text=True)
    assert "Unsuppressed figures" in html and "never to be published" in html
    body = client.get(f"/reports/funnel.csv?campaign={scene['campaign']}&raw=1").get_data(
        as_text=True
    )
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows[-1]["Eligible"] == "42"
    assert rows[-1]["Figures"] == "raw (unsuppressed)"


def test_every_table_downloads_as_suppressed_csv_and_is_audited(client, db, scene):
    sign_in(client, "analyst@example.nhs.uk")
    query = f"campaign={scene['campaign']}&by1=sex&within=sex"
    for table in ("funnel", "uptake", "equity", "trial", "balance"):
        response = client.get(f"/reports/{table}.csv?{query}")
        assert response.status_code == 200, table
        assert response.mimetype == "text/csv"
        assert "suppressed.csv" in response.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert rows[0][-1] == "Figures"
        assert {r[-1] for r in rows[1:]} == {"suppressed"}, table
        for row in rows[1:]:
            for cell in row:
                if cell.isdigit():
                    assert int(cell) == 0 or int(cell) >= 8, (table, row)
    with db.transaction() as s:
        exports = s.scalars(select(AuditEvent).where(AuditEvent.action == "report.export")).all()
        assert len(exports) == 5
        assert {e.actor for e in exports} == {"analyst@example.nhs.uk"}


def test_practice_user_sees_only_their_practice(client, scene):
    sign_in(client, "gp@example.nhs.uk")
    html = client.get(f"/reports?campaign={scene['campaign']}&by1=practice").get_data(as_text=True)
    assert "Beta Health Centre" in html and "Alpha Surgery" not in html
    assert "Figures for your practice only" in html
    assert 'href="/reports"' in html  # the header offers practice staff their reports
    # their practice has 12 members: rounded to 10, not the campaign's 42 (40)
    body = client.get(f"/reports/funnel.csv?campaign={scene['campaign']}").get_data(as_text=True)
    assert list(csv.DictReader(io.StringIO(body)))[-1]["Eligible"] == "10"
    assert client.get(f"/reports?campaign={scene['other']}").status_code == 404


def _token(runner, email: str) -> str:
    result = runner.invoke(args=["users", "token", "--email", email])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_api_token_is_printed_once_and_stored_hashed(runner, db, scene):
    token = _token(runner, "analyst@example.nhs.uk")
    assert token.startswith("nudge_") and len(token) > 40
    with db.transaction() as s:
        stored = s.scalar(select(User.api_token_hash).where(User.email == "analyst@example.nhs.uk"))
    assert stored is not None and token not in stored and len(stored) == 64


def test_api_returns_suppressed_json_with_intervals_for_an_analyst_token(client, runner, scene):
    token = _token(runner, "analyst@example.nhs.uk")
    response = client.get(
        f"/api/reports/uptake?campaign={scene['campaign']}&by=sex,variant",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    data = response.get_json()
    assert data["suppressed"] is True and data["by"] == ["sex", "variant"]
    assert data["total"]["counts"]["eligible"] == 40
    group = data["groups"][0]
    assert set(group["group"]) == {"sex", "variant"}
    take_up = group["rates"]["take_up"]
    assert set(take_up) == {"value", "low", "high", "suppressed"}
    text = json.dumps(data)
    assert not NHS_NUMBER.search(text) and not MOBILE.search(text)
    for g in [*data["groups"], data["total"]]:
        for v in g["counts"].values():
            assert v == "*" or v == 0 or v >= 8


def test_api_csv_matches_the_json(client, runner, scene):
    token = _token(runner, "analyst@example.nhs.uk")
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/reports/uptake?campaign={scene['campaign']}&by=sex"
    data = client.get(url, headers=headers).get_json()
    response = client.get(url + "&format=csv", headers=headers)
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["Sex"] for r in rows] == [g["group"]["sex"] for g in data["groups"]] + ["All"]
    assert rows[-1]["Eligible"] == str(data["total"]["counts"]["eligible"])


def test_api_refuses_missing_bad_and_revoked_tokens(client, runner, scene):
    url = f"/api/reports/uptake?campaign={scene['campaign']}"
    missing = client.get(url)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert missing.get_json()["status"] == 401
    assert client.get(url, headers={"Authorization": "Bearer nudge_wrong"}).status_code == 401
    assert client.get(url, headers={"Authorization": "Basic abc"}).status_code == 401
    token = _token(runner, "analyst@example.nhs.uk")
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    result = runner.invoke(args=["users", "token", "--email", "analyst@example.nhs.uk", "--revoke"])
    assert result.exit_code == 0
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_api_parameters_and_scope_are_checked(client, runner, scene):
    analyst = {"Authorization": f"Bearer {_token(runner, 'analyst@example.nhs.uk')}"}
    gp = {"Authorization": f"Bearer {_token(runner, 'gp@example.nhs.uk')}"}
    admin = {"Authorization": f"Bearer {_token(runner, 'admin@example.nhs.uk')}"}
    base = "/api/reports/uptake?campaign="
    assert client.get(base + "abc", headers=analyst).status_code == 400
    assert client.get(base + f"{scene['campaign']}&by=bame", headers=analyst).status_code == 400
    assert client.get(base + f"{scene['campaign']}&format=xml", headers=analyst).status_code == 400
    assert client.get(base + "9999", headers=analyst).status_code == 404
    assert client.get(base + f"{scene['campaign']}&raw=1", headers=analyst).status_code == 403
    assert client.get(base + f"{scene['other']}", headers=gp).status_code == 403
    mine = client.get(base + f"{scene['campaign']}&by=practice", headers=gp).get_json()
    assert [g["group"]["practice"] for g in mine["groups"]] == ["F84004 Beta Health Centre"]
    raw = client.get(base + f"{scene['campaign']}&raw=1", headers=admin).get_json()
    assert raw["suppressed"] is False and raw["total"]["counts"]["eligible"] == 42


def test_api_accepts_the_signed_in_session(client, scene):
    sign_in(client, "analyst@example.nhs.uk")
    response = client.get(f"/api/reports/uptake?campaign={scene['campaign']}")
    assert response.status_code == 200 and response.get_json()["suppressed"] is True


def test_cli_report_is_suppressed_unless_raw(runner, scene):
    args = ["report", "uptake", "--campaign", str(scene["campaign"]), "--by", "sex,variant"]
    suppressed = runner.invoke(args=[*args, "--format", "json"])
    assert suppressed.exit_code == 0, suppressed.output
    data = json.loads(suppressed.output)
    assert data["suppressed"] is True and data["total"]["counts"]["eligible"] == 40
    raw = runner.invoke(args=[*args, "--format", "json", "--raw"])
    assert json.loads(raw.output)["total"]["counts"]["eligible"] == 42
    as_csv = runner.invoke(args=args)
    assert as_csv.output.splitlines()[0].startswith("Sex,Message variant,Eligible")
    bad = runner.invoke(args=["report", "uptake", "--campaign", "1", "--by", "bame"])
    assert bad.exit_code != 0 and "unknown dimension" in bad.output
    trial = runner.invoke(
        args=["report", "trial", "--campaign", str(scene["campaign"]), "--within", "sex"]
    )
    assert trial.exit_code == 0 and "Difference from control" in trial.output


def test_a_date_range_reports_every_campaign_running_in_it(client, db, scene):
    sign_in(client, "admin@example.nhs.uk")
    body = client.get("/reports/funnel.csv?from=2026-01-01&to=2026-01-31&raw=1").get_data(
        as_text=True
    )
    # both campaigns were approved on 14 January: 42 + 1 members
    assert list(csv.DictReader(io.StringIO(body)))[-1]["Eligible"] == "43"
    assert client.get("/reports?from=2025-01-01&to=2025-01-31").status_code == 404
    assert client.get("/reports?from=nonsense&to=2026-01-31").status_code == 400


FRAME = ("practice", "sex")  # every table of the selection is part of this two-way one


def _api_cells(client: Any, campaign: int, by: list[str], raw: bool = False) -> dict:  # type: ignore[type-arg]
    """The API's counts as (key in FRAME, ALL where a table has no such dimension, stage)."""
    query = f"/api/reports/uptake?campaign={campaign}&by={','.join(by)}"
    body = client.get(query + ("&raw=1" if raw else "")).get_json()
    out: dict[tuple[Any, str], Any] = {}
    for group in [body["total"], *body["groups"]]:
        labels = group["group"]
        key = tuple(ALL if labels.get(d, "All") == "All" else labels[d] for d in FRAME)
        for stage, value in group["counts"].items():
            out[(key, stage)] = None if value == "*" else value
    return out


def _csv_cells(text: str, width: int) -> dict[tuple[tuple[str, ...], str], Any]:
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    out = {}
    for row in rows[1:]:
        key = tuple(ALL if v == "All" else v for v in row[:width])
        for stage, label in STAGES.items():
            value = row[header.index(label)]
            out[(key, stage)] = None if value == "*" else int(value)
    return out


@pytest.mark.parametrize("round_to", [5, 1])
def test_the_api_and_the_csvs_of_one_selection_agree_and_pin_no_hidden_count(
    app, client, scene, round_to
):
    app.config["ROUND_TO"] = round_to
    rule = Rule(int(app.config["SUPPRESS_BELOW"]), round_to)
    campaign = scene["campaign"]
    sign_in(client, "admin@example.nhs.uk")
    true = _api_cells(client, campaign, ["practice", "sex"], raw=True)
    published = _api_cells(client, campaign, ["practice", "sex"])
    for by in (["practice"], ["sex"], []):
        for cell, value in _api_cells(client, campaign, by).items():
            assert published[cell] == value, (by, cell)
    two_way = client.get(f"/reports/uptake.csv?campaign={campaign}&by1=practice&by2=sex")
    csv_cells = _csv_cells(two_way.get_data(as_text=True), 2)
    assert csv_cells == published
    funnel = _csv_cells(
        client.get(f"/reports/funnel.csv?campaign={campaign}").get_data(as_text=True), 0
    )
    assert {stage: v for (_k, stage), v in funnel.items()} == {
        stage: published[((ALL, ALL), stage)] for stage in STAGES
    }
    relations = disclosure_audit.report_relations({k for k, _s in published}, STAGES)
    assert any(v is None for v in published.values())
    assert disclosure_audit.pinned(published, true, relations, rule) == {}
