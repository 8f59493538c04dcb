"""Duplicate IDs across hubs without moving ID numbers (跨省重复, problem kind 3).

Every provincial hub shares one key with the national hub (``HUB_LINK_KEY``). A provincial
hub answers the national hub with keyed hashes (HMAC-SHA256) of its students' ID numbers,
never the numbers; the national hub intersects the hashes of all provinces and tells each
province which of its hashes are also held elsewhere, and where. The province turns them back
into its own students (it can: it holds the key and the numbers) and keeps one kind-3 record
per school and hash, naming the other provinces, never the other child's data.

The national hub's report is complete: cross-hub records it no longer names close
themselves (已失效). Local checks neither open nor close them (their group keys start with
``cross:``); a record accepted on evidence is not opened again for the same students.

    GET  /federation/id-digests?after=CURSOR&first=N   -> {"digests": [...], "next": CURSOR}
    POST /federation/cross-duplicates  {"holders": [{"digest": H, "provinces": ["广西…"]}]}

Both need ``approve`` on student records over the whole hub (a national service account).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.principal import ROOT_PATH
from hub.codes.identity import normalise
from hub.db.base import table_of
from hub.errors import BadInput, Forbidden
from hub.quality.checks import (
    CROSS,
    RECORD,
    CheckSummary,
    Finding,
    per_school,
    reconcile,
)
from hub.students.models import Student
from hub.writes import Writer

if TYPE_CHECKING:
    from hub.sources.eduhub import EduhubSource

STUDENT = table_of(Student)
DIGEST_LENGTH = 64  # hex characters of HMAC-SHA256
PAGE_MAX = 50_000


class NoLinkKey(BadInput):
    def __init__(self) -> None:
        super().__init__(
            "this hub has no HUB_LINK_KEY: it cannot take part in cross-hub duplicate checks"
        )


def digest(key: str, id_number: str) -> str:
    """The keyed hash of a (normalised) ID number that hubs exchange instead of it."""
    return hmac.new(key.encode(), normalise(id_number).encode(), hashlib.sha256).hexdigest()


def _require(w: Writer, key: str | None) -> str:
    w.actor  # noqa: B018 - raises Unauthenticated without a principal
    if not w.access.may("student", "approve", ROOT_PATH):
        raise Forbidden(
            "cross-hub duplicate checks need 'approve' on student records over the whole hub"
        )
    if not key:
        raise NoLinkKey()
    return key


@dataclass(frozen=True, slots=True)
class DigestPage:
    digests: list[str]
    next: str | None  # the cursor of the next page; None: this was the last


async def id_digests(w: Writer, key: str | None, after: str | None, first: int) -> DigestPage:
    """One page of the keyed hashes of the hub's ID numbers, in student order. The cursor is
    a row position, never an ID number."""
    secret = _require(w, key)
    if not 1 <= first <= PAGE_MAX:
        raise BadInput(f"first: from 1 to {PAGE_MAX}")
    start = 0
    if after is not None:
        if not after.isdigit():
            raise BadInput(f"after: a cursor this hub gave, got {after!r}")
        start = int(after)
    c = STUDENT.c
    connection = await w.connection()
    rows = (
        await connection.execute(
            select(c.id, c.id_number)
            .where(c.id > start, c.id_number.is_not(None))
            .order_by(c.id)
            .limit(first)
        )
    ).all()
    digests = sorted({digest(secret, str(number)) for _pk, number in rows})
    return DigestPage(digests, str(rows[-1][0]) if len(rows) == first else None)


async def mark_cross(
    w: Writer, key: str | None, holders: Mapping[str, Sequence[str]]
) -> CheckSummary:
    """Bring the cross-hub records in line with the national hub's report ``holders`` (hash
    -> the other provinces holding it): one record per school and hash, every local student
    with that ID a member; those not reported any more close."""
    secret = _require(w, key)
    for value, provinces in holders.items():
        if len(value) != DIGEST_LENGTH or any(ch not in "0123456789abcdef" for ch in value):
            raise BadInput(f"holders: {value[:80]!r} is not a digest this protocol exchanges")
        if not provinces or not all(isinstance(p, str) and 0 < len(p) <= 60 for p in provinces):
            raise BadInput(f"holders: digest {value[:12]}… names no province")
    connection = await w.connection()
    members = await _members(connection, secret, set(holders))
    findings: list[Finding] = []
    for value, local in members.items():
        others = "、".join(sorted(set(holders[value])))
        findings.extend(
            per_school(
                "3",
                CROSS + value[: 64 - len(CROSS)],  # group keys hold 64 characters
                local,
                f"同一身份证件号在其他省份也有学籍（{others}）；本省{len(local)}条",
            )
        )
    summary = CheckSummary()
    summary.found["3"] = len(findings)
    await reconcile(
        connection,
        [RECORD.c.group_key.startswith(CROSS)],
        findings,
        w.now,
        w.due_days,
        summary,
        kinds=("3",),
        cross=True,
    )
    return summary


async def _members(
    connection: AsyncConnection, key: str, wanted: set[str]
) -> dict[str, list[tuple[int, int, str]]]:
    """The local students whose ID numbers hash to ``wanted``: the rows are streamed and
    hashed here (only this hub holds both the key and the numbers)."""
    found: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    if not wanted:
        return found
    c = STUDENT.c
    result = await connection.stream(
        select(c.id, c.id_number, c.school_id, c.path)
        .where(c.id_number.is_not(None))
        .order_by(c.id)
        .execution_options(yield_per=10_000)
    )
    async for pk, number, school_id, path in result:
        value = digest(key, str(number))
        if value in wanted:
            found[value].append((pk, school_id, path))
    return found


async def compare_hubs(
    hubs: Sequence[EduhubSource],
    labels: Mapping[str, str],
    *,
    page: int = 10_000,
    progress: Callable[[int], None] | None = None,
) -> dict[str, dict[str, int]]:
    """The national hub's side: collect every hub's hashes, intersect them, and send each
    hub its complete list (hash -> the other provinces, by ``labels[source name]``). If any
    hub cannot be read, nothing is sent to anyone (a partial intersection would close
    records that still apply): the adapter's error propagates."""
    holders: dict[str, set[str]] = defaultdict(set)
    for hub in hubs:
        after: str | None = None
        while True:
            digests, after = await hub.id_digests(after, page)
            for value in digests:
                holders[value].add(hub.name)
            if progress is not None:
                progress(len(digests))
            if after is None:
                break
    shared = {value: names for value, names in holders.items() if len(names) > 1}
    results: dict[str, dict[str, int]] = {}
    for hub in hubs:
        report = {
            value: sorted(labels.get(n, n) for n in names if n != hub.name)
            for value, names in shared.items()
            if hub.name in names
        }
        results[hub.name] = {"shared": len(report), **await hub.report_cross(report)}
    return results
