"""The viewer (当前用户) and ``node(id:)``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from sqlalchemy import Row

from hub.context import Context
from hub.errors import Unauthenticated
from hub.ids import decode_federated_id
from hub.orgunits.models import OrgLevel
from resolvers import (
    access,
    assets,
    buildings,
    changes,
    exports,
    orgunits,
    quality,
    schools,
    students,
    teachers,
)
from schema.access import AuditEvent, Grant, Permission
from schema.assets import Asset
from schema.buildings import Building
from schema.change_requests import ChangeRequest
from schema.changes import ChangeEvent
from schema.common import HubInfo, Node, RowType, decode_id
from schema.exports import ExportRequest
from schema.orgunits import OrgUnit
from schema.quality import ProblemRecord
from schema.schools import Class, School
from schema.students import Guardian, StatusChange, Student
from schema.teachers import Teacher

Loader = Callable[[Context, int], Awaitable[Row[Any] | None]]

# type name -> (load by primary key within the viewer's scope, GraphQL type)
NODE_TYPES: dict[str, tuple[Loader, type[RowType]]] = {
    "OrgUnit": (orgunits.by_id, OrgUnit),
    "School": (schools.by_id, School),
    "Class": (schools.class_by_id, Class),
    "Student": (students.by_id, Student),
    "Guardian": (students.guardian_by_id, Guardian),
    "StatusChange": (students.change_by_id, StatusChange),
    "Teacher": (teachers.by_id, Teacher),
    "Building": (buildings.by_id, Building),
    "Asset": (assets.by_id, Asset),
    "AuditEvent": (access.audit_by_id, AuditEvent),
    "ProblemRecord": (quality.by_id, ProblemRecord),
    "ChangeRequest": (students.request_by_id, ChangeRequest),
    "ChangeEvent": (changes.by_id, ChangeEvent),
    "ExportRequest": (exports.by_id, ExportRequest),
}


@strawberry.type(description="Who is asking (当前用户).")
class Viewer:
    user: str = strawberry.field(description="User name (用户名).")
    org_unit_code: str = strawberry.field(description="Home org unit code (所属单位代码).")
    level: OrgLevel = strawberry.field(description="Level of the home org unit (所属层级).")
    roles: list[str] = strawberry.field(description="Roles held (角色).")
    grants: list[Grant] = strawberry.field(description="Roles and where they apply (授权).")

    @strawberry.field(description="Home org unit (所属单位).")
    async def org_unit(self, info: HubInfo) -> OrgUnit | None:
        return OrgUnit.maybe(await orgunits.by_code(info.context, self.org_unit_code))

    @strawberry.field(
        description="What the viewer may do and where, decided by the access policy as every"
        " request is (权限); only the (resource, action) pairs allowed somewhere."
    )
    def permissions(self, info: HubInfo) -> list[Permission]:
        return [
            Permission(resource=resource, action=action, paths=list(scope.prefixes))
            for resource, action, scope in info.context.access.permissions()
        ]


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="The viewer: user, home org unit, level, roles (当前用户).")
    def me(self, info: HubInfo) -> Viewer:
        principal = info.context.principal
        if principal is None:  # the Transaction extension refuses such requests first
            raise Unauthenticated("authentication required")
        return Viewer(
            user=principal.user,
            org_unit_code=principal.org_unit_code,
            level=OrgLevel[principal.level],
            roles=list(principal.roles),
            grants=[Grant(role=a.role, path=a.path) for a in principal.assignments],
        )

    @strawberry.field(
        description="Any object by global ID, under the same access rules (按全局标识查对象)."
    )
    async def node(self, info: HubInfo, id: strawberry.ID) -> Node | None:
        federated = decode_federated_id(id)
        if federated is not None:
            type_name, source, key = federated
            if type_name == "Student":
                return Student.maybe(await students.routed_by_key(info.context, source, key))
            if type_name == "Building":
                return Building.maybe(await buildings.routed_by_key(info.context, source, key))
            return None
        type_name, pk = decode_id(id)
        entry = NODE_TYPES.get(type_name)
        if entry is None:
            return None
        load, graphql_type = entry
        row = await load(info.context, pk)
        node: Node | None = graphql_type.maybe(row)  # type: ignore[assignment]
        return node
