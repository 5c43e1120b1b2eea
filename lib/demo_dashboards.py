"""Demo rows for the dashboards' own tables (演示数据: 调查表、挽回任务、四率目标), deterministic per seed.

Called by lib.demo.generate inside its write transaction, after customers, consumption, traffic and
the summary table exist:
- potential customer surveys 潜在客户调查表 (002 §6.5.1) for every July and December of the history:
  most stations on time, some late, a few of the latest period still missing;
- win-back tasks 挽回任务 for about 60 % of the institutional churn warnings of the last month (some
  already done), so the churn page shows both tasks and warnings without one;
- per-station four-rate targets 四率目标 for about a tenth of the stations (the rest use the defaults).
"""
from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
from sqlalchemy import Connection, text

from lib import models_dashboards as md
from lib import models as m
from lib.config import rules as config

TASK_NOTES = {"drop": "上门拜访,了解用油量下降原因,商谈优惠方案", "silent": "电话联系客户负责人,确认是否转向竞争对手"}


def _period_months(first: str, last: str) -> list[str]:
    due = sorted(int(x) for x in config()["development"]["survey_months"])
    out = []
    for y in range(int(first[:4]), int(last[:4]) + 1):
        for mo in due:
            p = f"{y:04d}-{mo:02d}"
            if first <= p <= last:
                out.append(p)
    return out


def generate(conn: Connection, *, seed: int, first_month: str, end_month: str, as_of: dt.date) -> dict:
    """Write the dashboards' demo rows in the caller's transaction; return their counts."""
    from lib.tracking import churn_warnings  # noqa: PLC0415 (lib.tracking imports lib.tiers → lib.summary)

    rng = np.random.default_rng([seed, 505])
    stations = conn.execute(text(
        "SELECT u.id, u.path, u.manager_name, "
        "(SELECT COUNT(*) FROM customer c WHERE c.station_id = s.id AND c.status IN ('potential', 'competitor')) "
        "FROM org_unit u JOIN station s ON s.org_unit_id = u.id WHERE u.level = 'station' ORDER BY u.path")).all()

    # surveys 潜在客户调查表
    periods = _period_months(first_month, end_month)
    rows = []
    for k, period in enumerate(periods):
        y, mo = int(period[:4]), int(period[5:7])
        last_day = calendar.monthrange(y, mo)[1]
        latest = k == len(periods) - 1
        for unit_id, path, manager, potential in stations:
            r = rng.random()
            if latest and r < 0.08:
                continue  # not reported (yet): late
            if r < 0.18:  # reported after the due month
                day = dt.date(y, mo, last_day) + dt.timedelta(days=int(rng.integers(1, 25)))
            else:
                day = dt.date(y, mo, int(rng.integers(1, last_day + 1)))
            day = min(day, as_of)
            rows.append({"org_unit_id": unit_id, "org_path": path, "period": period, "submitted_on": day,
                         "submitted_by": manager, "note": "",
                         "potential_customers": int(max(0, potential + rng.integers(-3, 6)))})
    if rows:
        conn.execute(md.SurveySubmission.__table__.insert(), rows)

    # win-back tasks 挽回任务 for the institutional churn warnings of the last month
    warnings = churn_warnings(conn, "/", end_month, "institutional")
    tasks = []
    managers = dict(conn.execute(text("SELECT id, manager_id FROM customer WHERE kind = 'institutional'")).all())
    paths = dict(conn.execute(text("SELECT id, org_path FROM customer WHERE kind = 'institutional'")).all())
    created = dt.datetime.combine(as_of, dt.time(9, 0)) - dt.timedelta(days=10)
    for cid, reason in zip(warnings["customer_id"].tolist(), warnings["reason"].tolist()):
        r = rng.random()
        if r >= 0.6:
            continue
        done = r < 0.12
        tasks.append({
            "customer_id": int(cid), "org_path": paths[cid], "manager_id": managers.get(cid), "month": end_month,
            "reason": reason, "due_on": as_of + dt.timedelta(days=int(rng.integers(3, 21))),
            "state": "done" if done else "open",
            "note": TASK_NOTES[reason],
            "outcome": "客户恢复加油,签订季度用油计划" if done else "", "created_by": "demo",
            "created_at": created, "done_on": as_of - dt.timedelta(days=1) if done else None,
        })
    if tasks:
        conn.execute(md.WinBackTask.__table__.insert(), tasks)

    # per-station four-rate targets 四率目标 (the others keep the config defaults)
    defaults = config()["four_rates"]["targets"]
    ids = [r[0] for r in conn.execute(text("SELECT id FROM station ORDER BY id")).all()]
    picked = rng.choice(ids, max(1, len(ids) // 10), replace=False).tolist() if ids else []
    targets = []
    for sid in picked:
        for rate in ("entry_rate", "fill_up_rate", "return_rate", "pass_through_rate"):
            targets.append({"station_id": int(sid), "rate": rate,
                            "target": round(float(defaults[rate]) * float(rng.choice([0.9, 1.05, 1.1])), 3)})
    if targets:
        conn.execute(m.FourRateTarget.__table__.insert(), targets)
    return {"survey_submissions": len(rows), "win_back_tasks": len(tasks), "four_rate_targets": len(targets)}
