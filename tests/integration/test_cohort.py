"""The cohort in SQL: statuses, reasons and breakdowns, matching the domain rule, on both DBs."""

from __future__ import annotations

import csv
import io
import itertools
import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.clock import FixedClock
from app.data.db import Database
from app.data.models import AuditEvent, PhoneNumber
from app.domain import coded
from app.domain import eligibility as rules
from app.services import cohort
from tests.builders import add_patient, add_practice

ON = date(2026, 1, 14)
OPTED = datetime(2025, 12, 1, tzinfo=UTC)


def _statuses(db: Database, practice_id: int, on: date = ON) -> dict[str, tuple[str, str | None]]:
    with db.transaction() as session:
        rows = session.execute(cohort.cohort_query([practice_id], on)).mappings().all()
    return {r["nhs_number"]: (r["status"], r["reason"]) for r in rows}


def test_each_status_and_reason_is_computed_in_sql(db: Database) -> None:
    with db.transaction() as session:
        practice = add_practice(session)
        other = add_practice(session, ods="F84010")
        people = {
            "eligible": add_patient(session, practice),
            "young": add_patient(session, practice, dob=date(1986, 1, 15)),  # 40 tomorrow
            "forty": add_patient(session, practice, dob=date(1986, 1, 14)),  # 40 today
            "old": add_patient(session, practice, dob=date(1951, 1, 14)),  # 75 today
            "seventy_four": add_patient(session, practice, dob=date(1951, 1, 15)),
            "condition": add_patient(session, practice, conditions="diabetes"),
            "recent": add_patient(session, practice, last_health_check=date(2021, 1, 15)),
            "due": add_patient(session, practice, last_health_check=date(2021, 1, 14)),
            "opted": add_patient(session, practice, opted_out_at=OPTED),
            "stopped": add_patient(session, practice, mobile="+447700900050"),
            "no_mobile": add_patient(session, practice, mobile=None),
            "bounced": add_patient(session, practice, mobile="+447700900060"),
        }
        add_patient(session, other)  # another practice: not listed
        session.add(PhoneNumber(number="+447700900050", opted_out_at=OPTED))
        session.add(PhoneNumber(number="+447700900060", not_textable_at=OPTED))
        numbers = {k: p.nhs_number for k, p in people.items()}
        practice_id = practice.id

    got = {k: _statuses(db, practice_id)[n] for k, n in numbers.items()}

    assert got == {
        "eligible": ("eligible", None),
        "young": ("excluded", "age"),
        "forty": ("eligible", None),
        "old": ("excluded", "age"),
        "seventy_four": ("eligible", None),
        "condition": ("excluded", "condition"),
        "recent": ("excluded", "recent_check"),
        "due": ("eligible", None),
        "opted": ("excluded", "opted_out"),
        "stopped": ("excluded", "opted_out"),
        "no_mobile": ("not_textable", None),
        "bounced": ("not_textable", None),
    }
    assert len(_statuses(db, practice_id)) == 12


def test_the_sql_cohort_agrees_with_the_domain_rule_for_random_patients(db: Database) -> None:
    rng = random.Random(7)
    expected: dict[str, rules.Decision] = {}
    on = date(2028, 2, 29)  # a leap day, to stress the date arithmetic
    with db.transaction() as session:
        practice = add_practice(session)
        for _ in range(300):
            dob = on - timedelta(days=rng.randint(35 * 365, 80 * 365))
            if rng.random() < 0.05:
                dob = date(rng.choice([1952, 1956, 1988, 1984]), 2, 29)
            check = on - timedelta(days=rng.randint(0, 3000)) if rng.random() < 0.4 else None
            kwargs = dict(
                dob=dob,
                conditions=rng.choice(["", "", "", "", "chd", "statins;af"]),
                last_health_check=check,
                opted_out_at=OPTED if rng.random() < 0.1 else None,
                mobile=rng.choice([None, "+447700900001", "+447700900002"]),
            )
            patient = add_patient(session, practice, **kwargs)  # type: ignore[arg-type]
            expected[patient.nhs_number] = rules.decide(
                date_of_birth=dob,
                on=on,
                conditions=kwargs["conditions"],  # type: ignore[arg-type]
                last_health_check=check,
                opted_out_at=kwargs["opted_out_at"],  # type: ignore[arg-type]
                mobile=kwargs["mobile"],  # type: ignore[arg-type]
            )
        practice_id = practice.id
    got = _statuses(db, practice_id, on)
    assert {n: rules.Decision(*v) for n, v in got.items()} == expected


