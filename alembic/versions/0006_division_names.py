"""codes: division names as a table (labels of division codes in SQL)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 21:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from hub.codes.divisions import all_divisions

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "division_name",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_division_name")),
    )
    rows = [{"code": d.code, "name": d.name} for d in all_divisions().values()]
    op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("division_name")
