"""Maintenance visits 维护回访 (002 §6.7) and the daily/weekly/monthly rhythm 日跟踪、周通报、月考核 (004 Jilin).

002 §6.7.1: five ways of keeping in touch — on-site 现场维护, SMS 短信, phone 电话, visit 客户拜访 and
customer events 客户联谊; visit plans and records are kept and entered the same day
(当天工作当天完成). A `visit` row with `done_on` empty is a plan 回访计划; with `done_on` it is a record
回访记录.

Due dates 到期: a planned visit is due on its planned day and overdue 逾期 after it. Besides plans,
a customer under scheduled maintenance — institutional customers and every customer whose tier in
force is above station level (personal station-level customers are kept on site when they fuel,
§6.7.1.1) — is due again `[visits] interval_days[tier]` days after its last visit (or at once when
never visited). The numbers are configuration (default, not from a seed).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, Engine, text

from lib import months, vocab
from lib.auth import SessionUser, audit, can
from lib.config import rules
from lib.db import write
from lib.queries import (
    Cond,
    in_scope,
    read_df,
    scheduled,
    scope_like,
    scope_manager_id,
    scoped,
    station_scope,
    tier_in_force,
)
from lib.rules import TIERS
from lib.validation import Checker, Field, ValidationError, check_text, text_frame
from lib.validation import check_fields as check_spec

MODES = vocab.VISIT_MODES  # 现场维护 短信 电话 客户拜访 客户联谊

# A visit's fields 回访字段规则, in the order of the import file; the same checks for the form (plan,
# record) and the import. A visit done says what was done (the note).
FIELDS = (
    Field("customer_code", "客户代码", "ref", required=True, form=False),
    Field("mode", "回访方式", "choice", required=True, options=MODES),
    Field("planned_on", "计划日期", "date"),
    Field("done_on", "完成日期", "date", not_future=True),
    Field("note", "回访内容", max_len=2000),
)


def check_fields(ck: Checker, today: dt.date) -> pd.DataFrame:
    """Check the visit fields of a frame of text cells (a file, or the form as one row); return the
    clean values. Issues go to `ck` with the same codes for form and import."""
    out = check_spec(ck, FIELDS, today)
    df = ck.df
    ck.flag((df["planned_on"] == "") & (df["done_on"] == ""), "planned_on", "date_required")
    ck.flag((df["done_on"] != "") & (df["note"] == ""), "note", "required")
    return out


def validate(today: dt.date, **values) -> None:
    """Check a visit's form values (mode, planned_on, done_on, note) as the import checks a file row;
    ValidationError lists every bad field."""
    ck = Checker(text_frame([values], [f.key for f in FIELDS if f.form]), first_row=0)
    check_fields(ck, today)
    if ck.errors:
        raise ValidationError(ck.errors)


_TIER = tier_in_force("c")
SCHEDULED = scheduled("c").sql  # customers under scheduled maintenance (lib.queries.scheduled)


def interval_days(tier: str) -> int:
    """Days between maintenance visits for a tier (config `[visits] interval_days`)."""
    if tier not in TIERS:
        raise ValueError(f"tier: one of {', '.join(TIERS)}")
    return int(rules()["visits"]["interval_days"][tier])


def next_due(last_done: dt.date | None, tier: str, today: dt.date) -> dt.date:
    """Return the day a scheduled customer is due for its next visit: last visit + interval, or today."""
    return today if last_done is None else last_done + dt.timedelta(days=interval_days(tier))


def _check(user: SessionUser) -> None:
    if not can(user, "visits.write"):
        raise ValidationError.one("role", "read_only")


def _customer(conn: Connection, user: SessionUser, customer_id: int):
    row = conn.execute(text(f"SELECT id, org_path, manager_id FROM customer c WHERE c.id = :id AND "
                            f"{in_scope('c.org_path')}"), {"id": int(customer_id), "scope": scope_like(user.scope)}).first()
    if row is None:
        raise ValueError("customer: not found in your scope")
    return row


def plan(engine: Engine, user: SessionUser, customer_id: int, mode: str, planned_on: dt.date,
         note: str = "") -> int:
    """Plan a visit 回访计划 to a customer inside the user's scope (audited); return its id."""
    _check(user)
    validate(dt.date.today(), mode=mode, planned_on=planned_on, note=note)
    with write(engine) as conn:
        c = _customer(conn, user, customer_id)
        return _insert(conn, user, c, mode, planned_on, None, note)


