"""Give every GraphQL error a stable ``extensions.code`` and never leak internals.

Applied to the final result (``schema.router``), so errors from every stage (parsing,
validation, limits, resolvers) are covered; internal errors are logged once, with the
reference the client sees."""

from __future__ import annotations

import logging
import re
import uuid

from graphql import GraphQLError

from hub.errors import HubError

log = logging.getLogger("hub.graphql")

# Messages of the limit rules (strawberry's limiters and graphql-core's token limit).
_TOO_COMPLEX_MARKERS = (
    "exceeds maximum operation depth",
    "aliases found. Allowed",
    "tokens. Parsing aborted",
    "Document contains more than",
    "query document is larger than",
)


# graphql-core puts its hint anywhere in a message ("… Did you mean 'under'? Found: …").
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def classify(error: GraphQLError, *, hide_suggestions: bool = False) -> GraphQLError:
    """Return ``error`` with ``extensions.code`` set (and internal details masked). In
    production, "Did you mean …" hints are cut: they would reveal the schema."""
    if hide_suggestions and _SUGGESTION.search(error.message):
        error = _with(
            error,
            _SUGGESTION.sub("", error.message),
            (error.extensions or {}).get("code", "BAD_INPUT"),
        )
    if error.extensions and "code" in error.extensions:
        return error
    original = error.original_error
    if isinstance(original, HubError):
        return _with(error, original.message, original.code)
    if original is None or isinstance(original, GraphQLError):
        message = error.message
        code = (
            "QUERY_TOO_COMPLEX"
            if any(marker in message for marker in _TOO_COMPLEX_MARKERS)
            else "BAD_INPUT"
        )
        return _with(error, message, code)
    reference = uuid.uuid4().hex[:12]
    log.error("internal error %s at %s", reference, error.path, exc_info=original)
    return _with(error, f"Internal error (reference {reference}).", "INTERNAL_SERVER_ERROR")


def _with(error: GraphQLError, message: str, code: str) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), "code": code},
    )


def classify_all(
    errors: list[GraphQLError] | None, *, hide_suggestions: bool = False
) -> list[GraphQLError] | None:
    if errors is None:
        return None
    return [classify(e, hide_suggestions=hide_suggestions) for e in errors]
