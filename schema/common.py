"""Shared GraphQL building blocks: Node and global IDs, Code, Relay connections, row types."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

import strawberry
from sqlalchemy import Row
from strawberry.types import Info

from hub.access.masking import MASKED_CODE, MASKED_LABEL, embeds_id, mask_student_number
from hub.context import Context
from hub.errors import HubError
from hub.ids import decode_id, encode_id
from hub.pagination import PageArgs
from hub.writes import camel
from resolvers.common import Listing, Page
from resolvers.federation import FederatedRow

HubInfo = Info[Context, None]

__all__ = ["decode_id", "encode_id"]
T = TypeVar("T")
FilterT = TypeVar("FilterT")
FilterT_co = TypeVar("FilterT_co", covariant=True)


# --- Node --------------------------------------------------------------------------


@strawberry.interface(description="An object with a global ID (全局标识), fetchable by node(id:).")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global ID (全局标识).")


# --- coded values ------------------------------------------------------------------------


@strawberry.type(description="A coded value with its Chinese label (代码及名称).")
class Code:
    code: str = strawberry.field(description="The code (代码).")
    label: str = strawberry.field(description="Its label in Chinese (名称).")


def code_field(code_set: str, attribute: str, description: str) -> Any:
    """A non-null ``Code`` field read from the raw column ``attribute``."""

    def resolve(root: Any, info: HubInfo) -> Code:
        value = getattr(root, attribute)
        return Code(code=value, label=info.context.codes.label(code_set, value))

    return strawberry.field(
        resolver=resolve,
        description=f"{description} Code set: {code_set}.",
        metadata={"plan": ("code", code_set, attribute)},
    )


def optional_code_field(code_set: str, attribute: str, description: str) -> Any:
    """A nullable ``Code`` field read from the raw column ``attribute``."""

    def resolve(root: Any, info: HubInfo) -> Code | None:
        value = getattr(root, attribute)
        if value is None:
            return None
        return Code(code=value, label=info.context.codes.label(code_set, value))

    return strawberry.field(
        resolver=resolve,
        description=f"{description} Code set: {code_set}.",
        metadata={"plan": ("code", code_set, attribute)},
    )


# --- sensitive values ---------------------------------------------------------------------


def _reveal(root: Any, info: HubInfo, resource: str) -> bool:
    """Whether the viewer may see ``root``'s sensitive fields; if so, the read is audited."""
    context = info.context
    if context.access.may(resource, "unmask", root.path):
        context.audit.unmasked(resource, info.field_name, root.id, root.path)
        return True
    return False


def sensitive_field(
    resource: str, attribute: str, mask: Callable[[str], str], description: str, name: str
) -> Any:
    """A sensitive string: the value if the viewer may unmask it here (audited), else masked."""

    def resolve(root: Any, info: HubInfo) -> str | None:
        value = getattr(root, attribute)
        if value is None:
            return None
        return str(value) if _reveal(root, info, resource) else mask(str(value))

    return strawberry.field(
        resolver=resolve,
        name=name,
        description=f"{description} Sensitive: masked unless unmask is granted.",
        metadata={"plan": ("sensitive", resource, attribute, mask.__name__)},
    )


def student_number_field(resource: str, description: str) -> Any:
    """The national student number: a ``G`` number embeds the citizen ID, so it is masked
    (and its reading audited) like the ID; ``L``/``J`` numbers are plain."""

    def resolve(root: Any, info: HubInfo) -> str:
        value = str(root.student_number)
        if not embeds_id(value) or _reveal(root, info, resource):
            return value
        return mask_student_number(value)

    return strawberry.field(
        resolver=resolve,
        name="studentNumber",
        metadata={"plan": ("sensitive", resource, "student_number", "mask_student_number")},
        description=f"{description} A G number embeds the citizen ID: masked unless unmask is"
        " granted; lookups by the full number work for every reader.",
    )


def sensitive_code_field(
    resource: str, code_set: str, attribute: str, description: str, name: str
) -> Any:
    """A sensitive coded value (health, disability): masked code and label unless allowed."""

    def resolve(root: Any, info: HubInfo) -> Code | None:
        value = getattr(root, attribute)
        if not info.context.access.may(resource, "unmask", root.path):
            # One masked code whatever the value, absent included: otherwise the mask itself
            # would tell who has a disability.
            return Code(code=MASKED_CODE, label=MASKED_LABEL)
        if value is None:
            return None
        info.context.audit.unmasked(resource, info.field_name, root.id, root.path)
        return Code(code=value, label=info.context.codes.label(code_set, value))

    return strawberry.field(
        resolver=resolve,
        name=name,
        description=f"{description} Code set: {code_set}. Sensitive: masked unless granted.",
        metadata={"plan": ("sensitive_code", resource, attribute, code_set)},
    )


def sensitive_flag_field(resource: str, attribute: str, description: str, name: str) -> Any:
    """A sensitive yes/no (e.g. learning with a disability): null unless allowed."""

    def resolve(root: Any, info: HubInfo) -> bool | None:
        value = getattr(root, attribute)
        if value is None or not _reveal(root, info, resource):
            return None
        return bool(value)

    return strawberry.field(
        resolver=resolve,
        name=name,
        description=f"{description} Sensitive: null unless unmask is granted.",
        metadata={"plan": ("sensitive_flag", resource, attribute)},
    )