def record(engine: Engine, user: SessionUser, customer_id: int, mode: str, done_on: dt.date, note: str,
           *, visit_id: int | None = None, today: dt.date | None = None) -> int:
    """Record a visit done 回访记录 (audited): completes plan `visit_id`, or adds a new record; return its id.

    `done_on` cannot lie in the future; the note (what was said, what follows) is required.
    """
    _check(user)
    validate(today or dt.date.today(), mode=mode, done_on=done_on, note=note)
    with write(engine) as conn:
        c = _customer(conn, user, customer_id)
        if visit_id is None:
            return _insert(conn, user, c, mode, None, done_on, note)
        before = conn.execute(text(f"SELECT id, customer_id, mode, planned_on, done_on, note FROM visit v WHERE v.id = :v "
                                   f"AND {in_scope('v.org_path')}"),
                              {"v": int(visit_id), "scope": scope_like(user.scope)}).mappings().first()
        if before is None or before["customer_id"] != c.id:
            raise ValueError("visit: no such plan for this customer in your scope")
        if before["done_on"] is not None:
            raise ValueError("visit: already recorded")
        conn.execute(text("UPDATE visit SET mode = :m, done_on = :d, note = :n WHERE id = :v"),
                     {"m": mode, "d": done_on, "n": note.strip(), "v": int(visit_id)})
        audit(conn, user.login, "update", "visit", visit_id, dict(before),
              {"mode": mode, "done_on": done_on, "note": note.strip()}, org_path=c.org_path)
        return int(visit_id)


def _insert(conn: Connection, user: SessionUser, c, mode: str, planned_on, done_on, note: str) -> int:
    values = {"c": c.id, "p": c.org_path, "m": c.manager_id, "mode": mode, "pl": planned_on, "d": done_on,
              "n": (note or "").strip(), "by": user.login}
    vid = conn.execute(text("INSERT INTO visit (customer_id, org_path, manager_id, mode, planned_on, done_on, note, "
                            "created_by) VALUES (:c, :p, :m, :mode, :pl, :d, :n, :by) RETURNING id"), values).scalar_one()
    audit(conn, user.login, "create", "visit", vid, None,
          {"customer_id": c.id, "mode": mode, "planned_on": planned_on, "done_on": done_on}, org_path=c.org_path)
    return int(vid)


# --- lists ---------------------------------------------------------------------------------------


def planned(engine: Engine, scope: str, today: dt.date, horizon_days: int = 7, limit: int = 1000) -> pd.DataFrame:
    """Return visit plans not yet done inside `scope` up to `horizon_days` ahead, with `overdue` set for
    plans whose day has passed (逾期), oldest first. Columns: id, customer_id, code, customer, mode,
    planned_on, manager_id, owner, overdue, days_late."""
    where = scoped("v.org_path", scope)
    df = read_df(
        engine,
        f"SELECT v.id, v.customer_id, c.code, c.name AS customer, v.mode, v.planned_on, v.manager_id, "
        f"cm.name AS owner FROM visit v JOIN customer c ON c.id = v.customer_id "
        f"LEFT JOIN customer_manager cm ON cm.id = v.manager_id "
        f"WHERE {where.sql} AND v.done_on IS NULL AND v.planned_on <= :until "
        f"ORDER BY v.planned_on, v.id LIMIT :lim",
        **where.params, until=today + dt.timedelta(days=horizon_days), lim=limit)
    df["planned_on"] = pd.to_datetime(df["planned_on"]).dt.date
    df["overdue"] = df["planned_on"] < today
    df["days_late"] = [(today - d).days if late else 0 for d, late in zip(df["planned_on"], df["overdue"])]
    return df


