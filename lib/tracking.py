"""Customer tracking and churn 客户跟踪与流失 (002 §6.6; DOMAIN §6, §9).

- Tracking detail 机构客户月度跟踪管理明细 (appendix 6): each institutional customer's volume in the
  month, fuelling visits and cycle 加油周期 (days in the month ÷ visits), and its trend against its own
  3-month average (the three months before) and the same month last year.
- Churn warning 流失预警 (config `[churn]`): a customer on the books whose volume was zero in each of
  the last `silent_months` months after buying in the year before ("silent" 沉默), or whose volume
  this month is below `drop_share` × its 3-month average ("drop" 量降). Each warning carries its
  owner (customer manager 客户经理, else the station manager), last visit and its win-back task.
- Lost customers 流失客户 with reason and competitor (appendix 3).
- Station grades 加油站分级 (DOMAIN §9, 001 Chongqing) from daily sales.

Functions take an engine or a connection (the demo generator calls them inside its transaction).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, text

from lib import auth
from lib.config import rules as config
from lib.db import write
from lib.kpis import change
from lib.months import check as _check_month
from lib.months import days_in as _days
from lib.months import last_day as _month_end
from lib.queries import in_scope, read_df, scope_like, shift_month
from lib.summary import LOOKBACK
from lib.tiers import NotAllowed

# Everyone who works customers may raise or close a win-back task; the read-only viewer may not.
GRADES = ("graded", "regular", "reform")


_df = read_df


_OWNER = """
    JOIN station s ON s.id = c.station_id
    JOIN org_unit su ON su.id = s.org_unit_id
    JOIN org_unit du ON du.id = su.parent_id
    LEFT JOIN customer_manager cm ON cm.id = c.manager_id
