"""Relay-style keyset pagination with opaque cursors.

A top-level store list is ordered by (materialised path, id) (``p1:<id>:<path>``), so a
subtree's page is one index range; a nested list of one parent by id (``k1:<id>``). A
federated list is a sequence of segments, the store's rows first and then each routed
source's rows in its key order; its cursors say which segment and where in it
(``f1:<segment>:<key>``)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from hub.errors import BadInput

_STORE = "k1:"  # a nested list of one parent: ordered by id
_TREE = "p1:"  # a top-level list: ordered by (path, id), so a subtree is one index range
_FEDERATED = "f1:"


def _encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def encode_cursor(pk: int) -> str:
    return _encode(f"{_STORE}{pk}")


def encode_tree_cursor(pk: int, path: str) -> str:
    return _encode(f"{_TREE}{pk}:{path}")


def encode_segment_cursor(segment: int, key: str) -> str:
    return _encode(f"{_FEDERATED}{segment}:{key}")


def _raw(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadInput(f"invalid cursor {cursor!r} for 'after': not a cursor of this API") from None


def decode_cursor(cursor: str) -> int:
    raw = _raw(cursor)
    if not raw.startswith(_STORE) or not raw[len(_STORE) :].isdigit():
        raise BadInput(f"invalid cursor {cursor!r} for 'after': not a cursor of this API")
    return int(raw[len(_STORE) :])


@dataclass(frozen=True, slots=True)
class TreeCursor:
    pk: int
    path: str


@dataclass(frozen=True, slots=True)
class SegmentCursor:
    segment: int
    key: str


def decode_any(cursor: str) -> int | TreeCursor | SegmentCursor:
    """A nested list's id, a top-level list's (id, path), or a federated segment and key."""
    raw = _raw(cursor)
    if raw.startswith(_TREE):
        pk, _, path = raw[len(_TREE) :].partition(":")
        if pk.isdigit() and path.startswith("/") and path.endswith("/"):
            return TreeCursor(int(pk), path)
    elif raw.startswith(_FEDERATED):
        segment, _, key = raw[len(_FEDERATED) :].partition(":")
        if segment.isdigit() and key:
            return SegmentCursor(int(segment), key)
    elif raw.startswith(_STORE) and raw[len(_STORE) :].isdigit():
        return int(raw[len(_STORE) :])
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
            return cls(first, None, position)
        if isinstance(position, TreeCursor):
            return cls(first, position.pk, None, position.path)
        return cls(first, position)
