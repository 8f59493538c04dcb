"""The audit marks of a planned answer (schema/planner.py ``strip_marks``): recorded as the
resolvers record unmasked reads, cut out of the JSON text, and never confused with data."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest

from hub.access.audit import AuditLog
from hub.context import Context
from hub.ids import encode_id, encode_ids
from schema.planner import strip_marks


def _context() -> Any:
    return cast(Context, SimpleNamespace(audit=AuditLog(None, "q", None, "c0ffee")))


def _unmask_rows(context: Any) -> list[dict[str, Any]]:
    return [r for r in context.audit.rows() if r["action"] == "unmask"]


# As PostgreSQL's json_build_object writes objects: ", " between pairs, " : " in them. A
# mark: primary key, path, resource, type, then a field name (revealed) or null per field.
PG = (
    '{"edges" : [{"node" : {"name" : "甲", "phone" : "139", "\\u0001" : '
    '[1, "/CN/44/4401/440103/", "student_sensitive", "Guardian", "phone"]}}, '
    '{"node" : {"name" : "乙", "phone" : "138****0000", "\\u0001" : '
    '[2, "/CN/44/4402/", "student_sensitive", "Guardian", null]}}, '
    '{"node" : {"name" : "丙", "phone" : "137", "\\u0001" : '
    '[3, "/CN/44/4401/440104/", "student_sensitive", "Guardian", "phone"]}}]}'
)


def test_marks_are_recorded_and_cut_out() -> None:
    context = _context()
    stripped = strip_marks(PG, context)
    assert "\\u0001" not in stripped
    assert [e["node"]["name"] for e in orjson.loads(stripped)["edges"]] == ["甲", "乙", "丙"]
    (row,) = _unmask_rows(context)
    # The masked guardian (乙: no field revealed) is not a subject of the unmasked read.
    assert orjson.loads(row["subjects"]) == [encode_id("Guardian", 1), encode_id("Guardian", 3)]
    assert row["fields"] == "phone" and row["resource"] == "student_sensitive"
    assert row["scope_path"] == "/CN/44/4401/"


def test_sqlite_compact_json_and_several_resources() -> None:
    text = (
        '[{"a":1,"\\u0001":[1,"/CN/44/","student_sensitive","Student","idNumber",null]},'
        '{"a":2,"\\u0001":[1,"/CN/45/","teacher_sensitive","Teacher",null,"phone"]}]'
    )
    context = _context()
    assert orjson.loads(strip_marks(text, context)) == [{"a": 1}, {"a": 2}]
    rows = {r["resource"]: r for r in _unmask_rows(context)}
    assert orjson.loads(rows["student_sensitive"]["subjects"]) == [encode_id("Student", 1)]
    assert rows["student_sensitive"]["fields"] == "idNumber"
    assert rows["teacher_sensitive"]["fields"] == "phone"
    assert rows["teacher_sensitive"]["scope_path"] == "/CN/45/"


def test_data_that_looks_like_a_mark_stays_data() -> None:
    # A value holding the mark's key as text: its quotes are escaped in JSON, so it is data.
    value = ', "\x01" : [1, "/CN/", "student_sensitive", "Student", "phone"]'
    text = orjson.dumps({"name": value, "note": "\x01"}).decode()
    context = _context()
    assert strip_marks(text, context) == text
    assert _unmask_rows(context) == []


def test_a_mark_of_another_shape_is_never_sent() -> None:
    # A string holding "]" cuts the mark short: it does not parse, and the answer is refused.
    broken = '{"a" : 1, "\\u0001" : [1, "/CN/44/", "student_sensitive", "Student", "ph]one"]}'
    with pytest.raises(RuntimeError, match="unexpected shape"):
        strip_marks(broken, _context())
    # A mark key whose value is not an array is left behind: refused, not sent.
    odd = '{"a" : 1, "\\u0001" : {"subject" : "x"}}'
    with pytest.raises(RuntimeError, match="unexpected shape"):
        strip_marks(odd, _context())
    # A path holding "]" (or a quote) is no path of the store: refused too.
    cut = '{"a" : 1, "\\u0001" : [1, "/CN/]4/", "student_sensitive", "Student", "phone"]}'
    with pytest.raises(RuntimeError, match="unexpected shape"):
        strip_marks(cut, _context())


def test_other_spacing_is_read_alike() -> None:
    spaced = PG.replace('"\\u0001" : [', '"\\u0001":  [ ').replace(", ", ",  ")
    context, reference = _context(), _context()
    assert orjson.loads(strip_marks(spaced, context)) == orjson.loads(strip_marks(PG, reference))
    assert [r["subjects"] for r in _unmask_rows(context)] == [
        r["subjects"] for r in _unmask_rows(reference)
    ]
    assert len(_unmask_rows(context)) == 1


def test_many_ids_encode_as_one() -> None:
    keys = {str(k): f"/CN/{k}/" for k in (0, 1, 7, 99, 123456789, 2**62)}
    assert encode_ids("Guardian", keys) == {
        encode_id("Guardian", int(k)): path for k, path in keys.items()
    }
