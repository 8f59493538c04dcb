"""Mappings read as declared, values translated or reported; resilience bounds every call."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from hub.codes.registry import registry_from_packaged
from hub.sources.mapping import Mapper, MappingError, load_sources
from hub.sources.resilience import BreakerState, CircuitBreaker, Resilience, SourceUnavailable

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "legacy" / "sources.toml"


def _mapper() -> Mapper:
    config = load_sources(EXAMPLE)["gx_students"]
    return Mapper(config, config.entities["student"], registry_from_packaged())


def test_example_sources_file_loads_with_resolved_paths() -> None:
    config = load_sources(EXAMPLE)["gx_students"]
    assert config.kind == "sql"
    assert config.url.startswith("sqlite+aiosqlite:////")
    assert config.url.endswith("examples/legacy/gx_students.db")
    assert set(config.entities) == {"school", "student"}
    assert config.entities["student"].scope_column == "XXDM"


def test_a_row_maps_through_translations_labels_dates_and_defaults() -> None:
    row = _mapper().map(
        {
            "XJH": "G450102201612230011",
            "XM": " 邓一 ",
            "XBM": "男",
            "CSRQ": "20161223",
            "SFZJH": "450102201612230011",
            "MZM": "壮族",
            "XXDM": "4145000001",
            "NJ": "四年级",
            "LXDH": "",
            "SFSQZN": "否",
            "XJZT": "在读",
        }
    )
    assert row.problems == []
    assert row.key == "G450102201612230011"
    values = row.values
    assert values["name"] == "邓一"
    assert values["sex_code"] == "1"
    assert values["birth_date"] == dt.date(2016, 12, 23)
    assert values["ethnicity_code"] == "08"
    assert values["grade_code"] == "14"
    assert values["status_code"] == "01"
    assert values["migrant_child"] is False
    assert values["phone"] is None  # empty in the source: no value, no invention
    assert values["id_type_code"] == "1"  # declared default
    assert values["nationality_code"] == "CHN"


def test_values_that_cannot_be_taken_are_reported_with_column_and_value() -> None:
    row = _mapper().map(
        {"XJH": "G1", "XM": "甲", "XBM": "M", "CSRQ": "2016-12-23", "MZM": "汉", "SFSQZN": "也许"}
    )
    problems = {(p.field, p.column, p.value): p.problem for p in row.problems}
    assert problems[("sex_code", "XBM", "M")] == "no translation"
    assert problems[("birth_date", "CSRQ", "2016-12-23")] == "not a date (%Y%m%d)"
    assert problems[("ethnicity_code", "MZM", "汉")] == "no translation"
    assert problems[("migrant_child", "SFSQZN", "也许")] == "not a yes/no value"


def test_a_wrong_sources_file_says_where(tmp_path: Path) -> None:
    bad = tmp_path / "sources.toml"
    bad.write_text(
        '[sources.x]\nkind = "sql"\nurl = "sqlite+aiosqlite:///x.db"\n'
        '[sources.x.entities.student]\ntable = "T"\nkey = "K"\n'
        '[sources.x.entities.student.fields]\nname = { colum = "XM" }\n'
    )
    with pytest.raises(MappingError, match=r"sources\.x\.entities\.student\.fields\.name"):
        load_sources(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("[sources.x\n")
    with pytest.raises(MappingError, match=r"broken\.toml"):
        load_sources(broken)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _state(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # a call, so the type checker does not pin the first answer


def test_breaker_opens_after_failures_and_half_opens_after_reset() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_seconds=10, clock=clock)
    for _ in range(2):
        breaker.failure()
    assert _state(breaker) is BreakerState.CLOSED
    breaker.failure()
    assert _state(breaker) is BreakerState.OPEN
    assert not breaker.allow()
    clock.now = 10
    assert _state(breaker) is BreakerState.HALF_OPEN
    breaker.failure()  # the trial call failed: open again
    assert _state(breaker) is BreakerState.OPEN
    clock.now = 20
    breaker.success()
    assert _state(breaker) is BreakerState.CLOSED


async def test_reads_are_retried_writes_are_not() -> None:
    calls = {"read": 0, "write": 0}

    async def flaky(kind: str) -> str:
        calls[kind] += 1
        if calls[kind] < 3:
            raise ConnectionResetError("dropped")
        return "ok"

    resilience = Resilience("s", 1.0, 2, CircuitBreaker(10, 30), backoff_seconds=0.001)
    assert await resilience.call(lambda: flaky("read"), read=True) == "ok"
    assert calls["read"] == 3
    with pytest.raises(SourceUnavailable, match="ConnectionResetError"):
        await resilience.call(lambda: flaky("write"), read=False)
    assert calls["write"] == 1


async def test_a_slow_source_times_out_and_trips_the_breaker() -> None:
    async def slow() -> str:
        await asyncio.sleep(5)
        return "late"

    resilience = Resilience("slow", 0.05, 0, CircuitBreaker(2, 30), backoff_seconds=0.001)
    for _ in range(2):
        with pytest.raises(SourceUnavailable, match=r"no answer within 0\.05s") as caught:
            await resilience.call(slow, read=True)
        assert caught.value.code == "SOURCE_UNAVAILABLE"
        assert caught.value.source == "slow"
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await resilience.call(slow, read=True)
