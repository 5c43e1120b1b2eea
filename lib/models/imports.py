"""Import batches 导入批次 (issue 14): one row per import that wrote, and per row it inserted, updated
or deleted the row's before and after (JSON), so that an admin can revert the whole import
(lib.importer.revert). Created in alembic 0013.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lib.models.base import Base, OrgPath


class ImportBatch(Base):
    """Import batch 导入批次: kind, file, who and where, the counts, and when (and by whom) it was reverted."""

    __tablename__ = "import_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(50))
    org_path: Mapped[str] = mapped_column(OrgPath, index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    rows: Mapped[int] = mapped_column(Integer)
    inserted: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    reverted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reverted_by: Mapped[str | None] = mapped_column(String(50))


class ImportChange(Base):
    """One row changed by an import 导入明细: its table, key (JSON list), before and after (JSON objects;
    NULL before = inserted, NULL after = deleted)."""

    __tablename__ = "import_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    tbl: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(200))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
