"""indexes for figures as of a day (历史统计索引)

Statistics as of a past day read, per student of a unit, whether it changed after the day
(``student_id, occurred_on``), and who left the unit's schools since (``from_school_id,
occurred_on``, transfers only).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_status_change_student_id_occurred_on",
        "status_change",
        ["student_id", "occurred_on"],
    )
    op.create_index(
        "ix_status_change_from_school_id",
        "status_change",
        ["from_school_id", "occurred_on"],
        postgresql_where=sa.text("from_school_id IS NOT NULL"),
        sqlite_where=sa.text("from_school_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_status_change_from_school_id", table_name="status_change")
    op.drop_index("ix_status_change_student_id_occurred_on", table_name="status_change")
