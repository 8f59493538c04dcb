"""Connected systems (数据源): health, breaker state, last sync."""

from __future__ import annotations

import datetime as dt

import strawberry

from hub.errors import BadInput
from hub.sources.report import entity_report
from resolvers import sources as resolve
from schema.common import HubInfo


@strawberry.type(description="The newest finished sync of a source (最近同步).")
class SyncStatus:
    entity: str = strawberry.field(description="Entity (实体).")
    finished_at: dt.datetime | None = strawberry.field(description="Finished (完成时间).")
    rows_read: int = strawberry.field(description="Rows read (读取).")
    rows_written: int = strawberry.field(description="Rows written (写入).")
    rows_rejected: int = strawberry.field(description="Rows rejected (拒绝).")


@strawberry.type(description="A connected system (数据源).")
class SourceStatus:
    name: str = strawberry.field(description="Name in the sources file (名称).")
    label: str = strawberry.field(description="Description (说明).")
    kind: str = strawberry.field(description="Adapter kind: sql, rest, file, eduhub (类型).")
    region: str | None = strawberry.field(
        description="Org unit code of the subtree it holds data for; null: undeclared, the whole"
        " country (数据范围)."
    )
    health: bool = strawberry.field(description="Answered a health probe just now (健康).")
    breaker_state: str = strawberry.field(
        description="Circuit breaker: CLOSED, OPEN or HALF_OPEN (熔断状态)."
    )
    entities: list[str] = strawberry.field(description="Mapped entities (实体).")
    last_sync: SyncStatus | None = strawberry.field(description="Newest finished sync (最近同步).")


@strawberry.type(description="How one hub field is fed by a source (映射).")
class FieldMapping:
    hub_field: str = strawberry.field(description="Hub field (字段).")
    column: str | None = strawberry.field(description="Source column or path (来源列).")
    mapped: bool = strawberry.field(description="Mapped at all (已映射).")
    filled: float | None = strawberry.field(description="Share of rows with a value (填报率).")
    untranslatable: list[UntranslatableValue] = strawberry.field(
        description="Source values that cannot be taken, with counts (无法转换的值)."
    )
    disagreements: int = strawberry.field(
        description="Synced rows that now differ from the source (与同步副本不一致)."
    )


@strawberry.type(description="A source value that cannot be translated or parsed.")
class UntranslatableValue:
    value: str
    count: int


@strawberry.type(description="Blank values of one mandatory field at one school (漏填数).")
class BlankCount:
    hub_field: str = strawberry.field(description="Mandatory (★) hub field (必填字段).")
    count: int = strawberry.field(description="Records leaving it blank (漏填记录数).")


@strawberry.type(
    description="A school's completeness of the mandatory (★) fields in a source (漏填统计)."
)
class SchoolCompleteness:
    school: str = strawberry.field(description="The source's school code (学校标识码).")
    rows: int = strawberry.field(description="Records of the school (记录数).")
    complete: float = strawberry.field(description="Share of mandatory values filled (完整率).")
    blank: list[BlankCount] = strawberry.field(
        description="Mandatory fields left blank, with counts, most first (漏填字段)."
    )


@strawberry.type(description="The mapping report of a source's entity (映射报告).")
class MappingReport:
    source: str
    entity: str
    rows: int = strawberry.field(description="Rows in the source (记录数).")
    coverage: float = strawberry.field(description="Share of hub fields mapped (覆盖率).")
    synced_rows_compared: int = strawberry.field(description="Synced rows compared (已比对).")
    fields: list[FieldMapping]
    unmapped_mandatory: list[str] = strawberry.field(
        description="Mandatory (★) hub fields the mapping does not feed at all (未映射必填字段)."
    )
    completeness: list[SchoolCompleteness] = strawberry.field(
        description="Schools with blank mandatory values, most blanks first (漏填, 按学校)."
    )


@strawberry.type
class SourceQuery:
    @strawberry.field(
        description="Connected systems whose region (数据范围) lies inside the viewer's sources"
        " grant, for administrators and auditors (数据源)."
    )
    async def sources(self, info: HubInfo) -> list[SourceStatus]:
        context = info.context
        shown = resolve.visible_sources(context)
        runs = await resolve.last_runs(context)
        result = []
        for name, source in shown.items():
            run = runs.get(name)
            result.append(
                SourceStatus(
                    name=name,
                    label=source.config.label,
                    kind=source.kind,
                    region=source.config.region,
                    health=await source.health(),
                    breaker_state=source.resilience.breaker.state.value,
                    entities=list(source.config.entities),
                    last_sync=None
                    if run is None
                    else SyncStatus(
                        entity=run.entity,
                        finished_at=run.finished_at,
                        rows_read=run.rows_read,
                        rows_written=run.rows_written,
                        rows_rejected=run.rows_rejected,
                    ),
                )
            )
        return result

    @strawberry.field(
        description="The mapping report of a visible source (映射报告): values of sensitive"
        " fields are masked unless unmask is granted in the source's whole region."
    )
    async def source_report(self, info: HubInfo, name: str, entity: str) -> MappingReport:
        context = info.context
        source = resolve.source_for_report(context, name)
        if entity not in source.config.entities:
            raise BadInput(f"source {name!r} maps no entity {entity!r}")
        if source.kind == "eduhub":
            raise BadInput(f"{name!r} is another hub: ask it for its own report")
        report = await entity_report(source, entity, context.codes, context.state.engine)
        values = resolve.untranslatable(context, source, report)
        return MappingReport(
            source=name,
            entity=entity,
            rows=report.rows,
            coverage=report.coverage,
            synced_rows_compared=report.synced_rows_compared,
            fields=[
                FieldMapping(
                    hub_field=f.hub_field,
                    column=f.column,
                    mapped=f.mapped,
                    filled=f.filled,
                    untranslatable=[
                        UntranslatableValue(value=v, count=n) for v, n in values[f.hub_field]
                    ],
                    disagreements=f.disagreements,
                )
                for f in report.fields
            ],
            unmapped_mandatory=report.unmapped_mandatory,
            completeness=[
                SchoolCompleteness(
                    school=c.school,
                    rows=c.rows,
                    complete=c.complete,
                    blank=[
                        BlankCount(hub_field=name, count=n)
                        for name, n in c.blank.most_common()
                        if n
                    ],
                )
                for c in report.completeness
            ],
        )
