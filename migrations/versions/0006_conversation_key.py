"""conversations addressed by a stored key

A conversation's pages are addressed by a random key kept on its row (a unique index
finds it), instead of an HMAC of the number computed for every visible conversation.
Existing conversations get a fresh key each.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 19:20:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=32), nullable=True))
    conversation = sa.table("conversation", sa.column("number"), sa.column("key"))
    connection = op.get_bind()
    numbers = connection.execute(sa.select(conversation.c.number)).scalars().all()
    for number in numbers:
        connection.execute(
            conversation.update()
            .where(conversation.c.number == number)
            .values(key=secrets.token_urlsafe(18))
        )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_conversation_key"), ["key"])


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_conversation_key"), type_="unique")
        batch_op.drop_column("key")
