"""tables named as the schema names them: family_member → guardian, staff → teacher,
school_class → class

The GraphQL contract calls these ``Guardian``, ``Teacher`` and ``Class``; the models, the
access resources (``teacher``, ``teacher_sensitive``) and now the tables use the same names,
so a reader never translates between layers. Indexes and constraints follow their table.

PostgreSQL renames in place (catalog changes only, no rows rewritten). SQLite renames the
table (references from other tables follow it), re-creates the indexes under their new
names, and rebuilds the three tables' constraints in a batch copy (these tables are small
next to ``student``, whose foreign key SQLite updates on rename).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (("family_member", "guardian"), ("staff", "teacher"), ("school_class", "class"))

# (table after rename, old name, new name, columns, PostgreSQL INCLUDE)
INDEXES = (
    ("guardian", "ix_family_member_student_id_position", "ix_guardian_student_id_position",
     ["student_id", "position"], []),
    ("teacher", "ix_staff_id_number", "ix_teacher_id_number", ["id_number"], []),
    ("teacher", "ix_staff_path_id", "ix_teacher_path_id", ["path", "id"], []),
    ("teacher", "ix_staff_school_id_id", "ix_teacher_school_id_id", ["school_id", "id"],
     ["path"]),
    ("class", "ix_school_class_path", "ix_class_path", ["path"], []),
    ("class", "ix_school_class_school_grade", "ix_class_school_grade",
     ["school_id", "grade_code", "number"], []),
)  # fmt: skip

# (table after rename, old name, new name) on PostgreSQL; sequences of the serial keys too.
CONSTRAINTS = (
    ("guardian", "pk_family_member", "pk_guardian"),
    ("guardian", "fk_family_member_student_id_student", "fk_guardian_student_id_student"),
    ("teacher", "pk_staff", "pk_teacher"),
    ("teacher", "uq_staff_staff_number", "uq_teacher_staff_number"),
    ("teacher", "fk_staff_school_id_school", "fk_teacher_school_id_school"),
    ("class", "pk_school_class", "pk_class"),
    ("class", "fk_school_class_school_id_school", "fk_class_school_id_school"),
    ("student", "fk_student_class_id_school_class", "fk_student_class_id_class"),
)
SEQUENCES = (
    ("family_member_id_seq", "guardian_id_seq"),
    ("staff_id_seq", "teacher_id_seq"),
    ("school_class_id_seq", "class_id_seq"),
)


def upgrade() -> None:
    _rename(forward=True)


def downgrade() -> None:
    _rename(forward=False)


def _rename(*, forward: bool) -> None:
    def pick(old: str, new: str) -> tuple[str, str]:
        return (old, new) if forward else (new, old)

    postgresql = op.get_bind().dialect.name == "postgresql"
    for old_table, new_table in TABLES:
        source, target = pick(old_table, new_table)
        op.rename_table(source, target)
    if postgresql:
        for table_pair, old, new in CONSTRAINTS:
            table = table_pair if forward else _old_table(table_pair)
            source, target = pick(old, new)
            op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{source}" TO "{target}"')
        for _table, old, new, _columns, _include in INDEXES:
            source, target = pick(old, new)
            op.execute(f'ALTER INDEX "{source}" RENAME TO "{target}"')
        for old, new in SEQUENCES:
            source, target = pick(old, new)
            op.execute(f'ALTER SEQUENCE IF EXISTS "{source}" RENAME TO "{target}"')
        return
    for table_pair, old, new, columns, _include in INDEXES:
        table = table_pair if forward else _old_table(table_pair)
        source, target = pick(old, new)
        op.drop_index(source, table_name=table)
        op.create_index(target, table, columns)
    # SQLite keeps constraint names in the table's CREATE statement: a batch copy rewrites
    # it with the new names.
    for table_pair, old, new in CONSTRAINTS:
        if table_pair == "student" or not old.startswith("uq_"):
            continue  # primary and foreign keys are compared by their columns, not names
        table = table_pair if forward else _old_table(table_pair)
        source, target = pick(old, new)
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(source, type_="unique")
            batch.create_unique_constraint(target, ["staff_number"])


def _old_table(new: str) -> str:
    return {n: o for o, n in TABLES}.get(new, new)
