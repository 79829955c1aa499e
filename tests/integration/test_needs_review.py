"""A condition the vocabulary does not know holds the patient for review: not invited,
shown in the preview and the export with its terms, counted in the funnel, until a
re-import or a grown vocabulary resolves it."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import CampaignMember, Offer, Patient
from app.domain.eligibility import NEEDS_REVIEW
from app.services import campaigns, cohort, condition_review, importing, offers, reports
from app.services.practices import add_practice as add_practice_service
from tests.builders import (
    add_free_slots,
    add_patient,
    add_practice,
    approved_campaign,
    clinic_starts,
    nhs_numbers,
)

ON = date(2026, 1, 14)
NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
HEADER = "NHS Number,Date of Birth,Mobile,Conditions"


def _statuses(db: Database, practice_id: int) -> dict[str, tuple[str, str | None]]:
    with db.transaction() as session:
        rows = session.execute(cohort.cohort_query([practice_id], ON)).mappings().all()
    return {r["nhs_number"]: (r["status"], r["reason"]) for r in rows}


def test_an_imported_unknown_condition_holds_the_patient_and_a_reimport_releases_them(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    add_practice_service(db, ods="F84003", name="Test Practice", now=clock.now())
    n = nhs_numbers(4)
    rows = [
        HEADER,
        f"{n[0]},1975-06-01,07700 900001,heart trouble; asthma",
        f"{n[1]},1975-06-01,07700 900002,CKD stage 2;gout",
        f"{n[2]},1975-06-01,07700 900003,CKD stage 3",
        f"{n[3]},1975-06-01,,funny turns",
    ]
    path = tmp_path / "list.csv"
    path.write_text("\n".join(rows) + "\n")
    result = importing.import_patients(
        db, path, practice_ods="F84003", now=clock.now(), allow_test_numbers=True
    )
    warnings = [p["reason"] for p in result.problems if p["kind"] == "warning"]
    assert len(warnings) == 2 and "'heart trouble'" in warnings[0]
    with db.transaction() as session:
        practice_id = session.scalar(select(Patient.practice_id))
    assert _statuses(db, practice_id) == {
        n[0]: (NEEDS_REVIEW, None),
        n[1]: ("eligible", None),
        n[2]: ("excluded", "condition"),
        n[3]: (NEEDS_REVIEW, None),
    }

    rows[1] = f"{n[0]},1975-06-01,07700 900001,asthma"
    path.write_text("\n".join(rows) + "\n")
    importing.import_patients(
        db, path, practice_ods="F84003", now=clock.now(), allow_test_numbers=True
    )
    assert _statuses(db, practice_id)[n[0]] == ("eligible", None)


def test_preview_and_export_show_the_held_patients_with_their_terms(
    db: Database, clock: FixedClock
) -> None:
    with db.transaction() as session:
        practice = add_practice(session)
        add_patient(session, practice)
        held = add_patient(session, practice, unrecognised_conditions="heart trouble").nhs_number
        add_patient(session, practice, unrecognised_conditions="heart trouble; funny turns")
        add_patient(session, practice, unrecognised_conditions="funny turns", conditions="chd")
        practice_id = practice.id
    with db.transaction() as session:
        p = cohort.preview(session, [practice_id], ON)
    assert (p.listed, p.eligible, p.needs_review) == (4, 1, 2)
    assert p.excluded["condition"] == 1
    assert p.review_terms == {"heart trouble": 2, "funny turns": 1}

    out = io.StringIO()
    cohort.export_csv(db, ["F84003"], ON, out, now=clock.now())
    rows = {r[0]: r for r in csv.reader(io.StringIO(out.getvalue()))}
    assert rows[held] == [held, "needs_review", "heart trouble"]


def test_the_cli_preview_counts_and_names_the_unrecognised_terms(runner, db) -> None:
    with db.transaction() as session:
        practice = add_practice(session)
        add_patient(session, practice, unrecognised_conditions="heart trouble")
    result = runner.invoke(args=["cohort", "preview", "--practice", "F84003", "--on", "2026-01-14"])
    assert result.exit_code == 0, result.output
    assert re.search(r"held for review \(unrecognised condition\) +1\n", result.output)
    assert "heart trouble" in result.output


def test_a_held_member_is_never_offered_is_counted_and_released_when_resolved(
    db: Database,
) -> None:
    with db.transaction() as session:
        practice = add_practice(session)
        add_free_slots(session, practice, clinic_starts(date(2026, 1, 16), days=4))
        held = add_patient(session, practice, unrecognised_conditions="heart trouble").id
        add_patient(session, practice, mobile="+447700900002")
    campaign_id = approved_campaign(db, now=NOW)
    with db.transaction() as session:
        member = session.scalars(
            select(CampaignMember).where(CampaignMember.patient_id == held)
        ).one()
        assert (member.state, member.cohort_status) == ("needs_review", "eligible")
    offers.plan_waves(db, now=NOW)
    with db.transaction() as session:
        offered = set(session.scalars(select(Offer.patient_id)))
    assert held not in offered and len(offered) == 1
    assert campaigns.status(db, campaign_id)["needs_review"] == 1
    funnel = reports.uptake(db, campaign_ids=[campaign_id], raw=True, rule=reports.Rule(), now=NOW)
    assert funnel.held_for_review == 1 and funnel.as_dict()["held_for_review"] == 1
    published = reports.uptake(db, campaign_ids=[campaign_id], rule=reports.Rule(), now=NOW)
    assert published.held_for_review is None  # 1 is below the disclosure threshold

    with db.transaction() as session:
        session.execute(
            update(Patient).where(Patient.id == held).values(unrecognised_conditions="asthma")
        )
    assert condition_review.recheck(db, now=NOW).changed == 1  # the vocabulary now knows asthma
    with db.transaction() as session:
        patient = session.get(Patient, held)
        assert patient is not None and patient.unrecognised_conditions == ""
        member = session.scalars(
            select(CampaignMember).where(CampaignMember.patient_id == held)
        ).one()
        assert member.state == "waiting"


@pytest.mark.parametrize(("stored", "state"), [("diabetes", "removed"), ("gout", "waiting")])
def test_a_recheck_moves_a_recognised_term_to_its_rule(
    db: Database, stored: str, state: str
) -> None:
    with db.transaction() as session:
        practice = add_practice(session)
        held = add_patient(session, practice, unrecognised_conditions=f"{stored}; ").id
    approved_campaign(db, now=NOW)
    condition_review.recheck(db, now=NOW)
    with db.transaction() as session:
        member = session.scalars(select(CampaignMember)).one()
        patient = session.get(Patient, held)
        assert patient is not None
        assert (patient.conditions, patient.unrecognised_conditions) == (
            "diabetes" if stored == "diabetes" else "",
            "",
        )
        assert member.state == state


def test_the_recheck_command_reads_stored_terms_again_and_says_what_is_still_held(
    runner, db: Database
) -> None:
    with db.transaction() as session:
        practice = add_practice(session)
        add_patient(session, practice, unrecognised_conditions="gout")
        add_patient(session, practice, unrecognised_conditions="funny turns")
    result = runner.invoke(args=["patients", "recheck-conditions", "--practice", "F84003"])
    assert result.exit_code == 0, result.output
    assert "1 patients' conditions re-read; 1 still held for review" in result.output
    missing = runner.invoke(args=["patients", "recheck-conditions", "--practice", "Z99999"])
    assert missing.exit_code != 0 and "Traceback" not in missing.output
