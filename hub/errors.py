"""Errors the hub reports to clients, each with a stable ``extensions.code``."""

from __future__ import annotations


class HubError(Exception):
    """Base class: ``code`` becomes ``extensions.code`` of the GraphQL error."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(HubError):
    code = "UNAUTHENTICATED"


class BadInput(HubError):
    code = "BAD_INPUT"


class NotFound(HubError):
    code = "NOT_FOUND"


class Forbidden(HubError):
    code = "FORBIDDEN"


class Conflict(HubError):
    """The request collides with the state of the data (reviewed already, changed since)."""

    code = "CONFLICT"


class QueryTooComplex(HubError):
    code = "QUERY_TOO_COMPLEX"
