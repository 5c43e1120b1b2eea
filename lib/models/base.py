"""The declarative base 模型基类 every table subclasses, its naming convention and shared column types.

Scope: every row that belongs to a part of the organisation carries `org_path`, the
materialised path of its org unit ("/37/3701/370102/370102003/"). A viewer's scope is such a path
and queries filter with `org_path LIKE scope || '%'`, which uses the index on `org_path`.

Months are `YYYY-MM` strings (sortable, portable; lib.months); days are `Date`.
Geometries are GeoJSON text in WGS-84 lon/lat (no PostGIS needed).
"""
from __future__ import annotations

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase

# Index names as the migrations wrote them (`ix_<table>_<column>` for `index=True`). Constraints stay
# unnamed here because the migrations created them unnamed: a `uq_`/`fk_` pattern would make the
# models disagree with every database already migrated. Name new constraints explicitly.
NAMING_CONVENTION = {"ix": "ix_%(column_0_label)s"}

OrgPath = String(200)  # an org path 组织路径 such as "/37/3701/370102/"
Month = String(7)  # a month 月份 "YYYY-MM" (lib.months)


class Base(DeclarativeBase):
    """Base class of every table; `Base.metadata` is what alembic compares the migrations with."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