def _visit_due(today: dt.date) -> Cond:
    """Condition "customer c, last visit lv.last_done, is due for a visit by `today`" (its tier's
    interval has passed, or it was never visited); combine with `scheduled()` for the due list."""
    conds, params = [], {}
    for tier in TIERS:
        params[f"cut_{tier}"] = today - dt.timedelta(days=interval_days(tier))
        conds.append(f"({_TIER} = '{tier}' AND lv.last_done <= :cut_{tier})")
    return Cond(f"(lv.last_done IS NULL OR {' OR '.join(conds)})", params)


_LAST = "LEFT JOIN (SELECT customer_id, MAX(done_on) AS last_done FROM visit WHERE done_on IS NOT NULL {extra} " \
        "GROUP BY customer_id) lv ON lv.customer_id = c.id"


def due_customers(engine: Engine, scope: str, today: dt.date, limit: int = 500) -> pd.DataFrame:
    """Return scheduled customers inside `scope` due for a maintenance visit by `today` (到期未回访), longest
    waiting first. Columns: id, code, name, tier, last_done, manager_id, owner, due_on."""
    where = scoped("c.org_path", scope) & scheduled("c") & _visit_due(today)
    df = read_df(
        engine,
        f"SELECT c.id, c.code, c.name, {_TIER} AS tier, lv.last_done, c.manager_id, cm.name AS owner "
        f"FROM customer c {_LAST.format(extra='')} LEFT JOIN customer_manager cm ON cm.id = c.manager_id "
        f"WHERE {where.sql} "
        f"ORDER BY CASE WHEN lv.last_done IS NULL THEN 0 ELSE 1 END, lv.last_done, c.code LIMIT :lim",
        **where.params, lim=limit)
    df["last_done"] = pd.to_datetime(df["last_done"]).dt.date
    df["due_on"] = [next_due(None if pd.isna(d) else d, t, today) for d, t in zip(df["last_done"], df["tier"])]
    return df


def by_owner(engine: Engine, scope: str, today: dt.date) -> pd.DataFrame:
    """Return per owner 责任人 (customer manager; none = the station) the counts of visits planned in the
    next 7 days, plans overdue, and scheduled customers due. Columns: manager_id, owner, planned,
    overdue_plans, due_customers."""
    visits, due = scoped("v.org_path", scope), scoped("c.org_path", scope) & scheduled("c") & _visit_due(today)
    in_station = scoped("m.org_path", station_scope(scope))
    with engine.connect() as conn:
        plans = read_df(
            conn,
            f"SELECT v.manager_id, SUM(CASE WHEN v.planned_on >= :today THEN 1 ELSE 0 END) AS planned, "
            f"SUM(CASE WHEN v.planned_on < :today THEN 1 ELSE 0 END) AS overdue_plans FROM visit v "
            f"WHERE {visits.sql} AND v.done_on IS NULL AND v.planned_on <= :until GROUP BY v.manager_id",
            **visits.params, today=today, until=today + dt.timedelta(days=7))
        due = read_df(
            conn,
            f"SELECT c.manager_id, COUNT(*) AS due_customers FROM customer c {_LAST.format(extra='')} "
            f"WHERE {due.sql} GROUP BY c.manager_id", **due.params)
        names = read_df(conn, f"SELECT id AS manager_id, name AS owner FROM customer_manager m WHERE {in_station.sql}",
                        **in_station.params)
    df = plans.merge(due, on="manager_id", how="outer")
    df = df.merge(names, on="manager_id", how="left")
    for col in ("planned", "overdue_plans", "due_customers"):
        df[col] = df[col].fillna(0).astype(int)
    return df.sort_values(["overdue_plans", "due_customers"], ascending=False).reset_index(drop=True)[
        ["manager_id", "owner", "planned", "overdue_plans", "due_customers"]]


# --- daily log 日跟踪 ------------------------------------------------------------------------------


