from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Table, and_, false, literal, or_
from sqlalchemy.sql.expression import ColumnElement as Column


def path_upper_bound(prefix: str) -> str:
    """The first string after every string starting with ``prefix``.

    Paths end in ``/`` (0x2F) and '0' (0x30) follows it, so ``/CN/44/`` .. ``/CN/440`` holds
    exactly the subtree of ``/CN/44/`` and never the sibling ``/CN/440.../``.
    """
    if not prefix.endswith("/"):
        raise ValueError(f"a path prefix must end with '/': {prefix!r}")
    return prefix[:-1] + "0"


def under_path(column: Column[str], prefix: str) -> ColumnElement[bool]:
    """SQL condition: ``column`` lies in the subtree ``prefix`` (one index range).

    The bounds are written into the statement's text (escaped by the dialect) rather than
    sent as parameters: a subtree decides the plan (a county's range and the whole country
    want different plans), and PostgreSQL may reuse a prepared statement's generic plan,
    which would not see a parameter's value. Keys, cursors and filter values stay
    parameters, so the statement of a scope is prepared and planned once."""
    if prefix == "/":
        return column.is_not(None)
    low = literal(prefix, column.type, literal_execute=True)
    high = literal(path_upper_bound(prefix), column.type, literal_execute=True)
    return and_(column >= low, column < high)


def path_is_under(path: str, prefix: str) -> bool:
    """Python twin of ``under_path`` (for checks on single rows)."""
    return path.startswith(prefix)


@dataclass(frozen=True, slots=True)
class Scope:
    """The subtrees a viewer may see, as materialised-path prefixes.

    An empty scope sees nothing: ``restrict`` then yields a condition that is always false,
    never "no condition".
    """

    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, prefixes: Iterable[str]) -> Scope:
        unique = sorted(set(prefixes))
        # Drop prefixes covered by a shorter one: fewer OR branches in SQL.
        kept: list[str] = []
        for prefix in unique:
            if not any(prefix.startswith(k) for k in kept):
                kept.append(prefix)
        return cls(tuple(kept))

    @classmethod
    def nothing(cls) -> Scope:
        return cls(())

    def restrict(self, path_column: Column[str]) -> ColumnElement[bool]:
        if not self.prefixes:
            return false()
        conditions = [under_path(path_column, p) for p in self.prefixes]
        return conditions[0] if len(conditions) == 1 else or_(*conditions)

    def allows(self, path: str) -> bool:
        return any(path_is_under(path, p) for p in self.prefixes)

    def intersect(self, prefix: str) -> Scope:
        """The part of this scope inside the subtree ``prefix`` (for ``filter.under``)."""
        kept: list[str] = []
        for own in self.prefixes:
            if prefix.startswith(own):
                kept.append(prefix)
            elif own.startswith(prefix):
                kept.append(own)
        return Scope.of(kept)


# The access resource each table's rows belong to (policies/policy.csv). A guardian has no
# path of its own: it is read through its student (``Readable`` of ``student``).
RESOURCE_OF = {
    "org_unit": "org_unit",
    "school": "school",
    "class": "school",
    "student": "student",
    "status_change": "student",
    "teacher": "teacher",
    "building": "building",
    "asset": "asset",
    "audit_event": "audit",
    # Problem records, change requests and the change log are about student records.
    "problem_record": "student",
    "change_request": "student",
    "change_event": "student",
    # Export requests are decided by ``approve`` on ``export`` (their requester's unit).
    "export_request": "export",
}


def path_name(table: Table) -> str:
    """The column placing a row of ``table`` in the tree (audit events: the subtree of their
    subjects)."""
    return "scope_path" if table.name == "audit_event" else "path"


def path_column(table: Table) -> ColumnElement[str]:
    column: ColumnElement[str] = table.c[path_name(table)]
    return column


@dataclass(frozen=True, slots=True)
class Readable:
    """The rows of ``table`` a viewer may read: the proof every statement builder takes.

    Only ``Access.readable`` makes one (from Casbin's decision for the table's resource), so
    no list, lookup, count or plan can read rows without the viewer's scope or build a scope
    of its own; a test keeps constructions of this class inside ``hub/access``.
    """

    table: Table
    scope: Scope

    @property
    def where(self) -> ColumnElement[bool]:
        """SQL condition: the row lies in one of the viewer's subtrees."""
        return self.scope.restrict(path_column(self.table))

    def placed_by(self, path: ColumnElement[str]) -> ColumnElement[bool]:
        """The same scope on the path of the rows that place these (a routed record lies
        where its school lies: the scope of students applied to school paths)."""
        return self.scope.restrict(path)

    def within(self, prefix: str) -> Readable:
        """The part of these rows inside the subtree ``prefix`` (a routed region)."""
        return Readable(self.table, self.scope.intersect(prefix))
