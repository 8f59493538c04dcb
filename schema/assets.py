"""Assets and equipment (资产与仪器设备)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.assets import filters as assets_filters
from resolvers import assets as resolve
from resolvers import buildings as resolve_buildings
from resolvers import schools as resolve_schools
from schema.common import (
    Code,
    Connection,
    HubInfo,
    Node,
    RowType,
    built,
    code_field,
    connection,
    optional_code_field,
    page_args,
    tuple_of,
)

if TYPE_CHECKING:
    from schema.buildings import Building
    from schema.schools import School

SchoolType = Annotated["School", strawberry.lazy("schema.schools")]
BuildingType = Annotated["Building", strawberry.lazy("schema.buildings")]


@strawberry.input(description="Filter for assets (资产筛选).")
class AssetFilter:
    under: str | None = strawberry.field(
        default=None, description="Only the subtree of this org unit code (所属区域)."
    )
    category_prefix: str | None = strawberry.field(
        default=None,
        description="GB/T 14885 code prefix, e.g. 201 for computers (资产分类代码前缀).",
    )
    status: list[str] | None = strawberry.field(
        default=None, description="Statuses, code set asset_status (使用状况)."
    )
    name_prefix: str | None = strawberry.field(
        default=None, description="Name starts with (名称前缀)."
    )

    def build(self) -> assets_filters.AssetFilter:
        """The typed filter the statements take (a renamed field fails type-checking)."""
        return assets_filters.AssetFilter(
            under=self.under,
            category_prefix=self.category_prefix,
            status=tuple_of(self.status),
            name_prefix=self.name_prefix,
        )


@strawberry.type(description="An asset or piece of equipment (资产/仪器设备).")
class Asset(RowType, Node):
    type_name = "Asset"
    pk: strawberry.Private[int]
    code: str = strawberry.field(description="Asset number (资产编号).")
    name: str = strawberry.field(description="Name (名称).")
    room: str | None = strawberry.field(description="Location (存放地点).")
    quantity: int = strawberry.field(description="Quantity (数量).")
    unit_value: Decimal = strawberry.field(description="Unit value, yuan (单价 元).")
    total_value: Decimal = strawberry.field(description="Total value, yuan (总价 元).")
    acquired_on: dt.date = strawberry.field(description="Acquired on (取得日期).")
    responsible_person: str | None = strawberry.field(description="Responsible person (责任人).")
    school_id: strawberry.Private[int]
    building_id: strawberry.Private[int | None]
    path: strawberry.Private[str]
    category_code: strawberry.Private[str]
    funding_source_code: strawberry.Private[str | None]
    status_code: strawberry.Private[str]

    category: Code = code_field(
        "asset_category", "category_code", "Classification, GB/T 14885 (资产分类)."
    )
    funding_source: Code | None = optional_code_field(
        "funding_source", "funding_source_code", "Funding source (经费来源)."
    )
    status: Code = code_field("asset_status", "status_code", "Status (使用状况).")

    @strawberry.field(description="The school (所属学校).")
    async def school(self, info: HubInfo) -> SchoolType | None:
        from schema.schools import School

        return School.maybe(await resolve_schools.by_id(info.context, self.school_id))

    @strawberry.field(description="The building it is in (所在校舍).")
    async def building(self, info: HubInfo) -> BuildingType | None:
        from schema.buildings import Building

        if self.building_id is None:
            return None
        return Building.maybe(await resolve_buildings.by_id(info.context, self.building_id))


@strawberry.type
class AssetQuery:
    @strawberry.field(description="Assets and equipment (资产列表).")
    async def assets(
        self,
        info: HubInfo,
        filter: AssetFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Asset]:
        args = page_args(info, first, after)
        listing = await resolve.page(info.context, built(filter, assets_filters.AssetFilter), args)
        return connection(listing, Asset.from_row, after is not None)
