"""classes know their teaching building (班级所在教学楼)

The statistics of issue 10 count the students taught in dangerous (C/D) buildings: a class
names the building it is taught in. Optional (a system that does not record it leaves it
empty, and those students are counted as "building unknown").

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("class") as batch:
        batch.add_column(sa.Column("building_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_class_building_id_building", "building", ["building_id"], ["id"]
        )
        batch.create_index("ix_class_building_id", ["building_id"])


def downgrade() -> None:
    with op.batch_alter_table("class") as batch:
        batch.drop_index("ix_class_building_id")
        batch.drop_constraint("fk_class_building_id_building", type_="foreignkey")
        batch.drop_column("building_id")