def add_log(engine: Engine, user: SessionUser, day: dt.date, content: str, manager_id: int | None = None) -> int:
    """Add an entry to the daily work log 工作日志 (003 §4.3), audited; return its id.

    `manager_id`: the customer manager 客户经理 the entry is written for. A customer manager writes
    only their own (none given: theirs); writing for another needs `visits.log_for_others` and a
    manager inside the user's scope. ValueError otherwise."""
    _check(user)
    content = (content or "").strip()
    if not content:
        raise ValueError("content: required")
    if len(content) > 4000:
        raise ValueError("content: at most 4000 characters")
    content = check_text("content", content, 4000)  # no control characters (issue 14)
    own = scope_manager_id(user.scope) if "/m" in user.scope else None
    if own is not None and manager_id is None:
        manager_id = own
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with write(engine) as conn:
        if manager_id is not None and int(manager_id) != own:
            _log_manager(conn, user, int(manager_id))
        lid = conn.execute(text("INSERT INTO work_log (org_path, manager_id, author, day, content, created_at) "
                                "VALUES (:p, :m, :a, :d, :c, :now) RETURNING id"),
                           {"p": user.scope, "m": manager_id, "a": user.login, "d": day, "c": content,
                            "now": now}).scalar_one()
        audit(conn, user.login, "create", "work_log", lid, None, {"day": day, "content": content}, org_path=user.scope)
    return int(lid)


def _log_manager(conn: Connection, user: SessionUser, manager_id: int) -> None:
    """ValueError unless `user` may write the daily log of manager `manager_id` (not their own):
    `visits.log_for_others` and the manager's station inside the user's scope."""
    if not can(user, "visits.log_for_others"):
        raise ValueError("manager: you write only your own daily log")
    path = conn.execute(text("SELECT org_path FROM customer_manager WHERE id = :m"), {"m": manager_id}).scalar()
    if path is None or not can(user, "visits.log_for_others", path):
        raise ValueError("manager: not found in your scope")


def daily_log(engine: Engine, scope: str, day: dt.date) -> pd.DataFrame:
    """Return what happened inside `scope` on `day` (日跟踪): visits done, matter steps and log entries.

    Columns: kind (visit / matter / log), who, customer, what, at.
    """
    params = {"scope": scope_like(scope), "d": day, "d0": dt.datetime.combine(day, dt.time()),
              "d1": dt.datetime.combine(day + dt.timedelta(days=1), dt.time())}
    with engine.connect() as conn:
        v = read_df(
            conn,
            f"SELECT 'visit' AS kind, COALESCE(cm.name, v.created_by) AS who, c.name AS customer, "
            f"v.mode AS what, v.note AS detail FROM visit v JOIN customer c ON c.id = v.customer_id "
            f"LEFT JOIN customer_manager cm ON cm.id = v.manager_id "
            f"WHERE {in_scope('v.org_path')} AND v.done_on = :d ORDER BY v.id", **params)
        m = read_df(
            conn,
            f"SELECT 'matter' AS kind, e.actor AS who, COALESCE(c.name, '') AS customer, e.action AS what, "
            f"m.title || ': ' || e.note AS detail FROM matter_event e JOIN matter m ON m.id = e.matter_id "
            f"LEFT JOIN customer c ON c.id = m.customer_id "
            f"WHERE {in_scope('m.org_path')} AND e.at >= :d0 AND e.at < :d1 ORDER BY e.at", **params)
        lg = read_df(
            conn,
            f"SELECT 'log' AS kind, w.author AS who, '' AS customer, 'log' AS what, w.content AS detail "
            f"FROM work_log w WHERE {in_scope('w.org_path')} AND w.day = :d ORDER BY w.id", **params)
    return pd.concat([x for x in (v, m, lg) if len(x)] or [v], ignore_index=True)


# --- weekly bulletin 周通报 -------------------------------------------------------------------------

BULLETIN_COLUMNS = ("visits_done", "visits_planned", "visits_overdue", "new_customers", "matters_raised",
                    "matters_closed", "matters_overdue")


def week_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """Return (Monday, next Monday) of the week holding `day`."""
    start = day - dt.timedelta(days=day.weekday())
    return start, start + dt.timedelta(days=7)


