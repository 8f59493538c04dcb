"""Who writes, and with what: the argument of every write service (``hub/<domain>/service.py``).

Services take this, not the GraphQL context, so GraphQL, the CLI and the sync call the same
code. They write through ``session`` and flush; they never commit: the caller's one place
does (``Context.finish`` for a request, the command for the CLI)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.access.policy import Access
from hub.codes.registry import CodeRegistry
from hub.errors import HubError, Unauthenticated

if TYPE_CHECKING:
    from hub.quality.checks import CheckSummary, RegisterSummary
    from hub.quality.register import Register


def camel(name: str) -> str:
    """The schema's name of a model field (``sex_code`` -> ``sexCode``), for messages."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with the input: the field (the model's name), what, a stable code."""

    field: str | None
    message: str
    code: str = "BAD_INPUT"


class InvalidInput(HubError):
    """The input was refused, field by field; nothing of it was written."""

    code = "BAD_INPUT"

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems
        if problems and all(p.code == problems[0].code for p in problems):
            self.code = problems[0].code


def refuse(field_name: str | None, message: str, code: str = "BAD_INPUT") -> InvalidInput:
    return InvalidInput([FieldProblem(field_name, message, code)])


@dataclass
class Writer:
    session: AsyncSession
    access: Access
    codes: CodeRegistry
    origin: str = "graphql"  # graphql, cli, sync:NAME: where a change came from (the log)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    due_days: int = 30
    # The population register, when the sources file names one: written students are
    # compared with it too (problem kind 5; deferred when it is down).
    register: Register | None = None
    # How the comparisons with the register of this write went (None: none configured).
    register_check: RegisterSummary | None = None

    @property
    def actor(self) -> str:
        principal = self.access.principal
        if principal is None:
            raise Unauthenticated("Authentication required to write.")
        return principal.user

    async def connection(self) -> AsyncConnection:
        return await self.session.connection()

    async def check(self, ids: Collection[int]) -> CheckSummary:
        """Problem record detection for the students ``ids`` written (and their groups), in
        this transaction: every write service calls this after it flushed."""
        from hub.quality.checks import RegisterSummary, check_students

        checked = await check_students(
            await self.connection(),
            ids,
            now=self.now,
            due_days=self.due_days,
            register=self.register,
        )
        if self.register is not None:
            if self.register_check is None:
                self.register_check = RegisterSummary(source=self.register.name)
            self.register_check.add(checked.register)
        return checked
