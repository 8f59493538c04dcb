"""Monitoring indicators (监测指标) of the data dictionary, per unit of a level under a place.

- class sizes (班额) in bands: up to 35, 36-45 normal, 46-55 large, 56-65 oversized (大班额),
  66 and more extremely oversized (超大班额), and the share of classes with 56 or more;
- schools outside the size norm (complete primary 12-36 classes, junior 18-30, nine-year
  18-36);
- students per full-time teacher (生师比), floor area per student (生均校舍面积);
- C/D-rated floor area (危房面积) and the students taught in it (classes taught in such a
  building, ``Class.building``);
- migrant workers' children (随迁子女), left-behind children (留守儿童), students needing aid,
  dropout watch (休学, 退学, 辍学).

Students are those in school (学籍状态 01 在读), teachers those at post (01 在职) who teach.
Each figure is one aggregate statement grouped by unit, inside the viewer's scope of its
resource; a figure of a resource the viewer may not read under the place is None (not 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from hub.access.scope import Readable, under_path
from hub.orgunits.models import OrgLevel
from hub.statistics.dimensions import BUILDING, CLASS, SCHOOL, STUDENT, TEACHER
from hub.statistics.tables import UNIT, Place, Run, unit_join

IN_SCHOOL = "01"  # 学籍状态 在读
AT_POST = "01"  # 教职工当前状态 在职
DANGEROUS = ("C", "D")  # 危房鉴定等级
DROPOUT_WATCH = ("02", "04", "05")  # 休学, 退学, 辍学
# Class counts a school of the type should have (one local scheme of DATA.md).
SIZE_NORMS = {"211": (12, 36), "311": (18, 30), "312": (18, 36)}
BANDS = (("up_to_35", 0, 35), ("normal", 36, 45), ("large", 46, 55), ("oversized", 56, 65))
OVERSIZED_FROM = 56


@dataclass
class ClassSizes:
    up_to_35: int = 0
    normal: int = 0  # 36-45
    large: int = 0  # 46-55
    oversized: int = 0  # 56-65 大班额
    extreme: int = 0  # 66+ 超大班额

    @property
    def total(self) -> int:
        return self.up_to_35 + self.normal + self.large + self.oversized + self.extreme

    @property
    def oversized_share(self) -> float | None:
        """Share of classes with 56 or more pupils (大班额比例)."""
        return (self.oversized + self.extreme) / self.total if self.total else None


@dataclass
class UnitFigures:
    code: str
    name: str
    students: int | None = None
    migrant: int | None = None
    left_behind: int | None = None
    needs_aid: int | None = None
    dropout_watch: int | None = None
    schools: int | None = None
    schools_outside_norm: int | None = None
    class_sizes: ClassSizes | None = None
    teachers: int | None = None
    floor_area: Decimal | None = None
    dangerous_floor_area: Decimal | None = None
    students_in_dangerous: int | None = None

    @property
    def students_per_teacher(self) -> float | None:
        if self.students is None or not self.teachers:
            return None
        return self.students / self.teachers

    @property
    def floor_area_per_student(self) -> Decimal | None:
        if self.floor_area is None or not self.students:
            return None
        return (self.floor_area / self.students).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class Readables:
    """The viewer's rows of each resource the indicators read (None: may not read it)."""

    student: Readable | None
    school: Readable | None  # classes (the resource school: schools and their classes)
    teacher: Readable | None
    building: Readable | None


async def monitor(
    run: Run, readables: Readables, place: Place, level: OrgLevel | None
) -> list[UnitFigures]:
    """The indicators of each unit of ``level`` under ``place``; with no level, of the
    place itself (its own total, rows in no unit of a level included)."""
    units = await run(
        select(UNIT.c.code, UNIT.c.name).where(unit_join(None, place, level)).order_by(UNIT.c.code)
    )
    figures = {str(code): UnitFigures(str(code), str(name)) for code, name in units}

    def by_unit(path: ColumnElement[str]) -> Any:
        return unit_join(path, place, level)

    r = readables
    if r.student is not None:
        s = STUDENT.c
        in_school = s.status_code == IN_SCHOOL
        rows = await run(
            select(
                UNIT.c.code,
                func.count().filter(in_school),
                func.count().filter(and_(in_school, s.migrant_child.is_(True))),
                func.count().filter(and_(in_school, s.left_behind_code.in_(("1", "2")))),
                func.count().filter(and_(in_school, s.needs_aid.is_(True))),
                func.count().filter(s.status_code.in_(DROPOUT_WATCH)),
            )
            .select_from(STUDENT.join(UNIT, by_unit(s.path)))
            .where(r.student.where, under_path(s.path, place.path))
            .group_by(UNIT.c.code)
        )
        for f in figures.values():
            f.students = f.migrant = f.left_behind = f.needs_aid = f.dropout_watch = 0
        for code, students, migrant, left, aid, watch in rows:
            f = figures[code]
            f.students, f.migrant, f.left_behind = int(students), int(migrant), int(left)
            f.needs_aid, f.dropout_watch = int(aid), int(watch)
    if r.school is not None and r.student is not None:
        await _classes(run, r.school, r.student, place, figures, by_unit)
    if r.teacher is not None:
        t = TEACHER.c
        rows = await run(
            select(UNIT.c.code, func.count())
            .select_from(TEACHER.join(UNIT, by_unit(t.path)))
            .where(
                r.teacher.where,
                under_path(t.path, place.path),
                t.status_code == AT_POST,
                t.is_teacher.is_(True),
            )
            .group_by(UNIT.c.code)
        )
        for f in figures.values():
            f.teachers = 0
        for code, n in rows:
            figures[code].teachers = int(n)
    if r.building is not None:
        await _buildings(run, r, place, figures, by_unit)
    return list(figures.values())