def test_preview_counts_and_breakdowns(db: Database) -> None:
    with db.transaction() as session:
        practice = add_practice(session)
        add_patient(session, practice, sex="2", ethnic_category="K", imd_decile=1)
        add_patient(session, practice, sex="1", ethnic_category="N", imd_decile=4,
                    dob=date(1955, 1, 1))  # fmt: skip
        add_patient(session, practice, sex="1", ethnic_category=None, imd_decile=None,
                    mobile=None, dob=date(1985, 12, 1))  # fmt: skip
        add_patient(session, practice, dob=date(2000, 1, 1))
        add_patient(session, practice, conditions="chd")
        add_patient(session, practice, last_health_check=date(2024, 1, 1))
        add_patient(session, practice, opted_out_at=OPTED)
        practice_id = practice.id
    with db.transaction() as session:
        p = cohort.preview(session, [practice_id], ON)
    assert (p.listed, p.eligible, p.not_textable, p.eligible_total) == (7, 2, 1, 3)
    assert p.excluded == {"age": 1, "condition": 1, "recent_check": 1, "opted_out": 1}
    assert p.by_age_band["50-54"] == cohort.Split(1, 0)
    assert p.by_age_band["70-74"] == cohort.Split(1, 0)
    assert p.by_age_band["40-44"] == cohort.Split(0, 1)
    assert p.by_sex["1"] == cohort.Split(1, 1) and p.by_sex["2"] == cohort.Split(1, 0)
    assert p.by_ethnic_group["asian"] == cohort.Split(1, 0)
    assert p.by_ethnic_group["black"] == cohort.Split(1, 0)
    assert p.by_ethnic_group["not_stated"] == cohort.Split(0, 1)
    assert p.by_imd_quintile["1"] == cohort.Split(1, 0)
    assert p.by_imd_quintile["2"] == cohort.Split(1, 0)
    assert p.by_imd_quintile["unknown"] == cohort.Split(0, 1)


def test_the_preview_agrees_with_the_cohort_query_row_by_row(db: Database) -> None:
    """The preview packs each patient into one integer cell in SQL; summing the cohort
    query's own rows in Python must give the same counts in every breakdown."""
    rng = random.Random(11)
    with db.transaction() as session:
        practice = add_practice(session)
        for _ in range(400):
            add_patient(
                session,
                practice,
                dob=ON - timedelta(days=rng.randint(30 * 365, 85 * 365)),
                sex=rng.choice(rules.SEXES),
                ethnic_category=rng.choice(["A", "D", "H", "M", "R", "Z", None]),
                imd_decile=rng.choice([None, *range(1, 11)]),
                conditions=rng.choice(["", "", "", "chd"]),
                last_health_check=rng.choice([None, None, date(2019, 5, 1), date(2024, 5, 1)]),
                opted_out_at=OPTED if rng.random() < 0.05 else None,
                mobile=rng.choice([None, "+447700900001", "+447700900002", "+447700900003"]),
            )
        session.add(PhoneNumber(number="+447700900003", not_textable_at=OPTED))
        practice_id = practice.id
    with db.transaction() as session:
        got = cohort.preview(session, [practice_id], ON)
        rows = session.execute(cohort.cohort_query([practice_id], ON)).mappings().all()
    want = cohort.CohortPreview(on=ON, listed=len(rows))
    for r in rows:
        if r["status"] == rules.EXCLUDED:
            want.excluded[r["reason"]] += 1
            continue
        textable = r["status"] == rules.ELIGIBLE
        want.eligible += textable
        want.not_textable += not textable
        quintile = str(r["imd_quintile"]) if r["imd_quintile"] else "unknown"
        for table, key in (
            (want.by_age_band, r["age_band"]),
            (want.by_sex, r["sex"]),
            (want.by_ethnic_group, r["ethnic_group"]),
            (want.by_imd_quintile, quintile),
        ):
            if textable:
                table[key].textable += 1
            else:
                table[key].not_textable += 1
    assert got == want
    assert got.not_textable > 0 and all(got.excluded.values())


def test_export_writes_one_row_per_patient_and_is_audited(db: Database, clock: FixedClock) -> None:
    with db.transaction() as session:
        practice = add_practice(session)
        a = add_patient(session, practice).nhs_number
        b = add_patient(session, practice, conditions="stroke").nhs_number
        c = add_patient(session, practice, mobile=None).nhs_number
    out = io.StringIO()
    count = cohort.export_csv(db, ["f84003"], ON, out, now=clock.now(), actor="tester")
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert count == 3
    assert rows[0] == ["nhs_number", "status", "reason"]
    assert sorted(rows[1:]) == sorted(
        [[a, "eligible", ""], [b, "excluded", "condition"], [c, "not_textable", ""]]
    )
    with db.transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "cohort.exported")
        ).one()
        assert (event.actor, event.detail["rows"]) == ("tester", 3)


def test_an_unknown_practice_is_named(db: Database) -> None:
    with db.transaction() as session:
        add_practice(session)
    try:
        cohort.preview_for(db, ["F84003", "Y00000"], ON)
    except LookupError as exc:
        assert "Y00000" in str(exc)
    else:
        raise AssertionError("expected LookupError")


