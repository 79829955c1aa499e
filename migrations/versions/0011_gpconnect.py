"""GP Connect: a slot source per practice, provider ids on slots, appointments on bookings

practice: slot_source (nudge | gpconnect), the provider's FHIR root and ASID, the
responsible user its requests carry, when slots were last synced (and the last error).
patient: the provider's logical id. slot: the provider's id and what its search said,
and when a held slot left the practice's free slots. offer: the GP Connect booking of a
choice under way. booking: the provider's appointment id, its state there, and what
staff must sort out by hand.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.data.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when() -> sa.types.TypeEngine:
    return app.data.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("practice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("slot_source", sa.String(length=10), server_default="nudge", nullable=False)
        )
        batch_op.add_column(sa.Column("gpconnect_url", sa.String(length=400), nullable=True))
        batch_op.add_column(
            sa.Column("gpconnect_provider_asid", sa.String(length=20), nullable=True)
        )
        batch_op.add_column(sa.Column("gpconnect_user_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("gpconnect_user_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("slots_synced_at", _when(), nullable=True))
        batch_op.add_column(sa.Column("slots_sync_error", sa.String(length=400), nullable=True))
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gpconnect_patient_id", sa.String(length=100), nullable=True))
    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gpconnect_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("delivery_channel", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("service_type", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("practitioner", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("gone_at", _when(), nullable=True))
        batch_op.create_index("uq_slot_gpconnect_id", ["practice_id", "gpconnect_id"], unique=True)
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gp_state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("gp_slot_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("gp_appointment_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("gp_started_at", _when(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_offer_gp_slot_id_slot"), "slot", ["gp_slot_id"], ["id"]
        )
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gpconnect_appointment_id", sa.String(length=100), nullable=True)
        )
        batch_op.add_column(sa.Column("gp_state", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("gp_changed_at", _when(), nullable=True))
        batch_op.add_column(sa.Column("attention", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("attention_at", _when(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("booking", schema=None) as batch_op:
        for column in (
            "attention_at",
            "attention",
            "gp_changed_at",
            "gp_state",
            "gpconnect_appointment_id",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_offer_gp_slot_id_slot"), type_="foreignkey")
        for column in ("gp_started_at", "gp_appointment_id", "gp_slot_id", "gp_state"):
            batch_op.drop_column(column)
    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.drop_index("uq_slot_gpconnect_id")
        for column in (
            "gone_at",
            "practitioner",
            "service_type",
            "delivery_channel",
            "gpconnect_id",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("gpconnect_patient_id")
    with op.batch_alter_table("practice", schema=None) as batch_op:
        for column in (
            "slots_sync_error",
            "slots_synced_at",
            "gpconnect_user_name",
            "gpconnect_user_id",
            "gpconnect_provider_asid",
            "gpconnect_url",
            "slot_source",
        ):
            batch_op.drop_column(column)
