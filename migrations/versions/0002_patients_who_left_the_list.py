"""patients who left the practice list

A re-import of a practice's whole list marks the patients it no longer has
(patient.left_list_at) so they are never invited again, and counts them on the
import batch (import_batch.left_list).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.data.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("left_list_at", app.data.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("left_list", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.drop_column("left_list")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("left_list_at")