def weekly_bulletin(engine: Engine, scope: str, week_start: dt.date, by: str = "station") -> pd.DataFrame:
    """Return the weekly bulletin 周通报 for the week starting `week_start` (a Monday), one row per
    station or per district inside `scope`, plus nothing else (the page adds the total).

    visits_done: visits done in the week; visits_planned: plans dated in the week; visits_overdue:
    plans dated before the week's end still not done at its end; new_customers: customers created in
    the week; matters_raised / matters_closed in the week; matters_overdue: open at the week's end and
    past due. Columns: unit_id, unit, and BULLETIN_COLUMNS.
    """
    if by not in ("station", "district"):
        raise ValueError("by: station or district")
    if week_start.weekday() != 0:
        raise ValueError("week_start: a Monday")
    end = week_start + dt.timedelta(days=7)
    t0, t1 = dt.datetime.combine(week_start, dt.time()), dt.datetime.combine(end, dt.time())
    in_stations = scoped("s.org_path", station_scope(scope))
    p = {"scope": scope_like(scope), "w0": week_start, "w1": end, "t0": t0, "t1": t1}
    with engine.connect() as conn:
        stations = read_df(
            conn,
            f"SELECT s.id AS station_id, s.name AS station, d.id AS district_id, d.name AS district "
            f"FROM station s JOIN org_unit u ON u.id = s.org_unit_id JOIN org_unit d ON d.id = u.parent_id "
            f"WHERE {in_stations.sql} ORDER BY s.code", **in_stations.params)
        parts = [
            read_df(
                conn,
                f"SELECT c.station_id, SUM(CASE WHEN v.done_on >= :w0 AND v.done_on < :w1 THEN 1 ELSE 0 END) AS visits_done, "
                f"SUM(CASE WHEN v.planned_on >= :w0 AND v.planned_on < :w1 THEN 1 ELSE 0 END) AS visits_planned, "
                f"SUM(CASE WHEN v.planned_on < :w1 AND (v.done_on IS NULL OR v.done_on >= :w1) THEN 1 ELSE 0 END) "
                f"AS visits_overdue FROM visit v JOIN customer c ON c.id = v.customer_id "
                f"WHERE {in_scope('v.org_path')} GROUP BY c.station_id", **p),
            read_df(
                conn,
                f"SELECT c.station_id, COUNT(*) AS new_customers FROM customer c WHERE {in_scope('c.org_path')} "
                f"AND c.created_at >= :t0 AND c.created_at < :t1 GROUP BY c.station_id", **p),
            read_df(
                conn,
                f"SELECT g.station_id, SUM(CASE WHEN m.raised_at >= :t0 AND m.raised_at < :t1 THEN 1 ELSE 0 END) "
                f"AS matters_raised, SUM(CASE WHEN m.closed_at >= :t0 AND m.closed_at < :t1 THEN 1 ELSE 0 END) "
                f"AS matters_closed, SUM(CASE WHEN m.raised_at < :t1 AND (m.closed_at IS NULL OR m.closed_at >= :t1) "
                f"AND m.due_at < :t1 THEN 1 ELSE 0 END) AS matters_overdue FROM matter m "
                f"JOIN grid g ON g.id = m.grid_id WHERE {in_scope('m.org_path')} GROUP BY g.station_id", **p),
        ]
    df = stations
    for part in parts:
        df = df.merge(part, on="station_id", how="left")
    for col in BULLETIN_COLUMNS:
        df[col] = df[col].fillna(0).astype(int)
    if by == "station":
        return df.rename(columns={"station_id": "unit_id", "station": "unit"})[["unit_id", "unit", *BULLETIN_COLUMNS]]
    out = df.groupby(["district_id", "district"], sort=False)[list(BULLETIN_COLUMNS)].sum().reset_index()
    return out.rename(columns={"district_id": "unit_id", "district": "unit"})


# --- monthly assessment 月考核 -----------------------------------------------------------------------


