"""Serving an operation through the compiled read path (``resolvers/plan/``).

After parsing, validation and the cost check, and before graphql-core executes anything,
the operation is planned into one SQL statement. If it is planned, the statement's JSON is
the response data as it comes from the database (``orjson.Fragment``: no parse, no
per-field Python); if not (something the planner does not cover, or any error while
planning), graphql-core runs the resolvers as before, which also reproduce every error with
its path. Which path served the request is in the ``extensions`` of development answers
and in ``/metrics``.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from cachetools import LRUCache, TTLCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from hub.context import AuditUnavailable, Context
from hub.ids import encode_ids
from resolvers.plan import Json, NotPlannable, Operation, Planned, Planner
from resolvers.plan.operation import VALUE, Role
from schema.cost import provided_operation_name
from schema.limits import variable_strings

log = logging.getLogger("hub.planner")

_UNSET: Any = object()


@dataclass
class Template:
    """The plans of one document and operation for one shape of the viewer's scope (its
    grants' roles and paths), one per shape of the variables (see ``signature``)."""

    definition: OperationDefinitionNode
    operation_name: str | None
    root_fields: str  # sorted, comma-separated, for the audit row and the metrics
    # Variable -> the role it takes in every plan (None: its value is part of the shape).
    roles: dict[str, Role | None] = field(default_factory=dict)
    plans: LRUCache[tuple[Any, ...], Planned] = field(default_factory=lambda: LRUCache(maxsize=256))
    # The settings, code sets and routes whose ids are in the template's key, held so that
    # no other object can take one of those ids while the key exists.
    pinned: tuple[Any, ...] = ()

    def signature(self, given: Mapping[str, Any], coerced: Mapping[str, Any]) -> tuple[Any, ...]:
        """The variables' shape: values as sent, but for a bound variable its role's shape.
        Raises for a value no plan can take (the request is then planned afresh)."""
        parts: list[tuple[Any, ...]] = []
        for name in sorted(given.keys() | coerced.keys()):
            role = self.roles.get(name)
            if role is None:
                value = orjson.dumps(given.get(name), option=orjson.OPT_SORT_KEYS)
                parts.append((name, value))
            else:
                parts.append((name, role.name, role.shape(coerced.get(name))))
        return tuple(parts)

    def admit(self, planned: Planned) -> None:
        """Take the roles of a new plan. A variable the plan read as a value, or bound in
        another role than earlier plans did, has its value in the shape from now on (the
        plans keyed the other way are dropped)."""
        changed = False
        for name, uses in planned.uses.items():
            only = next(iter(uses)) if len(uses) == 1 else VALUE
            wanted = planned.roles.get(only) if only != VALUE else None
            current = self.roles.get(name, _UNSET)
            if current is _UNSET:
                self.roles[name] = wanted
                changed = changed or wanted is not None
            elif current is not None and (wanted is None or wanted.name != current.name):
                self.roles[name] = None
                changed = True
        if changed:
            self.plans.clear()


# Templates by request shape (see ``_template_key``): a repeated query costs no planning,
# and its statement, the same object each time, no SQLAlchemy compilation (its compiled
# form is in the engine's cache under the statement's memoised cache key).
TEMPLATES: TTLCache[tuple[Any, ...], Template] = TTLCache(maxsize=2000, ttl=300)


def _is_pg(context: Context) -> bool:
    return bool(context.dialect.name == "postgresql")


def _template_key(
    context: Context, query: str | None, operation: str | None
) -> tuple[Any, ...] | None:
    """What a plan depends on besides the variables: the document and its operation, the
    shape of the viewer's scope (its grants: roles at paths; Casbin turns them into scopes
    the same way for every holder), and the process's settings, code sets and sources."""
    principal = context.access.principal
    if query is None or principal is None:
        return None
    grants = tuple(sorted({(a.role, a.path) for a in principal.assignments}))
    state = context.state
    return (
        query,
        operation,
        grants,
        _is_pg(context),
        id(context.settings),
        id(context.codes),
        id(state.routes()) if state is not None else None,
    )


