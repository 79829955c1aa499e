"""scheduler heartbeat

Each scheduler process writes a row every few seconds; `/readyz` and `flask status` read
them to tell a live scheduler from a dead one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 18:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.data.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduler_heartbeat",
        sa.Column("worker_id", sa.String(length=80), nullable=False),
        sa.Column("hostname", sa.String(length=64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("beat_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_scheduler_heartbeat")),
    )
    op.create_index(
        op.f("ix_scheduler_heartbeat_beat_at"), "scheduler_heartbeat", ["beat_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_scheduler_heartbeat_beat_at"), table_name="scheduler_heartbeat")
    op.drop_table("scheduler_heartbeat")
