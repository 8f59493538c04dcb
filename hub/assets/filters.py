"""The asset filter (资产筛选) and its SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass

from hub import filters
from hub.assets.models import Asset
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.filters import Conditions

ASSET = table_of(Asset)


@dataclass(frozen=True, slots=True)
class AssetFilter:
    """What a list of assets is narrowed to (GraphQL ``AssetFilter``); ``None``: any."""

    under: str | None = None
    category_prefix: str | None = None
    status: tuple[str, ...] | None = None
    name_prefix: str | None = None


async def conditions(ctx: Context, f: AssetFilter) -> Conditions:
    c = ASSET.c
    return (
        *await filters.under(ctx, ASSET, f.under),
        *filters.prefix(
            c.category_code, _category_prefix(f.category_prefix), "filter.categoryPrefix"
        ),
        *filters.codes(ctx, c.status_code, "asset_status", f.status, "filter.status"),
        *filters.prefix(c.name, f.name_prefix, "filter.namePrefix"),
    )


def _category_prefix(value: str | None) -> str | None:
    if value is None:
        return None
    if not (1 <= len(value) <= 7 and value[0].isalnum() and value[1:].isdigit()):
        raise BadInput(
            "'filter.categoryPrefix' must be the start of a GB/T 14885 code (a digit or a"
            f" letter, then digits; at most 7 characters), got {value!r}"
        )
    return value
