"""Import every model so ``Base.metadata`` is complete (for Alembic and table creation)."""

from hub.access.models import AuditEvent, HubUser, RoleAssignment
from hub.assets.models import Asset
from hub.buildings.models import Building
from hub.changes.models import ChangeEvent
from hub.codes.models import CodeValue, DivisionName
from hub.db.base import Base
from hub.exports.models import ExportRequest
from hub.meta import HubMeta
from hub.orgunits.models import OrgLevel, OrgUnit, OrgUnitVersion
from hub.quality.models import ProblemAction, ProblemMember, ProblemRecord
from hub.schools.models import Class, School
from hub.sources.models import SyncRejection, SyncRun
from hub.students.models import ChangeRequest, Guardian, StatusChange, Student, StudentArchive
from hub.teachers.models import Teacher

__all__ = [
    "Asset",
    "AuditEvent",
    "Base",
    "Building",
    "ChangeEvent",
    "ChangeRequest",
    "Class",
    "CodeValue",
    "DivisionName",
    "ExportRequest",
    "Guardian",
    "HubMeta",
    "HubUser",
    "OrgLevel",
    "OrgUnit",
    "OrgUnitVersion",
    "ProblemAction",
    "ProblemMember",
    "ProblemRecord",
    "RoleAssignment",
    "School",
    "StatusChange",
    "Student",
    "StudentArchive",
    "SyncRejection",
    "SyncRun",
    "Teacher",
]
