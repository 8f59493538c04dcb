"""The change feed (变更记录) for integrators mirroring the hub."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import strawberry

from hub.access.masking import masked_values, sensitive_values
from hub.changes import filters as change_filters
from hub.ids import encode_id
from resolvers import changes as resolve
from schema.common import Connection, HubInfo, Node, RowType, built, connection, page_args, tuple_of

SENSITIVE = "student_sensitive"


@strawberry.type(description="One insert, update or delete of the store (变更记录).")
class ChangeEvent(RowType, Node):
    type_name = "ChangeEvent"
    pk: strawberry.Private[int]
    at: dt.datetime = strawberry.field(description="When it was committed (时间).")
    actor: str = strawberry.field(description="Who (操作人): a user, or sync:SOURCE.")
    origin: str = strawberry.field(description="graphql, sync:SOURCE or numbers (来源).")
    entity: str = strawberry.field(description="The type changed, e.g. Student (对象类型).")
    action: str = strawberry.field(description="insert, update or delete (动作).")
    subject_id: strawberry.Private[int]
    path: strawberry.Private[str]
    fields_json: strawberry.Private[str]

    @strawberry.field(description="Global ID of the changed object (对象标识).")
    def subject(self) -> strawberry.ID:
        return strawberry.ID(encode_id(self.entity, self.subject_id))

    @strawberry.field(
        description="The fields as they are after the change, as JSON with the database's"
        " field names (all of them for an insert, the changed ones for an update, none for a"
        " delete); sensitive values masked unless unmask is granted, and audited when not."
    )
    def fields(self, info: HubInfo) -> str:
        values: dict[str, Any] = orjson.loads(self.fields_json)
        ctx = info.context
        entity = self.entity.lower()
        if not sensitive_values(entity, values):
            return self.fields_json
        if ctx.access.may(SENSITIVE, "unmask", self.path):
            subject = encode_id(self.entity, self.subject_id)
            ctx.audit.unmasked(SENSITIVE, "changes.fields", subject, self.path)
            return self.fields_json
        masked = masked_values(entity, values)
        return orjson.dumps(masked, option=orjson.OPT_SORT_KEYS).decode()

    @classmethod
    def from_row(cls, row: Any) -> ChangeEvent:
        return cls(
            id=strawberry.ID(encode_id("ChangeEvent", row.id)),
            pk=row.id,
            at=row.at,
            actor=row.actor,
            origin=row.origin,
            entity=row.entity,
            action=row.action,
            subject_id=row.subject_id,
            path=row.path,
            fields_json=row.fields,
        )


@strawberry.input(description="Filter for the change feed (变更筛选).")
class ChangeFilter:
    under: str | None = strawberry.field(
        default=None, description="Only changes in this org unit's subtree (所属区域)."
    )
    entity: list[str] | None = strawberry.field(
        default=None, description='Only these types, e.g. ["Student"] (对象类型).'
    )

    def build(self) -> change_filters.ChangeFilter:
        return change_filters.ChangeFilter(under=self.under, entity=tuple_of(self.entity))


@strawberry.type
class ChangeQuery:
    @strawberry.field(
        description="Every insert, update and delete of the store in commit order, within the"
        " viewer's scope: resume with after: the last cursor you read (变更记录)."
    )
    async def changes(
        self,
        info: HubInfo,
        after: str | None = None,
        filter: ChangeFilter | None = None,
        first: int | None = None,
    ) -> Connection[ChangeEvent]:
        args = page_args(info, first, after)
        f = built(filter, change_filters.ChangeFilter)
        listing = await resolve.page(info.context, f, args)
        return connection(listing, ChangeEvent.from_row, after is not None)
