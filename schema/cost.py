"""Query cost (查询代价): how many objects a query can return, estimated before any SQL runs.

The estimate is the number of list items the response can hold: a connection contributes
``first`` (or the default page size) items per parent, a plain list its expected size per
parent, and the multiplicity carries down through nested objects, so
``students(first: 100) { … school { students(first: 100) { … school { students(first: 100) …``
is 100 + 100·100 + 100·100·100. Aliases and fragments count as written (fragments are
expanded; the branches of an abstract type are summed, an upper bound). Introspection is
bounded by the schema and costs nothing. A query above ``HUB_MAX_QUERY_COST`` is refused
with QUERY_TOO_COMPLEX naming the estimate and the budget.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
)
from strawberry.extensions import SchemaExtension

# Expected sizes of plain (unpaginated) lists, per parent: a pupil has a few family members,
# a school some dozens of classes. Anything else: DEFAULT_LIST_SIZE.
LIST_SIZES = {"guardians": 4, "statusChanges": 10, "classes": 60}
DEFAULT_LIST_SIZE = 10


class CostEstimate:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        page_size_default: int,
        page_size_max: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default = page_size_default
        self.cap = page_size_max

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        return self.selection(operation.selection_set, root, 1)

    def selection(
        self, selection_set: SelectionSetNode | None, parent: Any, multiplicity: int
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for field, owner in self._fields(selection_set, parent):
            name = field.name.value
            if name.startswith("__"):
                continue
            definition = owner.fields.get(name) if isinstance(owner, GraphQLObjectType) else None
            if definition is None:
                continue
            named = get_named_type(definition.type)
            if self._is_connection(named):
                items = multiplicity * self._first(field)
                total += items
                for sub, _owner in self._fields(field.selection_set, named):
                    if sub.name.value == "edges":
                        edge = get_named_type(named.fields["edges"].type)
                        total += self.selection(sub.selection_set, edge, items)
            elif isinstance(get_nullable_type(definition.type), GraphQLList):
                items = multiplicity * LIST_SIZES.get(name, DEFAULT_LIST_SIZE)
                total += items + self.selection(field.selection_set, named, items)
            else:
                total += self.selection(field.selection_set, named, multiplicity)
        return total

    def _fields(self, selection_set: SelectionSetNode | None, parent: Any) -> Iterator[Any]:
        """(field, the object type it is selected on), fragments expanded; on an abstract
        type every possible object type (summed: an upper bound)."""
        if selection_set is None:
            return
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                if is_abstract_type(parent) and not node.name.value.startswith("__"):
                    for possible in self.schema.get_possible_types(parent):
                        if node.name.value in possible.fields:
                            yield node, possible
                            break
                else:
                    yield node, parent
            elif isinstance(node, InlineFragmentNode):
                target = (
                    self.schema.get_type(node.type_condition.name.value)
                    if node.type_condition
                    else parent
                )
                yield from self._fields(node.selection_set, target)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    yield from self._fields(fragment.selection_set, target)

    @staticmethod
    def _is_connection(named: Any) -> bool:
        return (
            isinstance(named, GraphQLObjectType)
            and named.name.endswith("Connection")
            and "edges" in named.fields
        )

    def _first(self, field: FieldNode) -> int:
        for argument in field.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(0, min(int(value.value), self.cap))
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    return max(0, min(given, self.cap))
        return self.default


class QueryCost(SchemaExtension):
    """Refuse a query whose estimated cost is above the budget, after validation (so the
    document is known to be well formed) and before execution."""

    def __init__(self, budget: int, page_size_default: int, page_size_max: int) -> None:
        self.budget = budget
        self.page_size_default = page_size_default
        self.page_size_max = page_size_max

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        document = context.graphql_document
        if document is None or context.pre_execution_errors:
            return
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        wanted = provided_operation_name(context)
        chosen = [o for o in operations if wanted is None or (o.name and o.name.value == wanted)]
        if len(chosen) != 1:
            # graphql-core would quietly run the first of several unnamed choices.
            raise GraphQLError(
                f"The document has {len(operations)} operations: name the one to run in"
                " 'operationName'."
                if wanted is None
                else f"The document has no operation named {wanted!r} ('operationName').",
                extensions={"code": "BAD_INPUT"},
            )
        estimate = CostEstimate(
            context.schema._schema,
            fragments,
            _variables_with_defaults(chosen[0], context.variables or {}),
            self.page_size_default,
            self.page_size_max,
        ).operation(chosen[0])
        if estimate > self.budget:
            raise GraphQLError(
                f"The query could return about {estimate:,} objects; the budget is"
                f" {self.budget:,} (HUB_MAX_QUERY_COST). Ask for smaller pages (first) or"
                " fewer nested lists, and page through the rest.",
                extensions={"code": "QUERY_TOO_COMPLEX", "cost": estimate, "budget": self.budget},
            )


def provided_operation_name(context: Any) -> str | None:
    """The ``operationName`` the client sent. Strawberry's ``operation_name`` falls back to
    the document's first operation, which would run the first of several unnamed ones."""
    name = getattr(context, "_provided_operation_name", None)
    return name if isinstance(name, str) else None


def _variables_with_defaults(
    operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> dict[str, Any]:
    values = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        default = definition.default_value
        if name not in values and isinstance(default, IntValueNode):
            values[name] = int(default.value)
    return values
