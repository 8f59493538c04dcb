"""problem records (问题学籍) and their members

Findings of the data-quality checks: one record per kind, group and school, the group's
students as members. See ``hub/quality``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Path = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "problem_record",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind_code", sa.String(1), nullable=False),
        sa.Column("status_code", sa.String(1), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("path", Path, nullable=False),
        sa.Column("group_key", sa.String(64), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_problem_record_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_record")),
    )
    op.create_index(
        "ix_problem_record_kind_group", "problem_record", ["kind_code", "group_key", "school_id"]
    )
    op.create_index("ix_problem_record_path_id", "problem_record", ["path", "id"])
    op.create_table(
        "problem_member",
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("student_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["problem_record.id"],
            name=op.f("fk_problem_member_record_id_problem_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_problem_member_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "student_id", name=op.f("pk_problem_member")),
    )
    op.create_index(op.f("ix_problem_member_student_id"), "problem_member", ["student_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_problem_member_student_id"), table_name="problem_member")
    op.drop_table("problem_member")
    op.drop_index("ix_problem_record_path_id", table_name="problem_record")
    op.drop_index("ix_problem_record_kind_group", table_name="problem_record")
    op.drop_table("problem_record")
