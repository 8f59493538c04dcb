"""What the planner knows of the store: the table behind each GraphQL type, the filters of
its lists (the resolvers' own condition builders), and every edge between types.

One table per domain name, as in every other layer; an edge not listed here makes the
selection fall back to the resolvers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from hub.access import filters as audit_filters
from hub.access.models import AuditEvent
from hub.assets import filters as asset_filters
from hub.assets.models import Asset
from hub.buildings import filters as building_filters
from hub.buildings.models import Building
from hub.context import Context
from hub.db.base import table_of
from hub.filters import Conditions
from hub.orgunits import filters as org_unit_filters
from hub.orgunits.models import OrgUnit
from hub.schools import filters as school_filters
from hub.schools.models import Class, School
from hub.students import filters as student_filters
from hub.students.models import Guardian, StatusChange, Student
from hub.teachers import filters as teacher_filters
from hub.teachers.models import Teacher
from resolvers import orgunits, schools, students

# A domain's filter conditions: its typed filter (built from the input) to SQL.
ConditionsOf = Callable[[Context, Any], Awaitable[Conditions]]

STUDENT = table_of(Student)
SCHOOL = table_of(School)
CLASS = table_of(Class)
GUARDIAN = table_of(Guardian)
CHANGE = table_of(StatusChange)
TEACHER = table_of(Teacher)
BUILDING = table_of(Building)
ASSET = table_of(Asset)
ORG_UNIT = table_of(OrgUnit)
AUDIT = table_of(AuditEvent)


@dataclass(frozen=True, slots=True)
class Kind:
    """A GraphQL type backed by one table."""

    table: Table
    # The domain's filter conditions of its lists (None: it has no filtered lists).
    conditions: ConditionsOf | None = None
    # The entity name under which a source may be routed (its lists then leave the store).
    routed: str | None = None
    # An append-only log listed newest first rather than by (path, id).
    newest_first: bool = False


KINDS: dict[str, Kind] = {
    "OrgUnit": Kind(ORG_UNIT, org_unit_filters.conditions),
    "School": Kind(SCHOOL, school_filters.conditions),
    "Class": Kind(CLASS),
    "Student": Kind(STUDENT, student_filters.conditions, routed="student"),
    "Guardian": Kind(GUARDIAN),  # carries its student's path (and scope)
    "StatusChange": Kind(CHANGE),
    "Teacher": Kind(TEACHER, teacher_filters.conditions),
    "Building": Kind(BUILDING, building_filters.conditions, routed="building"),
    "Asset": Kind(ASSET, asset_filters.conditions),
    # The audit log: newest first (id descending), nested-style ``k2`` cursors.
    "AuditEvent": Kind(AUDIT, audit_filters.conditions, newest_first=True),
}


@dataclass(frozen=True, slots=True)
class ToOne:
    """An object through a key of the parent row (``school_id`` -> School)."""

    target: str
    key: str


@dataclass(frozen=True, slots=True)
class ToMany:
    """A plain list of every child row pointing at the parent (``student_id``), in ``order``."""

    target: str
    key: str
    order: tuple[str, ...] = ("id",)


@dataclass(frozen=True, slots=True)
class Nested:
    """A nested connection: children by a key of theirs (``school_id``), or, with ``key``
    None, every child anywhere in the parent org unit's subtree (org unit -> schools)."""

    target: str
    key: str | None


@dataclass(frozen=True, slots=True)
class CountOf:
    """The number of visible child rows (a class's size)."""

    target: str
    key: str


@dataclass(frozen=True, slots=True)
class ColumnOf:
    """One column of an object reached through a key (a student's class name)."""

    target: str
    key: str
    column: str


Edge = ToOne | ToMany | Nested | CountOf | ColumnOf

EDGES: dict[tuple[str, str], Edge] = {
    ("OrgUnit", "parent"): ToOne("OrgUnit", "parent_id"),
    ("OrgUnit", "children"): Nested("OrgUnit", "parent_id"),
    ("OrgUnit", "schools"): Nested("School", None),
    ("School", "orgUnit"): ToOne("OrgUnit", "org_unit_id"),
    ("School", "students"): Nested("Student", "school_id"),
    ("School", "teachers"): Nested("Teacher", "school_id"),
    ("School", "buildings"): Nested("Building", "school_id"),
    ("School", "assets"): Nested("Asset", "school_id"),
    ("School", "classes"): ToMany("Class", "school_id", ("grade_code", "number", "id")),
    ("Class", "school"): ToOne("School", "school_id"),
    ("Class", "students"): Nested("Student", "class_id"),
    ("Class", "size"): CountOf("Student", "class_id"),
    ("Class", "building"): ToOne("Building", "building_id"),
    ("Student", "school"): ToOne("School", "school_id"),
    ("Student", "class"): ToOne("Class", "class_id"),
    ("Student", "className"): ColumnOf("Class", "class_id", "name"),
    ("Student", "guardians"): ToMany("Guardian", "student_id", ("position", "id")),
    ("Student", "statusChanges"): ToMany("StatusChange", "student_id"),
    ("StatusChange", "fromSchool"): ToOne("School", "from_school_id"),
    ("StatusChange", "toSchool"): ToOne("School", "to_school_id"),
    ("Teacher", "school"): ToOne("School", "school_id"),
    ("Building", "school"): ToOne("School", "school_id"),
    ("Building", "assets"): Nested("Asset", "building_id"),
    ("Asset", "school"): ToOne("School", "school_id"),
    ("Asset", "building"): ToOne("Building", "building_id"),
}

# Root lists and lookups by a unique key (argument, column, its check).
ROOT_LISTS = {
    "orgUnits": "OrgUnit",
    "schools": "School",
    "students": "Student",
    "teachers": "Teacher",
    "buildings": "Building",
    "assets": "Asset",
    "auditEvents": "AuditEvent",
}
ROOT_LOOKUPS: dict[str, tuple[str, str, str, Callable[[str], str]]] = {
    "orgUnit": ("OrgUnit", "code", "code", orgunits.check_org_unit_code),
    "school": ("School", "code", "code", schools.check_school_code),
    "student": ("Student", "studentNumber", "student_number", students.check_student_number),
}
