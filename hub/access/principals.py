"""Loading a principal (user, home unit, grants) from the database, with a short cache."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

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


@dataclass
class PrincipalCache:
    """Verified principals by user name for ``ttl`` seconds: a request costs no statement
    for identity while the entry is fresh; grant changes in this process drop the entry."""

    ttl: float
    _entries: dict[str, tuple[float, Principal | None]] = field(default_factory=dict)

    def get(self, username: str) -> tuple[bool, Principal | None]:
        entry = self._entries.get(username)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, username: str, principal: Principal | None) -> None:
        if self.ttl > 0:
            self._entries[username] = (time.monotonic() + self.ttl, principal)

    def drop(self, username: str) -> None:
        self._entries.pop(username, None)
