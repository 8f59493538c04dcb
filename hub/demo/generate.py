"""Generate a demo province as rows of the hub's tables, deterministically for a seed.

Rows are tuples in the column order of ``COLUMNS[table]``; ``generate`` yields batches
(table, rows) so a million students never sit in memory at once.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from stdnum.cn import ric

from hub.codes.divisions import Division, all_divisions, province_divisions
from hub.codes.identity import birthplace_existed
from hub.demo.names import (
    ASSET_KINDS,
    EMPLOYERS,
    GIVEN_FEMALE,
    GIVEN_MALE,
    STREETS,
    SURNAME_WEIGHTS,
    SURNAMES,
)
from hub.students.history import STATUS_AFTER, status_before

DEFAULT_PROVINCE = "44"
SCHOOL_YEAR = 2026  # the autumn term in which the demo snapshot is taken
SNAPSHOT = dt.date(2026, 10, 31)
# Counties the demo's counties absorbed (GB/T 2260): the county, the merged county's code and
# name, and the day it ceased (芳村区 merged into 荔湾区, 2005). Every other school of the
# county lay in the merged one: statistics of a day before then group them under it.
MERGED = {"440103": ("440107", "芳村区", dt.date(2005, 4, 28))}

COLUMNS: dict[str, tuple[str, ...]] = {
    "org_unit": ("id", "code", "name", "level", "parent_id", "path", "division_code", "valid_from"),
    "org_unit_version": (
        "id",
        "unit_id",
        "code",
        "name",
        "level",
        "path",
        "division_code",
        "valid_from",
        "valid_to",
        "change",
    ),
    "school": (
        "id",
        "org_unit_id",
        "code",
        "name",
        "name_en",
        "path",
        "division_code",
        "type_code",
        "ownership_code",
        "urban_rural_code",
        "address",
        "postcode",
        "founded_on",
        "organisation_code",
        "head_name",
        "phone",
        "teaching_language",
        "entry_age",
        "primary_years",
        "junior_years",
    ),
    "teacher": (
        "id",
        "staff_number",
        "name",
        "sex_code",
        "birth_date",
        "ethnicity_code",
        "nationality_code",
        "id_type_code",
        "id_number",
        "political_status_code",
        "phone",
        "school_id",
        "path",
        "is_teacher",
        "education_code",
        "started_work",
        "joined_school",
        "started_teaching",
        "staffing_code",
        "post_code",
        "teaching_stage_code",
        "subject_code",
        "title_code",
        "status_code",
    ),
    "building": (
        "id",
        "code",
        "name",
        "school_id",
        "path",
        "use_code",
        "use_status_code",
        "ownership_code",
        "structure_code",
        "storeys",
        "built_on",
        "investment",
        "funding_source_code",
        "floor_area",
        "usable_area",
        "seismic_intensity_code",
        "seismic_category_code",
        "design_life_years",
        "deed_number",
        "danger_rating_code",
        "appraisal_org",
        "appraisal_document",
        "appraised_on",
        "retrofitted_on",
        "emergency_shelter",
        "area_teaching",
        "area_living",
        "area_admin",
        "area_other",
    ),
    "class": (
        "id",
        "school_id",
        "path",
        "grade_code",
        "number",
        "name",
        "entry_year",
        "building_id",
    ),
    "asset": (
        "id",
        "code",
        "name",
        "category_code",
        "school_id",
        "building_id",
        "path",
        "room",
        "quantity",
        "unit_value",
        "total_value",
        "acquired_on",
        "funding_source_code",
        "status_code",
        "responsible_person",
    ),
    "student": (
        "id",
        "student_number",
        "local_number",
        "name",
        "name_pinyin",
        "former_name",
        "sex_code",
        "birth_date",
        "birthplace_code",
        "native_place_code",
        "ethnicity_code",
        "nationality_code",
        "id_type_code",
        "id_number",
        "id_valid_until",
        "overseas_status_code",
        "political_status_code",
        "health_code",
        "household_place_code",
        "household_type_code",
        "current_address",
        "mailing_address",
        "home_address",
        "phone",
        "postcode",
        "email",
        "school_id",
        "class_id",
        "path",
        "grade_code",
        "enrolled_on",
        "enrolment_mode_code",
        "attendance_mode_code",
        "source_code",
        "in_class_number",
        "status_code",
        "only_child",
        "had_preschool",
        "left_behind_code",
        "migrant_child",
        "orphan",
        "martyr_child",
        "inclusive_education",
        "disability_code",
        "government_place",
        "needs_aid",
        "living_subsidy",
        "distance_km",
        "travel_mode_code",
        "needs_school_bus",
    ),
    "guardian": (
        "id",
        "student_id",
        "position",
        "name",
        "relationship_code",
        "is_guardian",
        "ethnicity_code",
        "employer",
        "address",
        "household_place_code",
        "phone",
        "id_type_code",
        "id_number",
    ),
    "status_change": (
        "id",
        "student_id",
        "path",
        "type_code",
        "reason",
        "occurred_on",
        "approved_on",
        "document_number",
        "handler",
        "from_school_id",
        "to_school_id",
        "grade_before_code",
        "grade_after_code",
        "class_before",
        "class_after",
        "status_before_code",
        "status_after_code",
    ),
}
# Tables in foreign-key order (parents first).
TABLE_ORDER = tuple(COLUMNS)

# School types: (code, share, grades, classes per grade range, name suffix)
PRIMARY = ("11", "12", "13", "14", "15", "16")
JUNIOR = ("21", "22", "23")
SENIOR = ("31", "32", "33")
SCHOOL_TYPES = (
    ("211", 0.55, PRIMARY, (2, 6), "小学"),
    ("311", 0.18, JUNIOR, (4, 10), "中学"),
    ("312", 0.10, PRIMARY + JUNIOR, (2, 5), "学校"),
    ("342", 0.07, SENIOR, (6, 14), "高级中学"),
    ("341", 0.05, JUNIOR + SENIOR, (4, 8), "中学"),
    ("218", 0.05, ("11", "12", "13"), (1, 1), "教学点"),
)
GRADE_NAMES = {
    "11": "一年级",
    "12": "二年级",
    "13": "三年级",
    "14": "四年级",
    "15": "五年级",
    "16": "六年级",
    "21": "七年级",
    "22": "八年级",
    "23": "九年级",
    "31": "高一",
    "32": "高二",
    "33": "高三",
}
GRADE_YEAR = {code: i + 1 for i, code in enumerate(PRIMARY + JUNIOR + SENIOR)}
SUBJECTS = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14")
DANGER = (("A", 0.70), ("B", 0.18), ("C", 0.08), ("D", 0.04))
STRUCTURES = (("12", 0.68), ("13", 0.25), ("14", 0.05), ("11", 0.02))
ETHNIC_MINORITIES = ("08", "13", "22", "03", "06", "15")  # common in south China


@dataclass
class Ids:
    """Next primary key of each table (the generator assigns keys, so children can refer
    to parents without a round trip)."""

    next: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 1))

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class County:
    division: Division
    org_unit_id: int
    path: str
    city_name: str
    province_name: str
    urban: bool


@dataclass
class Demo:
    """Generator state: the random source, keys, and uniqueness counters."""

    students: int
    seed: int
    province: str = DEFAULT_PROVINCE
    rng: random.Random = field(init=False)
    ids: Ids = field(default_factory=Ids)
    id_sequences: dict[str, int] = field(default_factory=dict)
    other_counties: list[str] = field(default_factory=list)
    schools_in: dict[str, int] = field(default_factory=dict)  # schools so far per county

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.other_counties = sorted(
            d.code
            for d in all_divisions().values()
            if d.current
            and d.level == "COUNTY"
            and d.province_code != self.province
            and d.name != "市辖区"
            and d.since is None  # existed before anyone in the demo was born
        )

    # --- people -------------------------------------------------------------------------

    def name(self, male: bool) -> str:
        rng = self.rng
        surname = rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
        pool = GIVEN_MALE if male else GIVEN_FEMALE
        given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
        return surname + given

    def citizen_id(self, birthplace: str, birth: dt.date, male: bool) -> str:
        """A valid GB 11643 number, unique in this data set: sequence odd for men. A
        birthplace code that did not exist yet in the birth year (a district created later)
        falls back to its prefecture, then its province, as the register would have it."""
        fallbacks = (birthplace[:4] + "00", birthplace[:2] + "0000", self.other_counties[0])
        for place in (birthplace, *fallbacks):
            stem = place + birth.strftime("%Y%m%d")
            n = self.id_sequences.get(stem, 0)
            sequence = 2 * n + 1 if male else 2 * n + 2
            if sequence > 999:
                raise RuntimeError(f"too many people born in {place} on {birth}")
            first17 = f"{stem}{sequence:03d}"
            # stdnum computes the check over all but the last character it is given.
            number = first17 + ric.calc_check_digit(first17 + "0")
            if birthplace_existed(place, birth.year):
                self.id_sequences[stem] = n + 1
                return number
        raise RuntimeError(f"no valid birthplace code for {birthplace} in {birth.year}")

    def phone(self) -> str:
        return f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"

    def birth_date(self, year: int) -> dt.date:
        return dt.date(year, 1, 1) + dt.timedelta(days=self.rng.randrange(365))

    def address(self, county: County) -> str:
        rng = self.rng
        return (
            f"{county.province_name}{county.city_name}{county.division.name}"
            f"{rng.choice(STREETS)}{rng.randrange(1, 400)}号"
        )


def weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([p[0] for p in pairs], [p[1] for p in pairs])[0]


def generate(
    students: int,
    seed: int,
    province: str = DEFAULT_PROVINCE,
    *,
    school_size_cap: int | None = None,
) -> Iterator[tuple[str, list[tuple[object, ...]]]]:
    """Yield (table, rows) batches of a demo province with exactly ``students`` students.
    ``school_size_cap`` makes many small schools (tests need many schools from few rows)."""
    if students < 1:
        raise ValueError("the demo needs at least one student")
    demo = Demo(students, seed, province)
    counties, org_rows = _org_units(demo)
    yield "org_unit", org_rows
    yield "org_unit_version", _merged_counties(demo, counties)
    remaining = students
    school_number = 0
    while remaining > 0:
        county = counties[school_number % len(counties)]
        school_number += 1
        budget = remaining if school_size_cap is None else min(remaining, school_size_cap)
        batch = _school(demo, county, school_number, budget)
        remaining -= len(batch["student"])
        for table in TABLE_ORDER:
            if batch.get(table):
                yield table, batch[table]


def _merged_counties(demo: Demo, counties: list[County]) -> list[tuple[object, ...]]:
    """The versions of the counties merged into the demo's counties (``MERGED``), living
    on as the county they joined."""
    rows: list[tuple[object, ...]] = []
    for county in counties:
        merged = MERGED.get(county.division.code)
        if merged is None:
            continue
        old_code, old_name, since = merged
        rows.append(
            (
                demo.ids.take("org_unit_version"),
                county.org_unit_id,
                old_code,
                f"{county.city_name}{old_name}教育局",
                "COUNTY",
                f"{county.path[: -len(county.division.code) - 1]}{old_code}/",
                old_code,
                None,
                since,
                f"{old_name}并入{county.division.name}",
            )
        )
    return rows


def _org_units(demo: Demo) -> tuple[list[County], list[tuple[object, ...]]]:
    divisions = province_divisions(demo.province)
    province = divisions[0]
    cities = {d.code: d for d in divisions if d.level == "CITY"}
    counties_by_city: dict[str, list[Division]] = {}
    for d in divisions:
        if d.level == "COUNTY" and d.name != "市辖区" and d.code[:4] + "00" in cities:
            counties_by_city.setdefault(d.code[:4] + "00", []).append(d)
    # Enough counties for about eight schools each, spread over the cities round robin.
    wanted = max(3, min(sum(map(len, counties_by_city.values())), demo.students // 7000 + 3))
    city_order = sorted(counties_by_city)
    # The first city gets two counties first: the demo's users include a sibling county.
    first = city_order[0]
    chosen: list[tuple[Division, Division]] = [
        (cities[first], county) for county in counties_by_city[first][:2]
    ]
    depth = 0
    while len(chosen) < wanted:
        for city_code in city_order:
            members = counties_by_city[city_code]
            pair = (cities[city_code], members[depth]) if depth < len(members) else None
            if pair is not None and pair not in chosen and len(chosen) < wanted:
                chosen.append(pair)
        depth += 1
    rows: list[tuple[object, ...]] = []
    root_id = demo.ids.take("org_unit")
    rows.append((root_id, "CN", "中华人民共和国教育部", "NATIONAL", None, "/CN/", None, None))
    province_id = demo.ids.take("org_unit")
    province_path = f"/CN/{demo.province}/"
    rows.append(
        (
            province_id,
            demo.province,
            f"{province.name}教育厅",
            "PROVINCE",
            root_id,
            province_path,
            province.code,
            None,
        )
    )
    city_ids: dict[str, tuple[int, str]] = {}
    counties: list[County] = []
    for city, county in chosen:
        if city.code not in city_ids:
            city_id = demo.ids.take("org_unit")
            city_path = f"{province_path}{city.code[:4]}/"
            city_ids[city.code] = (city_id, city_path)
            rows.append(
                (
                    city_id,
                    city.code[:4],
                    f"{city.name}教育局",
                    "CITY",
                    province_id,
                    city_path,
                    city.code,
                    None,
                )
            )
        city_id, city_path = city_ids[city.code]
        county_id = demo.ids.take("org_unit")
        county_path = f"{city_path}{county.code}/"
        rows.append(
            (
                county_id,
                county.code,
                f"{city.name}{county.name}教育局",
                "COUNTY",
                city_id,
                county_path,
                county.code,
                None,
            )
        )
        counties.append(
            County(
                county,
                county_id,
                county_path,
                city.name,
                province.name,
                urban=county.name.endswith("区"),
            )
        )
    return counties, rows


def _school(
    demo: Demo, county: County, number: int, budget: int
) -> dict[str, list[tuple[object, ...]]]:
    rng = demo.rng
    type_code, _share, grades, per_grade, suffix = rng.choices(
        SCHOOL_TYPES, [t[1] for t in SCHOOL_TYPES]
    )[0]
    ids = demo.ids
    code = f"41{demo.province}{number:06d}"
    school_id = ids.take("school")
    org_unit_id = ids.take("org_unit")
    path = f"{county.path}{code}/"
    name = f"{county.city_name}{county.division.name}第{number}{suffix}"
    urban_rural = (
        rng.choice(("111", "112", "121"))
        if county.urban
        else rng.choice(("121", "122", "210", "220"))
    )
    if type_code == "218":
        urban_rural = "220"
    rows: dict[str, list[tuple[object, ...]]] = {t: [] for t in COLUMNS}
    merged = MERGED.get(county.division.code)
    ordinal = demo.schools_in[county.division.code] = (
        demo.schools_in.get(county.division.code, 0) + 1
    )
    since = None
    if merged is not None and ordinal % 2 == 0:
        # Every other school of the county lay in the county merged into it (历史区划).
        old_code, old_name, since = merged
        rows["org_unit_version"].append(
            (
                ids.take("org_unit_version"),
                org_unit_id,
                code,
                name,
                "SCHOOL",
                f"{county.path[: -len(county.division.code) - 1]}{old_code}/{code}/",
                None,
                None,
                since,
                f"{old_name}并入{county.division.name}",
            )
        )
    rows["org_unit"].append(
        (org_unit_id, code, name, "SCHOOL", county.org_unit_id, path, None, since)
    )
    address = demo.address(county)
    rows["school"].append(
        (
            school_id,
            org_unit_id,
            code,
            name,
            None,
            path,
            county.division.code,
            type_code,
            "12" if rng.random() < 0.08 else "11",
            urban_rural,
            address,
            f"5{rng.randrange(10000, 99999)}",
            f"{rng.randrange(1950, 2020)}-{rng.randrange(1, 13):02d}",
            f"12{county.division.code}{rng.randrange(10**9):09d}X"[:18],
            demo.name(rng.random() < 0.6),
            f"0{rng.randrange(200, 999)}-{rng.randrange(10**7, 10**8)}",
            "普通话",
            6 if type_code != "342" else None,
            6 if "11" in grades else None,
            3 if "21" in grades else None,
        )
    )
    classes: list[tuple[int, str, int, str, int]] = []  # id, grade, number, name, size
    placed: list[tuple[object, ...]] = []  # class rows, their teaching building added below
    students_here = 0
    for grade in grades:
        count = rng.randint(*per_grade)
        for class_number in range(1, count + 1):
            size = _class_size(rng, type_code)
            size = min(size, budget - students_here)
            if size <= 0:
                break
            class_id = ids.take("class")
            class_name = f"{GRADE_NAMES[grade]}({class_number})班"
            entry_year = SCHOOL_YEAR - (GRADE_YEAR[grade] - _stage_start(grade))
            placed.append((class_id, school_id, path, grade, class_number, class_name, entry_year))
            classes.append((class_id, grade, class_number, class_name, size))
            students_here += size
    for class_id, grade, _n, class_name, size in classes:
        for seat in range(1, size + 1):
            _student(
                demo, rows, county, school_id, path, type_code, class_id, grade, class_name, seat
            )
    _staff(demo, rows, county, school_id, code, path, type_code, grades, students_here)
    teaching = _buildings_and_assets(demo, rows, county, school_id, code, path, len(classes))
    # Consecutive classes (a grade, mostly) share a teaching building (所在教学楼).
    rows["class"].extend(
        (*row, teaching[i * len(teaching) // len(placed)]) for i, row in enumerate(placed)
    )
    return rows


def _stage_start(grade: str) -> int:
    return {"1": 1, "2": 7, "3": 10}[grade[0]]


def _class_size(rng: random.Random, type_code: str) -> int:
    if type_code == "218":
        return rng.randint(8, 25)
    roll = rng.random()
    if roll < 0.02:
        return rng.randint(66, 72)  # extremely oversized (超大班额)
    if roll < 0.12:
        return rng.randint(56, 65)  # oversized (大班额)
    if roll < 0.35:
        return rng.randint(46, 55)
    return rng.randint(34, 45)


def _student(
    demo: Demo,
    rows: dict[str, list[tuple[object, ...]]],
    county: County,
    school_id: int,
    path: str,
    type_code: str,
    class_id: int,
    grade: str,
    class_name: str,
    seat: int,
) -> None:
    rng = demo.rng
    ids = demo.ids
    student_id = ids.take("student")
    male = rng.random() < 0.53
    year_of_schooling = GRADE_YEAR[grade]
    entry_year = SCHOOL_YEAR - year_of_schooling + 1
    birth = demo.birth_date(entry_year - 7 + (1 if rng.random() < 0.85 else 0))
    roll = rng.random()
    migrant = roll < 0.08
    if migrant:
        household = rng.choice(demo.other_counties) if rng.random() < 0.6 else county.division.code
        birthplace = household
    else:
        household = county.division.code
        birthplace = household if rng.random() < 0.9 else rng.choice(demo.other_counties)
    id_number = demo.citizen_id(birthplace, birth, male)
    rural = migrant or not county.urban or rng.random() < 0.2
    left_behind = "0"
    if not migrant and rural and rng.random() < 0.12:
        left_behind = "2" if rng.random() < 0.4 else "1"
    disabled = rng.random() < 0.012
    disability = str(rng.randint(1, 7)) if disabled else "0"
    needs_aid = rng.random() < (0.15 if rural else 0.05)
    distance = Decimal(f"{rng.uniform(0.2, 9.0):.2f}")
    compulsory = grade[0] in "12"
    name = demo.name(male)
    address = demo.address(county)
    status = "02" if rng.random() < 0.003 else "01"
    rows["student"].append(
        (
            student_id,
            "G" + id_number,
            f"{demo.province}{student_id:012d}",
            name,
            None,
            None,
            "1" if male else "2",
            birth,
            birthplace,
            household,
            "01" if rng.random() < 0.95 else rng.choice(ETHNIC_MINORITIES),
            "CHN",
            "1",
            id_number,
            None,
            "00",
            "03" if grade[0] == "3" and rng.random() < 0.5 else "13",
            "50" if disabled else ("10" if rng.random() < 0.96 else "20"),
            household,
            "1" if rural else "2",
            address,
            address,
            address,
            demo.phone(),
            f"5{rng.randrange(10000, 99999)}",
            None,
            school_id,
            class_id,
            path,
            grade,
            f"{entry_year}-09",
            ("11" if rng.random() < 0.93 else "12") if compulsory else "21",
            "2" if grade[0] == "3" and rng.random() < 0.6 else "1",
            "1",
            seat,
            status,
            rng.random() < 0.3,
            rng.random() < 0.9,
            left_behind,
            migrant,
            rng.random() < 0.002,
            rng.random() < 0.001,
            disabled and rng.random() < 0.7,
            disability,
            type_code in ("211", "311") and rng.random() < 0.01,
            needs_aid,
            needs_aid and rng.random() < 0.6,
            distance,
            rng.choice("12345"),
            compulsory and distance > 2 and rng.random() < 0.3,
        )
    )
    _family(demo, rows, student_id, name[0], birth, household, address, left_behind)
    if status == "02" or rng.random() < 0.03:
        _status_change(demo, rows, student_id, path, school_id, grade, class_name, status)


def _family(
    demo: Demo,
    rows: dict[str, list[tuple[object, ...]]],
    student_id: int,
    surname: str,
    child_birth: dt.date,
    household: str,
    address: str,
    left_behind: str,
) -> None:
    rng = demo.rng
    members = [("51", True), ("52", False)]
    if left_behind == "2":
        members.append(("61" if rng.random() < 0.5 else "62", rng.random() < 0.5))
    for position, (relationship, male) in enumerate(members, start=1):
        age = rng.randint(24, 38) if relationship in ("51", "52") else rng.randint(50, 68)
        birth = demo.birth_date(child_birth.year - age)
        name = demo.name(male)
        if relationship in ("51", "61"):  # the child carries the father's surname
            name = surname + name[1:]
        rows["guardian"].append(
            (
                demo.ids.take("guardian"),
                student_id,
                position,
                name,
                relationship,
                relationship in ("51", "52") or left_behind == "2",
                "01",
                rng.choice(EMPLOYERS),
                address,
                household,
                demo.phone(),
                "1",
                demo.citizen_id(household, birth, male),
            )
        )


def _status_change(
    demo: Demo,
    rows: dict[str, list[tuple[object, ...]]],
    student_id: int,
    path: str,
    school_id: int,
    grade: str,
    class_name: str,
    status: str,
) -> None:
    rng = demo.rng
    occurred = SNAPSHOT - dt.timedelta(days=rng.randrange(20, 400))
    approved = occurred + dt.timedelta(days=rng.randrange(1, 14))
    if status == "02":
        kind, reason = "23", "因病休学"
    else:
        kind, reason = "13", "随父母工作调动转入"
    rows["status_change"].append(
        (
            demo.ids.take("status_change"),
            student_id,
            path,
            kind,
            reason,
            occurred,
            approved,
            f"学籍〔{occurred.year}〕{rng.randrange(1, 999)}号",
            demo.name(rng.random() < 0.5),
            None,
            school_id if kind == "13" else None,
            grade,
            grade,
            class_name,
            class_name,
            status_before(kind, None),  # a transfer in from outside: not on the hub's roll
            STATUS_AFTER[kind],
        )
    )


def _staff(
    demo: Demo,
    rows: dict[str, list[tuple[object, ...]]],
    county: County,
    school_id: int,
    school_code: str,
    path: str,
    type_code: str,
    grades: tuple[str, ...],
    students: int,
) -> None:
    rng = demo.rng
    ratio = 19.0 if grades[0] == "11" else 13.5  # students per teacher
    teachers = max(1, math.ceil(students / ratio))
    others = max(0, round(teachers * 0.12))
    stage = {"1": "20", "2": "30", "3": "40"}[grades[-1][0]]
    for n in range(1, teachers + others + 1):
        is_teacher = n <= teachers
        male = rng.random() < 0.3
        birth = demo.birth_date(rng.randint(1966, 2002))
        started = birth.year + rng.randint(21, 25)
        if started > SCHOOL_YEAR:
            started = SCHOOL_YEAR
        joined = rng.randint(started, SCHOOL_YEAR)
        birthplace = county.division.code if rng.random() < 0.7 else rng.choice(demo.other_counties)
        rows["teacher"].append(
            (
                demo.ids.take("teacher"),
                f"{school_code}{n:04d}",
                demo.name(male),
                "1" if male else "2",
                birth,
                "01",
                "CHN",
                "1",
                demo.citizen_id(birthplace, birth, male),
                "01" if rng.random() < 0.4 else "13",
                demo.phone(),
                school_id,
                path,
                is_teacher,
                rng.choice(("21", "21", "21", "14", "31"))
                if is_teacher
                else rng.choice(("21", "31", "41")),
                f"{started}-{rng.randrange(7, 10):02d}",
                f"{joined}-{rng.randrange(7, 10):02d}",
                f"{started}-09" if is_teacher else None,
                "1" if rng.random() < 0.85 else "2",
                "11" if is_teacher else rng.choice(("12", "13", "14")),
                stage if is_teacher else None,
                rng.choice(SUBJECTS) if is_teacher else None,
                _title(rng, birth, is_teacher),
                "01" if rng.random() < 0.97 else "03",
            )
        )


def _title(rng: random.Random, birth: dt.date, is_teacher: bool) -> str:
    if not is_teacher:
        return "999"
    age = SCHOOL_YEAR - birth.year
    if age > 50:
        return rng.choice(("010", "011", "011", "012"))
    if age > 38:
        return rng.choice(("011", "012", "012", "013"))
    if age > 28:
        return rng.choice(("012", "013", "013"))
    return rng.choice(("013", "014", "999"))


def _buildings_and_assets(
    demo: Demo,
    rows: dict[str, list[tuple[object, ...]]],
    county: County,
    school_id: int,
    school_code: str,
    path: str,
    class_count: int,
) -> list[int]:
    """The school's buildings and assets; the ids of its teaching buildings (教学用房)."""
    rng = demo.rng
    uses = (
        ["01", "06", "02"]
        + ["01"] * (class_count // 12)
        + ["05", "03", "07", "04"][: rng.randint(1, 4)]
    )
    building_by_use: dict[str, int] = {}
    teaching_buildings: list[int] = []
    intensity = "3" if county.division.code[:4] in ("4405", "4409", "4415") else rng.choice("23")
    for n, use in enumerate(uses, start=1):
        building_id = demo.ids.take("building")
        building_by_use.setdefault(use, building_id)
        if use == "01":
            teaching_buildings.append(building_id)
        built = rng.randint(1975, 2024)
        structure = weighted(rng, STRUCTURES)
        rating = weighted(rng, DANGER)
        if built < 1990 and structure in ("13", "14") and rng.random() < 0.5:
            rating = rng.choice("CD")
        if built > 2010:
            rating = "A"
        storeys = rng.randint(1, 3) if structure == "14" else rng.randint(2, 7)
        area = Decimal(f"{rng.uniform(400, 1500) * storeys:.2f}")
        appraised = SNAPSHOT - dt.timedelta(days=rng.randrange(30, 1800))
        teaching = (
            (area * Decimal("0.8")).quantize(Decimal("0.01")) if use in ("01", "02", "03") else None
        )
        rows["building"].append(
            (
                building_id,
                f"{school_code}{n:03d}",
                _building_name(use, n),
                school_id,
                path,
                use,
                "1" if rating != "D" else rng.choice("23"),
                "1",
                structure,
                storeys,
                f"{built}-{rng.randrange(1, 13):02d}",
                Decimal(f"{float(area) * rng.uniform(0.1, 0.35):.2f}"),
                rng.choice(("01", "01", "01", "02", "03")),
                area,
                (area * Decimal("0.72")).quantize(Decimal("0.01")),
                intensity,
                "2" if rng.random() < 0.8 else "3",
                50,
                f"粤房权证字第{rng.randrange(10**7):07d}号",
                rating,
                f"{county.city_name}房屋安全鉴定中心",
                f"鉴字〔{appraised.year}〕{rng.randrange(1, 500)}号",
                appraised,
                appraised - dt.timedelta(days=rng.randrange(100, 900))
                if rating in ("B", "C") and rng.random() < 0.4
                else None,
                use == "07" or (use == "01" and rng.random() < 0.3),
                teaching,
                area if use in ("04", "05") else None,
                area if use == "06" else None,
                None if use in ("01", "02", "03", "04", "05", "06") else area,
            )
        )
    for n, (category, name, values, quantities, use) in enumerate(ASSET_KINDS, start=1):
        if rng.random() < 0.25:
            continue
        quantity = rng.randint(*quantities)
        unit = Decimal(f"{rng.uniform(*values):.2f}")
        acquired = SNAPSHOT - dt.timedelta(days=rng.randrange(30, 5000))
        status = "1" if rng.random() < 0.85 else rng.choice("23")
        located_in = building_by_use.get(use)
        rows["asset"].append(
            (
                demo.ids.take("asset"),
                f"{school_code}-{n:03d}",
                name,
                category,
                school_id,
                located_in,
                path,
                None if located_in is None else f"{rng.randint(1, 5)}{rng.randint(1, 20):02d}室",
                quantity,
                unit,
                unit * quantity,
                acquired,
                rng.choice(("01", "01", "02", "03")),
                status,
                demo.name(rng.random() < 0.5),
            )
        )
    return teaching_buildings


def _building_name(use: str, n: int) -> str:
    names = {
        "01": "教学楼",
        "02": "实验楼",
        "03": "图书馆",
        "04": "学生宿舍",
        "05": "食堂",
        "06": "行政楼",
        "07": "体育馆",
    }
    return f"{n}号{names.get(use, '附属用房')}"
