from __future__ import annotations

from dataclasses import dataclass, field

from hub.access.scope import Scope

ROOT_PATH = "/CN/"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the user, their home org unit (code and path) and their roles."""

    user: str
    org_unit_code: str
    org_unit_path: str
    level: str
    roles: tuple[str, ...] = field(default=())

    def scope(self) -> Scope:
        """What this principal may read. Until the access tiers land (Casbin grants turned
        into prefixes), a principal sees its home org unit's subtree."""
        return Scope.of([self.org_unit_path])


def development_principal() -> Principal:
    """The principal of an unauthenticated request in development: the national root.
    Replaced by bearer-token identity when the access tiers land."""
    return Principal(
        user="anonymous",
        org_unit_code="CN",
        org_unit_path=ROOT_PATH,
        level="NATIONAL",
        roles=(),
    )
