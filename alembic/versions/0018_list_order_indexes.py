"""indexes in the order of a parent's plain lists (列表顺序索引)

A student's guardians are listed by (position, id), a school's classes by (grade, number,
id). The indexes ended before ``id``, so PostgreSQL sorted each student's guardians (and
each school's classes) again, once per parent row: for a page of 100 students, 100 sorts.
With ``id`` in the index, the rows come out of it in list order.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-24 12:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old index, its columns, new index, its columns)
CHANGED = (
    (
        "guardian",
        "ix_guardian_student_id_position",
        ["student_id", "position"],
        "ix_guardian_student_id_position_id",
        ["student_id", "position", "id"],
    ),
    (
        "class",
        "ix_class_school_grade",
        ["school_id", "grade_code", "number"],
        "ix_class_school_grade_number_id",
        ["school_id", "grade_code", "number", "id"],
    ),
)


def upgrade() -> None:
    for table, old, _old_columns, new, new_columns in CHANGED:
        op.create_index(new, table, new_columns)  # the new one first: lists keep an index
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    for table, old, old_columns, new, _new_columns in CHANGED:
        op.create_index(old, table, old_columns)
        op.drop_index(new, table_name=table)