_examples = itertools.count()
_patient = st.fixed_dictionaries(
    {
        "age_days": st.integers(min_value=38 * 365, max_value=77 * 365),
        "leap_baby": st.sampled_from([None, None, None, 1952, 1984, 1988]),
        "conditions": st.sampled_from(["", "", "", "chd", "ckd", "statins;af", "cvd_risk_20"]),
        "unrecognised": st.sampled_from(["", "", "heart trouble", "funny turns; odd"]),
        "age_edge": st.sampled_from(
            [None, None, (40, -1), (40, 0), (40, 1), (75, -1), (75, 0), (75, 1)]
        ),
        "check_days": st.one_of(st.none(), st.integers(min_value=0, max_value=3000)),
        "check_edge": st.sampled_from([None, None, -1, 0, 1]),
        "opted_out": st.booleans(),
        "phone": st.sampled_from([None, 0, 1, 2]),
        "statin_days": st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
        "statin_edge": st.sampled_from([None, None, -1, 0, 1]),
    }
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    on=st.dates(date(2024, 1, 1), date(2032, 12, 31)),
    people=st.lists(_patient, min_size=1, max_size=12),
    number_states=st.tuples(*[st.sampled_from(["", "", "opted_out", "not_textable"])] * 3),
)
def test_the_sql_cohort_equals_decide_on_every_rule_for_generated_patients(
    db: Database, on: date, people: list[dict[str, object]], number_states: tuple[str, ...]
) -> None:
    """Age bounds, 29 February, each exclusion, the five-year recall, opted-out patients
    and numbers, held-for-review terms, no mobile and bounced numbers: the SQL rule the
    preview, export and approval run gives every patient what `decide` gives."""
    example = next(_examples)
    numbers = [f"+447700900{example % 300 * 3 + i:03d}" for i in range(3)]
    expected: dict[str, rules.Decision] = {}
    with db.transaction() as session:
        practice = add_practice(session, ods=f"Y{example:05d}")
        for number, state in zip(numbers, number_states, strict=True):
            if session.get(PhoneNumber, number) is None:
                session.add(
                    PhoneNumber(
                        number=number,
                        opted_out_at=OPTED if state == "opted_out" else None,
                        not_textable_at=OPTED if state == "not_textable" else None,
                    )
                )
            else:
                states = {"opted_out_at": None, "not_textable_at": None}
                if state:
                    states[f"{state}_at"] = OPTED  # type: ignore[assignment]
                for key, value in states.items():
                    setattr(session.get(PhoneNumber, number), key, value)
        for person in people:
            dob = on - timedelta(days=int(person["age_days"]))  # type: ignore[call-overload]
            if person["leap_baby"]:
                dob = date(int(person["leap_baby"]), 2, 29)  # type: ignore[call-overload]
            if person["age_edge"]:
                age, shift = person["age_edge"]  # type: ignore[misc]
                dob = rules.born_on_or_before_for_age(on, age) + timedelta(days=shift)
            days = person["check_days"]
            check = None if days is None else on - timedelta(days=int(days))  # type: ignore[call-overload]
            if person["check_edge"] is not None:
                check = rules.recall_cutoff(on) + timedelta(days=int(person["check_edge"]))  # type: ignore[call-overload]
            phone = person["phone"]
            mobile = None if phone is None else numbers[int(phone)]  # type: ignore[call-overload]
            statin_days = person["statin_days"]
            statin = None if statin_days is None else on - timedelta(days=int(statin_days))  # type: ignore[call-overload]
            if person["statin_edge"] is not None:
                statin = coded.statin_current_from(on) + timedelta(days=int(person["statin_edge"]))  # type: ignore[call-overload]
            patient = add_patient(
                session,
                practice,
                dob=dob,
                conditions=str(person["conditions"]),
                unrecognised_conditions=str(person["unrecognised"]),
                last_health_check=check,
                opted_out_at=OPTED if person["opted_out"] else None,
                mobile=mobile,
                statin_issued_on=statin,
            )
            state = "" if phone is None else number_states[int(phone)]  # type: ignore[call-overload]
            expected[patient.nhs_number] = rules.decide(
                date_of_birth=dob,
                on=on,
                conditions=str(person["conditions"]),
                last_health_check=check,
                opted_out_at=OPTED if person["opted_out"] else None,
                number_opted_out=state == "opted_out",
                mobile=mobile,
                number_not_textable=state == "not_textable",
                unrecognised=str(person["unrecognised"]),
                statin_issued_on=statin,
            )
        practice_id = practice.id
    got = _statuses(db, practice_id, on)
    assert {n: rules.Decision(*v) for n, v in got.items()} == expected
