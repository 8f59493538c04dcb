"""The audit log of one request: unmasked reads, denied attempts, grant changes.

Events are collected while the query runs and written in the request's own transaction when
it finishes (``Context.finish``); if they cannot be written, the request fails and returns
no data.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.chain import append
from hub.access.principal import Principal
from hub.errors import BadInput

PURPOSE_MAX = 200
OPERATION_MAX = 100


_COUNTER = itertools.count()
_PREFIX: tuple[int, str] = (0, "")


def request_id() -> str:
    """A request's correlation id (请求标识): 32 hex digits, 16 drawn at random once per
    process and a counter. Unique like a random UUID, at a tenth of its cost per request."""
    global _PREFIX
    pid = os.getpid()
    if _PREFIX[0] != pid:  # a new process (a forked one keeps its parent's module state)
        _PREFIX = (pid, os.urandom(8).hex())
    return f"{_PREFIX[1]}{next(_COUNTER):016x}"


def clean_text(value: str | None, limit: int) -> str | None:
    """Client-supplied text as the audit row may hold it: no NUL or other control
    characters, no lone surrogates (not encodable as UTF-8), at most ``limit`` characters.
    Nothing a client sends can make the audit insert fail."""
    if value is None:
        return None
    text = value.encode("utf-8", "replace").decode("utf-8")
    text = "".join(ch for ch in text if ch >= " " and ch != "\x7f")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text or None


def decode_purpose(raw: bytes | None) -> str | None:
    """The ``X-Hub-Purpose`` header (用途): percent-encoded UTF-8, or raw UTF-8 bytes. Text
    that is not UTF-8 or holds control characters is refused, never stored garbled."""
    if not raw:
        return None
    try:
        text = unquote(raw.decode("utf-8"), errors="strict")
    except UnicodeError:
        raise BadInput(
            "the X-Hub-Purpose header is not UTF-8 text: send it percent-encoded"
            " (e.g. %E8%BD%AC%E5%AD%A6%E5%AE%A1%E6%A0%B8 for 转学审核) or as UTF-8"
        ) from None
    if any(ch < " " or ch == "\x7f" for ch in text) or any(
        "\ud800" <= ch <= "\udfff" for ch in text
    ):
        raise BadInput("the X-Hub-Purpose header holds control characters")
    text = text.strip()
    if len(text) > PURPOSE_MAX:
        raise BadInput(f"the X-Hub-Purpose header is longer than {PURPOSE_MAX} characters")
    return text or None


def common_path(paths: list[str]) -> str:
    """The deepest org-unit path that holds all ``paths`` (segment-wise common prefix)."""
    if not paths:
        return "/"
    split = [p.strip("/").split("/") for p in set(paths)]
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
    user_agent: str | None = None
    operation_type: str | None = None
    root_fields: str | None = None
    lane: int = 1  # the lane of the audit chain this process appends to
    written: int = 0  # rows appended by this request (for /metrics)
    _reads: dict[str, _Reads] = field(default_factory=lambda: defaultdict(_Reads))
    _events: list[dict[str, object]] = field(default_factory=list)

    def unmasked(self, resource: str, field_name: str, subject_id: str, path: str) -> None:
        reads = self._reads[resource]
        reads.fields.add(field_name)
        reads.subjects[subject_id] = path

    def unmasked_fields(
        self, resource: str, field_names: Iterable[str], subject_id: str, path: str
    ) -> None:
        """``unmasked`` for several fields of one subject."""
        reads = self._reads[resource]
        reads.fields.update(field_names)
        reads.subjects[subject_id] = path

    def unmasked_subjects(
        self, resource: str, field_names: Iterable[str], subjects: Mapping[str, str]
    ) -> None:
        """``unmasked`` for several fields of several subjects (global id -> path)."""
        reads = self._reads[resource]
        reads.fields.update(field_names)
        reads.subjects.update(subjects)

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
            "operation": clean_text(self.operation, OPERATION_MAX),
            "operation_type": self.operation_type,
            "root_fields": clean_text(self.root_fields, 2000),
            "user_agent": clean_text(self.user_agent, PURPOSE_MAX),
            "action": action,
            "resource": resource,
            "fields": ",".join(sorted(fields)) if fields else None,
            "subjects": orjson.dumps(subjects).decode() if subjects else None,
            "scope_path": path,
            "outcome": outcome,
            "purpose": clean_text(self.purpose, PURPOSE_MAX),
            "detail": clean_text(detail, 2000),
            "correlation_id": self.correlation_id,
        }

    def rows(self) -> list[dict[str, object]]:
        # The operation is known once the document is parsed: events recorded before that
        # (or while it ran) take it now.
        described = {
            "operation": clean_text(self.operation, OPERATION_MAX),
            "operation_type": self.operation_type,
            "root_fields": clean_text(self.root_fields, 2000),
        }
        rows = [{**event, **described} for event in self._events]
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
        """Append the request's events to the hash chain (in the session's transaction)."""
        await append(session, self.take(), self.lane)

    def forget_reads(self) -> None:
        """Drop the unmasked reads recorded so far (an answer that is not sent after all,
        and will be answered again)."""
        self._reads.clear()

    def take(self) -> list[dict[str, object]]:
        """The request's rows, once: the log is empty afterwards."""
        rows = self.rows()
        self._reads.clear()
        self._events.clear()
        self.written += len(rows)
        return rows

    def withhold(self, reason: str) -> None:
        """The request's data could not be audited: forget its reads and record only that
        it was refused (the data is not sent)."""
        self._reads.clear()
        self._events.clear()
        self.event("audit", "request", "denied", "/CN/", detail=f"not audited: {reason}")


# Kinds of failed authentication: the reasons of ``hub.access.identity`` folded into a few
# classes, so the aggregation below has a fixed number of keys.
def refusal_kind(reason: str | None) -> str:
    text = (reason or "").lower()
    for marker, kind in (
        ("no bearer", "no token"),
        ("expired", "expired token"),
        ("unknown or inactive", "unknown user"),
        ("must be 'bearer", "malformed header"),
    ):
        if marker in text:
            return kind
    return "invalid token"


@dataclass
class RefusalFolding:
    """Failed authentications are recorded once per kind and window; the others of the window
    are counted and the count goes into the next row of that kind. Anonymous callers can
    then add at most (kinds x windows) rows, however many requests they send."""

    window_seconds: float = 60.0
    _open: dict[str, tuple[float, int]] = field(default_factory=dict)

    def admit(self, kind: str, now: float) -> tuple[bool, int]:
        """(write a row now?, refusals of this kind folded since the last row)."""
        started, folded = self._open.get(kind, (float("-inf"), 0))
        if now - started >= self.window_seconds:
            self._open[kind] = (now, 0)
            return True, folded
        self._open[kind] = (started, folded + 1)
        return False, 0
