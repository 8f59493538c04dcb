"""The demo province: deterministic for a seed, valid identity numbers, realistic shapes."""

from __future__ import annotations

from collections import Counter
from itertools import islice

import pytest
from stdnum.cn import ric

from hub.codes.divisions import all_divisions
from hub.demo.generate import COLUMNS, generate

STUDENTS = 3000


def _tables(students: int, seed: int) -> dict[str, list[tuple[object, ...]]]:
    tables: dict[str, list[tuple[object, ...]]] = {t: [] for t in COLUMNS}
    for table, rows in generate(students, seed):
        tables[table].extend(rows)
    return tables


@pytest.fixture(scope="module")
def demo() -> dict[str, list[tuple[object, ...]]]:
    return _tables(STUDENTS, 5)


def _column(rows: list[tuple[object, ...]], table: str, name: str) -> list[object]:
    index = COLUMNS[table].index(name)
    return [row[index] for row in rows]


def test_same_seed_same_data_other_seed_other_data(
    demo: dict[str, list[tuple[object, ...]]],
) -> None:
    assert _tables(STUDENTS, 5) == demo
    other = _tables(STUDENTS, 6)
    assert other["student"] != demo["student"]


def test_exactly_the_requested_students(demo: dict[str, list[tuple[object, ...]]]) -> None:
    assert len(demo["student"]) == STUDENTS
    assert len(set(_column(demo["student"], "student", "student_number"))) == STUDENTS


def test_citizen_ids_are_valid_and_agree_with_the_record(
    demo: dict[str, list[tuple[object, ...]]],
) -> None:
    for row in demo["student"]:
        record = dict(zip(COLUMNS["student"], row, strict=True))
        number = str(record["id_number"])
        ric.validate(number)  # checksum, birth date, birthplace code in force in that year
        assert record["student_number"] == "G" + number
        assert ric.get_birth_date(number) == record["birth_date"]
        assert (int(number[16]) % 2 == 1) == (record["sex_code"] == "1")
    ids = _column(demo["guardian"], "guardian", "id_number")
    ids += _column(demo["teacher"], "teacher", "id_number")
    for other in ids:
        ric.validate(str(other))
    everyone = _column(demo["student"], "student", "id_number") + ids
    assert len(set(everyone)) == len(everyone)


def test_divisions_are_real_gbt2260_codes(demo: dict[str, list[tuple[object, ...]]]) -> None:
    divisions = all_divisions()
    for row in demo["org_unit"]:
        record = dict(zip(COLUMNS["org_unit"], row, strict=True))
        if record["level"] in ("PROVINCE", "CITY", "COUNTY"):
            assert record["division_code"] in divisions
        assert str(record["path"]).endswith(f"/{record['code']}/")


def test_every_student_has_two_parents_and_some_are_migrant_or_left_behind(
    demo: dict[str, list[tuple[object, ...]]],
) -> None:
    members = Counter(_column(demo["guardian"], "guardian", "student_id"))
    assert min(members.values()) >= 2
    assert len(members) == STUDENTS
    assert any(_column(demo["student"], "student", "migrant_child"))
    assert {"1", "2"} <= set(_column(demo["student"], "student", "left_behind_code"))


@pytest.fixture(scope="module")
def province() -> dict[str, list[tuple[object, ...]]]:
    """A larger province, for distributions."""
    return _tables(30_000, 2)


def test_class_sizes_include_oversized_classes(
    province: dict[str, list[tuple[object, ...]]],
) -> None:
    tables = province
    sizes = Counter(_column(tables["student"], "student", "class_id")).values()
    assert any(56 <= s <= 65 for s in sizes)
    assert any(s >= 66 for s in sizes)
    assert sum(1 for s in sizes if s >= 56) / len(sizes) < 0.25


def test_buildings_spread_over_all_ratings_and_staff_ratio_is_realistic(
    province: dict[str, list[tuple[object, ...]]],
) -> None:
    tables = province
    ratings = Counter(_column(tables["building"], "building", "danger_rating_code"))
    assert set(ratings) == {"A", "B", "C", "D"}
    assert ratings["A"] > ratings["B"] > ratings["D"]
    teachers = sum(1 for t in _column(tables["teacher"], "teacher", "is_teacher") if t)
    assert 12 <= 30_000 / teachers <= 20


def test_generation_streams_in_batches() -> None:
    first = list(islice(generate(1_000_000, 1), 3))
    assert first[0][0] == "org_unit"
    assert sum(len(rows) for _t, rows in first) < 10_000
