"""check outcomes: what each attended NHS Health Check found

check_outcome holds coded results and new diagnoses from an events file imported after
the checks, and what staff record when marking a check attended, each linked to the
attended booking it follows (and the campaign member it counts for).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.data.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("cluster", sa.String(length=20), nullable=True),
        sa.Column("code", sa.String(length=18), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("created_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('events', 'staff')", name=op.f("ck_check_outcome_source")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"], name=op.f("fk_check_outcome_booking_id_booking")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["campaign_member.id"],
            name=op.f("fk_check_outcome_member_id_campaign_member"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_check_outcome_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_outcome")),
    )
    op.create_index(
        op.f("ix_check_outcome_booking_id"), "check_outcome", ["booking_id"], unique=False
    )
    op.create_index(
        "ix_check_outcome_member_kind", "check_outcome", ["member_id", "kind"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_check_outcome_member_kind", table_name="check_outcome")
    op.drop_index(op.f("ix_check_outcome_booking_id"), table_name="check_outcome")
    op.drop_table("check_outcome")
