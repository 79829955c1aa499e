"""Coded activity out: the clinical export's SNOMED CT codes come from the clusters (or a
checked setting), and the batch-coding layout reads back in as a coded-events file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import Offer
from app.domain import coded
from app.services import attendance
from app.services.coded_events import read_events
from app.settings import Settings
from tests.builders import (
    add_booking,
    add_invitation,
    add_member,
    add_patient,
    add_practice,
    add_slot,
    add_trial_campaign,
)

DAY = date(2026, 1, 14)


def _with_check_digit(stem: str) -> str:
    """A synthetic id that passes the Verhoeff check (for settings a practice fills in)."""
    for digit in "0123456789":
        try:
            return coded.concept_id(stem + digit)
        except coded.ConceptIdError:
            continue
    raise AssertionError


@pytest.fixture
def activity(db: Database) -> int:
    with db.transaction() as session:
        practice = add_practice(session)
        campaign = add_trial_campaign(session, [practice])
        people = [add_patient(session, practice) for _ in range(3)]
        member_rows = [add_member(session, campaign, p, state="offered") for p in people]
        add_invitation(session, member_rows[0])
        offer = add_invitation(session, member_rows[1], offer_state="declined")
        assert isinstance(offer, Offer)
        offer.closed_at = offer.created_at + timedelta(hours=1)
        slot = add_slot(session, practice, datetime(2026, 1, 14, 9, 0, tzinfo=UTC))
        add_booking(session, people[0], slot, state="attended", source="sms")
        slot2 = add_slot(session, practice, datetime(2026, 1, 14, 9, 30, tzinfo=UTC))
        add_booking(session, people[2], slot2, state="did_not_attend", source="sms")
        return practice.id


def _export(db: Database, clock: FixedClock, practice_id: int, layout: str, **config: str):  # type: ignore[no-untyped-def]
    return attendance.export_csv(
        db, practice_id=practice_id, first=DAY, last=DAY, now=clock.now(), actor="t",
        settings=Settings.from_config(config), layout=layout,
    )  # fmt: skip


def test_every_exported_code_is_in_the_cluster_it_claims(
    db: Database, clock: FixedClock, activity: int
) -> None:
    text, _ = _export(db, clock, activity, "full")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["outcome"] for r in rows} == {"invited", "declined", "attended", "did_not_attend"}
    clusters = coded.national_clusters()
    completed = clusters.by_name[coded.CHECK_COMPLETED].codes
    for row in rows:
        if row["outcome"] == "attended":
            assert row["snomed_ct_code"] in completed
            assert row["snomed_ct_term"] == completed[row["snomed_ct_code"]]
        else:  # settings, blank until confirmed
            assert row["snomed_ct_code"] == ""


def test_the_batch_coding_layout_has_only_coded_rows_and_reads_back_as_events(
    db: Database, clock: FixedClock, activity: int
) -> None:
    dna = _with_check_digit("99999999999910")
    text, count = _export(db, clock, activity, "coding", SNOMED_DID_NOT_ATTEND_CODE=dna)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["NHS Number", "SNOMED Code", "Date"]
    assert sorted(r[1] for r in rows[1:]) == sorted([coded.CHECK_COMPLETED_CODE, dna])
    assert count == 2 and all(r[2] == "2026-01-14" for r in rows[1:])
    read = read_events(io.StringIO(text), today=DAY, name="coding.csv")
    assert read.rows == 2 and read.rejected == 0 and read.relevant == 1
    (record,) = read.codes.values()
    assert record.check_completed_on == DAY


def test_a_malformed_code_setting_is_refused_by_name(
    db: Database, clock: FixedClock, activity: int
) -> None:
    with pytest.raises(attendance.AttendanceError, match="NUDGE_SNOMED_INVITATION_CODE"):
        _export(db, clock, activity, "full", SNOMED_INVITATION_CODE="12345X")


def test_the_cli_writes_the_batch_coding_csv(app, activity: int) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    args = ["bookings", "export", "--practice", "F84003", "--from", "2026-01-14"]
    out = runner.invoke(args=[*args, "--to", "2026-01-14"])
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.output)))
    completed = coded.national_clusters().by_name[coded.CHECK_COMPLETED].codes
    assert rows[0] == ["NHS Number", "SNOMED Code", "Date"]
    assert [r[1] for r in rows[1:]] == [coded.CHECK_COMPLETED_CODE]
    assert all(r[1] in completed for r in rows[1:])
    backwards = runner.invoke(args=[*args, "--to", "2026-01-13"])
    assert backwards.exit_code != 0 and "before the start" in backwards.output
