"""Plain builder functions for tests: rows with sensible defaults, added in the caller's session.

Each builder adds one row and flushes (so ids exist) but never commits.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from app.data.models import Campaign, Message, Offer, Patient, Practice, User
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
    unrecognised_conditions: str = "",
    last_health_check: date | None = None,
    opted_out_at: datetime | None = None,
    statin_issued_on: date | None = None,
    given_name: str | None = "Test",
    family_name: str | None = "Patient",
    postcode: str | None = "E1 1AA",
    language: str = "en",
    interpreter_needed: bool = False,
    now: datetime = BUILDER_NOW,
) -> Patient:
    """A patient who, by default, is eligible and textable on the conftest clock's date (50)."""
    patient = Patient(
        practice_id=practice.id,
        nhs_number=nhs_number or next_nhs_number(),
        given_name=given_name,
        family_name=family_name,
        date_of_birth=dob,
        statin_issued_on=statin_issued_on,
        sex=sex,
        ethnic_category=ethnic_category,
        ethnic_group=group_of(ethnic_category),
        postcode=postcode,
        imd_decile=imd_decile,
        mobile=mobile,
        mobile_status=mobile_status or ("ok" if mobile else "missing"),
        conditions=conditions,
        unrecognised_conditions=unrecognised_conditions,
        last_health_check=last_health_check,
        opted_out_at=opted_out_at,
        language=language,
        interpreter_needed=interpreter_needed,
        created_at=now,
        updated_at=now,
    )
    session.add(patient)
    session.flush()
    return patient


# --- staff accounts ---
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


# --- outbox and dispatch ---
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
    """A queued outbound message through the one real queueing path (`messages.queue`)."""
    from app.data import messages

    return messages.queue(
        session,
        messages.OutboundText(
            to=to,
            body=body,
            kind=kind,
            campaign_id=campaign.id if campaign is not None else None,
            **options,  # type: ignore[arg-type]
        ),
        now=now,
    )


# --- offers, holds and bookings for replies ---
def add_open_offer(
    session: Session,
    *,
    mobile: str = "+447700900001",
    practice: Practice | None = None,
    patient: Patient | None = None,
    campaign: Campaign | None = None,
    slot_count: int = 3,
    first_slot_at: datetime | None = None,
    expires_in_hours: float = 48,
    now: datetime = BUILDER_NOW,
    spare_slots: int = 3,
) -> Offer:
    """An open offer holding three slots for one patient, as create_offer leaves it.

    Also adds `spare_slots` free slots at the practice, so MORE / CHANGE can find new times.
    """
    from datetime import timedelta as _timedelta

    from app.data.models import CampaignMember, OfferSlot, Slot

    if practice is None:
        practice = (
            session.get(Practice, patient.practice_id) if patient else None
        ) or add_practice(session, ods=f"D{next(_ods_serial):05d}")
    patient = patient or add_patient(session, practice, mobile=mobile)
    campaign = campaign or add_sending_campaign(session, now=now)
    member = CampaignMember(
        campaign_id=campaign.id,
        patient_id=patient.id,
        variant="control",
        state="offered",
        invitations=1,
        practice_id=practice.id,
        updated_at=now,
    )
    session.add(member)
    session.flush()
    offer = Offer(
        campaign_id=campaign.id,
        member_id=member.id,
        patient_id=patient.id,
        mobile=mobile,
        variant="control",
        sequence=1,
        state="open",
        created_at=now,
        expires_at=now + _timedelta(hours=expires_in_hours),
    )
    session.add(offer)
    session.flush()
    start = first_slot_at or now + _timedelta(days=3)
    for i in range(slot_count + spare_slots):
        held = i < slot_count
        slot = Slot(
            practice_id=practice.id,
            starts_at=start + _timedelta(hours=i * 25),
            duration_minutes=30,
            location=f"Room {offer.id}",
            state="held" if held else "free",
            held_by_offer_id=offer.id if held else None,
            created_at=now,
        )
        session.add(slot)
        session.flush()
        if held:
            session.add(OfferSlot(offer_id=offer.id, position=i + 1, slot_id=slot.id))
    session.flush()
    return offer


_ods_serial = itertools.count(1)


# --- uptake reports ---
def add_trial_campaign(
    session: Session,
    practices: list[Practice],
    *,
    name: str = "Report test campaign",
    variants: dict[str, int] | None = None,
    control: str = "control",
    now: datetime = BUILDER_NOW,
) -> Campaign:
    """An approved, active campaign over `practices` with a control and a trial arm."""
    campaign = Campaign(
        name=name,
        state="active",
        reference_date=now.date(),
        lawful_basis="Public task: NHS Health Check invitations (test)",
        variants=variants or {control: 1, "deadline": 1},
        control_variant=control,
        created_by="tests",
        created_at=now,
        approved_by="tests",
        approved_at=now,
    )
    campaign.practices = list(practices)
    session.add(campaign)
    session.flush()
    return campaign


