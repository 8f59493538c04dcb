"""Serving an operation through the compiled read path (``resolvers/plan.py``).

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
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import FragmentDefinitionNode, OperationDefinitionNode
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension

from hub.context import Context
from resolvers.plan import Json, NotPlannable, Operation, Planner

log = logging.getLogger("hub.planner")


class CompiledReads(SchemaExtension):
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
        if isinstance(context, Context) and context.served_by is None:
            context.served_by = "resolvers"

    def get_results(self) -> dict[str, Any]:
        """Development answers say which path served them (and why not the planner)."""
        context = self.execution_context.context
        if not isinstance(context, Context) or context.settings.is_production:
            return {}
        if context.served_by is None:
            return {}
        served = {"servedBy": context.served_by}
        if context.fallback_reason:
            served["fallback"] = context.fallback_reason
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
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        schema = self._schema
        operation = Operation(schema._schema, fragments, dict(execution.variables or {}))
        planner = Planner(
            context, operation, Json(context.session.get_bind().dialect.name), self._fields_of
        )
        try:
            keys, statement = await planner.plan(chosen[0])
        except NotPlannable as reason:
            context.fallback_reason = str(reason)
            return
        except Exception as error:
            context.fallback_reason = f"error while planning: {type(error).__name__}"
            return
        try:
            row = await context.first(statement)
        except Exception:  # a planner defect: logged, and the resolvers answer instead
            log.exception("the compiled statement failed; answering through the resolvers")
            context.fallback_reason = "the compiled statement failed"
            return
        data: dict[str, Any] = {
            key: orjson.Fragment("null" if value is None else value)
            for key, value in zip(keys, row, strict=True)
        }
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
