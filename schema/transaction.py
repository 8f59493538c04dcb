"""Per operation: refuse unauthenticated callers before anything runs, then write the audit
and commit once the operation has finished (``Context.finish``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from hub.access.principal import ROOT_PATH
from hub.context import Context


class Transaction(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if not isinstance(context, Context):  # executed without the hub's context
            yield
            return
        context.audit.operation = self.execution_context.operation_name
        if context.principal is None:
            context.audit.event(
                "authenticate",
                "session",
                "denied",
                ROOT_PATH,  # no subject: visible to national auditors
                detail=context.authentication_error,
            )
            await context.finish()
            raise GraphQLError(
                f"Authentication required ({context.authentication_error}). Send"
                " 'Authorization: Bearer <token>'.",
                extensions={"code": "UNAUTHENTICATED"},
            )
        yield
        context.audit.operation = self.execution_context.operation_name
        await context.finish()
        result = self.execution_context.result
        if context.partial_errors and result is not None:
            # A source that failed: the rest of the data stands, with its error beside it.
            result.errors = [
                *(result.errors or []),
                *(GraphQLError(str(e), original_error=e) for e in context.partial_errors),
            ]
