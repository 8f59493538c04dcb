"""JSON built by the database, in each dialect: PostgreSQL ``json_build_object``/``json_agg``,
SQLite ``json_object``/``json_group_array`` (with ``hub_b64``/``hub_mask_email`` registered
on every connection by ``hub.db.engine``)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, case, cast, func, literal, literal_column, null, select
from sqlalchemy import Text as _TEXT
from sqlalchemy.dialects.postgresql import JSON as JSON_PG

from resolvers.plan.operation import NotPlannable

STARS = "*" * 64  # phones are masked with a prefix of this


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


class Json:
    """JSON construction in one dialect: objects, arrays of subquery rows, booleans, ids."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def obj(self, pairs: list[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
        if len(pairs) > 50:
            raise NotPlannable("more than 50 fields in one object")
        args: list[Any] = []
        for key, value in pairs:
            args += [literal(key), value]
        return func.json_build_object(*args) if self.pg else func.json_object(*args)

    def constant(self, pairs: list[tuple[str, str]]) -> ColumnElement[Any] | None:
        """An object whose keys and values are all known when the plan is made, as one
        JSON constant written exactly as ``json_build_object`` would write it (PostgreSQL;
        None on SQLite, which builds it per row). A code's ``{code, label}`` for each member
        of its set is one: the database then picks a constant per row instead of building
        the object and escaping its keys and label every time (7% of a 100-student page)."""
        if not self.pg:
            return None
        # Python's json escapes as PostgreSQL's escape_json does (", \\, the five named
        # controls, the others as lower-case \\u00xx, nothing else) when it keeps non-ASCII.
        body = ", ".join(f"{_string(k)} : {_string(v)}" for k, v in pairs)
        return cast(literal("{" + body + "}", _TEXT), JSON_PG)

    def nested(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON value from a subquery, kept JSON inside the enclosing object."""
        return value if self.pg else func.json(value)

    def array(self, source: Any, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """``value`` of every row of the subquery ``source`` as a JSON array ([] when
        empty). ``source`` must be an ordered subquery: both databases aggregate
        in the order its rows come. SQLite reads a subquery's rows in its ORDER BY (few
        nesting levels: its parser's stack is shallow). PostgreSQL never merges a subquery
        that has an ORDER BY into the query around it, so its rows reach the aggregate
        sorted, as PostGraphile's statements also rely on; an ORDER BY inside
        ``json_agg`` would sort every list a second time (PostgreSQL 15 does not see that
        its input is sorted already), which cost a tenth of a 100-student page."""
        if self.pg:
            agg = func.json_agg(value)
            empty: Any = literal_column("'[]'::json")
            return select(func.coalesce(agg, empty)).select_from(source).scalar_subquery()
        return func.json(select(func.json_group_array(value)).select_from(source).scalar_subquery())

    def boolean(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.pg:
            return value
        return case(
            (value.is_(None), null()),
            (value == 1, func.json("true")),
            else_=func.json("false"),
        )

    def flag(self, condition: ColumnElement[bool]) -> ColumnElement[Any]:
        """A JSON true/false from a SQL condition."""
        if self.pg:
            return condition
        return case((condition, func.json("true")), else_=func.json("false"))

    def date(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.to_char(value, "YYYY-MM-DD") if self.pg else value

    def datetime(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A timestamp as ``datetime.isoformat`` writes the value the driver returns:
        PostgreSQL's in UTC with ``+00:00``, SQLite's stored UTC text without an offset;
        microseconds only when there are any."""
        if self.pg:
            utc = func.timezone("UTC", value)
            seconds = func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
            fraction = case(
                (func.extract("microseconds", utc) % 1000000 == 0, literal("")),
                else_=self.cat(".", func.to_char(utc, "US")),
            )
            return self.cat(seconds, fraction, "+00:00")
        text = func.replace(value, " ", "T")
        return case((func.substr(value, 21, 6) == "000000", func.substr(text, 1, 19)), else_=text)

    def b64(self, text_value: ColumnElement[Any]) -> ColumnElement[Any]:
        """base64url without padding (global ids and cursors, as ``hub.ids`` encodes them)."""
        if self.pg:
            encoded = func.encode(func.convert_to(text_value, "UTF8"), "base64")
            return func.rtrim(func.translate(encoded, "+/\n", "-_"), "=")
        return func.hub_b64(text_value)

    @staticmethod
    def cat(*parts: Any) -> ColumnElement[Any]:
        """String concatenation (``||`` in both dialects; ``+`` would add numbers)."""
        joined: Any = parts[0] if isinstance(parts[0], ColumnElement) else literal(parts[0])
        for part in parts[1:]:
            joined = joined.op("||")(part if isinstance(part, ColumnElement) else literal(part))
        result: ColumnElement[Any] = joined
        return result

    def values(self, *items: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON array of SQL values (the audit marks of one object)."""
        return func.json_build_array(*items) if self.pg else func.json_array(*items)

    def decimal(self, value: ColumnElement[Any], scale: int) -> ColumnElement[Any]:
        """A ``Decimal`` as the resolvers render it: a string with the column's scale."""
        if self.pg:
            return value.cast(_TEXT)
        return case((value.is_(None), null()), else_=func.printf(f"%.{scale}f", value))

    def float_(self, value: ColumnElement[Any], scale: int) -> ColumnElement[Any]:
        """A fixed-point column as a JSON float, written as Python writes the float
        (``1234.5``, ``1234.0``): the digits of the decimal without trailing zeros."""
        fixed = value.cast(_TEXT) if self.pg else func.printf(f"%.{scale}f", value)
        trimmed = func.rtrim(func.rtrim(fixed, "0"), ".") if scale else fixed
        point = func.strpos(trimmed, ".") if self.pg else func.instr(trimmed, ".")
        number = case((point == 0, self.cat(trimmed, ".0")), else_=trimmed)
        as_json = number.cast(JSON_PG) if self.pg else func.json(number)
        return case((value.is_(None), null()), else_=as_json)

    def stars(self, n: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.substr(literal(STARS), 1, n)

    def right(self, value: ColumnElement[Any], n: int) -> ColumnElement[Any]:
        return func.right(value, n) if self.pg else func.substr(value, -n)

    def mask_email(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.pg:
            domain = func.regexp_replace(value, "^.*@", "")
            return case((func.strpos(value, "@") > 0, self.cat("****@", domain)), else_="****")
        return func.hub_mask_email(value)
