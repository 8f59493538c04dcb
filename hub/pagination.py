"""Relay-style keyset pagination: opaque cursors over the primary key."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from hub.errors import BadInput

_CURSOR_PREFIX = "k1:"


def encode_cursor(pk: int) -> str:
    raw = f"{_CURSOR_PREFIX}{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadInput(f"invalid cursor {cursor!r} for 'after': not a cursor of this API") from None
    if not raw.startswith(_CURSOR_PREFIX) or not raw[len(_CURSOR_PREFIX) :].isdigit():
        raise BadInput(f"invalid cursor {cursor!r} for 'after': not a cursor of this API")
    return int(raw[len(_CURSOR_PREFIX) :])


@dataclass(frozen=True, slots=True)
class PageArgs:
    """Validated ``first``/``after`` of a connection field."""

    first: int
    after: int | None

    @classmethod
    def parse(cls, first: int | None, after: str | None, *, default: int, cap: int) -> PageArgs:
        if first is None:
            first = default
        if first < 0 or first > cap:
            raise BadInput(f"'first' must be between 0 and {cap}, got {first}")
        return cls(first, decode_cursor(after) if after is not None else None)
