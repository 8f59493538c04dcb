"""Opaque global IDs (全局标识): ``base64url("Type:pk")``, never guessed from row order."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from hub.errors import BadInput

_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url(text: str) -> str:
    """base64url without padding (binascii and one translate: a compiled answer encodes
    the global id of every subject it audits)."""
    raw = binascii.b2a_base64(text.encode(), newline=False)
    return raw.translate(_URLSAFE).rstrip(b"=").decode()


def encode_id(type_name: str, pk: int) -> str:
    """``base64url("Type:pk")`` without padding."""
    return b64url(f"{type_name}:{pk}")


def encode_ids(type_name: str, keys: Mapping[str, str]) -> dict[str, str]:
    """``encode_id`` of each primary key of ``keys`` (as decimal text), with its value: the
    subjects of one group of audit marks (global id -> path)."""
    prefix = f"{type_name}:"
    return {b64url(prefix + key): path for key, path in keys.items()}


def decode_id(global_id: str, where: str = "id") -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, pk = raw.partition(":")
        # Keys are 64-bit: a longer number is no row of this API (and no SQL error later).
        if not type_name.isidentifier() or not pk.isdigit() or len(pk) > 19 or int(pk) >= 2**63:
            raise ValueError(raw)
    except (binascii.Error, UnicodeError, ValueError):
        raise BadInput(f"invalid {where} {global_id!r}: not an id issued by this API") from None
    return type_name, int(pk)


def decode_id_of(global_id: str, type_name: str, where: str) -> int:
    found, pk = decode_id(global_id, where)
    if found != type_name:
        raise BadInput(f"'{where}' must be the id of a {type_name}, got the id of a {found}")
    return pk


def encode_federated_id(type_name: str, source: str, key: str) -> str:
    """The global ID of a record read live from a source: type, source and its key there."""
    return base64.urlsafe_b64encode(f"{type_name}@{source}:{key}".encode()).decode().rstrip("=")


def decode_federated_id(global_id: str) -> tuple[str, str, str] | None:
    """(type, source, key) of a federated global ID; None for any other ID."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    head, _, key = raw.partition(":")
    type_name, at, source = head.partition("@")
    if not at or not type_name.isidentifier() or not source or not key:
        return None
    return type_name, source, key