"""


_VOLUME_COLS = """cm.customer_id, c.code, c.name, cm.kind, COALESCE(cm.tier_override, cm.computed_tier) AS tier,
                   cm.station_id, s.name AS station, du.name AS district, cm.org_path,
                   COALESCE(cm_.name, su.manager_name) AS owner, c.manager_id,
                   cm.gasoline_t, cm.diesel_t, cm.gasoline_t + cm.diesel_t AS volume_t, cm.visits,
                   cm.prev3_avg_t AS avg3_t, cm.last_year_t, cm.last_fuel_month"""
_VOLUME_FROM = """customer_monthly cm JOIN customer c ON c.id = cm.customer_id
    JOIN station s ON s.id = cm.station_id
    JOIN org_unit su ON su.id = s.org_unit_id
    JOIN org_unit du ON du.id = su.parent_id
    LEFT JOIN customer_manager cm_ ON cm_.id = c.manager_id"""


def _customer_volumes(bind, scope: str, month: str, kind: str | None, where: str = "", **params) -> pd.DataFrame:
    """Customers on the books at the end of `month` with their volume in the month, the mean of the
    3 months before (over the months on the books; None when none) and the same month last year
    (None when not on the books then), from the summary table `customer_monthly` (lib.summary).
    `where` narrows the rows further in SQL (churn warnings)."""
    kind_sql = "AND cm.kind = :kind" if kind else ""
    return _df(
        bind,
        f"""SELECT {_VOLUME_COLS} FROM {_VOLUME_FROM}
            WHERE cm.month = :month AND {in_scope('cm.org_path')} {kind_sql} {where}
            ORDER BY cm.org_path, cm.customer_id""",
        scope=scope_like(scope), month=month, kind=kind, **params,
    )


def _last_visits(bind, scope: str, month: str) -> pd.Series:
    df = _df(bind, f"SELECT customer_id, MAX(done_on) AS last_visit FROM visit WHERE {in_scope('org_path')} "
                   f"AND done_on IS NOT NULL AND done_on <= :end GROUP BY customer_id",
             scope=scope_like(scope), end=_month_end(month))
    return df.set_index("customer_id")["last_visit"]


def tracking_detail(bind, scope: str, month: str) -> pd.DataFrame:
    """Return the institutional customers' monthly tracking detail 机构客户月度跟踪管理明细 (appendix 6).

    Columns: customer_id, code, name, tier, station, district, owner, gasoline_t, diesel_t, volume_t,
    visits, cycle_days (days in the month ÷ visits; None without visits), avg3_t (mean of the three
    months before), vs_avg3, last_year_t (same month last year), vs_last_year, last_visit.
    """
    month = _check_month(month)
    df = _customer_volumes(bind, scope, month, "institutional")
    days = _days(month)
    df["cycle_days"] = [days / v if v else None for v in df["visits"]]
    df["vs_avg3"] = [change(v, a) if a is not None else None for v, a in zip(df["volume_t"], df["avg3_t"])]
    df["vs_last_year"] = [change(v, ly) if ly is not None else None for v, ly in zip(df["volume_t"], df["last_year_t"])]
    df["last_visit"] = df["customer_id"].map(_last_visits(bind, scope, month))
    cols = ["customer_id", "code", "name", "tier", "station", "district", "owner", "gasoline_t", "diesel_t",
            "volume_t", "visits", "cycle_days", "avg3_t", "vs_avg3", "last_year_t", "vs_last_year", "last_visit"]
    return df[cols].reset_index(drop=True)


def tracking_summary(detail: pd.DataFrame, warnings: pd.DataFrame, lost: pd.DataFrame) -> pd.DataFrame:
    """Return the tracking summary 机构客户月度跟踪管理汇总 (appendix 4) per station from the detail rows:
    customers, volume, 3-month average, last year, warnings and lost customers of the month.

    Columns: district, station, customers, volume_t, avg3_t, last_year_t, vs_avg3, vs_last_year,
    warnings, lost.
    """
    g = detail.groupby(["district", "station"], as_index=False).agg(
        customers=("customer_id", "count"), volume_t=("volume_t", "sum"),
        avg3_t=("avg3_t", lambda s: s.fillna(0).sum()), last_year_t=("last_year_t", lambda s: s.fillna(0).sum()))
    w = warnings.groupby("station").size() if len(warnings) else pd.Series(dtype=int)
    lo = lost.groupby("station").size() if len(lost) else pd.Series(dtype=int)
    g["warnings"] = g["station"].map(w).fillna(0).astype(int)
    g["lost"] = g["station"].map(lo).fillna(0).astype(int)
    g["vs_avg3"] = [change(v, a) for v, a in zip(g["volume_t"], g["avg3_t"])]
    g["vs_last_year"] = [change(v, a) for v, a in zip(g["volume_t"], g["last_year_t"])]
    return g[["district", "station", "customers", "volume_t", "avg3_t", "last_year_t", "vs_avg3", "vs_last_year",
              "warnings", "lost"]]


def _warning_where(month: str) -> tuple[str, dict]:
    """The churn warning condition on customer_monthly `cm` for `month` (config `[churn]`), with its
    parameters: silent 沉默 = no fuel in the last n months and the last fuel in the 12 months before
    them, i.e. the last month with fuel (kept per customer and month, lib.summary) lies in
    [month-n-11, month-n]; drop 量降 = this month's volume below drop_share × the 3-month average."""
    p = config()["churn"]
    n = int(p["silent_months"])
    if not 1 <= n <= LOOKBACK - 12:
        raise ValueError(f"config [churn] silent_months must be between 1 and {LOOKBACK - 12}, got {n}")
    return ("((cm.last_fuel_month >= :lo AND cm.last_fuel_month <= :hi) "
            "OR (cm.prev3_avg_t > 0 AND cm.gasoline_t + cm.diesel_t < :share * cm.prev3_avg_t))",
            {"lo": shift_month(month, -n - 11), "hi": shift_month(month, -n), "share": float(p["drop_share"])})


