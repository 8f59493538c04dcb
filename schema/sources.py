"""Connected systems (数据源): health, breaker state, last sync."""

from __future__ import annotations

import datetime as dt

import strawberry

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
    health: bool = strawberry.field(description="Answered a health probe just now (健康).")
    breaker_state: str = strawberry.field(
        description="Circuit breaker: CLOSED, OPEN or HALF_OPEN (熔断状态)."
    )
    entities: list[str] = strawberry.field(description="Mapped entities (实体).")
    last_sync: SyncStatus | None = strawberry.field(description="Newest finished sync (最近同步).")


@strawberry.type
class SourceQuery:
    @strawberry.field(description="Connected systems, for administrators and auditors (数据源).")
    async def sources(self, info: HubInfo) -> list[SourceStatus]:
        context = info.context
        resolve.require_sources_reader(context)
        runs = await resolve.last_runs(context)
        result = []
        for name, source in (context.state.sources() if context.state else {}).items():
            run = runs.get(name)
            result.append(
                SourceStatus(
                    name=name,
                    label=source.config.label,
                    kind=source.kind,
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
