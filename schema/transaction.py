"""Per operation: refuse unauthenticated callers before anything runs, then write the audit
and commit once the operation has finished (``Context.finish``).

A request that ended with errors commits nothing but its audit rows; a request whose audit
cannot be written returns no data, and its refusal is recorded instead."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from graphql import GraphQLError, OperationDefinitionNode, parse
from strawberry.extensions import SchemaExtension

from hub.access.audit import refusal_kind
from hub.access.principal import ROOT_PATH
from hub.context import Context
from schema.cost import provided_operation_name


class Transaction(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if not isinstance(context, Context):  # executed without the hub's context
            yield
            return
        context.audit.operation = self.execution_context.operation_name
        if context.principal is None:
            self._describe(context, parse_first=True)
            self._refuse_anonymous(context)
            await context.finish(failed=True)
            raise GraphQLError(
                f"Authentication required ({context.authentication_error}). Send"
                " 'Authorization: Bearer <token>'.",
                extensions={"code": "UNAUTHENTICATED"},
            )
        yield
        self._describe(context, parse_first=False)
        result = self.execution_context.result
        await context.finish(failed=result is None or bool(result.errors))
        if context.partial_errors and result is not None:
            # A source that failed: the rest of the data stands, with its error beside it.
            result.errors = [
                *(result.errors or []),
                *(GraphQLError(str(e), original_error=e) for e in context.partial_errors),
            ]

    async def on_execute(self) -> AsyncIterator[None]:
        """One mutation per operation: each is one transaction, and a refused one rolls back
        what the request wrote; with two in one operation, the first would report a write
        that the second's failure undid."""
        document = self.execution_context.graphql_document
        if document is not None:
            wanted = provided_operation_name(self.execution_context)
            for operation in document.definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                if wanted is not None and (
                    operation.name is None or operation.name.value != wanted
                ):
                    continue
                roots = operation.selection_set.selections
                if operation.operation.value == "mutation" and len(roots) > 1:
                    raise GraphQLError(
                        f"One mutation per operation: this one has {len(roots)} root"
                        " fields. Send each mutation as its own request (each is one"
                        " transaction).",
                        extensions={"code": "BAD_INPUT"},
                    )
        yield

    def _refuse_anonymous(self, context: Context) -> None:
        """One row per kind of refusal and window (see ``RefusalFolding``)."""
        state = context.state
        admitted, folded = (True, 0)
        if state is not None:
            admitted, folded = state.refusals.admit(
                refusal_kind(context.authentication_error), time.monotonic()
            )
        if admitted:
            more = f" ({folded} more refusals of this kind before this one)" if folded else ""
            context.audit.event(
                "authenticate",
                "session",
                "denied",
                ROOT_PATH,  # no subject: visible to national auditors
                detail=f"{context.authentication_error}{more}",
            )

    def _describe(self, context: Context, *, parse_first: bool) -> None:
        """The operation's type and root fields, for the audit row and the metrics."""
        execution = self.execution_context
        document = execution.graphql_document
        if document is None and parse_first and execution.query:
            try:
                document = parse(execution.query, max_tokens=context.settings.max_tokens)
            except GraphQLError:
                document = None
        if document is None:
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        wanted = provided_operation_name(execution)
        chosen = [o for o in operations if wanted is None or (o.name and o.name.value == wanted)]
        if len(chosen) != 1:
            return
        operation = chosen[0]
        context.audit.operation = operation.name.value if operation.name else None
        names = [
            getattr(s, "name").value  # noqa: B009  # fields (fragments at the root are rare)
            for s in operation.selection_set.selections
            if hasattr(s, "name") and hasattr(s, "arguments")
        ]
        context.operation_type = operation.operation.value
        context.audit.operation_type = operation.operation.value
        context.audit.root_fields = ",".join(sorted(set(names)))
