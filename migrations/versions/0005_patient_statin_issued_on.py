"""patient.statin_issued_on: the latest statin issue from a coded GP extract

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("patient", sa.Column("statin_issued_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patient") as batch:
        batch.drop_column("statin_issued_on")