def warnings_by_station(bind, scope: str, month: str, kind: str | None = None) -> pd.Series:
    """Return the number of churn warnings per station name (same rule as `churn_warnings`, counted
    in SQL), most first."""
    month = _check_month(month)
    where, params = _warning_where(month)
    df = _df(bind, f"""SELECT s.name AS station, COUNT(*) AS n FROM customer_monthly cm JOIN station s ON s.id = cm.station_id
                       WHERE cm.month = :month AND {in_scope('cm.org_path')} {"AND cm.kind = :kind" if kind else ""}
                         AND {where}
                       GROUP BY s.name ORDER BY COUNT(*) DESC, s.name""",
             scope=scope_like(scope), month=month, kind=kind, **params)
    return df.set_index("station")["n"].astype(int)


def churn_warnings(bind, scope: str, month: str, kind: str | None = None) -> pd.DataFrame:
    """Return the churn warning list 流失预警 for `month` (thresholds: config `[churn]`).

    "silent": zero volume in each of the last `silent_months` months (this one included) after
    buying in the 12 months before; "drop": volume this month below `drop_share` × the 3-month
    average. Columns: customer_id, code, name, kind, tier, station, owner, reason, volume_t, avg3_t,
    vs_avg3, last_fuel_month, last_visit, task_id, task_state, task_due. Silent first, then the
    biggest drop in tonnes.
    """
    month = _check_month(month)
    where, params = _warning_where(month)
    df = _customer_volumes(bind, scope, month, kind, where="AND " + where, **params)
    lo, hi = params["lo"], params["hi"]
    df["reason"] = ["silent" if isinstance(f, str) and lo <= f <= hi else "drop" for f in df["last_fuel_month"]]
    df["vs_avg3"] = [change(v, a) if a is not None and a == a else None for v, a in zip(df["volume_t"], df["avg3_t"])]
    df["last_visit"] = df["customer_id"].map(_last_visits(bind, scope, month))
    tasks = _df(
        bind,
        f"""SELECT t.customer_id, t.id AS task_id, t.state AS task_state, t.due_on AS task_due
            FROM win_back_task t WHERE {in_scope('t.org_path')} AND t.id IN (
                SELECT MAX(id) FROM win_back_task GROUP BY customer_id)""",
        scope=scope_like(scope),
    ).set_index("customer_id")
    for col in ("task_id", "task_state", "task_due"):
        df[col] = df["customer_id"].map(tasks[col]) if len(tasks) else None
    df["_drop_t"] = (df["avg3_t"].astype(float).fillna(0) - df["volume_t"])
    df["_silent"] = df["reason"] == "silent"
    df = df.sort_values(["_silent", "_drop_t"], ascending=[False, False])
    cols = ["customer_id", "code", "name", "kind", "tier", "station", "owner", "reason", "volume_t", "avg3_t",
            "vs_avg3", "last_fuel_month", "last_visit", "task_id", "task_state", "task_due"]
    return df[cols].reset_index(drop=True)


def lost_customers(bind, scope: str, month: str, months: int = 1, kind: str | None = None) -> pd.DataFrame:
    """Return customers lost 流失 in the `months` months up to `month` with reason and competitor
    (appendix 3 for institutional customers and months=1).

    Columns: customer_id, code, name, kind, tier, station, owner, lost_month, avg_before_t (monthly
    mean of the three months before the loss), lost_reason, competitor. Newest first.
    """
    month = _check_month(month)
    kind_sql = "AND c.kind = :kind" if kind else ""
    df = _df(
        bind,
        f"""SELECT c.id AS customer_id, c.code, c.name, c.kind, COALESCE(c.tier_override, c.computed_tier) AS tier,
                   s.name AS station, COALESCE(cm.name, su.manager_name) AS owner, c.lost_month,
                   c.lost_reason, c.competitor
            FROM customer c {_OWNER}
            WHERE {in_scope('c.org_path')} AND c.lost_month > :start AND c.lost_month <= :month {kind_sql}
            ORDER BY c.lost_month DESC, c.org_path, c.id""",
        scope=scope_like(scope), start=shift_month(month, -months), month=month, kind=kind,
    )
    if df.empty:
        df["avg_before_t"] = []
    else:
        vol = _df(
            bind,
            f"""SELECT m.customer_id, m.month, m.gasoline_t + m.diesel_t AS t FROM monthly_consumption m
                JOIN customer c ON c.id = m.customer_id
                WHERE {in_scope('c.org_path')} AND c.lost_month > :start AND c.lost_month <= :month
                  AND m.month >= :from_m AND m.month < c.lost_month {kind_sql}""",
            scope=scope_like(scope), start=shift_month(month, -months), month=month,
            from_m=shift_month(month, -months - 3), kind=kind,
        )
        lost_at = df.set_index("customer_id")["lost_month"]
        keep = pd.Series([shift_month(lost_at[c], -3) <= mo for c, mo in zip(vol["customer_id"], vol["month"])],
                         index=vol.index, dtype=bool)  # typed: an empty list would select columns, not rows
        vol = vol[keep]
        df["avg_before_t"] = df["customer_id"].map(vol.groupby("customer_id")["t"].sum() / 3).fillna(0.0)
    cols = ["customer_id", "code", "name", "kind", "tier", "station", "owner", "lost_month", "avg_before_t",
            "lost_reason", "competitor"]
    return df[cols]


