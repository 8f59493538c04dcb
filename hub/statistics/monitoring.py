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


@dataclass(frozen=True, slots=True)
class Monitoring:
    units: list[UnitFigures]  # the units of the level, by code
    overall: UnitFigures  # the place itself: every row under it, in a unit or not


class _Tally:
    """Figures by unit code; rows under the place in no unit of the level count only in
    the overall figures (code None)."""

    def __init__(self, units: list[UnitFigures], place: Place) -> None:
        self.units = {f.code: f for f in units}
        self.overall = UnitFigures(place.code, place.name)

    def start(self, **zero: Any) -> None:
        for f in [*self.units.values(), self.overall]:
            for name, value in zero.items():
                setattr(f, name, value() if callable(value) else value)

    def targets(self, code: str | None) -> list[UnitFigures]:
        """The figures a row of unit ``code`` counts in: its unit's (if any) and the place's."""
        return [self.overall] if code is None else [self.units[code], self.overall]

    def add(self, code: str | None, name: str, value: Any) -> None:
        for f in self.targets(code):
            setattr(f, name, getattr(f, name) + value)


async def monitor(
    run: Run, readables: Readables, place: Place, level: OrgLevel | None
) -> Monitoring:
    """The indicators of each unit of ``level`` under ``place`` (none: the place is the only
    unit) and of the place itself, from the same statements: rows are grouped by school
    first, then the schools by unit (a join on path ranges over hundreds of schools, not a
    million students)."""
    units = await run(
        select(UNIT.c.code, UNIT.c.name).where(unit_join(None, place, level)).order_by(UNIT.c.code)
    )
    tally = _Tally([UnitFigures(str(code), str(name)) for code, name in units], place)

    def placed(source: Any, path: ColumnElement[str]) -> Any:
        return source.outerjoin(UNIT, unit_join(path, place, level))

    r = readables
    if r.student is not None:
        s = STUDENT.c
        in_school = s.status_code == IN_SCHOOL
        per_school = (
            select(
                s.school_id.label("school_id"),
                func.count().filter(in_school).label("students"),
                func.count().filter(and_(in_school, s.migrant_child.is_(True))).label("migrant"),
                func.count()
                .filter(and_(in_school, s.left_behind_code.in_(("1", "2"))))
                .label("left_behind"),
                func.count().filter(and_(in_school, s.needs_aid.is_(True))).label("needs_aid"),
                func.count().filter(s.status_code.in_(DROPOUT_WATCH)).label("dropout_watch"),
            )
            .where(r.student.where, under_path(s.path, place.path))
            .group_by(s.school_id)
            .subquery()
        )
        names = ("students", "migrant", "left_behind", "needs_aid", "dropout_watch")
        rows = await run(
            select(UNIT.c.code, *(func.sum(per_school.c[n]) for n in names))
            .select_from(
                placed(
                    per_school.join(SCHOOL, SCHOOL.c.id == per_school.c.school_id), SCHOOL.c.path
                )
            )
            .group_by(UNIT.c.code)
        )
        tally.start(**dict.fromkeys(names, 0))
        for code, *values in rows:
            for name, value in zip(names, values, strict=True):
                tally.add(code, name, int(value or 0))
    if r.school is not None and r.student is not None:
        await _classes(run, r, place, tally, placed)
    if r.teacher is not None:
        t = TEACHER.c
        rows = await run(
            select(UNIT.c.code, func.count())
            .select_from(placed(TEACHER, t.path))
            .where(
                r.teacher.where,
                under_path(t.path, place.path),
                t.status_code == AT_POST,
                t.is_teacher.is_(True),
            )
            .group_by(UNIT.c.code)
        )
        tally.start(teachers=0)
        for code, n in rows:
            tally.add(code, "teachers", int(n))
    if r.building is not None:
        b = BUILDING.c
        dangerous = b.danger_rating_code.in_(DANGEROUS)
        rows = await run(
            select(
                UNIT.c.code,
                func.coalesce(func.sum(b.floor_area), 0),
                func.coalesce(func.sum(case((dangerous, b.floor_area), else_=0)), 0),
            )
            .select_from(placed(BUILDING, b.path))
            .where(r.building.where, under_path(b.path, place.path))
            .group_by(UNIT.c.code)
        )
        tally.start(floor_area=Decimal("0.00"), dangerous_floor_area=Decimal("0.00"))
        for code, area, danger in rows:
            tally.add(code, "floor_area", _money(area))
            tally.add(code, "dangerous_floor_area", _money(danger))
    return Monitoring(list(tally.units.values()), tally.overall)


async def _classes(run: Run, r: Readables, place: Place, tally: _Tally, placed: Any) -> None:
    """Class-size bands, the students taught in C/D buildings (with buildings readable)
    and schools outside the size norm, per unit."""
    assert r.school is not None
    assert r.student is not None
    s, c, b = STUDENT.c, CLASS.c, BUILDING.c
    sizes = (
        select(s.class_id.label("class_id"), func.count().label("size"))
        .where(
            r.student.where,
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
    source = CLASS.outerjoin(sizes, sizes.c.class_id == c.id)
    if r.building is not None:
        # The class's teaching building, if the viewer may read it and it is rated C or D.
        source = source.outerjoin(
            BUILDING,
            and_(b.id == c.building_id, r.building.where, b.danger_rating_code.in_(DANGEROUS)),
        )
        in_danger = func.sum(case((b.id.is_not(None), size), else_=0))
    else:
        in_danger = func.sum(0)
    rows = await run(
        select(UNIT.c.code, band, func.count(), in_danger)
        .select_from(placed(source, c.path))
        .where(r.school.where, under_path(c.path, place.path))
        .group_by(UNIT.c.code, band)
    )
    tally.start(class_sizes=ClassSizes)
    if r.building is not None:
        tally.start(students_in_dangerous=0)
    for code, name, n, danger in rows:
        for f in tally.targets(code):
            assert f.class_sizes is not None
            setattr(f.class_sizes, str(name), getattr(f.class_sizes, str(name)) + int(n))
        if r.building is not None:
            tally.add(code, "students_in_dangerous", int(danger or 0))
    # Schools, and those whose class count lies outside the norm of their type.
    per_school = (
        select(c.school_id.label("school_id"), func.count().label("classes"))
        .where(r.school.where, under_path(c.path, place.path))
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
        .select_from(placed(SCHOOL.outerjoin(per_school, per_school.c.school_id == k.id), k.path))
        .where(r.school.placed_by(k.path), under_path(k.path, place.path))
        .group_by(UNIT.c.code)
    )
    tally.start(schools=0, schools_outside_norm=0)
    for code, n, off in rows:
        tally.add(code, "schools", int(n))
        tally.add(code, "schools_outside_norm", int(off))


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
