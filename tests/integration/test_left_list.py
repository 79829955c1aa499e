"""A re-import is the practice's whole list: patients it no longer has are never invited again;
and imports of one practice queue rather than collide."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import (
    CampaignMember,
    ImportBatch,
    Message,
    Offer,
    Patient,
    Practice,
    Slot,
)
from app.services import cohort, importing, offers
from app.services.practices import add_practice as add_practice_row
from tests.builders import (
    add_member,
    add_open_offer,
    add_practice,
    add_sending_campaign,
    nhs_numbers,
    queue_outbound,
)
from tests.races import together

N = nhs_numbers(8, start=500)
HEADER = "NHS Number,Forename,Surname,Date of Birth,Sex,Mobile"
ON = date(2026, 1, 14)


def _row(i: int, dob: str = "1970-01-01") -> str:
    return f"{N[i]},P{i},S,{dob},M,07700 90010{i}"


def _import(db: Database, clock: FixedClock, tmp_path: Path, rows: list[str], **kw: object):
    path = tmp_path / "list.csv"
    path.write_text("\n".join([HEADER, *rows]), encoding="utf-8")
    return importing.import_patients(
        db, path, practice_ods="F84003", now=clock.now(), allow_test_numbers=True, **kw
    )  # type: ignore[arg-type]


def _by_number(db: Database) -> dict[str, Patient]:
    with db.transaction() as session:
        return {p.nhs_number: p for p in session.scalars(select(Patient))}


@pytest.fixture
def practice_id(db: Database) -> int:
    with db.transaction() as session:
        return add_practice(session, ods="F84003").id


def test_patients_missing_from_a_reimport_leave_the_list_and_stop_being_invited(
    db: Database, clock: FixedClock, tmp_path: Path, practice_id: int
) -> None:
    first = _import(db, clock, tmp_path, [_row(i) for i in range(6)])
    assert first.left_list == 0
    patients = _by_number(db)
    with db.transaction() as session:
        campaign = add_sending_campaign(session)
        gone_offered = session.get(Patient, patients[N[0]].id)
        gone_waiting = session.get(Patient, patients[N[1]].id)
        staying = session.get(Patient, patients[N[2]].id)
        assert gone_offered and gone_waiting and staying
        offer = add_open_offer(
            session, patient=gone_offered, mobile=gone_offered.mobile or "", campaign=campaign
        )
        invitation = queue_outbound(
            session,
            to=gone_offered.mobile or "",
            campaign=campaign,
            patient_id=gone_offered.id,
            offer_id=offer.id,
        )
        waiting = add_member(session, campaign, gone_waiting)
        still_waiting = add_member(session, campaign, staying)
        ids = (offer.id, invitation.id, waiting.id, still_waiting.id)  # type: ignore[attr-defined]
    clock.advance(days=30)

    # N[0] and N[1] have gone; N[3]'s row is rejected (bad date) but they are still listed
    second = _import(db, clock, tmp_path, [_row(2), _row(3, dob="31/02/1970"), _row(4), _row(5)])

    assert (second.left_list, second.rejected, second.unchanged) == (2, 1, 3)
    patients = _by_number(db)
    assert {n for n, p in patients.items() if p.left_list_at is not None} == {N[0], N[1]}
    assert patients[N[0]].left_list_at == clock.now()
    with db.transaction() as session:
        offer_row = session.get(Offer, ids[0])
        assert offer_row is not None and offer_row.state == "withdrawn"
        held = session.scalars(select(Slot).where(Slot.held_by_offer_id == ids[0])).all()
        assert held == []
        message = session.get(Message, ids[1])
        assert message is not None and message.status == "cancelled"
        states = dict(session.execute(select(CampaignMember.id, CampaignMember.state)).all())
        assert states[ids[2]] == "removed" and states[ids[3]] == "waiting"
        assert offers.create_offer(session, ids[2], now=clock.now()) is None
        # an offered member keeps its state, but is never offered again either (asked at
        # the time of the first offer, when its practice still had free slots ahead)
        then = offer_row.created_at
        assert offers.create_offer(session, offer_row.member_id, now=then) is None
        batch = session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()
        assert batch is not None and batch.left_list == 2
        preview = cohort.preview(session, [practice_id], ON)
    assert preview.listed == 4  # the two who left are not on the list at all

    # back on a later list: listed again, counted as updated
    clock.advance(days=30)
    third = _import(db, clock, tmp_path, [_row(i) for i in range(6)])
    assert (third.left_list, third.added, third.updated) == (0, 0, 2)
    assert all(p.left_list_at is None for p in _by_number(db).values())


def test_a_file_missing_most_of_the_list_is_refused_unless_removals_are_allowed(
    db: Database, clock: FixedClock, tmp_path: Path, practice_id: int
) -> None:
    numbers = nhs_numbers(200, start=2_000)
    rows = [f"{n},A,B,1970-01-01,F," for n in numbers]
    _import(db, clock, tmp_path, rows)
    clock.advance(days=1)

    with pytest.raises(
        importing.ImportFileError, match=r"does not list 150 of .* 200 patients \(75%\)"
    ):
        _import(db, clock, tmp_path, rows[:50])
    assert all(p.left_list_at is None for p in _by_number(db).values())  # nothing changed

    result = _import(db, clock, tmp_path, rows[:50], allow_removals=True)
    assert result.left_list == 150
    with db.transaction() as session:
        assert cohort.preview(session, [practice_id], ON).listed == 50


@pytest.mark.postgres
def test_two_imports_of_one_practice_at_once_queue_and_both_succeed(
    pg_url: str, tmp_path: Path
) -> None:
    """Imports of a practice are serialised on its row: the second waits for the first,
    then sees its patients (a first import merges with a plain INSERT, so without the
    lock the loser would fail on the unique index). Run a few times for the orders."""
    db = Database.from_url(pg_url, pool_size=4)
    try:
        now = datetime(2026, 1, 14, 10, tzinfo=UTC)
        rows = [f"{n},A,B,1970-01-01,F," for n in nhs_numbers(3_000, start=9_000)]
        paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
        for path in paths:
            path.write_text("\n".join([HEADER, *rows]), encoding="utf-8")
        for round_ in range(3):
            ods = f"Y{round_:05d}"
            add_practice_row(db, ods=ods, name="Race practice", now=now)
            results = together(
                *(
                    partial(
                        importing.import_patients,
                        db,
                        path,
                        practice_ods=ods,
                        now=now,
                        allow_test_numbers=True,
                    )
                    for path in paths
                )
            )
            assert all(isinstance(r, importing.ImportResult) for r in results), results
            added = sorted(r.added for r in results)
            unchanged = sorted(r.unchanged for r in results)
            assert (added, unchanged) == ([0, 3_000], [0, 3_000])
            with db.transaction() as session:
                listed = (
                    select(func.count())
                    .select_from(Patient)
                    .join(Practice, Practice.id == Patient.practice_id)
                    .where(Practice.ods_code == ods)
                )
                assert session.scalar(listed) == 3_000
    finally:
        db.dispose()