def station_grades(bind, scope: str) -> pd.DataFrame:
    """Return the stations inside `scope` with daily sales 日销量 (t/day, last 12 months) and grade
    (lib.rules.station_grade: graded ≥ 3 t/day 分级管理, regular, reform ≤ 2 t/day 改革候选) and whether it
    reaches the large-station target 大站培育目标 (≥ 2000 t/year, not a grade).
    Columns: code, name, district, nozzles, daily_sales_t, yearly_t, grade, large_target. Biggest first."""
    df = _df(
        bind,
        f"""SELECT s.code, s.name, du.name AS district, s.nozzles, s.daily_sales_t, s.grade
            FROM station s JOIN org_unit su ON su.id = s.org_unit_id JOIN org_unit du ON du.id = su.parent_id
            WHERE {in_scope('s.org_path')} ORDER BY s.daily_sales_t DESC, s.code""",
        scope=scope_like(scope),
    )
    df.insert(5, "yearly_t", df["daily_sales_t"] * 365)
    df["large_target"] = df["yearly_t"] >= config()["station_grade"]["large_t_per_year"]
    return df


def without_open_task(warnings: pd.DataFrame) -> pd.DataFrame:
    """Return the warnings that have no open win-back task yet (those a task can be raised for)."""
    if warnings.empty:
        return warnings
    return warnings[warnings["task_state"].ne("open")]


def lost_breakdown(lost: pd.DataFrame, unknown: str) -> tuple[pd.Series, pd.Series]:
    """Return lost customers counted by reason 流失原因 and by competitor 流失去向 (`unknown` when none)."""
    return lost["lost_reason"].value_counts(), lost["competitor"].fillna(unknown).value_counts()


def grade_counts(grades: pd.DataFrame) -> pd.Series:
    """Return the number of stations of each grade, in the order of GRADES (zeros included)."""
    return grades["grade"].value_counts().reindex(list(GRADES), fill_value=0)


# --- win-back tasks 挽回任务 -----------------------------------------------------------------------


