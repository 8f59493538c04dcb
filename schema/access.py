"""Grants (授权) and the audit log (审计日志) in the schema."""

from __future__ import annotations

import datetime as dt

import strawberry

from hub.access import filters as access_filters
from hub.access import grants
from hub.errors import HubError
from resolvers import access as resolve
from schema.common import (
    Connection,
    HubInfo,
    Node,
    RowType,
    UserError,
    built,
    connection,
    page_args,
)


@strawberry.type(description="A role held in the subtree of an org unit (角色授权).")
class Grant:
    role: str = strawberry.field(
        description="Role (角色): administrator, registrar, statistician, auditor, viewer."
    )
    path: str = strawberry.field(description="Path of the org unit it covers (授权范围).")

    @strawberry.field(description="Code of the org unit it covers (授权单位代码).")
    def org_unit_code(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


@strawberry.type(
    description="What the viewer may do to a resource, and where (权限): the subtrees of its"
    " grants whose role the access policy allows it. A portal asks before it shows a section,"
    " so that 'no right to see' is not shown as 'none there'."
)
class Permission:
    resource: str = strawberry.field(
        description="Resource (资源): org_unit, school, student, student_sensitive, teacher,"
        " teacher_sensitive, building, asset, grants, audit, sources, export."
    )
    action: str = strawberry.field(
        description="Action (操作): read, write, approve, unmask, export, grant."
    )
    paths: list[str] = strawberry.field(
        description="Paths of the org units whose subtrees it covers (适用范围)."
    )

    @strawberry.field(description="Codes of those org units (适用单位代码).")
    def org_unit_codes(self) -> list[str]:
        return [p.rstrip("/").rsplit("/", 1)[-1] for p in self.paths]


@strawberry.type(description="An audited event (审计事件). Append-only.")
class AuditEvent(RowType, Node):
    type_name = "AuditEvent"
    pk: strawberry.Private[int]
    at: dt.datetime = strawberry.field(description="When (时间).")
    username: str = strawberry.field(description="Who (用户).")
    user_path: str | None = strawberry.field(description="Their home org unit (所属单位路径).")
    operation: str | None = strawberry.field(description="GraphQL operation name (操作).")
    action: str = strawberry.field(
        description="unmask, grant, revoke, authenticate, denied (动作)."
    )
    resource: str = strawberry.field(description="Resource (资源).")
    fields: str | None = strawberry.field(description="Fields read, comma-separated (字段).")
    subjects: str | None = strawberry.field(description="Subject ids, JSON (对象).")
    scope_path: str = strawberry.field(description="Subtree of the subjects (范围).")
    outcome: str = strawberry.field(description="allowed or denied (结果).")
    purpose: str | None = strawberry.field(description="Stated purpose (用途).")
    detail: str | None = strawberry.field(description="Detail (说明).")
    correlation_id: str = strawberry.field(description="Request id (请求标识).")


@strawberry.input(description="Filter for audit events (审计筛选).")
class AuditEventFilter:
    under: str | None = strawberry.field(
        default=None, description="Only events about this org unit's subtree (范围)."
    )
    username: str | None = strawberry.field(
        default=None, description="Only this actor (操作人): a username."
    )
    action: str | None = strawberry.field(
        default=None, description="Only this action (动作): unmask, denied, grant, revoke, ..."
    )
    since: dt.datetime | None = strawberry.field(
        default=None, description="Only events at or after this time, with a time zone (起始时间)."
    )
    until: dt.datetime | None = strawberry.field(
        default=None, description="Only events before this time, with a time zone (截止时间)."
    )
    subject: strawberry.ID | None = strawberry.field(
        default=None, description="Only events about this object, by its global id (对象)."
    )

    def build(self) -> access_filters.AuditEventFilter:
        """The typed filter the statements take (a renamed field fails type-checking)."""
        return access_filters.AuditEventFilter(
            under=self.under,
            username=self.username,
            action=self.action,
            since=self.since,
            until=self.until,
            subject=self.subject,
        )


@strawberry.input(description="A role for a user at an org unit (授权).")
class GrantInput:
    username: str = strawberry.field(description="User (用户名).")
    role: str = strawberry.field(description="Role (角色).")
    org_unit_code: str = strawberry.field(description="Org unit code (单位代码).")


@strawberry.type(description="Result of a grant or revoke (授权结果).")
class GrantPayload:
    grant: Grant | None
    errors: list[UserError]


def _field_of(message: str) -> str | None:
    for name in ("username", "role", "orgUnitCode"):
        if f"input.{name}" in message:
            return name
    return None


async def _change(info: HubInfo, change: grants.GrantChange, input: GrantInput) -> GrantPayload:
    request = grants.GrantRequest(input.username, input.role, input.org_unit_code)
    try:
        assignment = await change(info.context, request)
    except HubError as error:
        info.context.failed = True  # errors as data: nothing of it is committed
        return GrantPayload(
            grant=None,
            errors=[
                UserError(field=_field_of(error.message), message=error.message, code=error.code)
            ],
        )
    return GrantPayload(grant=Grant(role=assignment.role, path=assignment.path), errors=[])


@strawberry.type
class AccessQuery:
    @strawberry.field(description="Audit events the viewer may read, newest first (审计日志).")
    async def audit_events(
        self,
        info: HubInfo,
        filter: AuditEventFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        args = page_args(info, first, after)
        listing = await resolve.audit_page(
            info.context, built(filter, access_filters.AuditEventFilter), args
        )
        return connection(listing, AuditEvent.from_row, after is not None)


@strawberry.type
class AccessMutation:
    @strawberry.mutation(description="Grant a role inside your own subtree (授予角色).")
    async def grant_role(self, info: HubInfo, input: GrantInput) -> GrantPayload:
        return await _change(info, grants.grant_role, input)

    @strawberry.mutation(description="Revoke a role inside your own subtree (撤销角色).")
    async def revoke_role(self, info: HubInfo, input: GrantInput) -> GrantPayload:
        return await _change(info, grants.revoke_role, input)
