"""Org units (组织机构): the five-level tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.orgunits import filters as orgunits_filters
from hub.orgunits.models import OrgLevel
from hub.schools import filters as schools_filters
from resolvers import orgunits as resolve
from resolvers import schools as resolve_schools
from schema.common import Connection, HubInfo, Node, RowType, built, connection, page_args

if TYPE_CHECKING:
    from schema.schools import School, SchoolFilter

# Registers the GraphQL enum on the model's own enum class (strawberry returns the class).
strawberry.enum(
    OrgLevel,
    name="OrgLevel",
    description=(
        "Administrative level (管理层级): 国家 NATIONAL, 省 PROVINCE, 市 CITY, 县 COUNTY,"
        " 学校 SCHOOL."
    ),
)


@strawberry.input(description="Filter for org units (组织机构筛选).")
class OrgUnitFilter:
    under: str | None = strawberry.field(
        default=None, description="Only the subtree of this org unit code (所属区域)."
    )
    level: OrgLevel | None = strawberry.field(default=None, description="Only this level (层级).")
    name_prefix: str | None = strawberry.field(
        default=None, description="Name starts with (名称前缀)."
    )

    def build(self) -> orgunits_filters.OrgUnitFilter:
        """The typed filter the statements take (a renamed field fails type-checking)."""
        return orgunits_filters.OrgUnitFilter(
            under=self.under,
            level=self.level,
            name_prefix=self.name_prefix,
        )


@strawberry.type(description="An org unit of the five-level administration (组织机构).")
class OrgUnit(RowType, Node):
    type_name = "OrgUnit"
    pk: strawberry.Private[int]
    code: str = strawberry.field(
        description="Code (代码): CN, GB/T 2260 division code, or 10-digit school code."
    )
    name: str = strawberry.field(description="Name (名称).")
    level: OrgLevel = strawberry.field(description="Level (层级).")
    path: str = strawberry.field(description="Materialised path of codes (层级路径).")
    division_code: str | None = strawberry.field(
        description="Six-digit GB/T 2260 division code (行政区划代码); null for CN and schools."
    )
    parent_id: strawberry.Private[int | None]

    @strawberry.field(description="The unit above (上级单位); null at the root or out of view.")
    async def parent(self, info: HubInfo) -> OrgUnit | None:
        if self.parent_id is None:
            return None
        return OrgUnit.maybe(await resolve.by_id(info.context, self.parent_id))

    @strawberry.field(description="Units directly below (下级单位).")
    async def children(
        self,
        info: HubInfo,
        filter: OrgUnitFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[OrgUnit]:
        args = page_args(info, first, after)
        listing = await resolve.children(
            info.context, self.pk, built(filter, orgunits_filters.OrgUnitFilter), args
        )
        return connection(listing, OrgUnit.from_row, after is not None)

    @strawberry.field(description="Schools anywhere in this unit's subtree (辖区学校).")
    async def schools(
        self,
        info: HubInfo,
        filter: Annotated[SchoolFilter, strawberry.lazy("schema.schools")] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[School, strawberry.lazy("schema.schools")]]:
        from schema.schools import School

        args = page_args(info, first, after)
        f = built(filter, schools_filters.SchoolFilter)
        listing = await resolve_schools.in_org_unit(info.context, self.pk, f, args)
        return connection(listing, School.from_row, after is not None)


@strawberry.type
class OrgUnitQuery:
    @strawberry.field(
        description=(
            'An org unit by code (按代码查组织机构): "CN", "44", "4401", "440106" or a school code.'
        )
    )
    async def org_unit(self, info: HubInfo, code: str) -> OrgUnit | None:
        return OrgUnit.maybe(await resolve.by_code(info.context, code))

    @strawberry.field(description="Org units, in code-path order of creation (组织机构列表).")
    async def org_units(
        self,
        info: HubInfo,
        filter: OrgUnitFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[OrgUnit]:
        args = page_args(info, first, after)
        listing = await resolve.page(
            info.context, built(filter, orgunits_filters.OrgUnitFilter), args
        )
        return connection(listing, OrgUnit.from_row, after is not None)
