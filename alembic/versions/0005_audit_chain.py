"""audit: hash chain, operation type and root fields, user agent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:10:00

"""

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
# The content a row's hash covered at this revision, in this order (revision 0017 hashes
# ``seq`` in the place of ``id``; the rows chained here have ``seq`` = ``id``).
CHAINED = (
    "id",
    "at",
    "username",
    "user_path",
    "operation",
    "operation_type",
    "root_fields",
    "action",
    "resource",
    "fields",
    "subjects",
    "scope_path",
    "outcome",
    "purpose",
    "detail",
    "correlation_id",
    "user_agent",
    "prev_hash",
)


def row_hash(row: Mapping[str, Any]) -> str:
    """The hash of ``hub.access.chain.row_hash`` as it was at this revision."""
    at = row["at"] if row["at"].tzinfo else row["at"].replace(tzinfo=dt.UTC)
    content = [
        at.astimezone(dt.UTC).isoformat(timespec="microseconds") if name == "at" else row[name]
        for name in CHAINED
    ]
    return hashlib.sha256(orjson.dumps(content)).hexdigest()


NEW_COLUMNS = (
    sa.Column("operation_type", sa.String(length=12), nullable=True),
    sa.Column("root_fields", sa.Text(), nullable=True),
    sa.Column("user_agent", sa.String(length=200), nullable=True),
    sa.Column("prev_hash", sa.String(length=64), nullable=True),
    sa.Column("hash", sa.String(length=64), nullable=True),
)


def upgrade() -> None:
    """Upgrade schema."""
    # Plain ADD COLUMN (no batch copy): the append-only triggers stay on the table.
    for column in NEW_COLUMNS:
        op.add_column("audit_event", column)
    chain = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    # Chain the rows written before this revision. Only the owner running the migration may
    # lift the append-only guard, and only for this backfill.
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
    event = sa.table(
        "audit_event",
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("hash"),
        *(sa.column(name) for name in CHAINED if name != "at"),
    )
    last_id, last_hash = 0, GENESIS
    rows = bind.execute(sa.select(event).order_by(event.c.id)).mappings().all()
    for row in rows:
        linked = {**row, "prev_hash": last_hash}
        last_hash, last_id = row_hash(linked), int(row["id"])
        bind.execute(
            event.update()
            .where(event.c.id == last_id)
            .values(prev_hash=linked["prev_hash"], hash=last_hash)
        )
    if postgres:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change")
    else:
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN"
            " SELECT RAISE(ABORT, 'audit_event is append-only (UPDATE refused)'); END"
        )
    op.bulk_insert(chain, [{"id": 1, "last_id": last_id, "last_hash": last_hash}])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("audit_chain")
    for column in reversed(NEW_COLUMNS):
        with op.batch_alter_table("audit_event") as batch_op:
            batch_op.drop_column(column.name)
