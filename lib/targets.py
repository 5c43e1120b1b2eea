"""Targets in bulk 目标批量维护 (issue 13): development targets 开发目标 as a unit × month grid and the
four-rate targets 四率目标 of stations, read for the editors of the plan and four-rates pages and
written by them and by the `targets` / `rate_targets` imports alike.

The editors send the cells a person changed through the import's row checks (lib.importer.people:
one spec for grid and file) and write them in one transaction, each cell audited.
- Development targets (002 §6.5.3): institutional targets belong to districts, personal card targets
  to stations; a unit without a row has the rule book's default (config `[development]`). Any month
  may be set; a target written after its month ended is a back-fill 补录, never flagged late
  (lib.development.plan_status).
- Four-rate targets (FOUR_RATES.md): a fraction per station and rate; "12%" and 0.12 are the same
  target. A station without a row has the default of config `[four_rates.targets]`.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from lib import auth
from lib.config import rules as config
from lib.db import upsert, write
from lib.kpis import FOUR_RATES
from lib.months import check as check_month
from lib.queries import in_scope, read_df, scope_like
from lib.validation import Checker, Issue, ValidationError, text_frame

RATES = tuple(FOUR_RATES)
PLAN_DEFAULTS = {"institutional": "institutional_per_district_month", "personal_card": "personal_card_per_station_month"}
LEVEL_OF = {"institutional": "district", "personal_card": "station"}  # as lib.development.KIND_LEVEL


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def rate_values(ck: Checker, col: str) -> pd.Series:
    """Rate targets as fractions: "12%", "12 %" and 0.12 are 0.12; required, between 0 and 1 (100 %)."""
    raw = ck.df[col]
    empty = raw == ""
    ck.flag(empty, col, "required")
    pct = raw.str.endswith("%")
    num = pd.to_numeric(raw.str.rstrip("%").str.strip().where(~empty, None), errors="coerce").astype(float)
    ck.flag(~empty & (num.isna() | ~np.isfinite(num.fillna(0))), col, "not_number", values=raw)
    value = num.where(~pct, num / 100)
    ck.flag(value.notna() & ((value < 0) | (value > 1)), col, "out_of_range", values=raw, lo="0", hi="1 (100%)")
    return value


# --- development targets 开发目标 -------------------------------------------------------------------


def write_plan_targets(conn: Connection, rows: list[dict], actor: str) -> tuple[int, int]:
    """Upsert checked target rows (org_unit_id, org_path, month, kind, target) in the caller's
    transaction, each audited as the plan page's form does; return (inserted, updated)."""
    now, inserted, updated = _now(), 0, 0
    for r in rows:
        uid = int(r["org_unit_id"])
        before = conn.execute(text("SELECT target FROM development_plan WHERE org_unit_id = :u AND month = :m "
                                   "AND kind = :k"), {"u": uid, "m": r["month"], "k": r["kind"]}).scalar()
        upsert(conn, "development_plan", {"org_unit_id": uid, "org_path": r["org_path"], "month": r["month"],
                                          "kind": r["kind"], "target": int(r["target"]), "updated_by": actor,
                                          "updated_at": now},
               key=("org_unit_id", "month", "kind"), update=("target", "updated_by", "updated_at"))
        auth.audit(conn, actor, "plan_target", "development_plan", f"{uid}/{r['month']}/{r['kind']}",
                   before={"target": before}, after={"target": int(r["target"])}, org_path=r["org_path"])
        inserted, updated = inserted + (before is None), updated + (before is not None)
    return inserted, updated


def target_grid(engine: Engine, scope: str, kind: str, months: list[str]) -> pd.DataFrame:
    """Return the development targets of `kind` inside `scope` as a grid: one row per unit of the
    kind's level (districts institutional, stations personal card), one column per month (the stored
    target, else the default). Columns: code, unit, then the months."""
    months = [check_month(m) for m in months]
    units = read_df(engine, f"SELECT id, code, name AS unit FROM org_unit WHERE {in_scope('path')} AND level = :l "
                            f"ORDER BY path", scope=scope_like(scope), l=LEVEL_OF[kind])
    default = int(config()["development"][PLAN_DEFAULTS[kind]])
    grid = pd.DataFrame(default, index=units["id"], columns=months, dtype=int)
    if len(units) and months:
        rows = read_df(engine, f"SELECT org_unit_id, month, target FROM development_plan WHERE {in_scope('org_path')} "
                               f"AND kind = :k AND month >= :a AND month <= :b",
                       scope=scope_like(scope), k=kind, a=min(months), b=max(months))
        for uid, month, target in rows.itertuples(index=False):
            if uid in grid.index and month in grid.columns:
                grid.loc[uid, month] = int(target)
    grid = grid.reset_index(drop=True)
    grid.insert(0, "unit", units["unit"].to_list())
    grid.insert(0, "code", units["code"].to_list())
    return grid


