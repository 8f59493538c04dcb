"""Governed exports (数据导出): requests, their review above the requester, their files."""

from __future__ import annotations

import datetime as dt
import enum

import orjson
import strawberry

from hub.errors import BadInput, HubError
from hub.exports import service
from hub.exports.entities import EXPORTABLE
from hub.exports.entities import ExportEntity as HubExportEntity
from hub.ids import decode_id_of
from resolvers import exports as resolve
from schema.assets import AssetFilter
from schema.buildings import BuildingFilter
from schema.common import (
    Code,
    Connection,
    HubInfo,
    Node,
    RowType,
    UserError,
    code_field,
    connection,
    page_args,
    tuple_of,
    user_errors,
)
from schema.mutations.review_change_request import ReviewInput
from schema.schools import SchoolFilter
from schema.students import StudentFilter
from schema.teachers import TeacherFilter

ExportEntity = strawberry.enum(HubExportEntity, description="What is exported (导出对象).")


@strawberry.enum(description="File type (文件格式).")
class ExportFormat(enum.Enum):
    XLSX = "xlsx"
    CSV = "csv"


@strawberry.input(
    description="The rows to export, as the list of the entity filters them (导出范围): give"
    " the filter of the entity exported only."
)
class ExportFilter:
    students: StudentFilter | None = None
    teachers: TeacherFilter | None = None
    schools: SchoolFilter | None = None
    buildings: BuildingFilter | None = None
    assets: AssetFilter | None = None

    def build(self, entity: HubExportEntity) -> object:
        given = {
            e: f
            for e, f in (
                (HubExportEntity.STUDENTS, self.students),
                (HubExportEntity.TEACHERS, self.teachers),
                (HubExportEntity.SCHOOLS, self.schools),
                (HubExportEntity.BUILDINGS, self.buildings),
                (HubExportEntity.ASSETS, self.assets),
            )
            if f is not None
        }
        others = [e.value for e in given if e is not entity]
        if others:
            raise BadInput(
                f"'filter.{others[0]}' does not apply to an export of {entity.value}:"
                f" use 'filter.{entity.value}'"
            )
        chosen = given.get(entity)
        return EXPORTABLE[entity].filter_type() if chosen is None else chosen.build()


@strawberry.input(description="A request to export rows as a file (数据导出申请).")
class RequestExportInput:
    entity: ExportEntity = strawberry.field(description="What is exported (导出对象).")  # type: ignore[valid-type]
    purpose: str = strawberry.field(description="What the data is for (用途), 4-200 characters.")
    filter: ExportFilter | None = strawberry.field(default=None, description="导出范围.")
    fields: list[str] | None = strawberry.field(
        default=None,
        description="The fields, by name (exportFields lists them); all when not given.",
    )
    format: ExportFormat = strawberry.field(default=ExportFormat.XLSX, description="文件格式.")


@strawberry.type(description="A field that can be exported (可导出字段).")
class ExportField:
    name: str = strawberry.field(description="Its name in 'fields' (字段名).")
    headers: list[str] = strawberry.field(
        description="Its column headers in the file (表头): a code has two, code and label."
    )
    sensitive: bool = strawberry.field(
        description="Masked unless the requester may unmask it where the row lies (敏感)."
    )


@strawberry.type(
    description="A request to export rows as a file (数据导出申请), from request to expiry."
)
class ExportRequest(RowType, Node):
    type_name = "ExportRequest"
    pk: strawberry.Private[int]
    entity: strawberry.Private[str]
    filter: strawberry.Private[str]
    fields: strawberry.Private[str | None]
    format: strawberry.Private[str]
    path: strawberry.Private[str]
    status_code: strawberry.Private[str]
    file_name: strawberry.Private[str | None]
    purpose: str = strawberry.field(description="用途.")
    requested_by: str = strawberry.field(description="申请人.")
    requested_at: dt.datetime = strawberry.field(description="申请时间.")
    reviewed_by: str | None = strawberry.field(description="审批人.")
    reviewed_at: dt.datetime | None = strawberry.field(description="审批时间.")
    review_note: str | None = strawberry.field(description="审批意见.")
    rows_total: int | None = strawberry.field(
        description="Rows the file holds (行数): counted at the request, again when written."
    )
    rows_written: int = strawberry.field(description="Rows written so far (已写行数).")
    started_at: dt.datetime | None = strawberry.field(description="开始生成时间.")
    finished_at: dt.datetime | None = strawberry.field(description="完成时间.")
    expires_at: dt.datetime | None = strawberry.field(
        description="The file is deleted then (过期时间)."
    )
    file_bytes: int | None = strawberry.field(description="File size in bytes (文件大小).")
    file_sha256: str | None = strawberry.field(description="SHA-256 of the file (校验值).")
    error: str | None = strawberry.field(description="Why the job failed (失败原因).")
    downloads: int = strawberry.field(description="Times downloaded (下载次数).")

    status: Code = code_field("export_status", "status_code", "Status (状态).")

    @strawberry.field(description="The request's number, as on the file's cover (申请编号).")
    def number(self) -> int:
        return self.pk

    @strawberry.field(name="entity", description="What is exported (导出对象).")
    def entity_value(self) -> ExportEntity:  # type: ignore[valid-type]
        return HubExportEntity(self.entity)

    @strawberry.field(name="format", description="File type (文件格式).")
    def file_format(self) -> ExportFormat:
        return ExportFormat(self.format)

    @strawberry.field(name="fields", description="The fields exported, by name (导出字段).")
    def field_names(self) -> list[str]:
        if self.fields:
            names: list[str] = orjson.loads(self.fields)
            return names
        return [f.name for f in EXPORTABLE[HubExportEntity(self.entity)].fields]

    @strawberry.field(
        name="filter", description="The filter, as JSON of the domain's filter (导出范围)."
    )
    def filter_json(self) -> str:
        return self.filter

    @strawberry.field(description="Share of the rows written (进度), 0 to 1.")
    def progress(self) -> float | None:
        if self.status_code == service.READY:
            return 1.0
        if not self.rows_total:
            return None
        return min(1.0, self.rows_written / self.rows_total)

    @strawberry.field(
        description="Where the requester downloads the file with its bearer token while it"
        " is ready (下载地址); null for anyone else or in any other state."
    )
    def download_url(self, info: HubInfo) -> str | None:
        principal = info.context.access.principal
        mine = principal is not None and principal.user == self.requested_by
        return f"/exports/{self.pk}" if mine and self.status_code == service.READY else None

    @strawberry.field(
        description="Whether the viewer may approve or refuse it now (可审批): pending, not its"
        " own, and 'approve' on 'export' above the requester's unit."
    )
    def may_decide(self, info: HubInfo) -> bool:
        pending = self.status_code == service.PENDING
        return pending and service.may_decide(info.context, self.requested_by, self.path)


