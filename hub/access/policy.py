"""Casbin: the one place that decides who may do what where.

The model and the role permissions are files in ``policies/``; role assignments come from the
``role_assignment`` table through ``AssignmentAdapter``. ``Access`` turns a principal's grants
into path prefixes for SQL (``scope``) and answers single checks the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import casbin
from cachetools import LRUCache
from casbin import persist, util
from sqlalchemy import ColumnElement, Table

from hub.access.principal import Principal
from hub.access.scope import RESOURCE_OF, Readable, Scope

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"

# Roles ordered by what they may do: a granter never grants above its own rank.
ROLE_RANK = {"viewer": 1, "auditor": 2, "statistician": 2, "registrar": 3, "administrator": 4}
ROLES = tuple(ROLE_RANK)
RESOURCES = (
    "org_unit",
    "school",
    "student",
    "student_sensitive",
    "teacher",
    "teacher_sensitive",
    "building",
    "asset",
    "grants",
    "audit",
    "sources",
    "export",
)
ACTIONS = ("read", "write", "approve", "unmask", "export", "grant")


def domain_of(path: str) -> str:
    """The Casbin domain pattern of a grant at ``path``: the unit and its subtree."""
    return path + "*"


@dataclass(frozen=True, slots=True)
class Assignment:
    """A role held by a user at an org unit (its materialised path)."""

    username: str
    role: str
    path: str


class AssignmentAdapter(persist.Adapter):  # type: ignore[misc]  # casbin is untyped
    """Loads role permissions from ``policies/policy.csv`` and role assignments (``g`` lines)
    from rows read out of the database beforehand (Casbin's adapters are synchronous)."""

    def __init__(self, policy_file: Path, assignments: Iterable[Assignment]) -> None:
        self.policy_file = policy_file
        self.assignments = list(assignments)

    def load_policy(self, model: Any) -> None:
        text = self.policy_file.read_text(encoding="utf-8")
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if line and not line.startswith("#"):
                check_policy_line(line, f"{self.policy_file}:{number}")
                persist.load_policy_line(line, model)
        for a in self.assignments:
            persist.load_policy_line(f"g, {a.username}, {a.role}, {domain_of(a.path)}", model)

    def save_policy(self, model: Any) -> bool:
        raise NotImplementedError("role assignments are written through the hub's services")


def check_policy_line(line: str, where: str) -> None:
    """A permission line is ``p, ROLE, RESOURCE, ACTION`` with names the hub knows: a
    misspelt or renamed resource (``staff`` became ``teacher``) would otherwise grant nothing,
    silently."""
    fields = [f.strip() for f in line.split(",")]
    if fields[0] != "p" or len(fields) != 4:
        raise ValueError(f"{where}: expected 'p, ROLE, RESOURCE, ACTION', got {line!r}")
    for value, known, what in (
        (fields[1], ROLES, "role"),
        (fields[2], RESOURCES, "resource"),
        (fields[3], ACTIONS, "action"),
    ):
        if value not in known:
            raise ValueError(f"{where}: unknown {what} {value!r} (known: {', '.join(known)})")


def build_enforcer(assignments: Iterable[Assignment] = ()) -> casbin.Enforcer:
    enforcer = casbin.Enforcer(
        str(POLICY_DIR / "model.conf"),
        AssignmentAdapter(POLICY_DIR / "policy.csv", assignments),
    )
    # A role held at "/CN/44/*" matches any request domain under /CN/44/.
    enforcer.get_role_manager().add_domain_matching_func(util.key_match)
    enforcer.build_role_links()
    return enforcer


@cache
def role_permissions() -> frozenset[tuple[str, str, str]]:
    """(role, resource, action) triples of the policy file."""
    enforcer = build_enforcer()
    return frozenset((p[0], p[1], p[2]) for p in enforcer.get_policy())


# Casbin's decisions per principal (user and grants), resource and action, for every request
# of the process: a grant change changes the principal's grants, hence the key, so nothing
# has to be invalidated (the role permissions are the policy file, fixed for the process).
# Each value keeps the enforcer it was decided by: an enforcer of another app taking a freed
# enforcer's id finds no decision of the old one.
_DECISIONS: LRUCache[
    tuple[int, str, tuple[Assignment, ...], str, str], tuple[casbin.Enforcer, Scope]
] = LRUCache(maxsize=50_000)


@dataclass
class Access:
    """What one principal may do, decided by Casbin and cached per principal and
    (resource, action) until its grants change."""

    enforcer: casbin.Enforcer
    principal: Principal | None
    _scopes: dict[tuple[str, str], Scope] = field(default_factory=dict)

    def scope(self, resource: str, action: str = "read") -> Scope:
        """The subtrees where the principal may ``action`` on ``resource``: the domains of
        its grants whose role Casbin allows it. No grant, no principal: nothing."""
        key = (resource, action)
        found = self._scopes.get(key)
        if found is None:
            principal = self.principal
            if principal is None:
                found = Scope.nothing()
            else:
                shared = (id(self.enforcer), principal.user, principal.assignments, *key)
                decided = _DECISIONS.get(shared)
                if decided is not None and decided[0] is self.enforcer:
                    found = decided[1]
                else:
                    found = Scope.of(
                        a.path
                        for a in principal.assignments
                        if self.enforcer.enforce(principal.user, a.path, resource, action)
                    )
                    _DECISIONS[shared] = (self.enforcer, found)
            self._scopes[key] = found
        return found

    def permissions(self) -> list[tuple[str, str, Scope]]:
        """Every (resource, action) of the policy with the subtrees where the principal may
        do it, those allowed somewhere, in the policy's names' order."""
        pairs = sorted({(resource, action) for _role, resource, action in role_permissions()})
        scopes = ((resource, action, self.scope(resource, action)) for resource, action in pairs)
        return [entry for entry in scopes if entry[2].prefixes]

    def readable(self, table: Table) -> Readable:
        """The rows of ``table`` the principal may read (the scope of the table's resource):
        what every statement builder takes, so none can read without it."""
        return Readable(table, self.scope(RESOURCE_OF[table.name], "read"))

    def exportable(self, table: Table) -> Readable:
        """The rows of ``table`` the principal may take out as a file: its ``export``
        grants for the table's resource (an export request reads no further)."""
        return Readable(table, self.scope(RESOURCE_OF[table.name], "export"))

    def reviewable(self, table: Table) -> Readable:
        """The rows of ``table`` in the subtrees where the principal holds ``approve`` on
        the table's resource (the requests it may be asked to decide)."""
        return Readable(table, self.scope(RESOURCE_OF[table.name], "approve"))

    def unmasked_where(self, resource: str, path: ColumnElement[str]) -> ColumnElement[bool] | None:
        """SQL condition: the row placed at ``path`` shows ``resource``'s sensitive fields
        unmasked to the principal; None where it may unmask nothing (mask every row)."""
        scope = self.scope(resource, "unmask")
        return scope.restrict(path) if scope.prefixes else None

    def may(self, resource: str, action: str, path: str) -> bool:
        """Single check on one object's path, equal to per-row ``enforce`` (tested)."""
        return self.scope(resource, action).allows(path)

    def may_everywhere(self, resource: str, action: str, within: Scope) -> bool:
        """Whether ``action`` on ``resource`` is allowed in the whole of ``within`` (a filter
        on a masked field needs the unmask grant wherever the list can reach)."""
        allowed = self.scope(resource, action)
        return all(allowed.allows(prefix) for prefix in within.prefixes)

    def enforce(self, resource: str, action: str, path: str) -> bool:
        """Casbin's own decision for one object (used to cross-check ``scope``)."""
        if self.principal is None:
            return False
        return bool(self.enforcer.enforce(self.principal.user, path, resource, action))


def sync_user(enforcer: casbin.Enforcer, username: str, assignments: Sequence[Assignment]) -> None:
    """Make the enforcer's ``g`` lines of ``username`` equal ``assignments``."""
    current = {tuple(g) for g in enforcer.get_filtered_grouping_policy(0, username)}
    wanted = {(username, a.role, domain_of(a.path)) for a in assignments}
    for line in current - wanted:
        enforcer.remove_grouping_policy(*line)
    for line in wanted - current:
        enforcer.add_grouping_policy(*line)