def _changed_cells(before: pd.DataFrame, after: pd.DataFrame, key: str, value_cols: list[str]) -> list[tuple]:
    """(row key, column, new value) of every cell of `value_cols` that differs between the grids."""
    b, a = before.set_index(key), after.set_index(key)
    cells = []
    for k in a.index.intersection(b.index):
        for c in value_cols:
            new, old = a.at[k, c], b.at[k, c]
            same = (pd.isna(new) and pd.isna(old)) or (not pd.isna(new) and not pd.isna(old) and new == old)
            if not same:
                cells.append((k, c, new.item() if isinstance(new, np.generic) else new))  # plain Python values
    return cells


def _check_and_write(engine: Engine, user: auth.SessionUser, kind: str, frame: pd.DataFrame, labels: list[str],
                     today: dt.date) -> int:
    """Run the import's checks of `kind` on `frame` (text cells) and write it in one transaction;
    ValidationError names each bad cell by `labels[i]` (unit and month/rate)."""
    from lib.importer import check as rowcheck
    from lib.importer import people
    from lib.importer.read import FileError

    with write(engine) as conn:
        ctx = rowcheck.load_context(conn, user.scope, today)
        people.prepare(conn, ctx, kind, user.login)
        try:
            out, ck = people.CHECKS[kind](frame, ctx)
        except FileError as exc:
            raise ValidationError([exc.error]) from None
        if ck.errors:
            raise ValidationError([Issue(0, labels[e.row - ck.first_row], e.code, e.params) for e in ck.errors])
        inserted, updated = people.write(conn, kind, out, ctx, user.login)
    return inserted + updated


def save_target_grid(engine: Engine, user: auth.SessionUser, kind: str, before: pd.DataFrame, after: pd.DataFrame,
                     today: dt.date | None = None) -> int:
    """Save the cells of a target grid (target_grid) a person changed, in one transaction, with the
    `targets` import's checks and rights; return how many were written. ValidationError: nothing."""
    months = [c for c in after.columns if c not in ("code", "unit")]
    cells = _changed_cells(before, after, "code", months)
    if not cells:
        return 0
    frame = text_frame([{"org_code": k, "month": m, "kind": kind, "target": v} for k, m, v in cells],
                       ["org_code", "month", "kind", "target"])
    units = dict(zip(after["code"], after["unit"]))
    return _check_and_write(engine, user, "targets", frame, [f"{units.get(k, k)} {m}" for k, m, _ in cells],
                            today or dt.date.today())


# --- four-rate targets 四率目标 ---------------------------------------------------------------------


def write_rate_targets(conn: Connection, rows: list[dict], actor: str) -> tuple[int, int]:
    """Upsert checked rate-target rows (station_id, org_path, rate, target) in the caller's
    transaction, each audited; return (inserted, updated)."""
    inserted = updated = 0
    for r in rows:
        sid = int(r["station_id"])
        before = conn.execute(text("SELECT target FROM four_rate_target WHERE station_id = :s AND rate = :r"),
                              {"s": sid, "r": r["rate"]}).scalar()
        upsert(conn, "four_rate_target", {"station_id": sid, "rate": r["rate"], "target": float(r["target"])},
               key=("station_id", "rate"))
        auth.audit(conn, actor, "rate_target", "four_rate_target", f"{sid}/{r['rate']}", before={"target": before},
                   after={"target": float(r["target"])}, org_path=r["org_path"])
        inserted, updated = inserted + (before is None), updated + (before is not None)
    return inserted, updated


def rate_grid(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the four-rate targets of the stations inside `scope`: code, station, then one column per
    rate (a fraction: the station's own target, else the default)."""
    stations = read_df(engine, f"SELECT s.id, s.code, s.name AS station FROM station s WHERE {in_scope('s.org_path')} "
                               f"ORDER BY s.org_path", scope=scope_like(scope))
    defaults = config()["four_rates"]["targets"]
    grid = pd.DataFrame({r: float(defaults[r]) for r in RATES}, index=stations["id"])
    rows = read_df(engine, f"SELECT t.station_id, t.rate, t.target FROM four_rate_target t JOIN station s "
                           f"ON s.id = t.station_id WHERE {in_scope('s.org_path')}", scope=scope_like(scope))
    for sid, rate, target in rows.itertuples(index=False):
        if sid in grid.index and rate in grid.columns:
            grid.loc[sid, rate] = float(target)
    grid = grid.reset_index(drop=True)
    grid.insert(0, "station", stations["station"].to_list())
    grid.insert(0, "code", stations["code"].to_list())
    return grid


def save_rate_grid(engine: Engine, user: auth.SessionUser, before: pd.DataFrame, after: pd.DataFrame,
                   today: dt.date | None = None) -> int:
    """Save the rate targets a person changed (rate_grid), in one transaction, with the
    `rate_targets` import's checks and rights; return how many were written."""
    cells = _changed_cells(before, after, "code", list(RATES))
    if not cells:
        return 0
    frame = text_frame([{"station_code": k, "rate": r, "target": "" if pd.isna(v) else v} for k, r, v in cells],
                       ["station_code", "rate", "target"])
    names = dict(zip(after["code"], after["station"]))
    return _check_and_write(engine, user, "rate_targets", frame, [f"{names.get(k, k)} {r}" for k, r, _ in cells],
                            today or dt.date.today())