@strawberry.input(description="Filter for export requests (导出申请筛选).")
class ExportRequestFilter:
    status: list[str] | None = strawberry.field(
        default=None, description="Statuses, code set export_status (状态)."
    )
    mine: bool | None = strawberry.field(
        default=None, description="true: only the viewer's own; false: only others' (本人申请)."
    )

    def build(self) -> resolve.ExportRequestFilter:
        return resolve.ExportRequestFilter(status=tuple_of(self.status), mine=self.mine)


@strawberry.type(description="Result of an export request or decision (导出申请结果).")
class ExportRequestPayload:
    export_request: ExportRequest | None
    errors: list[UserError]


@strawberry.type
class ExportQuery:
    @strawberry.field(
        description="Export requests (数据导出申请): the viewer's own, and those of the units"
        " where it decides them; newest first."
    )
    async def exports(
        self,
        info: HubInfo,
        filter: ExportRequestFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ExportRequest]:
        args = page_args(info, first, after)
        f = resolve.ExportRequestFilter() if filter is None else filter.build()
        return connection(resolve.page(info.context, f, args), ExportRequest.from_row, bool(after))

    @strawberry.field(description="The fields an export of the entity may hold (可导出字段).")
    def export_fields(self, entity: ExportEntity) -> list[ExportField]:  # type: ignore[valid-type]
        return [
            ExportField(name=f.name, headers=list(f.headers), sensitive=f.sensitive)
            for f in EXPORTABLE[HubExportEntity(entity)].fields
        ]


def _request_id(value: strawberry.ID) -> int:
    return decode_id_of(str(value), "ExportRequest", "id")


async def request_export(info: HubInfo, input: RequestExportInput) -> ExportRequestPayload:
    ctx = info.context
    try:
        entity = HubExportEntity(input.entity)
        filter_ = input.filter.build(entity) if input.filter else EXPORTABLE[entity].filter_type()
        pk = await service.request(
            ctx, entity, filter_, input.fields, input.purpose, ExportFormat(input.format).value
        )
        row = await service.by_id(ctx, pk)
    except HubError as error:
        return ExportRequestPayload(export_request=None, errors=user_errors(info, error))
    return ExportRequestPayload(export_request=ExportRequest.from_row(row), errors=[])


async def review_export(info: HubInfo, input: ReviewInput) -> ExportRequestPayload:
    try:
        row = await service.review(info.context, _request_id(input.id), input.approve, input.note)
    except HubError as error:
        return ExportRequestPayload(export_request=None, errors=user_errors(info, error))
    return ExportRequestPayload(export_request=ExportRequest.from_row(row), errors=[])


async def withdraw_export(info: HubInfo, id: strawberry.ID) -> ExportRequestPayload:
    try:
        row = await service.withdraw(info.context, _request_id(id))
    except HubError as error:
        return ExportRequestPayload(export_request=None, errors=user_errors(info, error))
    return ExportRequestPayload(export_request=ExportRequest.from_row(row), errors=[])


@strawberry.type
class ExportMutation:
    request_export = strawberry.mutation(
        resolver=request_export,
        description="Ask to export rows as a file (数据导出申请); someone holding 'approve' on"
        " 'export' above the requester's unit decides it.",
    )
    review_export = strawberry.mutation(
        resolver=review_export,
        description="Approve or refuse an export request (导出审批); a refusal says why.",
    )
    withdraw_export = strawberry.mutation(
        resolver=withdraw_export,
        description="The requester withdraws a request not yet decided (撤回导出申请).",
    )
