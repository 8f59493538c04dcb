"""audit: one hash chain per writer (审计链分道)

Every audit writer appended to one chain, whose head row is a compare-and-swap target: two
server processes answering audited reads at the same time lost 42% of their swaps to each
other (each loss costs a head read and a second append), so a second worker added nothing.
The chain is now split into lanes: each process appends to a lane of its own, with its own
head row in ``audit_chain`` (whose ``id`` is the lane), and a row links to the row before
it in its lane. ``eduhub audit verify`` walks every lane.

A row's place in its lane is ``seq`` (gapless within the lane); its hash covers ``seq``
where it covered ``id``. The rows written before this revision form lane 1 and keep their
hashes: their ``seq`` is their ``id``, and lane 1's head is the head row there was. Ids
now come from the table's sequence (``audit_event_id_seq`` on PostgreSQL, the rowid on
SQLite), unique across lanes and in the order rows were written.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # Plain ADD COLUMN (no batch copy): the append-only triggers stay on the table. SQLite
    # adds a NOT NULL column only with a default; ``seq`` is filled below.
    op.add_column(
        "audit_event",
        sa.Column("lane", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )
    op.add_column(
        "audit_event",
        sa.Column(
            "seq", sa.BigInteger(), server_default=None if postgres else "0", nullable=postgres
        ),
    )
    # Only the owner running the migration may lift the append-only guard, for this backfill.
    if postgres:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
    op.execute("UPDATE audit_event SET seq = id")
    if postgres:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change")
        op.alter_column("audit_event", "seq", nullable=False)
        # The ids came from the chain's head since revision 0005; the table's own sequence
        # (it was created with it) gives them from now on.
        op.execute(
            "SELECT setval('audit_event_id_seq', (SELECT coalesce(max(id), 0) + 1"
            " FROM audit_event), false)"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN"
            " SELECT RAISE(ABORT, 'audit_event is append-only (UPDATE refused)'); END"
        )
    op.create_index("ux_audit_event_lane_seq", "audit_event", ["lane", "seq"], unique=True)
    # The head's place is the lane's last ``seq`` (ids no longer come from it).
    with op.batch_alter_table("audit_chain") as batch_op:
        batch_op.alter_column("last_id", new_column_name="last_seq")


def downgrade() -> None:
    """Downgrade schema: possible only while the rows still form one chain whose hashes
    cover their ids (every row in lane 1, its place there its id)."""
    bind = op.get_bind()
    other = bind.execute(
        sa.text("SELECT count(*) FROM audit_event WHERE lane <> 1 OR seq <> id")
    ).scalar()
    if other:
        raise RuntimeError(
            f"{other} audit rows are in a lane other than 1 or have an id other than their"
            " place in it: the single chain of revision 0016 cannot hold them"
        )
    op.execute("DELETE FROM audit_chain WHERE id <> 1")
    with op.batch_alter_table("audit_chain") as batch_op:
        batch_op.alter_column("last_seq", new_column_name="last_id")
    op.drop_index("ux_audit_event_lane_seq", table_name="audit_event")
    # Plain DROP COLUMN (SQLite 3.35+), not a batch copy, which would drop the triggers.
    op.execute("ALTER TABLE audit_event DROP COLUMN seq")
    op.execute("ALTER TABLE audit_event DROP COLUMN lane")
