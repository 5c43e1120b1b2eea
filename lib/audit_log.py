"""Audit log 审计日志 queries for the admin page: who, what, before, after, when (filterable, scoped)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, text

from lib.queries import in_scope, read_df, scope_like

LIMIT = 2000


def choices(engine: Engine, scope: str) -> dict[str, list[str]]:
    """Return the distinct actors, entities and actions in the log inside `scope` (for the filters)."""
    out = {}
    with engine.connect() as conn:
        for key, col in (("actors", "actor"), ("entities", "entity"), ("actions", "action")):
            out[key] = conn.execute(text(f"SELECT DISTINCT {col} FROM audit_log WHERE {in_scope('org_path')} "
                                         f"ORDER BY {col}"), {"scope": scope_like(scope)}).scalars().all()
    return out


def search(engine: Engine, scope: str, actor: str | None = None, entity: str | None = None,
           action: str | None = None, entity_id: str | None = None, start: dt.date | None = None,
           end: dt.date | None = None, limit: int = LIMIT) -> pd.DataFrame:
    """Return audit rows inside `scope` matching the filters, newest first (at most `limit`).

    Columns: at, actor, action, entity, entity_id, before, after (JSON text), org_path.
    `end` is inclusive (the whole day).
    """
    where, params = [in_scope("org_path")], {"scope": scope_like(scope), "lim": int(limit)}
    for col, value in (("actor", actor), ("entity", entity), ("action", action), ("entity_id", entity_id)):
        if value:
            where.append(f"{col} = :{col}")
            params[col] = value
    if start:
        where.append("at >= :start")
        params["start"] = dt.datetime.combine(start, dt.time())
    if end:
        where.append("at < :end")
        params["end"] = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    return read_df(
        engine,
        f"SELECT at, actor, action, entity, entity_id, before, after, org_path FROM audit_log "
        f"WHERE {' AND '.join(where)} ORDER BY at DESC, id DESC LIMIT :lim", **params)
