"""The synthetic demo (`flask demo load`): a practice, its patients, one user per role,
four weeks of weekday clinics and an approved two-arm campaign.

Idempotent: each step looks before it writes, so loading twice changes nothing. A step
is a function taking the DemoContext, doing its work through the services in its own
transaction(s) and adding a line to `ctx.log` saying what it loaded or found there.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from app.clock import LONDON
from app.data import campaigns as campaign_data
from app.data import history, patient_list
from app.data import slots as slots_data
from app.data.db import Database
from app.data.models import Patient
from app.domain import languages
from app.domain.synthetic import write_gp_list
from app.services import campaigns, importing, patient_language, practices, slots, users
from app.settings import Settings

DEMO_PRACTICE_ODS = "F84003"
DEMO_PRACTICE_NAME = "Nudge Demo Practice (synthetic data)"
DEMO_PRACTICE_PHONE = "020 7946 0000"  # Ofcom drama range for London numbers
DEMO_PRACTICE_ADDRESS = "1 Example Road, Barking IG11 0AA"
DEMO_PATIENTS = 400
DEMO_SEED = 2026


class DemoError(RuntimeError):
    pass


@dataclass
class DemoContext:
    db: Database
    now: datetime
    settings: Settings
    log: list[str] = field(default_factory=list)
    # what earlier steps made, for later ones (e.g. "practice_id")
    made: dict[str, Any] = field(default_factory=dict)


DemoStep = Callable[[DemoContext], None]


def demo_practice(ctx: DemoContext) -> None:
    """The demo practice (registered once; its details refreshed on later loads)."""
    practice, created = practices.add_practice(
        ctx.db,
        ods=DEMO_PRACTICE_ODS,
        name=DEMO_PRACTICE_NAME,
        phone=DEMO_PRACTICE_PHONE,
        address=DEMO_PRACTICE_ADDRESS,
        now=ctx.now,
        actor="demo",
    )
    ctx.made["practice_id"] = practice.id
    ctx.made["practice_ods"] = practice.ods_code
    state = "added" if created else "already there"
    ctx.log.append(f"Practice {practice.ods_code} {practice.name}: {state}")


# the outbox provider's designated failures (app.sms.outbox_provider), given to two
# patients the demo campaign invites so its delivery report shows every row
FAILING_NUMBERS = ("07700 900002", "07700 900003")


def demo_patients(ctx: DemoContext) -> None:
    """400 synthetic patients with Ofcom drama-range mobiles, imported like a real list."""
    with ctx.db.transaction() as session:
        count = patient_list.patient_count(session, ctx.made["practice_id"])
    if count:
        ctx.log.append(f"Patients: {count} already loaded")
        return
    buffer = io.StringIO()
    write_gp_list(
        buffer,
        DEMO_PATIENTS,
        seed=DEMO_SEED,
        on=ctx.now.astimezone(LONDON).date(),
        failing_numbers=FAILING_NUMBERS,
    )
    buffer.seek(0)
    result = importing.import_patients(
        ctx.db,
        buffer,
        practice_ods=DEMO_PRACTICE_ODS,
        now=ctx.now,
        imported_by="demo",
        allow_test_numbers=True,
        file_name="demo-gp-list.csv",
    )
    ctx.log.append(
        f"Patients: {result.added} synthetic patients loaded "
        f"({result.rejected} rejected, drama-range mobiles 07700 900001-900999)"
    )


# one demo patient in this many reads another language than English (round the ten)
DEMO_LANGUAGE_EVERY = 4


def demo_languages(ctx: DemoContext) -> None:
    """A quarter of the demo patients read one of the ten languages (some needing an
    interpreter), and the draft translations are approved for the demo only."""
    practice_id = ctx.made["practice_id"]
    with ctx.db.transaction() as session:
        already = history.translated_patients(session, practice_id)
        if not already:
            ids = history.patient_ids_of(session, practice_id)
            for n, patient_id in enumerate(ids[::DEMO_LANGUAGE_EVERY]):
                code = languages.TRANSLATED[n % len(languages.TRANSLATED)]
                patient_language.switch_by_text(
                    session, patient_id, code, now=ctx.now, actor="demo"
                )
                patient = session.get(Patient, patient_id)
                assert patient is not None
                patient.interpreter_needed = n % 3 == 0
                already += 1
    ctx.log.append(
        f"Languages: {already} patients read one of {len(languages.TRANSLATED)} languages"
    )
    if ctx.settings.translations_demo_approved:
        ctx.log.append(
            "Translations: the draft translations are sent under DEMO APPROVAL"
            " (TRANSLATIONS_DEMO_APPROVED): no qualified translator has approved them"
        )
    else:
        ctx.log.append(
            "Translations: drafts, so those patients get English"
            " (NUDGE_TRANSLATIONS_DEMO_APPROVED=true sends them under demo approval)"
        )


DEMO_PASSWORD = "nudge-demo-only-password"
DEMO_USERS = (
    ("admin@demo.nudge.test", "admin"),
    ("practice@demo.nudge.test", "practice"),
    ("analyst@demo.nudge.test", "analyst"),
)


def demo_users(ctx: DemoContext) -> None:
    """One user per role with the published demo password, marked as demo accounts
    (production refuses their sign-in; load_demo refuses production too)."""
    if ctx.settings.env not in {"development", "demo", "testing", None}:
        ctx.log.append("Users: not created outside development/demo")
        return
    made = []
    for email, role in DEMO_USERS:
        with ctx.db.transaction() as session:
            exists = users.user_id_for(session, email) is not None
        if not exists:
            codes = [ctx.made["practice_ods"]] if role == "practice" else []
            users.create_user(
                ctx.db, email=email, role=role, practice_ods=codes, now=ctx.now, actor="demo"
            )
            made.append(email)
        users.set_password_directly(ctx.db, email=email, password=DEMO_PASSWORD, now=ctx.now)
    base = (ctx.settings.public_base_url or "http://127.0.0.1:5000").rstrip("/")
    ctx.log.append(
        f"Users ({len(made)} added): sign in at {base}/sign-in with password "
        f"{DEMO_PASSWORD!r} as " + ", ".join(f"{e} ({r})" for e, r in DEMO_USERS)
    )


DEMO_CAMPAIGN_NAME = "Demo: NHS Health Check invitations (synthetic)"
DEMO_WEEKS = 4


def demo_campaign(ctx: DemoContext) -> None:
    """Demo step: four weeks of weekday clinics for the demo practice, and an approved
    two-arm campaign (control vs deadline) over its patients. Idempotent."""
    practice_id = ctx.made["practice_id"]
    ods = ctx.made.get("practice_ods", "F84003")
    with ctx.db.transaction() as session:
        slot_count = slots_data.slot_count(session, practice_id)
        existing = campaign_data.campaign_named(session, DEMO_CAMPAIGN_NAME)
    if slot_count:
        ctx.log.append(f"Slots: {slot_count} already loaded")
    else:
        first = ctx.now.astimezone(LONDON).date() + timedelta(days=1)
        rows = []
        for start, end, room in (
            (time(9), time(12), "Nurse room 1"),
            (time(14), time(17), "Nurse room 2"),
        ):
            rows += slots.generate_pattern(
                first_day=first,
                last_day=first + timedelta(weeks=DEMO_WEEKS),
                weekdays={0, 1, 2, 3, 4},
                day_start=start,
                day_end=end,
                duration_minutes=20,
                location=room,
            )
        rows = [
            slots.SlotRow(n, r.day, r.start, r.duration_minutes, r.location)
            for n, r in enumerate(rows, start=1)
        ]
        report = slots.save_pattern(
            ctx.db,
            rows,
            practice_id=practice_id,
            now=ctx.now,
            actor="demo",
            description="demo weekday clinics",
        )
        ctx.log.append(f"Slots: {report.added} added ({DEMO_WEEKS} weeks of weekday clinics)")
    if existing is not None:
        ctx.log.append(f"Campaign {existing}: already there")
        ctx.made["campaign_id"] = existing
        return
    spec = campaigns.CampaignSpec(
        name=DEMO_CAMPAIGN_NAME,
        practices=[ods],
        lawful_basis=(
            "Direct care by the GP practice: UK GDPR Art. 6(1)(e) public task and"
            " Art. 9(2)(h) health care (synthetic demo data)"
        ),
        variants=(("control", 1), ("deadline", 1)),
        seed=2026,
    )
    campaign_id = campaigns.create(ctx.db, spec, now=ctx.now, actor="demo")
    result = campaigns.approve(
        ctx.db,
        campaign_id,
        now=ctx.now,
        actor="demo",
        settings=ctx.settings,
        english_for=languages.TRANSLATED,
    )
    ctx.made["campaign_id"] = campaign_id
    ctx.log.append(
        f"Campaign {campaign_id}: approved with {result.members} members"
        f" ({result.eligible} textable); the scheduler plans its first wave"
    )


STEPS: list[DemoStep] = [demo_practice, demo_patients, demo_languages, demo_users, demo_campaign]


def load_demo(db: Database, now: datetime, settings: Settings = Settings()) -> list[str]:
    """Run every demo step in order; returns what each loaded. Never in production."""
    if settings.env == "production":
        raise DemoError("the synthetic demo is never loaded in production")
    ctx = DemoContext(db=db, now=now, settings=settings)
    for step in STEPS:
        step(ctx)
    return ctx.log
