"""the day of a student's latest status change, kept by the database (最近异动日期)

Figures as of a day read a student that changed after the day from the history and every
other student as it stands today. Which students changed after the day was an anti-join
(an index probe into ``status_change`` per student of the unit); ``student.changed_on``
makes it a filter on the row already read.

The column is the latest ``occurred_on`` of the student's status changes, kept by triggers
on ``status_change`` (insert, update, delete), so that it holds whoever writes the history:
the hub's own writes, a loader's ``COPY``, a synchronisation or a hand correction in SQL.
PostgreSQL: statement triggers over the transition tables (one update per statement, also
for a bulk load); SQLite: row triggers.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LATEST = "(SELECT max(c.occurred_on) FROM status_change c WHERE c.student_id = {id})"

# Inserts (nearly every write) only move the day forward; an update or a delete of changes
# recomputes it for the students concerned. PL/pgSQL plans a statement when it first runs
# it, so each branch names only the transition tables its trigger declares.
POSTGRES_FUNCTION = f"""
CREATE FUNCTION student_changed_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE student s SET changed_on = t.latest
        FROM (SELECT student_id, max(occurred_on) AS latest FROM new_rows GROUP BY student_id) t
        WHERE s.id = t.student_id AND (s.changed_on IS NULL OR s.changed_on < t.latest);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE student s SET changed_on = {LATEST.format(id="s.id")}
        WHERE s.id IN (SELECT student_id FROM old_rows)
          AND s.changed_on IS DISTINCT FROM {LATEST.format(id="s.id")};
    ELSE
        UPDATE student s SET changed_on = {LATEST.format(id="s.id")}
        WHERE s.id IN (SELECT student_id FROM old_rows UNION SELECT student_id FROM new_rows)
          AND s.changed_on IS DISTINCT FROM {LATEST.format(id="s.id")};
    END IF;
    RETURN NULL;
END
$$
"""

POSTGRES_TRIGGERS = (
    "CREATE TRIGGER status_change_inserted AFTER INSERT ON status_change"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION student_changed_on()",
    "CREATE TRIGGER status_change_updated AFTER UPDATE ON status_change"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION student_changed_on()",
    "CREATE TRIGGER status_change_deleted AFTER DELETE ON status_change"
    " REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION student_changed_on()",
)


def _sqlite_trigger(name: str, event: str, row: str) -> str:
    latest = LATEST.format(id=f"{row}.student_id")
    return (
        f"CREATE TRIGGER status_change_{name} AFTER {event} ON status_change"
        f" BEGIN UPDATE student SET changed_on = {latest} WHERE id = {row}.student_id; END"
    )


SQLITE_TRIGGERS = {
    "inserted_new": ("INSERT", "NEW"),
    "updated_old": ("UPDATE", "OLD"),
    "updated_new": ("UPDATE", "NEW"),
    "deleted_old": ("DELETE", "OLD"),
}


def upgrade() -> None:
    op.add_column("student", sa.Column("changed_on", sa.Date(), nullable=True))
    op.execute(
        "UPDATE student SET changed_on = "
        + LATEST.format(id="student.id")
        + " WHERE EXISTS (SELECT 1 FROM status_change c WHERE c.student_id = student.id)"
    )
    # The students of a unit that changed after a day (the few rolled back): read off this
    # small index rather than the unit's rows a second time.
    op.create_index(
        "ix_student_path_changed_on",
        "student",
        ["path", "changed_on"],
        postgresql_where=sa.text("changed_on IS NOT NULL"),
        sqlite_where=sa.text("changed_on IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for name, (event, row) in SQLITE_TRIGGERS.items():
            op.execute(_sqlite_trigger(name, event, row))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("inserted", "updated", "deleted"):
            op.execute(f"DROP TRIGGER status_change_{name} ON status_change")
        op.execute("DROP FUNCTION student_changed_on()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER status_change_{name}")
    op.drop_index("ix_student_path_changed_on", table_name="student")
    with op.batch_alter_table("student") as batch:
        batch.drop_column("changed_on")
