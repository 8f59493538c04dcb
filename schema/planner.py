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

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from cachetools import TTLCache
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension

from hub.context import Context
from hub.ids import encode_id
from resolvers.plan import AUDIT_MARK, Json, NotPlannable, Operation, Planned, Planner

log = logging.getLogger("hub.planner")

# Plans by request shape (see ``_plan_key``): a repeated query costs no planning, and its
# statement, the same object each time, no SQLAlchemy compilation (its compiled form is in
# the engine's cache under the statement's memoised cache key).
PLANS: TTLCache[tuple[Any, ...], Planned] = TTLCache(maxsize=2000, ttl=300)


def _is_pg(context: Context) -> bool:
    return bool(context.session.get_bind().dialect.name == "postgresql")


def _plan_key(
    context: Context, query: str | None, operation: str | None, variables: dict[str, Any]
) -> tuple[Any, ...] | None:
    """What a plan depends on: the document and its operation, the variables' values, the
    shape of the viewer's scope (its grants: roles at paths; Casbin turns them into scopes
    the same way for every holder), and the process's settings, code sets and sources."""
    if query is None:
        return None
    principal = context.access.principal
    grants = (
        None
        if principal is None
        else tuple(sorted({(a.role, a.path) for a in principal.assignments}))
    )
    try:
        values = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    state = context.state
    return (
        query,
        operation,
        values,
        grants,
        _is_pg(context),
        id(context.settings),
        id(context.codes),
        id(state.routes()) if state is not None else None,
    )


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
        """Development answers say which path served them (and why not the planner)."""
        context = self.execution_context.context
        if not isinstance(context, Context) or context.settings.is_production:
            return {}
        if context.served_by is None:
            return {}
        served: dict[str, Any] = {"servedBy": context.served_by}
        if context.fallback_reason:
            served["fallback"] = context.fallback_reason
        if context.planned_from_cache:
            served["cached"] = True
        return {"readPath": served}

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
        if any(
            v.default_value is not None and v.variable.name.value not in given
            for v in definition.variable_definitions or ()
        ):
            context.fallback_reason = "a variable default"
            return
        key = _plan_key(context, execution.query, name, given)
        planned = PLANS.get(key) if key is not None else None
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
                PLANS[key] = planned
        if planned.unplanned:
            context.fallback_reason = "; ".join(
                f"{s.key}: {reason}" for s, reason in planned.unplanned
            )
        if not planned.keys and not planned.constants:
            return
        row: Any = ()
        if planned.keys:
            try:
                statement = planned.compiled
                if statement is None:
                    statement = planned.statement(_is_pg(context))
                row = await context.first(statement)
            except Exception:  # a planner defect: logged, and the resolvers answer instead
                log.exception("the compiled statement failed; answering through the resolvers")
                context.fallback_reason = "the compiled statement failed"
                return
        data: dict[str, Any] = {k: orjson.Fragment(v) for k, v in planned.constants.items()}
        for root, value in zip(planned.keys, row, strict=False):
            if value is not None and root in planned.marked:
                value = orjson.dumps(strip_marks(orjson.loads(value), context))
            data[root] = orjson.Fragment("null" if value is None else value)
        for extra, value in zip(planned.extras, row[len(planned.keys) :], strict=True):
            extra.use(context, value)
        data = {k: data[k] for k in planned.order if k in data}  # the query's order
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


def strip_marks(value: Any, context: Context) -> Any:
    """Record the audit marks of a planned answer (each object whose sensitive fields went
    out unmasked) as the resolvers record them, and remove them from the answer."""
    if isinstance(value, dict):
        mark = value.pop(AUDIT_MARK, None)
        if mark is not None:
            resource, type_name, pk, path, *names = mark
            subject = encode_id(type_name, pk)
            for name in names:
                if name is not None:
                    context.audit.unmasked(resource, name, subject, path)
        for child in value.values():
            strip_marks(child, context)
    elif isinstance(value, list):
        for child in value:
            strip_marks(child, context)
    return value
