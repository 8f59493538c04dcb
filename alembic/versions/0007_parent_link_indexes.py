"""indexes: the link to a parent row carries the row's path (index-only scoped counts)

A nested list or count under a parent (a school's students, a class's size, a building's
assets) is ``parent_id = X`` and the viewer's subtree on ``path``. With ``path`` in the
link's index (PostgreSQL ``INCLUDE``), the subtree is checked in the index: a school's
student count reads no table rows, where PostgreSQL had combined the link index with the
whole subtree's path range (bitmap AND) at each school.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 09:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old index, old columns, new index, new columns)
LINKS = (
    ("student", "ix_student_school_id_id", ["school_id", "id"], "ix_student_school_id_id",
     ["school_id", "id"]),
    ("student", "ix_student_class_id", ["class_id"], "ix_student_class_id_id", ["class_id", "id"]),
    ("status_change", "ix_status_change_student_id_id", ["student_id", "id"],
     "ix_status_change_student_id_id", ["student_id", "id"]),
    ("staff", "ix_staff_school_id_id", ["school_id", "id"], "ix_staff_school_id_id",
     ["school_id", "id"]),
    ("building", "ix_building_school_id_id", ["school_id", "id"], "ix_building_school_id_id",
     ["school_id", "id"]),
    ("asset", "ix_asset_school_id_id", ["school_id", "id"], "ix_asset_school_id_id",
     ["school_id", "id"]),
    ("asset", "ix_asset_building_id", ["building_id"], "ix_asset_building_id_id",
     ["building_id", "id"]),
)  # fmt: skip


def upgrade() -> None:
    for table, old, _old_columns, new, columns in LINKS:
        op.drop_index(old, table_name=table)
        op.create_index(new, table, columns, postgresql_include=["path"])


def downgrade() -> None:
    for table, old, old_columns, new, _columns in reversed(LINKS):
        op.drop_index(new, table_name=table)
        op.create_index(old, table, old_columns)
