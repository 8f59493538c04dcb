"""Export requests (数据导出申请): a governed export from request to deleted file."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, BigId
from hub.db.types import Code, PathType


class ExportRequest(Base):
    """One request to take rows out of the hub as a file (数据导出申请): what (an entity, a
    filter, fields), why (purpose), by whom and where (the requester's unit: the reviewers
    are above it), the decision, and the file the job wrote until it expires."""

    __tablename__ = "export_request"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))  # students, teachers, ...
    filter: Mapped[str] = mapped_column(Text)  # JSON of the domain's filter (field names)
    fields: Mapped[str | None] = mapped_column(Text)  # JSON list of field names; NULL: all
    purpose: Mapped[str] = mapped_column(String(200))  # 用途
    format: Mapped[str] = mapped_column(String(4))  # csv, xlsx
    path: Mapped[str] = mapped_column(PathType)  # the requester's unit
    status_code: Mapped[str] = mapped_column(Code(1))  # code set export_status
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(String(500))  # 审批意见
    rows_total: Mapped[int | None] = mapped_column(BigInteger)
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The running job's last sign of life: a job silent for a minute is taken over.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_bytes: Mapped[int | None] = mapped_column(BigInteger)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    downloads: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_export_request_path_id", "path", "id"),
        Index("ix_export_request_requested_by_id", "requested_by", "id"),
        Index("ix_export_request_status_code", "status_code"),
    )
