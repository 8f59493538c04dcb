"""Demo users, one per level, with the grants the README shows (演示用户)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.models import HubUser, RoleAssignment
from hub.db.base import table_of
from hub.orgunits.models import OrgLevel, OrgUnit

UNIT = table_of(OrgUnit)

# user name, display name, home unit key, role, grant unit key
DEMO_USERS = (
    ("national.admin", "国家管理员", "national", "administrator", "national"),
    ("national.auditor", "国家审计员", "national", "auditor", "national"),
    ("province.admin", "省管理员", "province", "administrator", "province"),
    ("city.admin", "市管理员", "city", "administrator", "city"),
    ("county.registrar", "县学籍管理员", "county", "registrar", "county"),
    ("county.viewer", "县查看员", "county", "viewer", "county"),
    ("county.statistician", "县统计员", "county", "statistician", "county"),
    ("county2.registrar", "邻县学籍管理员", "county2", "registrar", "county2"),
    ("school.registrar", "校学籍管理员", "school", "registrar", "school"),
)


async def demo_units(connection: AsyncConnection) -> dict[str, tuple[int, str, str]]:
    """The units the demo users belong to: (id, code, path) by key. The county is the first
    county of the first city; county2 its sibling; the school the county's first school."""

    async def first(level: OrgLevel, under: str, skip: int = 0) -> tuple[int, str, str]:
        row = (
            await connection.execute(
                select(UNIT.c.id, UNIT.c.code, UNIT.c.path)
                .where(UNIT.c.level == level, UNIT.c.path.startswith(under))
                .order_by(UNIT.c.id)
                .offset(skip)
                .limit(1)
            )
        ).first()
        if row is None:
            raise RuntimeError(f"the demo has no {level.value} under {under}")
        return row[0], row[1], row[2]

    national = await first(OrgLevel.NATIONAL, "/")
    province = await first(OrgLevel.PROVINCE, "/")
    city = await first(OrgLevel.CITY, province[2])
    county = await first(OrgLevel.COUNTY, city[2])
    county2 = await first(OrgLevel.COUNTY, city[2], skip=1)
    school = await first(OrgLevel.SCHOOL, county[2])
    return {
        "national": national,
        "province": province,
        "city": city,
        "county": county,
        "county2": county2,
        "school": school,
    }


async def create_demo_users(connection: AsyncConnection) -> dict[str, tuple[int, str, str]]:
    units = await demo_units(connection)
    now = dt.datetime.now(dt.UTC)
    for user_id, (username, display, home, role, where) in enumerate(DEMO_USERS, start=1):
        await connection.execute(
            insert(HubUser).values(
                id=user_id,
                username=username,
                display_name=display,
                org_unit_id=units[home][0],
                active=True,
            )
        )
        await connection.execute(
            insert(RoleAssignment).values(
                user_id=user_id,
                role=role,
                org_unit_id=units[where][0],
                granted_by="demo",
                granted_at=now,
            )
        )
    return units