def monthly_assessment(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return the monthly assessment 月考核 per owner (customer manager) inside `scope` for `month`.

    Components (each 0–1, None when there is nothing to measure):
    plan_done = plans dated in the month done by its end ÷ plans dated in the month;
    coverage = 1 − scheduled customers overdue for a visit at the month's end ÷ scheduled customers;
    matters_on_time = matters of the owner's customers closed in the month by their due time ÷ closed.
    score = 100 × Σ weight × component ÷ Σ weight over the components present (config weights).
    Columns: manager_id, owner, station, plans, plans_done, visits_done, scheduled, overdue_customers,
    matters_closed, matters_on_time_n, plan_done, coverage, matters_on_time, score, rank.
    """
    start, end = months.first_day(month), months.first_day(months.shift(month, 1))
    last_day = end - dt.timedelta(days=1)
    overdue = _visit_due(last_day)
    in_station = scoped("m.org_path", station_scope(scope))
    mine = scoped("c.org_path", scope) & scheduled("c")
    p = {"scope": scope_like(scope), "m0": start, "m1": end,
         "t0": dt.datetime.combine(start, dt.time()), "t1": dt.datetime.combine(end, dt.time())}
    with engine.connect() as conn:
        managers = read_df(
            conn,
            f"SELECT m.id AS manager_id, m.name AS owner, u.name AS station FROM customer_manager m "
            f"JOIN org_unit u ON u.id = m.org_unit_id WHERE {in_station.sql} "
            f"AND m.active = :active ORDER BY m.org_path, m.name", **in_station.params, active=True)
        visits = read_df(
            conn,
            f"SELECT v.manager_id, SUM(CASE WHEN v.planned_on >= :m0 AND v.planned_on < :m1 THEN 1 ELSE 0 END) AS plans, "
            f"SUM(CASE WHEN v.planned_on >= :m0 AND v.planned_on < :m1 AND v.done_on IS NOT NULL AND v.done_on < :m1 "
            f"THEN 1 ELSE 0 END) AS plans_done, "
            f"SUM(CASE WHEN v.done_on >= :m0 AND v.done_on < :m1 THEN 1 ELSE 0 END) AS visits_done "
            f"FROM visit v WHERE {in_scope('v.org_path')} AND v.manager_id IS NOT NULL GROUP BY v.manager_id", **p)
        sched = read_df(
            conn,
            f"SELECT c.manager_id, COUNT(*) AS scheduled, SUM(CASE WHEN {overdue.sql} "
            f"THEN 1 ELSE 0 END) AS overdue_customers FROM customer c "
            f"{_LAST.format(extra='AND done_on < :m1')} WHERE {mine.sql} "
            f"AND c.manager_id IS NOT NULL GROUP BY c.manager_id", **(mine & overdue).params, m1=end)
        mat = read_df(
            conn,
            f"SELECT c.manager_id, COUNT(*) AS matters_closed, "
            f"SUM(CASE WHEN m.closed_at <= m.due_at THEN 1 ELSE 0 END) AS matters_on_time_n FROM matter m "
            f"JOIN customer c ON c.id = m.customer_id WHERE {in_scope('m.org_path')} AND m.closed_at >= :t0 "
            f"AND m.closed_at < :t1 AND c.manager_id IS NOT NULL GROUP BY c.manager_id", **p)
    df = managers
    for part in (visits, sched, mat):
        df = df.merge(part, on="manager_id", how="left")
    counts = ["plans", "plans_done", "visits_done", "scheduled", "overdue_customers", "matters_closed",
              "matters_on_time_n"]
    for col in counts:
        df[col] = df[col].fillna(0).astype(int)
    if "/m" in scope:
        df = df[df["manager_id"] == scope_manager_id(scope)]
    ratio = lambda a, b: [x / y if y else None for x, y in zip(df[a], df[b])]  # noqa: E731
    df["plan_done"] = pd.Series(ratio("plans_done", "plans"), index=df.index, dtype=float)
    df["coverage"] = pd.Series([1 - o / s if s else None for o, s in zip(df["overdue_customers"], df["scheduled"])],
                               index=df.index, dtype=float)
    df["matters_on_time"] = pd.Series(ratio("matters_on_time_n", "matters_closed"), index=df.index, dtype=float)
    w = rules()["visits"]["assessment_weights"]
    scores = []
    for row in df.itertuples():
        parts = [(w[k], getattr(row, k)) for k in ("plan_done", "coverage", "matters_on_time")
                 if getattr(row, k) is not None and not pd.isna(getattr(row, k))]
        scores.append(round(100 * sum(a * b for a, b in parts) / sum(a for a, _ in parts), 1) if parts else None)
    df["score"] = scores
    df["rank"] = df["score"].rank(ascending=False, method="min").astype("Int64")
    return df.sort_values(["rank", "owner"], na_position="last").reset_index(drop=True)
