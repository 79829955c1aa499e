"""Plain builder functions for tests: rows with sensible defaults, added in the caller's session.

Each builder adds one row and flushes (so ids exist) but never commits; lanes append
their own builders below, they never rewrite others'.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from app.data.models import Campaign, Message, Patient, Practice, User
from app.domain.ethnicity import group_of
from app.domain.nhs_number import synthetic_numbers

# the conftest clock's instant: a Wednesday in winter (GMT)
BUILDER_NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)

_nhs_numbers: Iterator[str] = synthetic_numbers(start=500_000)


def nhs_numbers(count: int, *, start: int = 0) -> list[str]:
    """`count` valid synthetic NHS numbers (999 range, modulus 11 check), from serial `start`."""
    return list(itertools.islice(synthetic_numbers(start=start), count))


def next_nhs_number() -> str:
    """A fresh valid synthetic NHS number, different from every one handed out before."""
    return next(_nhs_numbers)


def add_practice(
    session: Session,
    ods: str = "F84003",
    name: str = "Test Medical Centre",
    phone: str | None = "020 8000 0000",
    address: str | None = "1 Test Street, London E1 1AA",
    *,
    now: datetime = BUILDER_NOW,
) -> Practice:
    practice = Practice(ods_code=ods, name=name, phone=phone, address=address, created_at=now)
    session.add(practice)
    session.flush()
    return practice


def add_patient(
    session: Session,
    practice: Practice,
    *,
    nhs_number: str | None = None,
    dob: date = date(1975, 6, 1),
    sex: str = "1",
    mobile: str | None = "+447700900001",
    mobile_status: str | None = None,
    ethnic_category: str | None = "A",
    imd_decile: int | None = 3,
    conditions: str = "",
    last_health_check: date | None = None,
    opted_out_at: datetime | None = None,
    given_name: str | None = "Test",
    family_name: str | None = "Patient",
    postcode: str | None = "E1 1AA",
    now: datetime = BUILDER_NOW,
) -> Patient:
    """A patient who, by default, is eligible and textable on the conftest clock's date (50)."""
    patient = Patient(
        practice_id=practice.id,
        nhs_number=nhs_number or next_nhs_number(),
        given_name=given_name,
        family_name=family_name,
        date_of_birth=dob,
        sex=sex,
        ethnic_category=ethnic_category,
        ethnic_group=group_of(ethnic_category),
        postcode=postcode,
        imd_decile=imd_decile,
        mobile=mobile,
        mobile_status=mobile_status or ("ok" if mobile else "missing"),
        conditions=conditions,
        last_health_check=last_health_check,
        opted_out_at=opted_out_at,
        created_at=now,
        updated_at=now,
    )
    session.add(patient)
    session.flush()
    return patient


# --- lane E: staff accounts ---
STAFF_PASSWORD = "correct horse battery staple"


def add_user(
    session: Session,
    email: str,
    role: str = "practice",
    practices: list[Practice] | None = None,
    *,
    password: str | None = STAFF_PASSWORD,
    active: bool = True,
    now: datetime = BUILDER_NOW,
) -> User:
    """A staff account with a known password (None: created but never set)."""
    from app.services.users import hash_password

    user = User(
        email=email,
        role=role,
        password_hash=hash_password(password) if password else None,
        active=active,
        created_at=now,
    )
    user.practices = list(practices or [])
    session.add(user)
    session.flush()
    return user


# --- lane C: outbox and dispatch ---
def add_sending_campaign(
    session: Session,
    *,
    name: str = "Dispatch test campaign",
    state: str = "active",
    window: tuple[str, str] = ("09:00", "19:00"),
    days: str = "mon-sat",
    now: datetime = BUILDER_NOW,
) -> Campaign:
    """A campaign row with just what the dispatcher reads: its state and send window."""
    from datetime import time as _time

    campaign = Campaign(
        name=name,
        state=state,
        reference_date=now.date(),
        lawful_basis="Public task: NHS Health Check invitations (test)",
        variants={"control": 1},
        control_variant="control",
        send_window_start=_time.fromisoformat(window[0]),
        send_window_end=_time.fromisoformat(window[1]),
        send_days=days,
        created_by="tests",
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    return campaign


def queue_outbound(
    session: Session,
    to: str = "+447700900001",
    body: str = "Test message",
    *,
    kind: str = "invitation",
    now: datetime = BUILDER_NOW,
    campaign: Campaign | None = None,
    **options: object,
) -> Message:
    """A queued outbound message through the one real queueing path (`queue_message`)."""
    from app.services.outbox import queue_message

    return queue_message(
        session,
        to=to,
        body=body,
        kind=kind,
        now=now,
        campaign_id=campaign.id if campaign is not None else None,
        **options,  # type: ignore[arg-type]
    )
