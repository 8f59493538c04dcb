"""Delegated administration (授权管理): grant and revoke roles inside one's own subtree.

A granter needs the ``grants/grant`` permission at the target org unit, and may only hand out
a role no higher than one it holds over that unit. The target user must be visible to the
granter. Services flush; the request commits (``Context.finish``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hub.access.models import HubUser, RoleAssignment
from hub.access.policy import ROLE_RANK, ROLES, Access, Assignment
from hub.access.scope import path_is_under
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput, Conflict, Forbidden, NotFound
from hub.orgunits.models import OrgUnit

USER = table_of(HubUser)
GRANT = table_of(RoleAssignment)
UNIT = table_of(OrgUnit)


@dataclass(frozen=True, slots=True)
class GrantRequest:
    username: str
    role: str
    org_unit_code: str


@dataclass(frozen=True, slots=True)
class Target:
    user_id: int
    unit_id: int
    unit_path: str


def _may_delegate(access: Access, role: str, path: str) -> bool:
    """Never above one's own roles: hold a role of at least this rank over ``path``."""
    principal = access.principal
    if principal is None:
        return False
    return any(
        path_is_under(path, a.path) and ROLE_RANK[a.role] >= ROLE_RANK[role]
        for a in principal.assignments
    )


async def _target(ctx: Context, request: GrantRequest) -> Target:
    if request.role not in ROLES:
        raise BadInput(f"unknown role {request.role!r} in 'input.role' (known: {', '.join(ROLES)})")
    unit = (
        await ctx.session.execute(
            select(UNIT.c.id, UNIT.c.path).where(UNIT.c.code == request.org_unit_code)
        )
    ).first()
    org_read = ctx.access.scope("org_unit", "read")
    if unit is None or not org_read.allows(unit.path):
        raise NotFound(f"org unit {request.org_unit_code!r} in 'input.orgUnitCode' not found")
    user = (
        await ctx.session.execute(
            select(USER.c.id, UNIT.c.path)
            .join(UNIT, UNIT.c.id == USER.c.org_unit_id)
            .where(USER.c.username == request.username)
        )
    ).first()
    if user is None or not org_read.allows(user.path):  # users of units one can see
        raise NotFound(f"user {request.username!r} in 'input.username' not found")
    if not ctx.access.may("grants", "grant", unit.path) or not _may_delegate(
        ctx.access, request.role, unit.path
    ):
        ctx.audit.event(
            "grant",
            "grants",
            "denied",
            unit.path,
            detail=f"{request.role} for {request.username} at {request.org_unit_code}",
        )
        raise Forbidden(
            f"you may not grant {request.role!r} at {request.org_unit_code!r}: it is outside"
            " your subtree or above your own roles"
        )
    return Target(user.id, unit.id, unit.path)


def _refresh(ctx: Context, username: str) -> None:
    """After commit: this process reads the user's grants again on its next request."""
    state = ctx.state
    if state is not None:
        ctx.after_commit.append(lambda: state.principals.drop(username))


async def grant_role(ctx: Context, request: GrantRequest) -> Assignment:
    target = await _target(ctx, request)
    granter = ctx.principal.user if ctx.principal else None
    try:
        async with ctx.session.begin_nested():
            await ctx.session.execute(
                GRANT.insert().values(
                    user_id=target.user_id,
                    role=request.role,
                    org_unit_id=target.unit_id,
                    granted_by=granter,
                    granted_at=dt.datetime.now(dt.UTC),
                )
            )
    except IntegrityError:
        raise Conflict(
            f"{request.username!r} already holds {request.role!r} at {request.org_unit_code!r}"
        ) from None
    ctx.audit.event(
        "grant",
        "grants",
        "allowed",
        target.unit_path,
        detail=f"{request.role} for {request.username} at {request.org_unit_code}",
    )
    _refresh(ctx, request.username)
    return Assignment(request.username, request.role, target.unit_path)


async def revoke_role(ctx: Context, request: GrantRequest) -> Assignment:
    target = await _target(ctx, request)
    result = await ctx.session.execute(
        delete(GRANT).where(
            GRANT.c.user_id == target.user_id,
            GRANT.c.role == request.role,
            GRANT.c.org_unit_id == target.unit_id,
        )
    )
    if not getattr(result, "rowcount", 0):  # a CursorResult for DELETE
        raise NotFound(
            f"{request.username!r} holds no {request.role!r} at {request.org_unit_code!r}"
        )
    ctx.audit.event(
        "revoke",
        "grants",
        "allowed",
        target.unit_path,
        detail=f"{request.role} for {request.username} at {request.org_unit_code}",
    )
    _refresh(ctx, request.username)
    return Assignment(request.username, request.role, target.unit_path)


GrantChange = Callable[[Context, GrantRequest], Awaitable[Assignment]]