def _takes_a_default(definition: OperationDefinitionNode, given: Mapping[str, Any]) -> bool:
    """Whether a variable left out takes its default (the planner does not plan those)."""
    return any(
        v.default_value is not None and v.variable.name.value not in given
        for v in definition.variable_definitions or ()
    )


def _describe(definition: OperationDefinitionNode) -> tuple[str | None, str]:
    names = sorted(
        {s.name.value for s in definition.selection_set.selections if isinstance(s, FieldNode)}
    )
    return (definition.name.value if definition.name else None), ",".join(names)


async def execute_planned(
    planned: Planned, context: Context, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """Run a plan's statement: the planned root fields' JSON, its audit marks and facts
    recorded in the request's audit, in the query's order (unplanned keys left out)."""
    row: Any = ()
    if planned.driver is not None:
        found = await context.driver_row(planned.driver, planned.parameters(variables))
        row = tuple(found) if found is not None else ()
    elif planned.keys:
        statement = planned.compiled
        if statement is None:
            statement = planned.statement(_is_pg(context))
        row = await context.first(statement, planned.parameters(variables))
    data: dict[str, Any] = {k: orjson.Fragment(v) for k, v in planned.constants.items()}
    for root, value in zip(planned.keys, row, strict=False):
        if value is not None and root in planned.marked:
            value = strip_marks(value, context)
        data[root] = orjson.Fragment("null" if value is None else value)
    for extra, value in zip(planned.extras, row[len(planned.keys) :], strict=True):
        extra.use(context, value)
    return {k: data[k] for k in planned.order if k in data}


async def serve_cached(
    schema: Any,
    context: Context,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> ExecutionResult | None:
    """Answer a request whose plan is cached without the GraphQL executor: the document
    was parsed, validated, costed and planned by an earlier request of the same shape, so
    what is left is the per-request part: coerce and check the variables, find the plan
    for their shape, run its statement, audit and commit. None: anything else (a new
    shape, invalid variables, no principal) goes the whole way, which reports errors."""
    if context.settings.planner != "on":
        return None
    key = _template_key(context, query, operation_name)
    template = TEMPLATES.get(key) if key is not None else None
    if template is None:
        return None
    given = variables or {}
    if given and variable_strings(given, "$"):
        return None
    if _takes_a_default(template.definition, given):
        return None
    checked = get_variable_values(
        schema._schema, template.definition.variable_definitions or (), given
    )
    if isinstance(checked, list):
        return None
    coerced = checked.coerced
    try:
        planned = template.plans.get(template.signature(given, coerced))
    except Exception:  # a value no plan takes: the whole way reports it
        return None
    if planned is None:
        return None
    context.audit.operation = template.operation_name
    context.operation_type = context.audit.operation_type = "query"
    context.audit.root_fields = template.root_fields
    context.reading()  # its audit rows will follow: the writer's batch waits for them
    try:
        try:
            data = await execute_planned(planned, context, coerced)
        except Exception:  # a planner defect: logged, and the whole way answers instead
            log.exception("the compiled statement failed; answering through the resolvers")
            context.audit.forget_reads()
            return None
        context.served_by = "planner"
        context.planned_from_cache = True
        extensions = None if context.settings.is_production else read_path(context)
        try:
            await context.finish_read()
        except AuditUnavailable as error:  # the data is withheld, as on the whole way
            failure = GraphQLError(error.message, original_error=error)
            return ExecutionResult(data=None, errors=[failure], extensions=extensions)
        return ExecutionResult(data=data, errors=None, extensions=extensions)
    finally:
        context.done_reading()


def read_path(context: Context) -> dict[str, Any]:
    """Development answers say which path served them (and why not the planner)."""
    if context.served_by is None:
        return {}
    served: dict[str, Any] = {"servedBy": context.served_by}
    if context.fallback_reason:
        served["fallback"] = context.fallback_reason
    if context.planned_from_cache:
        served["cached"] = True
    return {"readPath": served}


class CompiledReads(SchemaExtension):
    def __init__(self, *, execution_context: Any = None) -> None:
        super().__init__(execution_context=execution_context)
        self._planned: dict[str, Any] = {}
        self._order: list[str] = []
        self._document: DocumentNode | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        if (
            isinstance(context, Context)
            and context.settings.planner == "on"
            and execution.result is None
            and not execution.pre_execution_errors
            and execution.graphql_document is not None
        ):
            await self._try(context)
        yield
        if self._document is not None:  # planned and resolved parts: one answer, in order
            execution.graphql_document = self._document
            result = execution.result
            if isinstance(result, GraphQLExecutionResult) and result.data is not None:
                resolved = result.data
                result.data = {
                    key: self._planned[key] if key in self._planned else resolved[key]
                    for key in self._order
                    if key in self._planned or key in resolved
                }
        if isinstance(context, Context) and context.served_by is None:
            context.served_by = "resolvers"

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        if not isinstance(context, Context) or context.settings.is_production:
            return {}
        return read_path(context)

    async def _try(self, context: Context) -> None:
        execution = self.execution_context
        document = execution.graphql_document
        assert document is not None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        name = execution.operation_name
        chosen = [o for o in operations if name is None or (o.name and o.name.value == name)]
        if len(chosen) != 1:
            return  # graphql-core reports it
        definition = chosen[0]
        given = dict(execution.variables or {})
        checked = get_variable_values(
            self._schema._schema, definition.variable_definitions or (), given
        )
        if isinstance(checked, list):
            return  # invalid variables: graphql-core reports them as a request error
        coerced = checked.coerced
        if _takes_a_default(definition, given):
            context.fallback_reason = "a variable default"
            return
        key = _template_key(context, execution.query, provided_operation_name(execution))
        template = TEMPLATES.get(key) if key is not None else None
        if template is None:
            template = Template(definition, *_describe(definition))
            state = context.state
            routes = state.routes() if state is not None else None
            template.pinned = (context.settings, context.codes, routes)
        planned: Planned | None = None
        with contextlib.suppress(Exception):  # a value no plan takes: planned (refused) below
            planned = template.plans.get(template.signature(given, coerced))
        if planned is not None:
            context.planned_from_cache = True
        else:
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            schema = self._schema
            operation = Operation(schema._schema, fragments, given)
            json = Json("postgresql" if _is_pg(context) else "sqlite")
            planner = Planner(context, operation, json, self._fields_of)
            try:
                planned = await planner.plan(definition)
            except NotPlannable as reason:
                context.fallback_reason = str(reason)
                return
            except Exception as error:  # bad input is reported by the resolvers, with its path
                log.debug("planning stopped", exc_info=True)
                context.fallback_reason = f"error while planning: {type(error).__name__}"
                return
            served = planned.keys or planned.constants
            if key is not None and served and not planned.unplanned:
                if planned.keys:
                    planned.compiled = planned.statement(json.pg)
                    if json.pg:
                        planned.driver = planned.for_driver(planned.compiled, context.dialect)
                template.admit(planned)
                try:
                    template.plans[template.signature(given, coerced)] = planned
                    TEMPLATES[key] = template
                except Exception:  # a shape that cannot be told: not cached
                    pass
        if planned.unplanned:
            context.fallback_reason = "; ".join(
                f"{s.key}: {reason}" for s, reason in planned.unplanned
            )
        if not planned.keys and not planned.constants:
            return
        try:
            data = await execute_planned(planned, context, coerced)
        except Exception:  # a planner defect: logged, and the resolvers answer instead
            log.exception("the compiled statement failed; answering through the resolvers")
            context.audit.forget_reads()
            context.fallback_reason = "the compiled statement failed"
            return
        self._planned = data
        self._order = planned.order
        if planned.unplanned:
            # The resolvers run the rest of the operation: only the root fields not planned.
            self._document = document
            rest = OperationDefinitionNode(
                operation=definition.operation,
                name=definition.name,
                variable_definitions=definition.variable_definitions,
                directives=definition.directives,
                selection_set=SelectionSetNode(
                    selections=tuple(n for s, _ in planned.unplanned for n in s.nodes)
                ),
            )
            others = tuple(d for d in document.definitions if d is not definition)
            execution.graphql_document = DocumentNode(definitions=(rest, *others))
            context.served_by = "planner+resolvers"
            return
        execution.result = GraphQLExecutionResult(data=data, errors=None)
        context.served_by = "planner"

    @property
    def _schema(self) -> Any:
        return self.execution_context.schema

    def _fields_of(self, type_name: str) -> dict[str, Any]:
        definition = self._schema.get_type_by_name(type_name)
        if definition is None:
            raise NotPlannable(f"type {type_name}")
        converter = self._schema.config.name_converter
        return {converter.get_graphql_name(f): f for f in definition.fields}


# An audit mark as the database writes it: the last pair of an object, key U+0001 (escaped
# in JSON text), value an array: the primary key, the path (digits and slashes), then the
# resource, the type and a field name or null per sensitive field (plain strings, none
# holding "]"). Its key's quote follows a comma (and spaces), never a backslash, so it
# cannot match inside a string value (a quote there is escaped). A mark of any other shape
# is left in the text, and the answer is then not sent (``_unmarked``).
_LEFT = re.compile(r'[,{]\s*"\\u0001"\s*:')
_BODY = r'(\d+),\s*"([^"\\\]]*)",\s*([^\]]*)\]'  # primary key, path, the rest ("head")
# As PostgreSQL's json_build_object and SQLite's json_object write the key: a literal start,
# which the regular expression engine finds twice as fast as a comma followed by spaces.
_MARK = re.compile(r'(?:, "\\u0001" : \[|,"\\u0001":\[)' + _BODY)
_MARK_SPACED = re.compile(r',\s*"\\u0001"\s*:\s*\[\s*' + _BODY)  # any other spacing


def strip_marks(text: str, context: Context) -> str:
    """Record the audit marks of a planned answer (each object whose sensitive fields went
    out unmasked) as the resolvers record them, and cut them out of its JSON text."""
    parts = _MARK.split(text)  # text, key, path, head, text, key, path, head, …, text
    rest = "".join(parts[::4]) if len(parts) > 1 else text
    if '"\\u0001"' in rest:  # another spacing, or a mark of another shape (refused)
        parts = _MARK_SPACED.split(text)
        rest = _unmarked("".join(parts[::4]))
    if len(parts) == 1:
        return rest
    # The objects of a list share their resource, type and, mostly, which fields they
    # revealed (the mark's head, as text): recorded once per such group, not per object.
    groups: dict[str, dict[str, str]] = {}
    for key, path, head in zip(parts[1::4], parts[2::4], parts[3::4], strict=True):
        keys = groups.get(head)
        if keys is None:
            keys = groups[head] = {}
        keys[key] = path
    audit = context.audit
    for head, keys in groups.items():
        try:
            resource, type_name, *names = orjson.loads("[" + head + "]")
        except (orjson.JSONDecodeError, ValueError):
            raise RuntimeError("an audit mark of an unexpected shape in a planned answer") from None
        revealed = [n for n in names if n is not None]
        if revealed:  # marks of sensitive fields that were all empty reveal nothing
            audit.unmasked_subjects(resource, revealed, encode_ids(type_name, keys))
    return rest


def _unmarked(text: str) -> str:
    """``text``, once no mark is left in it. Every mark has the shape above; a mark key
    left behind is a planner defect, and the answer is never sent."""
    if '"\\u0001"' in text and _LEFT.search(text):
        raise RuntimeError("an audit mark of an unexpected shape in a planned answer")
    return text
