"""Import every model so ``Base.metadata`` is complete (for Alembic and table creation)."""

from hub.access.models import AuditEvent, HubUser, RoleAssignment
from hub.assets.models import Asset
from hub.buildings.models import Building
from hub.codes.models import CodeValue, DivisionName
from hub.db.base import Base
from hub.meta import HubMeta
from hub.orgunits.models import OrgLevel, OrgUnit
from hub.schools.models import School, SchoolClass
from hub.sources.models import SyncRejection, SyncRun
from hub.students.models import FamilyMember, StatusChange, Student
from hub.teachers.models import Staff

__all__ = [
    "Asset",
    "AuditEvent",
    "Base",
    "Building",
    "CodeValue",
    "DivisionName",
    "FamilyMember",
    "HubMeta",
    "HubUser",
    "OrgLevel",
    "OrgUnit",
    "RoleAssignment",
    "School",
    "SchoolClass",
    "Staff",
    "StatusChange",
    "Student",
    "SyncRejection",
    "SyncRun",
]
