"""GraphQL over HTTP (POST /graphql), following the GraphQL-over-HTTP specification.

Media types: a client that accepts ``application/graphql-response+json`` gets it, with the
status codes the specification gives for it (400 for a request that never reached execution:
unparsable JSON, a document that does not parse or validate, variables that do not coerce, a
query over its cost; 401 without valid credentials; 2xx whenever ``data`` is present); a
client that asks for ``application/json`` (or ``*/*``, or sends no Accept header) gets
``application/json`` with 200 for every well-formed request, as before. Batches, GET
operations and other content types are refused before anything runs.

Before execution: the body is at most the size limit (``hub.app.BodyLimit``), the JSON is
parsed by orjson (nesting past 1,024 levels is a parse error, never a recursion in Python),
and the variables are bounded in count and depth (BAD_INPUT).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from hub.context import Context
from hub.errors import BadInput
from hub.settings import Settings
from schema.errors import classify_all
from schema.planner import serve_cached

log = logging.getLogger("hub.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
ALLOWED = frozenset({OperationType.QUERY, OperationType.MUTATION})

OpenContext = Callable[[Request], AbstractAsyncContextManager[Context]]


class HttpRefusal(Exception):
    """A request refused before execution, with its HTTP status."""

    def __init__(self, status: int, message: str, code: str = "BAD_INPUT") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None if nothing acceptable is offered."""
    if not accept or not accept.strip():
        return JSON
    offered = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            offered.append(media.lower())
    if GRAPHQL_RESPONSE in offered:
        return GRAPHQL_RESPONSE
    if JSON in offered or "*/*" in offered or "application/*" in offered:
        return JSON
    return None


def parse_body(body: bytes, content_type: str | None, settings: Settings) -> GraphQLRequest:
    media = (content_type or "").split(";")[0].strip().lower()
    if not media:
        raise HttpRefusal(415, "Send the request with 'Content-Type: application/json'.")
    if media != JSON:
        raise HttpRefusal(415, f"Unsupported content type {media!r}: send application/json.")
    if not body.strip():
        raise HttpRefusal(400, 'The request body is empty: send {"query": "…"}.')
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise HttpRefusal(400, f"The request body is not valid JSON: {error}.") from None
    if isinstance(data, list):
        raise HttpRefusal(400, "Batched requests are not supported: send one operation.")
    if not isinstance(data, dict):
        raise HttpRefusal(400, "The request body must be a JSON object.")
    query = data.get("query")
    if not isinstance(query, str):
        raise HttpRefusal(400, "'query' must be a string holding the GraphQL document.")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise HttpRefusal(400, "'variables' must be a JSON object or null.")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise HttpRefusal(400, "'operationName' must be a string or null.")
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise HttpRefusal(400, "'extensions' must be a JSON object or null.")
    if variables:
        check_variables(variables, settings)
    return GraphQLRequest(query, variables, operation_name)


MULTIPART = "multipart/form-data"


async def parse_multipart(request: Request, settings: Settings) -> GraphQLRequest:
    """A GraphQL multipart request (the file-upload convention of graphql-multipart-request-
    spec): ``operations`` (the JSON request), ``map`` (file field -> variable paths) and one
    file. Only requests that carry a bearer token are taken: a browser form elsewhere cannot
    send one, so a cross-site form post is never executed as the viewer."""
    if not request.headers.get("authorization"):
        raise HttpRefusal(
            401, "File uploads need an 'Authorization: Bearer …' header.", "UNAUTHENTICATED"
        )
    try:
        form = await request.form(max_files=1, max_fields=2)
    except Exception as error:  # malformed multipart bodies: the parser's own errors
        raise HttpRefusal(400, f"The multipart body cannot be read: {error}.") from None
    try:
        return await _uploaded_request(form, settings)
    finally:
        await form.close()


@dataclass(frozen=True)
class Uploaded:
    """A file sent with a GraphQL multipart request, read whole (the body is bounded)."""

    filename: str | None
    content: bytes

    async def read(self, size: int = -1) -> bytes:
        return self.content if size < 0 else self.content[:size]


async def _uploaded_request(form: Any, settings: Settings) -> GraphQLRequest:
    operations, mapping = form.get("operations"), form.get("map")
    if not isinstance(operations, str) or not isinstance(mapping, str):
        raise HttpRefusal(400, "A multipart request needs the fields 'operations' and 'map'.")
    request_ = parse_body(operations.encode(), JSON, settings)
    try:
        files = orjson.loads(mapping)
    except orjson.JSONDecodeError as error:
        raise HttpRefusal(400, f"'map' is not valid JSON: {error}.") from None
    if not isinstance(files, dict):
        raise HttpRefusal(400, "'map' must be a JSON object of file fields to variable paths.")
    variables = dict(request_.variables or {})
    for field_name, paths in files.items():
        upload = form.get(field_name)
        if not isinstance(upload, UploadFile):
            raise HttpRefusal(400, f"'map' names the file field {field_name!r}, which is absent.")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise HttpRefusal(400, f"'map.{field_name}' must be a list of variable paths.")
        for path in paths:
            parts = path.split(".")
            if len(parts) != 2 or parts[0] != "variables" or not parts[1]:
                raise HttpRefusal(
                    400, f"Upload path {path!r} must be 'variables.<name>' (one file per variable)."
                )
            variables[parts[1]] = Uploaded(upload.filename, await upload.read())
    return GraphQLRequest(request_.query, variables, request_.operation_name)