# --- row-backed types --------------------------------------------------------------------


class RowType:
    """Mixin for GraphQL types built from one table row: every dataclass field other than
    ``id`` and ``pk`` is a column of the same name."""

    type_name: ClassVar[str]
    _row_fields: ClassVar[tuple[str, ...]]

    @classmethod
    def row_fields(cls) -> tuple[str, ...]:
        cached = cls.__dict__.get("_row_fields")
        if cached is None:
            cached = tuple(
                f.name
                for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                if f.init and f.name not in ("id", "pk")
            )
            cls._row_fields = cached
        return cached

    @classmethod
    def from_row(cls, row: Any) -> Self:
        if isinstance(row, FederatedRow):  # read live from a source: its own kind of id
            build_federated: Any = cls
            values = {name: row.values.get(name) for name in cls.row_fields()}
            federated: Self = build_federated(id=row.global_id, pk=None, **values)
            return federated
        mapping = row._mapping
        values = {name: mapping[name] for name in cls.row_fields()}
        pk = mapping["id"]
        build: Any = cls  # the dataclass __init__ strawberry generates for the subclass
        instance: Self = build(id=encode_id(cls.type_name, pk), pk=pk, **values)
        return instance

    @classmethod
    def maybe(cls, row: Any) -> Self | None:
        return None if row is None else cls.from_row(row)


# --- connections -------------------------------------------------------------------------


@strawberry.type(description="Where a page sits in its list (分页信息).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="A page of a list, Relay style (分页列表).")
class Connection(Generic[T]):
    _listing: strawberry.Private[Listing]
    _build: strawberry.Private[Callable[[Row[Any]], T]]
    _had_cursor: strawberry.Private[bool]

    @strawberry.field(description="The items of this page (本页数据).")
    async def edges(self) -> list[Edge[T]]:
        page = await self._listing.page()
        build = self._build
        cursors = page.cursors or []
        return [Edge(cursor=c, node=build(row)) for c, row in zip(cursors, page.rows, strict=True)]

    @strawberry.field(description="Where this page sits (分页信息).")
    async def page_info(self) -> PageInfo:
        page = await self._listing.page()
        cursors = page.cursors or []
        return PageInfo(
            has_next_page=page.has_next,
            has_previous_page=self._had_cursor,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )

    @strawberry.field(
        description="Number of items in the whole list, within what the viewer may see (总数)."
    )
    async def total_count(self) -> int:
        return await self._listing.count()


def connection(listing: Listing, build: Callable[[Row[Any]], T], had_cursor: bool) -> Connection[T]:
    """A connection that reads rows only if ``edges``/``pageInfo`` are selected and counts
    only if ``totalCount`` is."""
    return Connection(_listing=listing, _build=build, _had_cursor=had_cursor)


def empty_listing() -> Listing:
    """A list with nothing in it (a federated record has no hub-side children)."""

    async def page() -> Page:
        return Page([], False, [])

    async def count() -> int:
        return 0

    return Listing(page, count)


def page_args(info: HubInfo, first: int | None, after: str | None) -> PageArgs:
    settings = info.context.settings
    return PageArgs.parse(
        first, after, default=settings.page_size_default, cap=settings.page_size_max
    )


class FilterInput(Protocol[FilterT_co]):
    """A filter input type: ``build`` gives the domain's typed filter."""

    def build(self) -> FilterT_co: ...


def built(value: FilterInput[FilterT] | None, empty: Callable[[], FilterT]) -> FilterT:
    """The typed filter of an input; ``empty()`` (no narrowing) when none was given."""
    return empty() if value is None else value.build()


def tuple_of(values: list[str] | None) -> tuple[str, ...] | None:
    """A list input as the tuple a (hashable, batchable) typed filter holds."""
    return None if values is None else tuple(values)


def rows_to(build: Callable[[Row[Any]], T], rows: Sequence[Row[Any]]) -> list[T]:
    return [build(row) for row in rows]


# --- mutations ---------------------------------------------------------------------------


@strawberry.type(description="A problem with the input of a mutation (错误).")
class UserError:
    field: str | None = strawberry.field(
        description="The input field it is about, as named in the schema (字段)."
    )
    message: str = strawberry.field(description="What is wrong (说明).")
    code: str = strawberry.field(
        description="BAD_INPUT, NOT_FOUND, FORBIDDEN or CONFLICT (错误代码)."
    )


def user_errors(info: HubInfo, error: HubError) -> list[UserError]:
    """A refused mutation's errors as data; nothing of it is committed (``failed``)."""
    info.context.failed = True
    problems = getattr(error, "problems", None)
    if problems:
        return [
            UserError(
                field=None if p.field is None else camel(p.field), message=p.message, code=p.code
            )
            for p in problems
        ]
    return [UserError(field=None, message=error.message, code=error.code)]
