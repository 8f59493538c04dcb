"""The operation as the planner reads it: fields collected per type (fragments, aliases,
``@skip``/``@include``), arguments coerced as graphql-core coerces them, and how the plan
uses each variable.

A plan is shared by every request of the same document whose variables have the same
*shape* for it. A variable the planner reads as a value (a filter, ``first``, a directive)
makes its value part of that shape. A variable the planner only *binds* (a lookup key, a
node ID, a cursor) takes a ``Role``: the plan depends on the role's ``shape`` of the value
(for a student number, whether it embeds a citizen ID; for a cursor, its kind and list),
and the value itself reaches the statement as bind parameters (``Binder``) filled anew for
every request. Reading an argument through ``Args`` records which of the two it was.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    SelectionSetNode,
    VariableNode,
    get_nullable_type,
)
from graphql.utilities import coerce_input_value, value_from_ast
from sqlalchemy import BindParameter, bindparam
from sqlalchemy.types import TypeEngine
from strawberry.schema.schema_converter import GraphQLCoreConverter

# Where strawberry keeps a GraphQL type's or input field's own definition.
DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF

# How a variable read as a value is used (its value is part of the plan's shape).
VALUE = "="


class NotPlannable(Exception):
    """The selection needs the resolvers: the reason says what the planner lacks."""


@dataclass
class Selected:
    """One response key of a selection set and the field nodes that ask for it."""

    key: str
    name: str
    nodes: list[FieldNode]


@dataclass(frozen=True, slots=True)
class Role:
    """A variable the plan binds rather than reads. ``shape`` is all the plan depends on in
    its value (it raises ``BadInput`` for a value the plan would refuse); the value itself
    fills bind parameters. Planner code that takes a role promises not to branch on the
    value beyond its shape."""

    name: str
    shape: Callable[[Any], Hashable]


@dataclass(frozen=True, slots=True)
class Binder:
    """A bind parameter of the statement filled from a variable for each request."""

    key: str
    variable: str
    extract: Callable[[Any], Any]


@dataclass
class Operation:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    # Variable name -> how the plan used it: VALUE, or the names of the roles it took.
    uses: dict[str, set[str]] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    binders: list[Binder] = field(default_factory=list)

    def use(self, variable: str, role: Role | None = None) -> None:
        self.uses.setdefault(variable, set()).add(VALUE if role is None else role.name)
        if role is not None:
            self.roles[role.name] = role

    def param(
        self, variable: str | None, value: Any, extract: Callable[[Any], Any], type_: Any
    ) -> BindParameter[Any]:
        """A bind parameter holding ``extract(value)``: for a variable, one the request fills
        (``Binder``); for a literal of the document, a plain one."""
        kind: TypeEngine[Any] = type_
        if variable is None:
            return bindparam(None, extract(value), type_=kind, unique=True)
        key = f"pv{len(self.binders)}"
        self.binders.append(Binder(key, variable, extract))
        return bindparam(key, extract(value), type_=kind)

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
                self.use(argument.name.value)
                flag = bool(self.variables.get(argument.name.value))
            elif isinstance(argument, BooleanValueNode):
                flag = argument.value
            else:
                raise NotPlannable("a directive argument")
            if flag == (name == "skip"):
                return False
        return True

    def arguments(self, parent: str, selected: Selected) -> Args:
        """The field's arguments, coerced as graphql-core would (all nodes must agree)."""
        node = selected.nodes[0]
        if any(len(n.arguments or ()) for n in selected.nodes[1:]):
            raise NotPlannable("arguments repeated on a merged field")
        field_def = self.object_type(parent).fields[selected.name]
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        given = {a.name.value: a.value for a in node.arguments or ()}
        for name, argument in field_def.args.items():
            ast = given.get(name)
            if ast is None:
                values[name] = None
                continue
            if isinstance(ast, VariableNode):
                sources[name] = ast.name.value
                raw = self.variables.get(ast.name.value)
                values[name] = None if raw is None else coerce_input_value(raw, argument.type)
            else:
                if _has_variable(ast):
                    raise NotPlannable("a variable inside a literal argument")
                values[name] = value_from_ast(ast, argument.type, self.variables)
        types = {name: argument.type for name, argument in field_def.args.items()}
        return Args(self, values, sources, types)

    def object_type(self, name: str) -> GraphQLObjectType:
        found = self.schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found


@dataclass
class Args:
    """A field's arguments. Reading one (``args[name]``, ``args.get``) makes the value of the
    variable behind it part of the plan's shape; ``bound`` gives it a role instead, and
    ``param`` turns it into bind parameters."""

    operation: Operation
    values: dict[str, Any]
    sources: dict[str, str]  # argument name -> the variable it came from
    types: dict[str, GraphQLInputType]

    def __getitem__(self, name: str) -> Any:
        variable = self.sources.get(name)
        if variable is not None:
            self.operation.use(variable)
        return self.values[name]

    def get(self, name: str) -> Any:
        return self[name] if name in self.values else None

    def bound(self, name: str, role: Role) -> Any:
        """The argument's value for planning within ``role`` (its shape, and its params)."""
        variable = self.sources.get(name)
        if variable is not None:
            self.operation.use(variable, role)
        return self.values[name]

    def built(self, name: str) -> Any:
        """An input object argument as the typed value its strawberry input builds
        (``build()``), the conversion the resolver path makes too; absent, the empty one."""
        value = self[name]
        type_ = get_nullable_type(self.types[name])
        assert isinstance(type_, GraphQLInputObjectType)
        given: dict[str, Any] = {}
        for graphql_name, input_field in type_.fields.items():
            if value is not None and graphql_name in value:
                given[input_field.extensions[DEFINITION].python_name] = value[graphql_name]
        return type_.extensions[DEFINITION].origin(**given).build()

    def param(self, name: str, extract: Callable[[Any], Any], type_: Any) -> BindParameter[Any]:
        """A bind parameter of ``extract`` applied to the (bound) argument."""
        return self.operation.param(self.sources.get(name), self.values[name], extract, type_)


def _has_variable(ast: Any) -> bool:
    if isinstance(ast, VariableNode):
        return True
    if isinstance(ast, ListValueNode):
        return any(_has_variable(v) for v in ast.values)
    if isinstance(ast, ObjectValueNode):
        return any(_has_variable(f.value) for f in ast.fields)
    return False


def selection(selected: Selected) -> SelectionSetNode:
    """The merged selection set of a field asked for by several nodes."""
    selections = [
        s
        for node in selected.nodes
        for s in (node.selection_set.selections if node.selection_set else ())
    ]
    return SelectionSetNode(selections=tuple(selections))
