"""conditions held for review

A patient whose Conditions hold a term the vocabulary does not know keeps it
(patient.unrecognised_conditions) and is not invited until it is resolved; an approved
campaign snapshots such a patient as a member held for review (state needs_review).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = "'waiting', 'offered', 'booked', 'declined', 'exhausted', 'opted_out', 'not_textable', "


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "unrecognised_conditions", sa.String(length=400), server_default="", nullable=False
            )
        )
    with op.batch_alter_table("campaign_member", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_member_state"), type_="check")
        batch_op.create_check_constraint("state", f"state IN ({_STATES}'needs_review', 'removed')")


def downgrade() -> None:
    op.execute("UPDATE campaign_member SET state = 'removed' WHERE state = 'needs_review'")
    with op.batch_alter_table("campaign_member", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_member_state"), type_="check")
        batch_op.create_check_constraint("state", f"state IN ({_STATES}'removed')")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("unrecognised_conditions")