def add_member(
    session: Session,
    campaign: Campaign,
    patient: Patient,
    *,
    variant: str | None = "control",
    cohort_status: str = "eligible",
    state: str = "waiting",
    age_band: str = "50-54",
    imd_quintile: int | None = 2,
) -> object:
    """A cohort member with the reporting snapshot taken from the patient."""
    from app.data.models import CampaignMember

    member = CampaignMember(
        campaign_id=campaign.id,
        patient_id=patient.id,
        cohort_status=cohort_status,
        variant=variant if cohort_status == "eligible" else None,
        state=state,
        age_band=age_band,
        sex=patient.sex,
        ethnic_group=patient.ethnic_group,
        ethnic_category=patient.ethnic_category,
        imd_quintile=imd_quintile,
        language=patient.language,
        interpreter_needed=patient.interpreter_needed,
        practice_id=patient.practice_id,
    )
    session.add(member)
    session.flush()
    return member


def add_invitation(
    session: Session,
    member: object,
    *,
    status: str = "delivered",
    offer_state: str = "open",
    sequence: int = 1,
    now: datetime = BUILDER_NOW,
    hours: int = 48,
) -> object:
    """An offer to `member` with its invitation SMS at `status` (no slots: reports only)."""
    from datetime import timedelta

    from app.data.models import CampaignMember, Offer, Patient

    assert isinstance(member, CampaignMember)
    patient = session.get(Patient, member.patient_id)
    assert patient is not None and patient.mobile
    offer = Offer(
        campaign_id=member.campaign_id,
        member_id=member.id,
        patient_id=member.patient_id,
        mobile=patient.mobile,
        variant=member.variant or "control",
        sequence=sequence,
        state=offer_state,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        closed_at=now + timedelta(hours=hours) if offer_state == "expired" else None,
    )
    session.add(offer)
    session.flush()
    sent = status not in {"queued", "cancelled"}
    session.add(
        Message(
            direction="out",
            kind="invitation",
            to_number=patient.mobile,
            body="Invitation",
            status=status,
            dedupe_key=f"invitation:offer:{offer.id}",
            campaign_id=member.campaign_id,
            patient_id=member.patient_id,
            offer_id=offer.id,
            sent_at=now if sent else None,
            status_updated_at=now + timedelta(minutes=1) if sent else None,
            created_at=now,
        )
    )
    session.flush()
    return offer


def add_inbound(
    session: Session, from_number: str, body: str = "1", *, at: datetime = BUILDER_NOW
) -> Message:
    """An inbound SMS as the webhook stores it."""
    message = Message(
        direction="in",
        kind="",
        to_number="+447700900000",
        from_number=from_number,
        body=body,
        status="received",
        created_at=at,
    )
    session.add(message)
    session.flush()
    return message


def add_campaign_booking(
    session: Session,
    member: object,
    *,
    state: str = "booked",
    offer: object | None = None,
    now: datetime = BUILDER_NOW,
) -> object:
    """A booking of a fresh slot for `member` in its campaign."""
    import secrets
    from datetime import timedelta

    from app.data.models import Booking, CampaignMember, Offer, Slot

    assert isinstance(member, CampaignMember)
    assert offer is None or isinstance(offer, Offer)
    slot = Slot(
        practice_id=member.practice_id,
        starts_at=now + timedelta(days=2, minutes=member.id),
        duration_minutes=20,
        location="Room 1",
        state="booked" if state != "cancelled" else "free",
        created_at=now,
    )
    session.add(slot)
    session.flush()
    booking = Booking(
        slot_id=slot.id,
        patient_id=member.patient_id,
        offer_id=offer.id if offer is not None else None,
        campaign_id=member.campaign_id,
        state=state,
        booked_at=now,
        calendar_token=secrets.token_urlsafe(24),
        cancelled_at=now if state == "cancelled" else None,
        outcome_recorded_at=(
            now + timedelta(days=2) if state in {"attended", "did_not_attend"} else None
        ),
    )
    session.add(booking)
    session.flush()
    return booking


# --- slots and bookings for the staff pages ---
def add_slot(
    session: Session,
    practice: Practice,
    starts_at: datetime,
    *,
    state: str = "free",
    location: str = "Room 1",
    duration_minutes: int = 20,
    now: datetime = BUILDER_NOW,
) -> object:
    """A slot row (state free, booked or cancelled; held slots come from offers)."""
    from app.data.models import Slot

    slot = Slot(
        practice_id=practice.id,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        location=location,
        state=state,
        created_at=now,
    )
    session.add(slot)
    session.flush()
    return slot


