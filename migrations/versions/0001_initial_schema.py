"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:18:09.031499
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.data.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)

    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("lawful_basis", sa.Text(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("control_variant", sa.String(length=60), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("hold_hours", sa.Integer(), nullable=False),
        sa.Column("min_notice_hours", sa.Integer(), nullable=False),
        sa.Column("send_window_start", sa.Time(), nullable=False),
        sa.Column("send_window_end", sa.Time(), nullable=False),
        sa.Column("send_days", sa.String(length=30), nullable=False),
        sa.Column("max_invitations", sa.Integer(), nullable=False),
        sa.Column("reminder_hours", sa.Integer(), nullable=False),
        sa.Column("info_url", sa.String(length=400), nullable=True),
        sa.Column("priority", sa.String(length=60), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("purged_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("progress_refreshed_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('draft', 'active', 'paused', 'closed')", name=op.f("ck_campaign_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    op.create_table(
        "phone_number",
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("opted_out_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opt_out_word", sa.String(length=40), nullable=True),
        sa.Column("opt_out_source", sa.String(length=20), nullable=True),
        sa.Column("opted_in_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_textable_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_textable_reason", sa.String(length=60), nullable=True),
        sa.Column(
            "opt_out_acknowledged_at", app.data.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_phone_number")),
    )
    op.create_table(
        "practice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ods_code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=400), nullable=True),
        sa.Column("created_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice")),
        sa.UniqueConstraint("ods_code", name=op.f("uq_practice_ods_code")),
    )
    op.create_table(
        "status_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error_code", sa.String(length=10), nullable=True),
        sa.Column("received_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_event")),
        sa.UniqueConstraint(
            "provider_sid",
            "status",
            "error_code",
            name=op.f("uq_status_event_provider_sid_status_error_code"),
        ),
    )
    with op.batch_alter_table("status_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_event_provider_sid"), ["provider_sid"], unique=False
        )

    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("set_password_token_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "set_password_expires_at", app.data.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("api_token_hash", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'practice', 'analyst')", name=op.f("ck_user_account_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("api_token_hash", name=op.f("uq_user_account_api_token_hash")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
        sa.UniqueConstraint(
            "set_password_token_hash", name=op.f("uq_user_account_set_password_token_hash")
        ),
    )
    op.create_table(
        "campaign_practice",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_practice_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practice.id"], name=op.f("fk_campaign_practice_practice_id_practice")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "practice_id", name=op.f("pk_campaign_practice")),
    )
    op.create_table(
        "campaign_snapshot",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_snapshot_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaign_snapshot")),
    )
    op.create_table(
        "conversation",
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.Column("unclear_streak", sa.Integer(), nullable=False),
        sa.Column("flagged_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("flag_reason", sa.String(length=40), nullable=True),
        sa.Column("resolved_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practice.id"], name=op.f("fk_conversation_practice_id_practice")
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_conversation")),
    )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_practice_id"), ["practice_id"], unique=False
        )

    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=400), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practice.id"], name=op.f("fk_import_batch_practice_id_practice")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
    )
    op.create_table(
        "patient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("ethnic_category", sa.String(length=2), nullable=True),
        sa.Column("ethnic_group", sa.String(length=20), nullable=False),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("lsoa", sa.String(length=12), nullable=True),
        sa.Column("imd_decile", sa.Integer(), nullable=True),
        sa.Column("imd_edition", sa.String(length=10), nullable=True),
        sa.Column("mobile", sa.String(length=20), nullable=True),
        sa.Column("mobile_status", sa.String(length=10), nullable=False),
        sa.Column("conditions", sa.String(length=400), nullable=False),
        sa.Column("last_health_check", sa.Date(), nullable=True),
        sa.Column("opted_out_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practice.id"], name=op.f("fk_patient_practice_id_practice")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
        sa.UniqueConstraint(
            "practice_id", "nhs_number", name=op.f("uq_patient_practice_id_nhs_number")
        ),
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index("ix_patient_mobile", ["mobile"], unique=False)

    op.create_table(
        "user_practice",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practice.id"], name=op.f("fk_user_practice_practice_id_practice")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_user_practice_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("user_id", "practice_id", name=op.f("pk_user_practice")),
    )
    op.create_table(
        "campaign_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("cohort_status", sa.String(length=20), nullable=False),
        sa.Column("variant", sa.String(length=60), nullable=True),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("invitations", sa.Integer(), nullable=False),
        sa.Column("age_band", sa.String(length=10), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("ethnic_group", sa.String(length=20), nullable=True),
        sa.Column("ethnic_category", sa.String(length=2), nullable=True),
        sa.Column("imd_quintile", sa.Integer(), nullable=True),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.Column("declined_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invited_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undeliverable_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("replied_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expired_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("booked_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attended_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('waiting', 'offered', 'booked', 'declined', 'exhausted', 'opted_out', 'not_textable', 'removed')",
            name=op.f("ck_campaign_member_state"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_member_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_campaign_member_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practice.id"], name=op.f("fk_campaign_member_practice_id_practice")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_member")),
        sa.UniqueConstraint(
            "campaign_id", "patient_id", name=op.f("uq_campaign_member_campaign_id_patient_id")
        ),
    )
    with op.batch_alter_table("campaign_member", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_member_campaign_state", ["campaign_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_campaign_member_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("held_by_offer_id", sa.Integer(), nullable=True),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("created_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(state = 'held') = (held_by_offer_id IS NOT NULL)", name=op.f("ck_slot_held_has_offer")
        ),
        sa.CheckConstraint(
            "state IN ('free', 'held', 'booked', 'cancelled')", name=op.f("ck_slot_state")
        ),
        sa.ForeignKeyConstraint(
            ["held_by_offer_id"],
            ["offer.id"],
            name=op.f("fk_slot_held_by_offer_id_offer"),
            use_alter=True,
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_slot_import_batch_id_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practice.id"], name=op.f("fk_slot_practice_id_practice")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot")),
        sa.UniqueConstraint(
            "practice_id",
            "location",
            "starts_at",
            name=op.f("uq_slot_practice_id_location_starts_at"),
        ),
    )
    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slot_held_by_offer_id"), ["held_by_offer_id"], unique=False
        )
        batch_op.create_index(
            "ix_slot_practice_state_start", ["practice_id", "state", "starts_at"], unique=False
        )

    op.create_table(
        "offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("mobile", sa.String(length=20), nullable=False),
        sa.Column("variant", sa.String(length=60), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminder_due_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'booked', 'expired', 'declined', 'withdrawn')",
            name=op.f("ck_offer_state"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_offer_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["campaign_member.id"], name=op.f("fk_offer_member_id_campaign_member")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_offer_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer")),
        sa.UniqueConstraint("member_id", "sequence", name=op.f("uq_offer_member_id_sequence")),
    )
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offer_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_offer_state_expires", ["state", "expires_at"], unique=False)
        batch_op.create_index(
            "uq_offer_open_mobile",
            ["mobile"],
            unique=True,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )

    # slot.held_by_offer_id and offer refer to each other: SQLite creates the foreign key
    # inline with the slot table; elsewhere it is added once both tables exist
    if op.get_bind().dialect.name != "sqlite":
        op.create_foreign_key(
            op.f("fk_slot_held_by_offer_id_offer"), "slot", "offer", ["held_by_offer_id"], ["id"]
        )

    op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("booked_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("booked_by", sa.String(length=200), nullable=True),
        sa.Column("cancelled_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome_recorded_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome_recorded_by", sa.String(length=200), nullable=True),
        sa.Column("calendar_token", sa.String(length=64), nullable=False),
        sa.Column(
            "appointment_reminder_due_at", app.data.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.CheckConstraint(
            "state IN ('booked', 'cancelled', 'attended', 'did_not_attend')",
            name=op.f("ck_booking_state"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_booking_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(["offer_id"], ["offer.id"], name=op.f("fk_booking_offer_id_offer")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_booking_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(["slot_id"], ["slot.id"], name=op.f("fk_booking_slot_id_slot")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking")),
        sa.UniqueConstraint("calendar_token", name=op.f("uq_booking_calendar_token")),
    )
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_booking_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(
            "uq_booking_live_offer",
            ["offer_id"],
            unique=True,
            sqlite_where=sa.text("state != 'cancelled' AND offer_id IS NOT NULL"),
            postgresql_where=sa.text("state != 'cancelled' AND offer_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_booking_live_slot",
            ["slot_id"],
            unique=True,
            sqlite_where=sa.text("state != 'cancelled'"),
            postgresql_where=sa.text("state != 'cancelled'"),
        )

    op.create_table(
        "offer_slot",
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("position BETWEEN 1 AND 3", name=op.f("ck_offer_slot_position")),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offer.id"], name=op.f("fk_offer_slot_offer_id_offer")
        ),
        sa.ForeignKeyConstraint(["slot_id"], ["slot.id"], name=op.f("fk_offer_slot_slot_id_slot")),
        sa.PrimaryKeyConstraint("offer_id", "position", name=op.f("pk_offer_slot")),
        sa.UniqueConstraint("offer_id", "slot_id", name=op.f("uq_offer_slot_offer_id_slot_id")),
    )
    with op.batch_alter_table("offer_slot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_slot_slot_id"), ["slot_id"], unique=False)

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("to_number", sa.String(length=20), nullable=False),
        sa.Column("from_number", sa.String(length=20), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("error_code", sa.String(length=10), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("in_send_window", sa.Boolean(), nullable=False),
        sa.Column("not_before", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status_updated_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("intent", sa.String(length=20), nullable=True),
        sa.Column("created_at", app.data.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", app.data.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opt_out_type", sa.String(length=10), nullable=True),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_message_direction")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"], name=op.f("fk_message_booking_id_booking")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_message_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(["offer_id"], ["offer.id"], name=op.f("fk_message_offer_id_offer")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_message_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_message_dedupe_key")),
        sa.UniqueConstraint("provider_sid", name=op.f("uq_message_provider_sid")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index("ix_message_dispatch", ["status", "not_before"], unique=False)
        batch_op.create_index(
            "ix_message_from_created", ["from_number", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_message_inbound_pending",
            ["id"],
            unique=False,
            sqlite_where=sa.text("direction = 'in' AND processed_at IS NULL"),
            postgresql_where=sa.text("direction = 'in' AND processed_at IS NULL"),
        )
        batch_op.create_index(batch_op.f("ix_message_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_message_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_message_to_created", ["to_number", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_to_created")
        batch_op.drop_index(batch_op.f("ix_message_patient_id"))
        batch_op.drop_index(batch_op.f("ix_message_offer_id"))
        batch_op.drop_index(
            "ix_message_inbound_pending",
            sqlite_where=sa.text("direction = 'in' AND processed_at IS NULL"),
            postgresql_where=sa.text("direction = 'in' AND processed_at IS NULL"),
        )
        batch_op.drop_index("ix_message_from_created")
        batch_op.drop_index("ix_message_dispatch")
        batch_op.drop_index(batch_op.f("ix_message_campaign_id"))

    op.drop_table("message")
    with op.batch_alter_table("offer_slot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offer_slot_slot_id"))

    op.drop_table("offer_slot")
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_booking_live_slot",
            sqlite_where=sa.text("state != 'cancelled'"),
            postgresql_where=sa.text("state != 'cancelled'"),
        )
        batch_op.drop_index(
            "uq_booking_live_offer",
            sqlite_where=sa.text("state != 'cancelled' AND offer_id IS NOT NULL"),
            postgresql_where=sa.text("state != 'cancelled' AND offer_id IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_booking_patient_id"))
        batch_op.drop_index(batch_op.f("ix_booking_campaign_id"))

    op.drop_table("booking")
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_offer_open_mobile",
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )
        batch_op.drop_index("ix_offer_state_expires")
        batch_op.drop_index(batch_op.f("ix_offer_patient_id"))
        batch_op.drop_index(batch_op.f("ix_offer_campaign_id"))

    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_slot_held_by_offer_id_offer"), "slot", type_="foreignkey")
    op.drop_table("offer")
    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.drop_index("ix_slot_practice_state_start")
        batch_op.drop_index(batch_op.f("ix_slot_held_by_offer_id"))

    op.drop_table("slot")
    with op.batch_alter_table("campaign_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_member_patient_id"))
        batch_op.drop_index("ix_campaign_member_campaign_state")

    op.drop_table("campaign_member")
    op.drop_table("user_practice")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_mobile")

    op.drop_table("patient")
    op.drop_table("import_batch")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_practice_id"))

    op.drop_table("conversation")
    op.drop_table("campaign_snapshot")
    op.drop_table("campaign_practice")
    op.drop_table("user_account")
    with op.batch_alter_table("status_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_event_provider_sid"))

    op.drop_table("status_event")
    op.drop_table("practice")
    op.drop_table("phone_number")
    op.drop_table("campaign")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))

    op.drop_table("audit_event")
