"""patient.language and patient.interpreter_needed: texts in the resident's language

campaign_member.language and campaign_member.interpreter_needed snapshot them at
approval, as reporting dimensions (null for members approved before).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=5), server_default="en", nullable=False)
        )
        batch_op.add_column(
            sa.Column("interpreter_needed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("campaign_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("interpreter_needed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_member", schema=None) as batch_op:
        batch_op.drop_column("interpreter_needed")
        batch_op.drop_column("language")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("interpreter_needed")
        batch_op.drop_column("language")
