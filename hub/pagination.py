"""Relay-style keyset pagination with opaque cursors.

A top-level store list is ordered by (materialised path, id) (``p2:<list>:<id>:<path>``), so
a subtree's page is one index range; a nested list of one parent by id (``k2:<list>:<id>``).
A federated list is a sequence of segments, the store's rows first and then each routed
source's rows in its key order; its cursors say which segment and where in it
(``f2:<list>:<segment>:<key>``). Every cursor names its list (the table), so a cursor of
another list is refused (BAD_INPUT), never applied as a position in this one."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from hub.errors import BadInput

_STORE = "k2:"  # a nested list of one parent: ordered by id
_TREE = "p2:"  # a top-level list: ordered by (path, id), so a subtree is one index range
_FEDERATED = "f2:"
# Keys are 64-bit integers: a longer number is no position of any list.
MAX_KEY = 2**63 - 1


def _encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def encode_cursor(pk: int, list_name: str) -> str:
    return _encode(f"{_STORE}{list_name}:{pk}")


def encode_tree_cursor(pk: int, path: str, list_name: str) -> str:
    return _encode(f"{_TREE}{list_name}:{pk}:{path}")


def encode_segment_cursor(segment: int, key: str, list_name: str) -> str:
    return _encode(f"{_FEDERATED}{list_name}:{segment}:{key}")


def _key(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 19 and int(text) <= MAX_KEY else None


def _raw(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadInput(f"invalid cursor {cursor!r} for 'after': not a cursor of this API") from None


@dataclass(frozen=True, slots=True)
class KeyCursor:
    list_name: str
    pk: int


@dataclass(frozen=True, slots=True)
class TreeCursor:
    list_name: str
    pk: int
    path: str


@dataclass(frozen=True, slots=True)
class SegmentCursor:
    list_name: str
    segment: int
    key: str


def decode_any(cursor: str) -> KeyCursor | TreeCursor | SegmentCursor:
    """A nested list's id, a top-level list's (id, path), or a federated segment and key,
    each with the list it belongs to."""
    raw = _raw(cursor)
    kind, body = raw[:3], raw[3:]
    list_name, _, rest = body.partition(":")
    if list_name.isidentifier():
        if kind == _TREE:
            pk, _, path = rest.partition(":")
            key = _key(pk)
            if key is not None and path.startswith("/") and path.endswith("/"):
                return TreeCursor(list_name, key, path)
        elif kind == _FEDERATED:
            segment, _, position = rest.partition(":")
            if segment.isdigit() and len(segment) < 4 and position:
                return SegmentCursor(list_name, int(segment), position)
        elif kind == _STORE and (key := _key(rest)) is not None:
            return KeyCursor(list_name, key)
    raise BadInput(f"invalid cursor {cursor!r} for 'after': not a cursor of this API")


@dataclass(frozen=True, slots=True)
class PageArgs:
    """Validated ``first``/``after`` of a connection field."""

    first: int
    after: int | None
    # A federated list's position (segment and key), when ``after`` came from one.
    segment: SegmentCursor | None = None
    # The path of ``after`` in a top-level list ordered by (path, id).
    path: str | None = None
    # The list (table) the ``after`` cursor was issued by.
    list_name: str | None = None

    def require_list(self, list_name: str, *, top_level: bool) -> None:
        """Refuse a cursor issued by another list (or by this table's other kind of list)."""
        if self.after is None and self.segment is None:
            return
        own_kind = (self.path is not None) == top_level or self.segment is not None
        if self.list_name != list_name or not own_kind:
            raise BadInput(
                f"invalid cursor for 'after': it belongs to another list, not this list of"
                f" {list_name}"
            )

    @classmethod
    def parse(cls, first: int | None, after: str | None, *, default: int, cap: int) -> PageArgs:
        if first is None:
            first = default
        if first < 0 or first > cap:
            raise BadInput(f"'first' must be between 0 and {cap}, got {first}")
        if after is None:
            return cls(first, None)
        position = decode_any(after)
        if isinstance(position, SegmentCursor):
            return cls(first, None, position, list_name=position.list_name)
        if isinstance(position, TreeCursor):
            return cls(first, position.pk, None, position.path, position.list_name)
        return cls(first, position.pk, list_name=position.list_name)
