"""SQL helpers shared by the statement builders."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ARRAY, BigInteger, ColumnElement, String, any_, bindparam
from sqlalchemy.engine import Dialect


def among(dialect: Dialect, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN (values)``. On PostgreSQL ``column = ANY($1)``: one array parameter, so
    the statement is the same for any number of values (prepared and planned once, where an
    IN list of 2,000 parameters is parsed and planned anew for every count)."""
    listed = list(values)
    if dialect.name != "postgresql":
        return column.in_(listed)  # type: ignore[no-any-return]
    element = BigInteger() if isinstance(column.type, BigInteger) or _integer(column) else String()
    array = bindparam(None, listed, type_=ARRAY(element))
    return column == any_(array)  # type: ignore[no-any-return]


def _integer(column: Any) -> bool:
    try:
        return bool(column.type.python_type is int)
    except NotImplementedError:
        return False
