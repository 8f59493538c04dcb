"""Assets and equipment (资产与仪器设备)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.assets.models import Asset
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.pagination import PageArgs
from resolvers import filters
from resolvers.common import ByParent, Listing, child_listing, listing, load_by_id

TABLE = table_of(Asset)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, TABLE, pk)


def _category_prefix(value: str | None) -> str | None:
    if value is None:
        return None
    if not (1 <= len(value) <= 7 and value[0].isalnum() and value[1:].isdigit()):
        raise BadInput(
            "'filter.categoryPrefix' must be the start of a GB/T 14885 code (a digit or a"
            f" letter, then digits; at most 7 characters), got {value!r}"
        )
    return value


async def conditions(ctx: Context, spec: dict[str, Any]) -> filters.Conditions:
    c = TABLE.c
    return (
        *await filters.under(ctx, TABLE, spec.get("under")),
        *filters.prefix(
            c.category_code, _category_prefix(spec.get("category_prefix")), "filter.categoryPrefix"
        ),
        *filters.codes(ctx, c.status_code, "asset_status", spec.get("status"), "filter.status"),
        *filters.prefix(c.name, spec.get("name_prefix"), "filter.namePrefix"),
    )


async def page(ctx: Context, spec: dict[str, Any], args: PageArgs) -> Listing:
    return listing(ctx, TABLE, await conditions(ctx, spec), args)


async def of_parent(
    ctx: Context, column: str, parent_id: int, spec: dict[str, Any], args: PageArgs
) -> Listing:
    """Assets of a school (``school_id``) or a building (``building_id``), batched."""
    conditions_ = await conditions(ctx, spec)
    return child_listing(
        ctx, TABLE, ByParent(column), conditions_, filters.key(spec), args, parent_id
    )
