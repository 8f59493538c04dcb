"""The hub's runtime role on PostgreSQL (运行账号): it owns nothing.

Migrations and demo loads run as the owner (``HUB_MIGRATION_DATABASE_URL``); the hub serves
requests as the role of ``HUB_DATABASE_URL``, which may read and write the data tables but
may only INSERT and SELECT the audit log: no UPDATE, DELETE or TRUNCATE there, and as a
non-owner it cannot ALTER the table or disable its triggers, nor (not a superuser) set
``session_replication_role``. ``grant_runtime`` (run by ``eduhub db upgrade``) makes it so.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

APPEND_ONLY = ("audit_event", "change_event")


def runtime_user(database_url: str) -> str | None:
    return make_url(database_url).username


async def grant_runtime(owner: AsyncEngine, database_url: str) -> str | None:
    """Give the runtime role of ``database_url`` what it needs and nothing more; create it
    (LOGIN, no other attribute) if the owner may. Returns the role, or None when there is
    nothing to do (SQLite, or the runtime URL is the owner's)."""
    if owner.dialect.name != "postgresql":
        return None
    role = runtime_user(database_url)
    owner_name = owner.url.username
    if not role or role == owner_name:
        return None
    quoted = '"' + role.replace('"', '""') + '"'
    async with owner.begin() as connection:
        exists = (
            await connection.execute(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}
            )
        ).first()
        if exists is None:
            await connection.execute(
                text(f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
            )
        elif exists[0]:
            raise RuntimeError(
                f"the runtime role {role!r} is a superuser: it could switch the audit guard off."
                " Give the hub a plain LOGIN role."
            )
        database = (await connection.execute(text("SELECT current_database()"))).scalar()
        await connection.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {quoted}'))
        await connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
        await connection.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}"))
        await connection.execute(
            text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
        )
        for table in APPEND_ONLY:
            await connection.execute(text(f"REVOKE UPDATE, DELETE ON {table} FROM {quoted}"))
        await connection.execute(
            text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
        )
    return role
