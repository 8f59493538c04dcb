"""Limits checked before any resolver runs: document size, tokens, depth, aliases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
    visit,
)
from graphql.language import Visitor
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    SchemaExtension,
    max_aliases,
    query_depth_limiter,
)

from hub.settings import Settings
from schema.cost import QueryCost


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


def bad_text(value: str) -> str | None:
    """Why a string cannot be taken (stored, compared, sent to a database), or None."""
    if "\x00" in value:
        return "a NUL character"
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return "a lone surrogate (not valid Unicode text)"
    return None


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        for text in _strings(node.value):
            reason = bad_text(text)
            if reason:
                self.found.append((node.name.value, reason))


def _strings(node: ValueNode) -> list[str]:
    if isinstance(node, StringValueNode):
        return [node.value]
    if isinstance(node, ListValueNode):
        return [s for v in node.values for s in _strings(v)]
    if isinstance(node, ObjectValueNode):
        return [s for f in node.fields for s in _strings(f.value)]
    return []


def variable_strings(value: Any, where: str) -> list[tuple[str, str]]:
    stack, found = [(value, where)], []
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            reason = bad_text(item)
            if reason:
                found.append((path, reason))
        elif isinstance(item, dict):
            stack.extend((v, f"{path}.{k}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(item))
    return found


class InputText(SchemaExtension):
    """Refuse NUL characters and lone surrogates in any string argument or variable before
    anything runs (PostgreSQL rejects NUL in text; a lone surrogate is not UTF-8): BAD_INPUT
    naming the argument, never an internal error deep in a resolver or the database."""

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if context.graphql_document is None or context.pre_execution_errors:
            return
        literals = _Literals()
        visit(context.graphql_document, literals)
        found = literals.found
        for name, value in (context.variables or {}).items():
            found.extend(variable_strings(value, f"${name}"))
        if found:
            where, reason = found[0]
            raise GraphQLError(
                f"'{where}' holds {reason}: send plain text.", extensions={"code": "BAD_INPUT"}
            )


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
        InputText,
        lambda: QueryCost(
            settings.max_query_cost, settings.page_size_default, settings.page_size_max
        ),
    ]
