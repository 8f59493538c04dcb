"""School buildings (校舍) with seismic data and danger appraisals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.assets import filters as assets_filters
from hub.buildings import filters as buildings_filters
from resolvers import assets as resolve_assets
from resolvers import buildings as resolve
from resolvers import schools as resolve_schools
from schema.common import (
    Code,
    Connection,
    HubInfo,
    Node,
    RowType,
    built,
    connection,
    empty_listing,
    optional_code_field,
    page_args,
    tuple_of,
)

if TYPE_CHECKING:
    from schema.assets import Asset, AssetFilter
    from schema.schools import School

SchoolType = Annotated["School", strawberry.lazy("schema.schools")]
AssetFilterInput = Annotated["AssetFilter", strawberry.lazy("schema.assets")]


@strawberry.input(description="Filter for buildings (校舍筛选).")
class BuildingFilter:
    under: str | None = strawberry.field(
        default=None, description="Only the subtree of this org unit code (所属区域)."
    )
    danger_rating: list[str] | None = strawberry.field(
        default=None, description="Danger appraisal ratings A–D, code set danger_rating (危房等级)."
    )
    use: list[str] | None = strawberry.field(
        default=None, description="Uses, code set building_use (用途)."
    )
    structure: list[str] | None = strawberry.field(
        default=None, description="Structure types, code set structure (结构类型)."
    )
    seismic_category: list[str] | None = strawberry.field(
        default=None, description="Seismic fortification categories (抗震设防类别)."
    )
    name_prefix: str | None = strawberry.field(
        default=None, description="Name starts with (名称前缀)."
    )

    def build(self) -> buildings_filters.BuildingFilter:
        """The typed filter the statements take (a renamed field fails type-checking)."""
        return buildings_filters.BuildingFilter(
            under=self.under,
            danger_rating=tuple_of(self.danger_rating),
            use=tuple_of(self.use),
            structure=tuple_of(self.structure),
            seismic_category=tuple_of(self.seismic_category),
            name_prefix=self.name_prefix,
        )


@strawberry.type(description="A school building (校舍).")
class Building(RowType, Node):
    type_name = "Building"
    pk: strawberry.Private[int | None]  # None: read live from a routed source
    code: str = strawberry.field(description="Building number (建筑物编号).")
    name: str = strawberry.field(description="Name (名称).")
    storeys: int | None = strawberry.field(description="Storeys (层数).")
    built_on: str | None = strawberry.field(description="Completed YYYY-MM (建成年月).")
    investment: Decimal | None = strawberry.field(
        description="Total investment, 10k yuan (总投资 万元)."
    )
    floor_area: float | None = strawberry.field(description="Total floor area m² (建筑面积).")
    usable_area: float | None = strawberry.field(description="Usable area m² (使用面积).")
    design_life_years: int | None = strawberry.field(
        description="Design service life (设计使用年限)."
    )
    deed_number: str | None = strawberry.field(description="Title-deed number (产权证号).")
    appraisal_org: str | None = strawberry.field(description="Appraising body (鉴定单位).")
    appraisal_document: str | None = strawberry.field(description="Appraisal document (鉴定文号).")
    appraised_on: dt.date | None = strawberry.field(description="Appraisal date (鉴定日期).")
    retrofitted_on: dt.date | None = strawberry.field(description="Last retrofit (最近加固日期).")
    emergency_shelter: bool | None = strawberry.field(
        description="Usable as emergency shelter (应急避难场所)."
    )
    area_teaching: float | None = strawberry.field(
        description="Teaching and auxiliary m² (教学及辅助用房)."
    )
    area_living: float | None = strawberry.field(description="Living m² (生活用房).")
    area_admin: float | None = strawberry.field(description="Administrative m² (行政办公用房).")
    area_other: float | None = strawberry.field(description="Other m² (其他用房).")
    school_id: strawberry.Private[int]
    path: strawberry.Private[str]
    use_code: strawberry.Private[str | None]
    use_status_code: strawberry.Private[str | None]
    ownership_code: strawberry.Private[str | None]
    structure_code: strawberry.Private[str | None]
    funding_source_code: strawberry.Private[str | None]
    seismic_intensity_code: strawberry.Private[str | None]
    seismic_category_code: strawberry.Private[str | None]
    danger_rating_code: strawberry.Private[str | None]
    sync_source: strawberry.Private[str | None]
    sync_key: strawberry.Private[str | None]

    use: Code | None = optional_code_field("building_use", "use_code", "Use (用途).")
    use_status: Code | None = optional_code_field(
        "building_use_status", "use_status_code", "Use status (使用状况)."
    )
    ownership: Code | None = optional_code_field(
        "building_ownership", "ownership_code", "Ownership (产权)."
    )
    structure: Code | None = optional_code_field(
        "structure", "structure_code", "Structure type (结构类型)."
    )
    funding_source: Code | None = optional_code_field(
        "funding_source", "funding_source_code", "Funding source (经费来源)."
    )
    seismic_intensity: Code | None = optional_code_field(
        "seismic_intensity",
        "seismic_intensity_code",
        "Seismic fortification intensity (抗震设防烈度).",
    )
    seismic_category: Code | None = optional_code_field(
        "seismic_category",
        "seismic_category_code",
        "Seismic fortification category (抗震设防类别).",
    )
    danger_rating: Code | None = optional_code_field(
        "danger_rating",
        "danger_rating_code",
        "Danger appraisal rating A–D, JGJ 125 (危房鉴定等级).",
    )

    @strawberry.field(description="The school (所属学校).")
    async def school(self, info: HubInfo) -> SchoolType | None:
        from schema.schools import School

        return School.maybe(await resolve_schools.by_id(info.context, self.school_id))

    @strawberry.field(description="Assets located in this building (楼内资产).")
    async def assets(
        self,
        info: HubInfo,
        filter: AssetFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Asset, strawberry.lazy("schema.assets")]]:
        from schema.assets import Asset

        args = page_args(info, first, after)
        f = built(filter, assets_filters.AssetFilter)
        if self.pk is None:  # a building read live from another system holds no hub assets
            return connection(empty_listing(), Asset.from_row, after is not None)
        listing = await resolve_assets.of_parent(info.context, "building_id", self.pk, f, args)
        return connection(listing, Asset.from_row, after is not None)


@strawberry.type
class BuildingQuery:
    @strawberry.field(description="School buildings (校舍列表).")
    async def buildings(
        self,
        info: HubInfo,
        filter: BuildingFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Building]:
        args = page_args(info, first, after)
        listing = await resolve.page(
            info.context, built(filter, buildings_filters.BuildingFilter), args
        )
        return connection(listing, Building.from_row, after is not None)
