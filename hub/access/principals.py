"""Loading a principal (user, home unit, grants) from the database, with a short cache."""

from __future__ import annotations

from cachetools import TTLCache
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.access.models import HubUser, RoleAssignment
from hub.access.policy import Assignment
from hub.access.principal import Principal
from hub.db.base import table_of
from hub.orgunits.models import OrgUnit

USER = table_of(HubUser)
GRANT = table_of(RoleAssignment)
UNIT = table_of(OrgUnit)


async def load_principal(session: AsyncSession, username: str) -> Principal | None:
    """The active user ``username`` with its grants, in one statement; None if unknown."""
    home = UNIT.alias("home")
    domain = UNIT.alias("domain")
    statement = (
        select(home.c.code, home.c.path, home.c.level, GRANT.c.role, domain.c.path)
        .select_from(USER)
        .join(home, home.c.id == USER.c.org_unit_id)
        .outerjoin(GRANT, GRANT.c.user_id == USER.c.id)
        .outerjoin(domain, domain.c.id == GRANT.c.org_unit_id)
        .where(USER.c.username == username, USER.c.active.is_(True))
        .order_by(GRANT.c.id)
    )
    rows = (await session.execute(statement)).all()
    if not rows:
        return None
    code, path, level = rows[0][0], rows[0][1], rows[0][2]
    assignments = tuple(Assignment(username, row[3], row[4]) for row in rows if row[3] is not None)
    return Principal(username, code, path, level.value, assignments)


async def load_all_assignments(connection: AsyncConnection) -> list[Assignment]:
    """Every grant of every active user (what the Casbin adapter loads at start)."""
    statement = (
        select(USER.c.username, GRANT.c.role, UNIT.c.path)
        .select_from(GRANT)
        .join(USER, USER.c.id == GRANT.c.user_id)
        .join(UNIT, UNIT.c.id == GRANT.c.org_unit_id)
        .where(USER.c.active.is_(True))
    )
    return [Assignment(u, r, p) for u, r, p in (await connection.execute(statement)).all()]


class PrincipalCache:
    """Verified principals by user name for ``ttl`` seconds, at most ``size`` of them (the
    least recently used go first): a request costs no statement for identity while the entry
    is fresh; grant changes in this process drop the entry."""

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl = ttl
        self._entries: TTLCache[str, Principal | None] | None = (
            TTLCache(maxsize=size, ttl=ttl) if ttl > 0 else None
        )

    def __len__(self) -> int:
        return 0 if self._entries is None else len(self._entries)

    def get(self, username: str) -> tuple[bool, Principal | None]:
        if self._entries is None or username not in self._entries:
            return False, None
        return True, self._entries[username]

    def put(self, username: str, principal: Principal | None) -> None:
        if self._entries is not None:
            self._entries[username] = principal

    def drop(self, username: str) -> None:
        if self._entries is not None:
            self._entries.pop(username, None)