def create_task(engine: Engine, actor: auth.SessionUser, customer_id: int, month: str, reason: str,
                due_on: dt.date, note: str = "") -> int:
    """Raise a win-back task 挽回任务 for a customer in the actor's scope, assigned to its customer
    manager; audited. One open task per customer. Returns the task id."""
    if not auth.can(actor, "churn.task"):
        raise NotAllowed(f"role {actor.role} may not raise win-back tasks")
    month = _check_month(month)
    if reason not in ("silent", "drop", "lost"):
        raise ValueError(f"reason must be silent, drop or lost, got {reason!r}")
    if not isinstance(due_on, dt.date):
        raise ValueError("a due date is required")
    with write(engine) as conn:
        cust = conn.execute(
            text(f"SELECT id, org_path, manager_id FROM customer WHERE id = :id AND {in_scope('org_path')}"),
            {"id": int(customer_id), "scope": scope_like(actor.scope)},
        ).mappings().first()
        if cust is None:
            raise NotAllowed(f"customer {customer_id} is not in your scope")
        if conn.execute(text("SELECT COUNT(*) FROM win_back_task WHERE customer_id = :c AND state = 'open'"),
                        {"c": cust["id"]}).scalar_one():
            raise ValueError("this customer already has an open win-back task")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        task_id = conn.execute(
            text("INSERT INTO win_back_task (customer_id, org_path, manager_id, month, reason, due_on, state, note, "
                 "outcome, created_by, created_at) VALUES (:c, :p, :m, :mo, :r, :d, 'open', :n, '', :by, :at) "
                 "RETURNING id"),
            {"c": cust["id"], "p": cust["org_path"], "m": cust["manager_id"], "mo": month, "r": reason,
             "d": due_on, "n": note or "", "by": actor.login, "at": now},
        ).scalar_one()
        auth.audit(conn, actor.login, "win_back_task_created", "win_back_task", task_id,
                   after={"customer_id": cust["id"], "reason": reason, "due_on": due_on}, org_path=cust["org_path"])
    return int(task_id)


def close_task(engine: Engine, actor: auth.SessionUser, task_id: int, outcome: str, won_back: bool,
               won_back_on: dt.date | None = None) -> dict:
    """Close a win-back task 关闭挽回任务 with its outcome (002 §6.6.2; 004 Liaoning 流失客户挽回): state
    done = won back 已挽回 (`won_back_on`, the day the customer fuels again, default today, kept in
    done_on), cancelled = not won back; audited. Returns {"state", "still_lost"}: still_lost is True
    when a won-back customer is still marked lost — the task records the win-back, the customer's
    status stays the business of the customer form and import (the page shows a hint)."""
    if not auth.can(actor, "churn.task"):
        raise NotAllowed(f"role {actor.role} may not close win-back tasks")
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValueError("an outcome is required")
    day = (won_back_on or dt.date.today()) if won_back else dt.date.today()
    if not isinstance(day, dt.date) or day > dt.date.today():
        raise ValueError("the won-back date must be a date not in the future")
    with write(engine) as conn:
        task = conn.execute(
            text(f"SELECT t.id, t.state, t.org_path, c.status FROM win_back_task t JOIN customer c ON c.id = t.customer_id "
                 f"WHERE t.id = :id AND {in_scope('t.org_path')}"),
            {"id": int(task_id), "scope": scope_like(actor.scope)},
        ).mappings().first()
        if task is None:
            raise NotAllowed(f"task {task_id} is not in your scope")
        if task["state"] != "open":
            raise ValueError("the task is already closed")
        state = "done" if won_back else "cancelled"
        conn.execute(text("UPDATE win_back_task SET state = :s, outcome = :o, done_on = :d WHERE id = :id"),
                     {"s": state, "o": outcome, "d": day, "id": task["id"]})
        auth.audit(conn, actor.login, "win_back_task_closed", "win_back_task", task["id"], before={"state": "open"},
                   after={"state": state, "outcome": outcome, "done_on": day}, org_path=task["org_path"])
    return {"state": state, "still_lost": bool(won_back and task["status"] == "lost")}


def open_tasks(bind, scope: str, today: dt.date | None = None) -> pd.DataFrame:
    """Return the open win-back tasks 未关闭的挽回任务 inside `scope`, the oldest due first.

    Columns: task_id, customer_id, code, name, customer_status, reason, month, due_on, assignee (the
    customer manager the task was given to, else the station manager), overdue (due before `today`)."""
    df = _df(
        bind,
        f"""SELECT t.id AS task_id, c.id AS customer_id, c.code, c.name, c.status AS customer_status, t.reason,
                   t.month, t.due_on, COALESCE(m.name, su.manager_name) AS assignee
            FROM win_back_task t JOIN customer c ON c.id = t.customer_id
            JOIN station s ON s.id = c.station_id JOIN org_unit su ON su.id = s.org_unit_id
            LEFT JOIN customer_manager m ON m.id = t.manager_id
            WHERE t.state = 'open' AND {in_scope('t.org_path')} ORDER BY t.due_on, t.id""",
        scope=scope_like(scope),
    )
    day = today or dt.date.today()
    df["due_on"] = pd.to_datetime(df["due_on"]).dt.date
    df["overdue"] = [d < day for d in df["due_on"]]
    return df


