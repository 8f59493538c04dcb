"""The GraphQL HTTP endpoint: orjson encoding and error codes on every response."""

from __future__ import annotations

import orjson
from fastapi import Request
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from hub.context import Context
from schema.errors import classify_all


class HubGraphQLRouter(GraphQLRouter[Context, None]):
    hide_suggestions = False

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        result.errors = classify_all(result.errors, hide_suggestions=self.hide_suggestions)
        return process_result(result)
