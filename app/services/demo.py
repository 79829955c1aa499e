"""The synthetic demo (`flask demo load`): a practice, its patients, and whatever later steps add.

Idempotent: each step looks before it writes, so loading twice changes nothing.
Other features append their own step to STEPS (slots, a campaign, users ...): a step
is a function taking the DemoContext, doing its work in its own transaction(s) and
adding a line to `ctx.log` saying what it loaded or found already there.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.clock import LONDON
from app.data.db import Database
from app.data.models import Patient
from app.services import campaigns, importing, practices, users
from app.services.synthetic import write_gp_list

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
    config: dict[str, Any]
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


def demo_patients(ctx: DemoContext) -> None:
    """400 synthetic patients with Ofcom drama-range mobiles, imported like a real list."""
    with ctx.db.transaction() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Patient)
            .where(Patient.practice_id == ctx.made["practice_id"])
        )
    if count:
        ctx.log.append(f"Patients: {count} already loaded")
        return
    buffer = io.StringIO()
    write_gp_list(buffer, DEMO_PATIENTS, seed=DEMO_SEED, on=ctx.now.astimezone(LONDON).date())
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


STEPS: list[DemoStep] = [
    demo_practice,
    demo_patients,
    users.demo_users,
    campaigns.demo_campaign,  # lane B: weekday clinics and an approved campaign
]


def load_demo(db: Database, now: datetime, config: dict[str, Any] | None = None) -> list[str]:
    """Run every demo step in order; returns what each loaded. Never in production."""
    settings = dict(config or {})
    if settings.get("ENV") == "production":
        raise DemoError("the synthetic demo is never loaded in production")
    ctx = DemoContext(db=db, now=now, config=settings)
    for step in STEPS:
        step(ctx)
    return ctx.log