def win_back_rate(engine: Engine, scope: str, month: str, kind: str | None = None) -> dict:
    """Return the win-back rate 挽回率 {"lost", "won_back", "rate"} of `scope` for `month`.

    lost = the customers whose lost month 流失月份 lies in the 12 months up to `month` (as
    `lost_customers(..., months=12)` lists them, whatever their status now); won back = those of
    them with a win-back task closed as won back (state done) whose won-back date lies between the
    first day of their lost month and the end of `month` — the task is the record of the win-back
    (002 §6.6.2), a later purchase alone is not; rate = won_back ÷ lost, None ("no data") when no
    customer was lost. `kind` narrows to institutional or personal customers (None: all)."""
    month = _check_month(month)
    kind_sql = "AND c.kind = :kind" if kind else ""
    df = _df(
        engine,
        f"""SELECT c.id AS customer_id, c.lost_month, t.done_on
            FROM customer c LEFT JOIN win_back_task t
              ON t.customer_id = c.id AND t.state = 'done' AND t.done_on <= :end
            WHERE {in_scope('c.org_path')} AND c.lost_month > :start AND c.lost_month <= :month {kind_sql}""",
        scope=scope_like(scope), start=shift_month(month, -12), month=month, end=_month_end(month), kind=kind,
    )
    done = pd.to_datetime(df["done_on"]).dt.strftime("%Y-%m").fillna("")  # the won-back month; "" without
    df["won"] = (done != "") & (done >= df["lost_month"].astype(str))
    per = df.groupby("customer_id")["won"].any()
    lost, won = int(len(per)), int(per.sum())
    return {"lost": lost, "won_back": won, "rate": won / lost if lost else None}


def summary(engine: Engine, scope: str, month: str, kind: str | None = "institutional") -> dict:
    """Return the tracking page's key figures for customers of `kind` (None: all): warnings, of which
    without an open win-back task, lost this month (all kinds: the overview's figure), and the
    institutional customers' volume and its change on their 3-month average."""
    return headline(institutional_totals(engine, scope, month), churn_warnings(engine, scope, month, kind),
                    lost_customers(engine, scope, month, 1, kind))


def institutional_totals(engine: Engine, scope: str, month: str) -> dict:
    """Return {customers, stations, volume_t, avg3_t}: the institutional customers on the books in
    `month`, the stations they belong to, their volume and the sum of their 3-month averages
    (counted in SQL on the monthly summary)."""
    month = _check_month(month)
    with engine.connect() as conn:
        n, stations, vol, avg = conn.execute(text(
            f"""SELECT COUNT(*), COUNT(DISTINCT station_id), COALESCE(SUM(gasoline_t + diesel_t), 0),
                       COALESCE(SUM(prev3_avg_t), 0)
                FROM customer_monthly WHERE month = :month AND {in_scope('org_path')} AND kind = 'institutional'"""),
            {"month": month, "scope": scope_like(scope)}).first()
    return {"customers": int(n), "stations": int(stations), "volume_t": float(vol), "avg3_t": float(avg)}


def headline(inst: dict, warnings: pd.DataFrame, lost: pd.DataFrame) -> dict:
    """`summary` from its parts (the page passes its cached tables, so none is read twice)."""
    return {
        "warnings": int(len(warnings)),
        "without_task": int(warnings["task_state"].ne("open").sum()) if len(warnings) else 0,
        "lost": int(len(lost)),
        "institutional": inst["customers"],
        "volume_t": inst["volume_t"],
        "vs_avg3": change(inst["volume_t"], inst["avg3_t"]),
    }
