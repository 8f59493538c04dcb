"""writes and review: change requests, deleted records, problem handling, the change log

- ``student.former_number``: the temporary (L) number a permanent number replaced;
- ``ix_student_name_birth_date``: the no-ID duplicate check of one pupil, name searches;
- ``change_request``: identity changes waiting for the county (学籍变更申请);
- ``student_archive``: deleted records kept whole (已删除学籍);
- ``problem_record.resolution`` and ``problem_action``: how a problem record was handled;
  ``ix_problem_record_group_key``: detection of a few rows looks records up by group;
- ``change_event``: every insert, update and delete of the store (变更记录), append-only for
  the runtime role.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Path = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("student") as batch:
        batch.add_column(sa.Column("former_number", sa.String(20), nullable=True))
        batch.create_unique_constraint("uq_student_former_number", ["former_number"])
    op.create_index("ix_student_name_birth_date", "student", ["name", "birth_date"])
    with op.batch_alter_table("problem_record") as batch:
        batch.add_column(sa.Column("resolution", sa.String(8), nullable=True))
    op.create_index("ix_problem_record_group_key", "problem_record", ["group_key"])
    op.create_table(
        "change_request",
        sa.Column("id", BigId, nullable=False),
        sa.Column("student_id", BigId, nullable=False),
        sa.Column("path", Path, nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("status_code", sa.String(1), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", Moment, nullable=False),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.Column("reviewed_at", Moment, nullable=True),
        sa.Column("review_note", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_change_request_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_request")),
    )
    op.create_index("ix_change_request_path_id", "change_request", ["path", "id"])
    op.create_index("ix_change_request_student_id", "change_request", ["student_id"])
    op.create_table(
        "student_archive",
        sa.Column("id", BigId, nullable=False),
        sa.Column("student_id", BigId, nullable=False),
        sa.Column("student_number", sa.String(20), nullable=False),
        sa.Column("path", Path, nullable=False),
        sa.Column("deleted_at", Moment, nullable=False),
        sa.Column("deleted_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_student_archive")),
    )
    op.create_index("ix_student_archive_path_id", "student_archive", ["path", "id"])
    op.create_table(
        "problem_action",
        sa.Column("id", BigId, nullable=False),
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("step", sa.String(8), nullable=False),
        sa.Column("action", sa.String(8), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("correction", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["problem_record.id"],
            name=op.f("fk_problem_action_record_id_problem_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_action")),
    )
    op.create_index("ix_problem_action_record_id_id", "problem_action", ["record_id", "id"])
    op.create_table(
        "change_event",
        sa.Column("id", BigId, nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("subject_id", BigId, nullable=False),
        sa.Column("path", Path, nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_event")),
    )
    op.create_index("ix_change_event_path_id", "change_event", ["path", "id"])


def downgrade() -> None:
    op.drop_index("ix_change_event_path_id", table_name="change_event")
    op.drop_table("change_event")
    op.drop_index("ix_problem_action_record_id_id", table_name="problem_action")
    op.drop_table("problem_action")
    op.drop_index("ix_student_archive_path_id", table_name="student_archive")
    op.drop_table("student_archive")
    op.drop_index("ix_change_request_student_id", table_name="change_request")
    op.drop_index("ix_change_request_path_id", table_name="change_request")
    op.drop_table("change_request")
    op.drop_index("ix_problem_record_group_key", table_name="problem_record")
    with op.batch_alter_table("problem_record") as batch:
        batch.drop_column("resolution")
    op.drop_index("ix_student_name_birth_date", table_name="student")
    with op.batch_alter_table("student") as batch:
        batch.drop_constraint("uq_student_former_number", type_="unique")
        batch.drop_column("former_number")
