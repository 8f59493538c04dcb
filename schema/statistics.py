"""statistics(under:) (统计与监测): tables grouped by dimensions, and the monitoring indicators,
answered by aggregate SQL inside the viewer's scope."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry
from strawberry.file_uploads import Upload

from hub.errors import BadInput, HubError
from hub.orgunits.models import OrgLevel
from hub.statistics import monitoring as m
from hub.statistics import reconcile as rec
from hub.statistics import tables as t
from hub.statistics.dimensions import Dimension
from resolvers import statistics as resolve
from schema.common import Code, HubInfo, UserError, user_errors
from schema.orgunits import OrgUnit

# Registers the GraphQL enum on the model's own enum class (strawberry returns the class).
strawberry.enum(
    Dimension,
    name="StatisticsDimension",
    description="What a statistics table is grouped by (统计维度). UNIT: the org units one"
    " level below `under` (or of `level`); AGE: full years at `ageAt`; BUILDING_RATING"
    " (students): the danger rating of the building their class is taught in; DISABILITY"
    " and HEALTH are sensitive: counts below 5 are suppressed for viewers who may not"
    " unmask them.",
)


@strawberry.type(description="One group of a statistics table (统计行).")
class StatisticsRow:
    keys: list[Code] = strawberry.field(
        description="The group's value of each dimension, in the order asked (分组); code"
        " '' labelled 未填报 when not filled in."
    )
    count: int | None = strawberry.field(description="Count (数量); null when suppressed.")
    amount: float | None = strawberry.field(
        description="Summed measure (buildings: floor area m², assets: value in yuan)."
    )
    suppressed: bool = strawberry.field(description="Small cell suppressed (小单元格抑制).")


@strawberry.type(description="A statistics table (统计表).")
class StatisticsTable:
    entity: str = strawberry.field(description="What is counted (统计对象).")
    dimensions: list[Dimension] = strawberry.field(description="分组维度.")
    amount_label: str | None = strawberry.field(description="The summed measure (合计指标).")
    rows: list[StatisticsRow] = strawberry.field(description="Groups, by their keys (分组行).")
    count: int = strawberry.field(description="Total count (合计).")
    amount: float | None = strawberry.field(description="Total of the measure (合计).")
    suppressed: int = strawberry.field(description="Cells suppressed (被抑制的单元格数).")

    @classmethod
    def of(cls, table: t.Table) -> StatisticsTable:
        return cls(
            entity=table.entity.label,
            dimensions=list(table.dimensions),
            amount_label=table.entity.amount_label,
            rows=[
                StatisticsRow(
                    keys=[Code(code=k.code, label=k.label) for k in cell.keys],
                    count=cell.count,
                    amount=None if cell.amount is None else float(cell.amount),
                    suppressed=cell.suppressed,
                )
                for cell in table.rows
            ],
            count=table.count,
            amount=None if table.amount is None else float(table.amount),
            suppressed=table.suppressed,
        )


@strawberry.type(description="Classes by size band (班额分布).")
class ClassSizeBands:
    up_to_35: int = strawberry.field(description="35 or fewer (35人及以下).")
    normal: int = strawberry.field(description="36-45 (正常).")
    large: int = strawberry.field(description="46-55 (较大).")
    oversized: int = strawberry.field(description="56-65 (大班额).")
    extreme: int = strawberry.field(description="66 or more (超大班额).")
    total: int = strawberry.field(description="All classes (班级数).")
    oversized_share: float | None = strawberry.field(
        description="Share of classes with 56 or more (大班额比例), 0-1."
    )


@strawberry.type(
    description="Monitoring indicators of one unit (监测指标). Null: the viewer may not read"
    " what the figure counts (e.g. buildings for a registrar)."
)
class UnitMonitoring:
    unit: Code = strawberry.field(description="The unit: its code and name (单位).")
    students: int | None = strawberry.field(description="Students in school (在读学生).")
    teachers: int | None = strawberry.field(description="Full-time teachers at post (专任教师).")
    students_per_teacher: float | None = strawberry.field(description="生师比.")
    schools: int | None = strawberry.field(description="Schools (学校数).")
    schools_outside_size_norm: int | None = strawberry.field(
        description="Schools whose class count lies outside the norm of their type"
        " (primary 12-36, junior 18-30, nine-year 18-36) (规模不达标学校)."
    )
    class_sizes: ClassSizeBands | None = strawberry.field(description="班额分布.")
    floor_area: float | None = strawberry.field(description="Floor area, m² (校舍建筑面积).")
    floor_area_per_student: float | None = strawberry.field(description="生均校舍面积, m².")
    dangerous_floor_area: float | None = strawberry.field(
        description="Floor area rated C or D, m² (C/D级危房面积)."
    )
    students_in_dangerous_buildings: int | None = strawberry.field(
        description="Students whose class is taught in a C/D building (在危房中上课的学生)."
    )
    migrant_children: int | None = strawberry.field(description="随迁子女.")
    left_behind_children: int | None = strawberry.field(description="留守儿童.")
    needs_aid: int | None = strawberry.field(description="需要资助的学生.")
    dropout_watch: int | None = strawberry.field(
        description="Suspended, withdrawn or dropped out (休学、退学、辍学)."
    )

    @classmethod
    def of(cls, f: m.UnitFigures) -> UnitMonitoring:
        bands = f.class_sizes
        return cls(
            unit=Code(code=f.code, label=f.name),
            students=f.students,
            teachers=f.teachers,
            students_per_teacher=_round(f.students_per_teacher),
            schools=f.schools,
            schools_outside_size_norm=f.schools_outside_norm,
            class_sizes=None
            if bands is None
            else ClassSizeBands(
                up_to_35=bands.up_to_35,
                normal=bands.normal,
                large=bands.large,
                oversized=bands.oversized,
                extreme=bands.extreme,
                total=bands.total,
                oversized_share=_round(bands.oversized_share, 4),
            ),
            floor_area=None if f.floor_area is None else float(f.floor_area),
            floor_area_per_student=None
            if f.floor_area_per_student is None
            else float(f.floor_area_per_student),
            dangerous_floor_area=None
            if f.dangerous_floor_area is None
            else float(f.dangerous_floor_area),
            students_in_dangerous_buildings=f.students_in_dangerous,
            migrant_children=f.migrant,
            left_behind_children=f.left_behind,
            needs_aid=f.needs_aid,
            dropout_watch=f.dropout_watch,
        )


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


By = Annotated[
    list[Dimension] | None,
    strawberry.argument(
        description="Dimensions to group by, in order (分组维度); none: one total."
    ),
]
Level = Annotated[
    OrgLevel | None,
    strawberry.argument(description="The level of the units (default one below `under`)."),
]
AgeAt = Annotated[
    dt.date | None,
    strawberry.argument(
        description="For AGE: the date ages are taken at (default `asOf`, else today)."
    ),
]
Status = Annotated[
    list[str] | None,
    strawberry.argument(
        description="Status codes counted (default 01: 在读 students, 在职 staff; all for"
        " assets); [] counts all."
    ),
]


@strawberry.type(
    description="Statistics of one unit's subtree (统计), inside the viewer's scope: what the"
    " viewer may not read is not counted."
)
class Statistics:
    place: strawberry.Private[t.Place]
    row: strawberry.Private[Any]  # the current unit's org_unit row
    day: strawberry.Private[dt.date | None] = None  # asOf

    @strawberry.field(
        description="The unit asked for (统计单位); with `asOf`, the current unit it lives on"
        " as (a county merged into a district: the district)."
    )
    def unit(self) -> OrgUnit:
        return OrgUnit.from_row(self.row)

    @strawberry.field(
        description="The unit as it stood on `asOf` (历史单位): its code and name that day;"
        " today's without `asOf`."
    )
    def unit_as_of(self) -> Code:
        return Code(code=self.place.code, label=self.place.name)

    @strawberry.field(description="The day the figures are of (统计时点); null: now.")
    def as_of(self) -> dt.date | None:
        return self.day

    @strawberry.field(description="Students (学生数).")
    async def students(
        self,
        info: HubInfo,
        by: By = None,
        level: Level = None,
        age_at: AgeAt = None,
        status: Status = None,
    ) -> StatisticsTable:
        return await self._table(info, "students", by, level, age_at, status)

    @strawberry.field(description="Teachers and staff (教职工数).")
    async def teachers(
        self,
        info: HubInfo,
        by: By = None,
        level: Level = None,
        age_at: AgeAt = None,
        status: Status = None,
    ) -> StatisticsTable:
        return await self._table(info, "teachers", by, level, age_at, status)

    @strawberry.field(description="Schools (学校数).")
    async def schools(
        self,
        info: HubInfo,
        by: By = None,
        level: Level = None,
    ) -> StatisticsTable:
        return await self._table(info, "schools", by, level, None, None)

    @strawberry.field(description="Classes (班级数).")
    async def classes(
        self,
        info: HubInfo,
        by: By = None,
        level: Level = None,
    ) -> StatisticsTable:
        return await self._table(info, "classes", by, level, None, None)

    @strawberry.field(description="School buildings, with their floor area (校舍, 建筑面积).")
    async def buildings(
        self,
        info: HubInfo,
        by: By = None,
        level: Level = None,
    ) -> StatisticsTable:
        return await self._table(info, "buildings", by, level, None, None)

    @strawberry.field(description="Assets, with their value (资产, 总值).")
    async def assets(
        self,
        info: HubInfo,
        by: By = None,
        level: Level = None,
        status: Status = None,
    ) -> StatisticsTable:
        return await self._table(info, "assets", by, level, None, status)

    @strawberry.field(
        description="Monitoring indicators per unit one level below (or of `level`) (分单位监测)."
    )
    async def monitoring(
        self,
        info: HubInfo,
        level: Level = None,
    ) -> list[UnitMonitoring]:
        self._today_only("monitoring")
        chosen = t.child_level(self.place, level)
        found = await resolve.monitoring(info.context, self.place, chosen)
        return [UnitMonitoring.of(f) for f in found.units]

    @strawberry.field(description="Monitoring indicators of the unit itself (本级合计).")
    async def overall(self, info: HubInfo) -> UnitMonitoring:
        # Computed with the units one level down (shared with `monitoring` when it is
        # asked too); a school is its own only unit.
        self._today_only("overall")
        found = await resolve.monitoring(info.context, self.place, t.level_below(self.place))
        return UnitMonitoring.of(found.overall)

    def _today_only(self, name: str) -> None:
        if self.day is not None:
            raise BadInput(
                f"asOf: {name} needs classes, teachers and buildings as they stood, and the"
                " hub keeps only their current state: ask the students or schools tables"
                " for a past day"
            )

    async def _table(
        self,
        info: HubInfo,
        entity: str,
        by: list[Dimension] | None,
        level: OrgLevel | None,
        age_at: dt.date | None,
        status: list[str] | None,
    ) -> StatisticsTable:
        table = await resolve.table(
            info.context,
            self.place,
            entity,
            by or [],
            level,
            age_at,
            status,
            as_of=self.day,
            today_path=self.row.path,
        )
        return StatisticsTable.of(table)


@strawberry.type
class StatisticsQuery:
    @strawberry.field(
        description="Statistics and monitoring of a unit's subtree (统计与监测), by aggregate"
        " SQL inside the viewer's scope. `under`: an org unit code of the viewer's subtree;"
        " `asOf`: figures as they stood on that day (历史时点), from the status-change"
        " history and that day's org-unit tree (students and schools; `under` may be a"
        " code of that day, e.g. a county since merged into a district)."
    )
    async def statistics(
        self, info: HubInfo, under: str, as_of: dt.date | None = None
    ) -> Statistics:
        if as_of is None:
            place, row = await resolve.place(info.context, under)
        else:
            place, row = await resolve.place_at(info.context, under, as_of)
        return Statistics(place=place, row=row, day=as_of)


@strawberry.type(description="A school and grade where the report and the hub differ (差异).")
class ReconciliationDifference:
    school: Code = strawberry.field(description="The school: its code and name (学校).")
    grade: Code = strawberry.field(description="年级.")
    reported: int = strawberry.field(description="The report's count (报表数).")
    hub: int = strawberry.field(description="The hub's count that day (枢纽数).")
    difference: int = strawberry.field(description="hub - reported (差异).")


@strawberry.type(
    description="A statistics report compared with the hub as of its day (教育事业统计核对)."
)
class Reconciliation:
    as_of: dt.date = strawberry.field(description="The report's day (统计时点).")
    sheet: str = strawberry.field(description="The sheet read (工作表).")
    compared: int = strawberry.field(description="School-grade pairs compared.")
    matching: int = strawberry.field(description="Pairs with equal counts (一致).")
    reported_total: int = strawberry.field(description="The report's total (报表合计).")
    hub_total: int = strawberry.field(description="The hub's total over the same schools.")
    differences: list[ReconciliationDifference] = strawberry.field(
        description="Every pair that differs, the largest difference first."
    )
    unknown_schools: list[str] = strawberry.field(
        description="School codes of the report the hub does not hold in your scope (not compared)."
    )

    @classmethod
    def of(cls, found: rec.Reconciliation) -> Reconciliation:
        return cls(
            as_of=found.day,
            sheet=found.sheet,
            compared=found.compared,
            matching=found.matching,
            reported_total=found.reported_total,
            hub_total=found.hub_total,
            differences=[
                ReconciliationDifference(
                    school=Code(code=d.school, label=d.name),
                    grade=Code(code=d.grade, label=d.grade_label),
                    reported=d.reported,
                    hub=d.hub,
                    difference=d.difference,
                )
                for d in found.differences
            ],
            unknown_schools=list(found.unknown_schools),
        )


@strawberry.type(description="The result of reconcileStatistics.")
class ReconcileStatisticsPayload:
    reconciliation: Reconciliation | None
    errors: list[UserError]


@strawberry.type
class StatisticsMutation:
    @strawberry.mutation(
        description="Compare an annual statistics report (教育事业统计, .xlsx sent as a GraphQL"
        " multipart upload) with the hub's students by school and grade as of the report's"
        " 统计时点 (or `asOf`), within your scope; `under`: also compare the hub's schools of"
        " that unit the report leaves out. Reads only: nothing is written."
    )
    async def reconcile_statistics(
        self,
        info: HubInfo,
        report: Upload,
        as_of: dt.date | None = None,
        under: str | None = None,
    ) -> ReconcileStatisticsPayload:
        try:
            found = await resolve.reconcile(info.context, report, as_of, under)
        except HubError as error:
            return ReconcileStatisticsPayload(reconciliation=None, errors=user_errors(info, error))
        return ReconcileStatisticsPayload(reconciliation=Reconciliation.of(found), errors=[])
