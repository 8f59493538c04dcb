"""The operation as the planner reads it: fields collected per type (fragments, aliases,
``@skip``/``@include``), arguments coerced as graphql-core coerces them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.utilities import coerce_input_value, value_from_ast


class NotPlannable(Exception):
    """The selection needs the resolvers: the reason says what the planner lacks."""


@dataclass
class Selected:
    """One response key of a selection set and the field nodes that ask for it."""

    key: str
    name: str
    nodes: list[FieldNode]


@dataclass
class Operation:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]

    def collect(self, type_name: str, selection_set: SelectionSetNode | None) -> list[Selected]:
        """The response keys of ``selection_set`` for an object of ``type_name``, in order."""
        applies = self._applies(type_name)
        found: dict[str, Selected] = {}
        for node in self._fields(applies, selection_set, set()):
            key = node.alias.value if node.alias else node.name.value
            entry = found.get(key)
            if entry is None:
                found[key] = Selected(key, node.name.value, [node])
            else:
                entry.nodes.append(node)
        return list(found.values())

    def _applies(self, type_name: str) -> frozenset[str]:
        """The type conditions an object of ``type_name`` meets: itself and its interfaces."""
        found = self.schema.get_type(type_name)
        interfaces = getattr(found, "interfaces", ()) or ()
        return frozenset({type_name, *(i.name for i in interfaces)})

    def _fields(
        self, applies: frozenset[str], selection_set: SelectionSetNode | None, seen: set[str]
    ) -> Iterator[FieldNode]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or condition.name.value in applies:
                    yield from self._fields(applies, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen:
                    continue
                fragment = self.fragments[name]
                if fragment.type_condition.name.value in applies:
                    yield from self._fields(applies, fragment.selection_set, seen | {name})

    def _included(self, selection: Any) -> bool:
        for directive in selection.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise NotPlannable(f"directive @{name}")
            argument = directive.arguments[0].value
            if isinstance(argument, VariableNode):
                flag = bool(self.variables.get(argument.name.value))
            elif isinstance(argument, BooleanValueNode):
                flag = argument.value
            else:
                raise NotPlannable("a directive argument")
            if flag == (name == "skip"):
                return False
        return True

    def arguments(self, parent: str, selected: Selected) -> dict[str, Any]:
        """The field's arguments, coerced as graphql-core would (all nodes must agree)."""
        node = selected.nodes[0]
        if any(len(n.arguments or ()) for n in selected.nodes[1:]):
            raise NotPlannable("arguments repeated on a merged field")
        field_def = self.object_type(parent).fields[selected.name]
        values: dict[str, Any] = {}
        given = {a.name.value: a.value for a in node.arguments or ()}
        for name, argument in field_def.args.items():
            ast = given.get(name)
            if ast is None:
                values[name] = None
                continue
            if isinstance(ast, VariableNode):
                raw = self.variables.get(ast.name.value)
                values[name] = None if raw is None else coerce_input_value(raw, argument.type)
            else:
                if _has_variable(ast):
                    raise NotPlannable("a variable inside a literal argument")
                values[name] = value_from_ast(ast, argument.type, self.variables)
        return values

    def object_type(self, name: str) -> GraphQLObjectType:
        found = self.schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found


def _has_variable(ast: Any) -> bool:
    if isinstance(ast, VariableNode):
        return True
    if isinstance(ast, ListValueNode):
        return any(_has_variable(v) for v in ast.values)
    if isinstance(ast, ObjectValueNode):
        return any(_has_variable(f.value) for f in ast.fields)
    return False


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def filter_spec(value: Any) -> dict[str, Any]:
    """A filter input (coerced, GraphQL names) as the resolvers' spec dict (Python names)."""
    if value is None:
        return {}
    items = value.items() if isinstance(value, dict) else vars(value).items()
    return {_CAMEL.sub("_", k).lower(): v for k, v in items if v is not None}


def selection(selected: Selected) -> SelectionSetNode:
    """The merged selection set of a field asked for by several nodes."""
    selections = [
        s
        for node in selected.nodes
        for s in (node.selection_set.selections if node.selection_set else ())
    ]
    return SelectionSetNode(selections=tuple(selections))
