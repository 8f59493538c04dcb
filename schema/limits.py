"""Limits checked before any resolver runs: document size, tokens, depth, aliases."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
    max_aliases,
    query_depth_limiter,
)

from hub.settings import Settings


class MaxDocumentSize(SchemaExtension):
    """Refuse oversized documents before they are parsed."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query or ""
        size = len(query.encode())
        if size > self.max_bytes:
            raise GraphQLError(
                f"The query document is larger than {self.max_bytes} bytes ({size} bytes)."
                " Split it into smaller queries.",
                extensions={"code": "QUERY_TOO_COMPLEX"},
            )
        yield


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Factories (a fresh extension per request), in the order they must run.

    The depth and alias rules are built once per schema: validation results are cached by
    rule classes, so a rule class made anew per request would make every request a miss."""
    rules: list[type[ASTValidationRule]] = [
        query_depth_limiter.create_validator(settings.max_query_depth, None),
        max_aliases.create_validator(settings.max_aliases),
    ]
    return [
        lambda: MaxDocumentSize(settings.max_query_bytes),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(rules),
    ]
