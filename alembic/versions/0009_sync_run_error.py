"""sync runs: a failed run keeps its cause (status ``failed``, ``error``) and is resumed

A run that died (a source that stopped answering, a row the code could not handle) was left
``running`` with no word of why. It is now marked ``failed`` with the cause; the next run of
the same source and entity resumes from its checkpoint.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 11:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_run") as batch:
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_run") as batch:
        batch.drop_column("error")