def add_booking(
    session: Session,
    patient: Patient,
    slot: object,
    *,
    state: str = "booked",
    source: str = "staff",
    offer_id: int | None = None,
    campaign_id: int | None = None,
    now: datetime = BUILDER_NOW,
) -> object:
    """A booking of `slot` (marked booked) for `patient`."""
    import secrets

    from app.data.models import Booking, Slot

    assert isinstance(slot, Slot)
    slot.state = "booked" if state != "cancelled" else slot.state
    booking = Booking(
        slot_id=slot.id,
        patient_id=patient.id,
        offer_id=offer_id,
        campaign_id=campaign_id,
        state=state,
        source=source,
        booked_at=now,
        calendar_token=secrets.token_urlsafe(24),
    )
    session.add(booking)
    session.flush()
    return booking


# --- slots, campaigns and cohorts through the real services ---
def add_free_slots(
    session: Session,
    practice: Practice,
    starts: list[datetime],
    *,
    location: str = "Room 1",
    duration_minutes: int = 20,
    now: datetime = BUILDER_NOW,
) -> list[int]:
    """Free slots starting at each of `starts` (aware datetimes); their ids, in order."""
    from app.data.models import Slot

    slots = [
        Slot(
            practice_id=practice.id,
            starts_at=start,
            duration_minutes=duration_minutes,
            location=location,
            state="free",
            created_at=now,
        )
        for start in starts
    ]
    session.add_all(slots)
    session.flush()
    return [s.id for s in slots]


def clinic_starts(
    first_day: date, days: int, times: tuple[str, ...] = ("09:00", "10:00", "14:00", "15:00")
) -> list[datetime]:
    """London wall-clock clinic times on `days` consecutive days from `first_day`, as UTC."""
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    out = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for text in times:
            hour, minute = map(int, text.split(":"))
            out.append(datetime.combine(day, time(hour, minute), tzinfo=london).astimezone(UTC))
    return out


def approved_campaign(
    db: object,
    *,
    ods: str = "F84003",
    now: datetime = BUILDER_NOW,
    variants: tuple[tuple[str, int], ...] = (("control", 1),),
    seed: int | None = 7,
    **options: object,
) -> int:
    """A campaign over practice `ods`, created and approved through the services; its id."""
    from app.services import campaigns

    spec = campaigns.CampaignSpec(
        name="Test campaign",
        practices=[ods],
        lawful_basis="Direct care: GP practice public task (UK GDPR 6(1)(e), 9(2)(h))",
        variants=variants,
        seed=seed,
        **options,  # type: ignore[arg-type]
    )
    campaign_id = campaigns.create(db, spec, now=now, actor="test")  # type: ignore[arg-type]
    campaigns.approve(db, campaign_id, now=now, actor="test")  # type: ignore[arg-type]
    return campaign_id


def act_on_inbound(app: object) -> int:
    """Run the replies job's work (`process_inbound`) for `app`, as it would a second after
    a webhook post stores a text; how many texts it acted on."""
    from app.services.replies import process_inbound

    extensions = app.extensions  # type: ignore[attr-defined]
    return process_inbound(
        extensions["nudge.db"],
        now=extensions["nudge.clock"].now(),
        settings=extensions["nudge.settings"],
    )


class _ActLater(Exception):
    """An earlier text from the number is being acted on by a replies job: start again."""


def handle_inbound(
    db: object,
    *,
    message_sid: str,
    from_number: str,
    to_number: str,
    body: str,
    now: datetime,
    settings: object,
    opt_out_type: str | None = None,
) -> object:
    """Receive one inbound SMS as the webhook does and act on it at once, after any earlier
    ones from that number, as the replies job would; its `InboundResult`.

    Waits on locks, never on a timer: the number's conversation row is locked before the
    text is stored, so callers texting from one number take turns and each acts on its
    own text; an earlier text a replies job has claimed is waited for by starting again
    (the conversation lock then waits for that job's commit).
    """
    from sqlalchemy import select as _select

    from app.data import conversations, messages
    from app.domain.keywords import parse
    from app.services.replies import InboundResult, act_in_order

    pending = Message.direction == "in", Message.processed_at.is_(None)
    while True:
        try:
            with db.transaction() as session:  # type: ignore[attr-defined]
                conversations.lock(session, from_number, now)
                stored = messages.store_inbound(
                    session,
                    message_sid=message_sid,
                    from_number=from_number,
                    to_number=to_number,
                    body=body,
                    intent=parse(body).kind,
                    opt_out_type=opt_out_type,
                    now=now,
                )
                if stored is None:
                    return InboundResult(duplicate=True)
                earlier = session.scalars(
                    _select(Message)
                    .where(Message.from_number == from_number, Message.id < stored, *pending)
                    .order_by(Message.id)
                    .with_for_update(skip_locked=True)
                ).all()
                for text in earlier:
                    act_in_order(session, text, now=now, settings=settings)  # type: ignore[arg-type]
                own = session.get(Message, stored)
                result = act_in_order(session, own, now=now, settings=settings)  # type: ignore[arg-type]
                if result is None:
                    raise _ActLater
                return result
        except _ActLater:
            continue
