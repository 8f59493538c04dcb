"""The roles a variable can take in a plan (see ``Role``): what of its value the plan
depends on, and how the value fills the statement's parameters.

Each ``shape`` raises ``BadInput`` for a value the planner would refuse, so a request whose
variable has no shape is planned afresh (and its error reported as the resolvers report it)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from hub.access.masking import embeds_id
from hub.ids import decode_federated_id, decode_id
from hub.pagination import KeyCursor, TreeCursor, decode_any
from resolvers.plan.operation import Role


def lookup(name: str, check: Callable[[str], str], *, embeds: bool) -> Role:
    """A lookup by a unique key: the plan depends on the key being valid and, for student
    numbers, on whether it embeds a citizen ID (such a lookup is audited)."""

    def shape(value: Any) -> Hashable:
        check(value)
        return embeds_id(value) if embeds else None

    return Role(f"lookup:{name}", shape)


def _node_shape(value: Any) -> Hashable:
    if decode_federated_id(value) is not None:
        return "federated"
    return decode_id(value)[0]


# ``node(id:)``: the plan depends on the ID's type; its key is a parameter.
NODE = Role("node", _node_shape)


def node_key(value: Any) -> int:
    return decode_id(value)[1]


def _after_shape(value: Any) -> Hashable:
    if value is None:
        return None
    position = decode_any(value)
    return type(position).__name__, position.list_name


# ``after:``: the plan depends on the cursor's kind and list; its position is parameters.
AFTER = Role("after", _after_shape)


def after_key(value: Any) -> int:
    position = decode_any(value)
    assert isinstance(position, KeyCursor | TreeCursor)
    return position.pk


def after_path(value: Any) -> str:
    position = decode_any(value)
    assert isinstance(position, TreeCursor)
    return position.path
