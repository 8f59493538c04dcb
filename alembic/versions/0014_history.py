"""history for statistics as of a date (历史统计)

``org_unit.valid_from`` and ``org_unit_version``: the effective-dated org-unit tree (GB/T 2260
codes change; the statistics of a past day use that day's tree). ``status_change`` records
the 学籍状态 before and after each change, filled for existing rows from their kind.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Path = sa.String(200).with_variant(sa.String(200, collation="C"), "postgresql")

# 异动类别 -> (状态 before, 状态 after); NULL before: not on the hub's roll until then. A
# transfer in (13) from a school of the hub was 在读 there; from outside it was not counted.
AFTER = {
    "11": "01", "12": "01", "13": "01", "21": "06", "22": "07", "23": "02", "24": "04",
    "25": "09", "26": "08", "27": "03", "28": "05",
}  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("org_unit") as batch:
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
    op.create_table(
        "org_unit_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "NATIONAL",
                "PROVINCE",
                "CITY",
                "COUNTY",
                "SCHOOL",
                name="org_level",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("path", Path, nullable=False),
        sa.Column("division_code", sa.String(6), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("change", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_org_unit_version_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_unit_version")),
    )
    op.create_index("ix_org_unit_version_unit_id", "org_unit_version", ["unit_id"])
    op.create_index("ix_org_unit_version_code", "org_unit_version", ["code"])
    op.create_index("ix_org_unit_version_valid", "org_unit_version", ["valid_to", "valid_from"])

    with op.batch_alter_table("status_change") as batch:
        batch.add_column(sa.Column("status_before_code", sa.String(2), nullable=True))
        batch.add_column(sa.Column("status_after_code", sa.String(2), nullable=True))
    op.create_index("ix_status_change_occurred_on", "status_change", ["occurred_on"])
    change = sa.table(
        "status_change",
        sa.column("type_code", sa.String),
        sa.column("from_school_id", sa.Integer),
        sa.column("status_before_code", sa.String),
        sa.column("status_after_code", sa.String),
    )
    after = sa.case(AFTER, value=change.c.type_code, else_=sa.null())
    before = sa.case(
        (change.c.type_code == "11", sa.null()),
        (change.c.type_code == "12", "02"),
        ((change.c.type_code == "13") & change.c.from_school_id.is_(None), sa.null()),
        else_="01",
    )
    op.execute(change.update().values(status_before_code=before, status_after_code=after))


def downgrade() -> None:
    op.drop_index("ix_status_change_occurred_on", table_name="status_change")
    with op.batch_alter_table("status_change") as batch:
        batch.drop_column("status_after_code")
        batch.drop_column("status_before_code")
    op.drop_index("ix_org_unit_version_valid", table_name="org_unit_version")
    op.drop_index("ix_org_unit_version_code", table_name="org_unit_version")
    op.drop_index("ix_org_unit_version_unit_id", table_name="org_unit_version")
    op.drop_table("org_unit_version")
    with op.batch_alter_table("org_unit") as batch:
        batch.drop_column("valid_from")
