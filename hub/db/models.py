"""Import every model so ``Base.metadata`` is complete (for Alembic and table creation)."""

from hub.access.models import AuditEvent, HubUser, RoleAssignment
from hub.assets.models import Asset
from hub.buildings.models import Building
from hub.codes.models import CodeValue, DivisionName
from hub.db.base import Base
from hub.meta import HubMeta
from hub.orgunits.models import OrgLevel, OrgUnit
from hub.quality.models import ProblemMember, ProblemRecord
from hub.schools.models import Class, School
from hub.sources.models import SyncRejection, SyncRun
from hub.students.models import Guardian, StatusChange, Student
from hub.teachers.models import Teacher

__all__ = [
    "Asset",
    "AuditEvent",
    "Base",
    "Building",
    "Class",
    "CodeValue",
    "DivisionName",
    "Guardian",
    "HubMeta",
    "HubUser",
    "OrgLevel",
    "OrgUnit",
    "ProblemMember",
    "ProblemRecord",
    "RoleAssignment",
    "School",
    "StatusChange",
    "Student",
    "SyncRejection",
    "SyncRun",
    "Teacher",
]
