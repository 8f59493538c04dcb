from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.access.policy import Assignment

ROOT_PATH = "/CN/"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the user, their home org unit (code and path) and their grants."""

    user: str
    org_unit_code: str
    org_unit_path: str
    level: str
    assignments: tuple[Assignment, ...] = field(default=())

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(sorted({a.role for a in self.assignments}))
