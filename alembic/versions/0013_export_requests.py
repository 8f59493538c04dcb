"""governed exports (数据导出申请)

``export_request``: a request to take rows out of the hub as a file, its review by the level
above the requester, the background job's progress and the file until it expires.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 15:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Path = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "export_request",
        sa.Column("id", BigId, nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("filter", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=True),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("format", sa.String(4), nullable=False),
        sa.Column("path", Path, nullable=False),
        sa.Column("status_code", sa.String(1), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", Moment, nullable=False),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.Column("reviewed_at", Moment, nullable=True),
        sa.Column("review_note", sa.String(500), nullable=True),
        sa.Column("rows_total", sa.BigInteger(), nullable=True),
        sa.Column("rows_written", sa.BigInteger(), nullable=False),
        sa.Column("started_at", Moment, nullable=True),
        sa.Column("heartbeat_at", Moment, nullable=True),
        sa.Column("finished_at", Moment, nullable=True),
        sa.Column("expires_at", Moment, nullable=True),
        sa.Column("file_name", sa.String(200), nullable=True),
        sa.Column("file_bytes", sa.BigInteger(), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_request")),
    )
    op.create_index("ix_export_request_path_id", "export_request", ["path", "id"])
    op.create_index("ix_export_request_requested_by_id", "export_request", ["requested_by", "id"])
    op.create_index("ix_export_request_status_code", "export_request", ["status_code"])


def downgrade() -> None:
    op.drop_table("export_request")