def check_variables(variables: dict[str, Any], settings: Settings) -> None:
    """Bound the number of values and their nesting (no recursion in Python on the way)."""
    count = 0
    stack: list[tuple[Any, int, str]] = [(v, 1, f"${k}") for k, v in variables.items()]
    while stack:
        value, depth, where = stack.pop()
        count += 1
        if count > settings.max_variables:
            raise HttpRefusal(
                400, f"Too many variable values (more than {settings.max_variables})."
            )
        if depth > settings.max_variable_depth:
            raise HttpRefusal(
                400,
                f"Variable {where.split('.')[0].split('[')[0]} is nested deeper than"
                f" {settings.max_variable_depth} levels.",
            )
        if isinstance(value, dict):
            stack.extend((v, depth + 1, f"{where}.{k}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(value))


def refusal_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


class GraphQLEndpoint:
    """POST /graphql: negotiate, parse, open the request's context, execute, answer."""

    def __init__(
        self,
        schema: Any,
        settings: Settings,
        open_context: OpenContext,
        observe: Callable[[str, str, float, Context | None, dict[str, Any]], None] | None = None,
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.open_context = open_context
        self.observe = observe

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``handle`` as a plain ASGI app (``hub.app.HubApp`` sends POST /graphql here)."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        media = negotiate(request.headers.get("accept"))
        if media is None:
            return self._respond(
                JSON,
                406,
                refusal_body(
                    f"None of the accepted media types is offered: accept {GRAPHQL_RESPONSE}"
                    f" or {JSON}.",
                    "BAD_INPUT",
                ),
            )
        try:
            content_type = request.headers.get("content-type")
            if (content_type or "").split(";")[0].strip().lower() == MULTIPART:
                graphql_request = await parse_multipart(request, self.settings)
            else:
                graphql_request = parse_body(await request.body(), content_type, self.settings)
        except HttpRefusal as refusal:
            body = refusal_body(refusal.message, refusal.code)
            self._record("refused", refusal.code, started, None, body)
            return self._respond(media, refusal.status, body)
        try:
            async with self.open_context(request) as context:
                result = await serve_cached(
                    self.schema,
                    context,
                    graphql_request.query,
                    graphql_request.variables,
                    graphql_request.operation_name,
                )
                if result is None:
                    result = await self._execute(graphql_request, context)
                body, status = self._answer(result, context, media)
            self._record(
                context.operation_type or "unknown", _outcome(body), started, context, body
            )
        except HttpRefusal as refusal:
            body = refusal_body(refusal.message, refusal.code)
            self._record("refused", refusal.code, started, None, body)
            return self._respond(media, refusal.status, body)
        except BadInput as error:
            body = refusal_body(error.message, error.code)
            self._record("refused", error.code, started, None, body)
            return self._respond(media, 400, body)
        return self._respond(media, status, body)

    async def _execute(self, request: GraphQLRequest, context: Context) -> ExecutionResult:
        try:
            result: ExecutionResult = await self.schema.execute(
                request.query,
                variable_values=request.variables,
                context_value=context,
                operation_name=request.operation_name,
                allowed_operation_types=ALLOWED,
            )
        except MissingQueryError:
            raise HttpRefusal(400, "No GraphQL document in 'query'.") from None
        except CannotGetOperationTypeError as error:
            raise HttpRefusal(400, error.as_http_error_reason()) from None
        except InvalidOperationTypeError as error:
            raise HttpRefusal(
                400, f"{error.operation_type.value} operations are not served over HTTP POST."
            ) from None
        return result

    def _answer(
        self, result: ExecutionResult, context: Context, media: str
    ) -> tuple[dict[str, Any], int]:
        errors = classify_all(result.errors, hide_suggestions=self.settings.is_production)
        body: dict[str, Any] = {}
        # A request error (parse, validation, variables, cost, authentication) happens before
        # any field runs: no data, and no error with a path. Such a response has no data
        # entry for application/graphql-response+json (and data null for application/json).
        request_error = result.data is None and all(e.path is None for e in errors or [])
        if not request_error or media == JSON:
            body["data"] = result.data
        if errors:
            body["errors"] = [e.formatted for e in errors]
        if result.extensions:
            body["extensions"] = result.extensions
        status = 200
        if media == GRAPHQL_RESPONSE and request_error:
            codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
            status = 401 if "UNAUTHENTICATED" in codes else 400
        return body, status

    def _respond(self, media: str, status: int, body: dict[str, Any]) -> Response:
        headers = {"www-authenticate": 'Bearer realm="eduhub"'} if status == 401 else None
        return Response(
            orjson.dumps(body),
            status_code=status,
            media_type=f"{media}; charset=utf-8",
            headers=headers,
        )

    def _record(
        self,
        operation: str,
        outcome: str,
        started: float,
        ctx: Context | None,
        body: dict[str, Any],
    ) -> None:
        if self.observe is not None:
            self.observe(operation, outcome, time.perf_counter() - started, ctx, body)


def _outcome(body: dict[str, Any]) -> str:
    errors = body.get("errors")
    if not errors:
        return "ok"
    return str(errors[0].get("extensions", {}).get("code", "ERROR"))
