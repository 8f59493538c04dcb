"""Layout invariants of authorization and filters, checked on the source itself.

- The viewer's scope reaches SQL only through ``hub/access``: a ``Readable`` (the proof every
  statement builder takes) is made by ``Access.readable`` alone, and no module outside
  ``hub/access`` turns a scope into SQL (``Scope.restrict``) or builds one (``Scope.of``).
- Every field of every GraphQL filter input reaches its domain's typed filter: an input
  field added without a typed counterpart would be dropped silently (a renamed one fails
  ``mypy --strict``, which CI runs)."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import strawberry

from hub.orgunits.models import OrgLevel
from schema.access import AuditEventFilter
from schema.assets import AssetFilter
from schema.buildings import BuildingFilter
from schema.orgunits import OrgUnitFilter
from schema.schools import SchoolFilter
from schema.students import StudentFilter
from schema.teachers import TeacherFilter

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "resolvers", "schema")


def _calls(name: str) -> list[str]:
    """Places (file:line) outside hub/access that call ``name`` as a function or method."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.parts[:2] == ("hub", "access"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                function = node.func
                called = set()
                if isinstance(function, ast.Name):
                    called.add(function.id)
                elif isinstance(function, ast.Attribute):
                    called.add(function.attr)
                    if isinstance(function.value, ast.Name):  # Scope.of(...)
                        called.add(f"{function.value.id}.{function.attr}")
                if name in called:
                    found.append(f"{relative}:{node.lineno}")
    return found


@pytest.mark.parametrize("name", ["Readable", "restrict", "Scope", "Scope.of", "Scope.nothing"])
def test_scopes_reach_sql_only_through_hub_access(name: str) -> None:
    assert _calls(name) == []


def test_the_layout_check_finds_a_call_when_there_is_one() -> None:
    # The check itself must be able to fail: ``readable`` is called all over the resolvers,
    # ``Readable.within`` by the federation, ``Readable`` is named by qualified calls too.
    assert len(_calls("readable")) > 10
    assert _calls("within")
    assert _calls("ctx.access.readable") == []  # only a Name's attribute is qualified
    assert _calls("federation.routes_of")


FILTERS = [
    AuditEventFilter,
    AssetFilter,
    BuildingFilter,
    OrgUnitFilter,
    SchoolFilter,
    StudentFilter,
    TeacherFilter,
]


def _sample(annotation: Any, name: str) -> Any:
    text = str(annotation)
    if "list[" in text:
        return [f"{name}-1", f"{name}-2"]
    if "bool" in text:
        return True
    if "datetime" in text:
        return dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
    if "OrgLevel" in text:
        return OrgLevel.COUNTY
    return f"{name}-value"


@pytest.mark.parametrize("input_type", FILTERS, ids=lambda t: t.__name__)
def test_every_filter_input_field_reaches_the_typed_filter(input_type: type[Any]) -> None:
    definition = strawberry.types.base.get_object_definition(input_type, strict=True)
    given = {}
    for f in definition.fields:
        assert f.type_annotation is not None
        given[f.python_name] = _sample(f.type_annotation.annotation, f.python_name)
    typed = input_type(**given).build()
    assert type(typed).__name__ == input_type.__name__  # one name per concept
    held = {f.name: getattr(typed, f.name) for f in dataclasses.fields(typed)}
    assert set(held) == set(given), "the typed filter has exactly the input's fields"
    for name, value in given.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert held[name] == expected, name
    empty = input_type().build()
    assert all(getattr(empty, f.name) is None for f in dataclasses.fields(empty))