async def _buildings(
    run: Run, r: Readables, place: Place, figures: dict[str, UnitFigures], by_unit: Any
) -> None:
    """Floor area, C/D floor area and (with students readable) the students taught in it."""
    assert r.building is not None
    b = BUILDING.c
    dangerous = b.danger_rating_code.in_(DANGEROUS)
    rows = await run(
        select(
            UNIT.c.code,
            func.coalesce(func.sum(b.floor_area), 0),
            func.coalesce(func.sum(case((dangerous, b.floor_area), else_=0)), 0),
        )
        .select_from(BUILDING.join(UNIT, by_unit(b.path)))
        .where(r.building.where, under_path(b.path, place.path))
        .group_by(UNIT.c.code)
    )
    for f in figures.values():
        f.floor_area = f.dangerous_floor_area = Decimal("0.00")
    for code, area, danger in rows:
        figures[code].floor_area = _money(area)
        figures[code].dangerous_floor_area = _money(danger)
    if r.student is None or r.school is None:
        return
    s = STUDENT.c
    rows = await run(
        select(UNIT.c.code, func.count())
        .select_from(
            STUDENT.join(CLASS, CLASS.c.id == s.class_id)
            .join(BUILDING, BUILDING.c.id == CLASS.c.building_id)
            .join(UNIT, by_unit(s.path))
        )
        .where(
            r.student.where,
            r.building.where,
            under_path(s.path, place.path),
            s.status_code == IN_SCHOOL,
            dangerous,
        )
        .group_by(UNIT.c.code)
    )
    for f in figures.values():
        f.students_in_dangerous = 0
    for code, n in rows:
        figures[code].students_in_dangerous = int(n)


async def _classes(
    run: Run,
    school: Readable,
    student: Readable,
    place: Place,
    figures: dict[str, UnitFigures],
    by_unit: Any,
) -> None:
    """Class-size bands per unit, and schools outside the size norm."""
    s, c = STUDENT.c, CLASS.c
    sizes = (
        select(s.class_id.label("class_id"), func.count().label("size"))
        .where(
            student.where,
            under_path(s.path, place.path),
            s.status_code == IN_SCHOOL,
            s.class_id.is_not(None),
        )
        .group_by(s.class_id)
        .subquery()
    )
    size = func.coalesce(sizes.c.size, 0)
    band = case(
        *((and_(size >= low, size <= high), name) for name, low, high in BANDS),
        else_="extreme",
    )
    rows = await run(
        select(UNIT.c.code, band, func.count())
        .select_from(CLASS.outerjoin(sizes, sizes.c.class_id == c.id).join(UNIT, by_unit(c.path)))
        .where(school.where, under_path(c.path, place.path))
        .group_by(UNIT.c.code, band)
    )
    for f in figures.values():
        f.class_sizes = ClassSizes()
    for code, name, n in rows:
        bands = figures[code].class_sizes
        assert bands is not None
        setattr(bands, str(name), getattr(bands, str(name)) + int(n))
    # Schools, and those whose class count lies outside the norm of their type.
    per_school = (
        select(c.school_id.label("school_id"), func.count().label("classes"))
        .where(school.where, under_path(c.path, place.path))
        .group_by(c.school_id)
        .subquery()
    )
    k = SCHOOL.c
    classes = func.coalesce(per_school.c.classes, 0)
    outside = [
        and_(k.type_code == type_code, or_(classes < low, classes > high))
        for type_code, (low, high) in SIZE_NORMS.items()
    ]
    rows = await run(
        select(UNIT.c.code, func.count(), func.count().filter(or_(*outside)))
        .select_from(
            SCHOOL.outerjoin(per_school, per_school.c.school_id == k.id).join(UNIT, by_unit(k.path))
        )
        .where(school.placed_by(k.path), under_path(k.path, place.path))
        .group_by(UNIT.c.code)
    )
    for f in figures.values():
        f.schools = f.schools_outside_norm = 0
    for code, n, off in rows:
        figures[code].schools, figures[code].schools_outside_norm = int(n), int(off)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
