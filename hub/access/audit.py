"""The audit log of one request: unmasked reads, denied attempts, grant changes.

Events are collected while the query runs and written in the request's own transaction when
it finishes (``Context.finish``); if they cannot be written, the request fails and returns
no data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import orjson
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.models import AuditEvent
from hub.access.principal import Principal


def common_path(paths: list[str]) -> str:
    """The deepest org-unit path that holds all ``paths`` (segment-wise common prefix)."""
    if not paths:
        return "/"
    split = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if all(part == parts[0] for part in parts):
            common.append(parts[0])
        else:
            break
    return "/" + "".join(f"{part}/" for part in common) if common else "/"


@dataclass
class _Reads:
    fields: set[str] = field(default_factory=set)
    subjects: dict[str, str] = field(default_factory=dict)  # global id -> its path


@dataclass
class AuditLog:
    principal: Principal | None
    operation: str | None
    purpose: str | None
    correlation_id: str
    _reads: dict[str, _Reads] = field(default_factory=lambda: defaultdict(_Reads))
    _events: list[dict[str, object]] = field(default_factory=list)

    def unmasked(self, resource: str, field_name: str, subject_id: str, path: str) -> None:
        reads = self._reads[resource]
        reads.fields.add(field_name)
        reads.subjects[subject_id] = path

    def event(
        self,
        action: str,
        resource: str,
        outcome: str,
        path: str,
        detail: str | None = None,
        subjects: list[str] | None = None,
    ) -> None:
        self._events.append(
            self._row(action, resource, outcome, path, detail, None, subjects or [])
        )

    def _row(
        self,
        action: str,
        resource: str,
        outcome: str,
        path: str,
        detail: str | None,
        fields: list[str] | None,
        subjects: list[str],
    ) -> dict[str, object]:
        principal = self.principal
        return {
            "at": dt.datetime.now(dt.UTC),
            "username": principal.user if principal else "anonymous",
            "user_path": principal.org_unit_path if principal else None,
            "operation": self.operation,
            "action": action,
            "resource": resource,
            "fields": ",".join(sorted(fields)) if fields else None,
            "subjects": orjson.dumps(subjects).decode() if subjects else None,
            "scope_path": path,
            "outcome": outcome,
            "purpose": self.purpose,
            "detail": detail,
            "correlation_id": self.correlation_id,
        }

    def rows(self) -> list[dict[str, object]]:
        rows = list(self._events)
        for resource, reads in sorted(self._reads.items()):
            rows.append(
                self._row(
                    "unmask",
                    resource,
                    "allowed",
                    common_path(list(reads.subjects.values())),
                    None,
                    sorted(reads.fields),
                    sorted(reads.subjects),
                )
            )
        return rows

    async def flush(self, session: AsyncSession) -> None:
        rows = self.rows()
        if rows:
            await session.execute(insert(AuditEvent), rows)
        self._reads.clear()
        self._events.clear()
