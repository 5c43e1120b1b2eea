"""Demo data for the daily-work tables (演示数据, issue 6), called by lib.demo.generate.

Gives every demo matter its place on its kind's route (matter_flow, lib.matters.ROUTES) from the
coarse state the generator wrote, and fills a few days of work log 工作日志 per customer manager.
It adds no rows to the generator's own tables (their counts are tested).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import Connection, text

from lib.matters import CLOSED, ROUTES

LOG_LINES = ["走访辖区车队客户，了解下月用油计划", "电话回访重点客户 {n} 户，反馈良好", "整理机构客户月度跟踪明细表",
             "现场为客户办理加油卡充值业务", "协调客户开票事宜，已办结", "参加站务例会，通报本周客户开发进度",
             "对流失预警客户进行上门拜访", "向片区经理汇报事项处理进展"]


def generate_work(conn: Connection, seed: int, as_of: dt.date) -> dict:
    """Write matter_flow for every matter and a work log for the last week; return counts."""
    rng = np.random.default_rng([seed, 606])
    rows = conn.execute(text(
        "SELECT m.id, m.kind, m.state, (SELECT MAX(e.at) FROM matter_event e WHERE e.matter_id = m.id) "
        "FROM matter m ORDER BY m.id")).all()
    flows = []
    for mid, kind, state, last_at in rows:
        steps = ROUTES[kind]
        if state == CLOSED:
            step, outcome = CLOSED, "approved" if kind == "approval" else "done"
        else:
            step, outcome = (steps[0].step if state == "open" else steps[1].step), None
        if isinstance(last_at, str):
            last_at = dt.datetime.fromisoformat(last_at)
        flows.append({"m": mid, "s": step, "e": 0, "since": last_at, "o": outcome})
    if flows:
        conn.execute(text("INSERT INTO matter_flow (matter_id, step, escalation, step_since, outcome) "
                          "VALUES (:m, :s, :e, :since, :o)"), flows)
    managers = conn.execute(text("SELECT id, org_path, name FROM customer_manager ORDER BY id")).all()
    logs = []
    days = [as_of - dt.timedelta(days=k) for k in range(1, 8)]
    days = [d for d in days if d.weekday() < 5]
    for mid, path, name in managers:
        for d in days:
            if rng.random() < 0.6:
                line = LOG_LINES[int(rng.integers(0, len(LOG_LINES)))].format(n=int(rng.integers(2, 9)))
                logs.append({"p": f"{path}m{mid}/", "m": mid, "a": name, "d": d, "c": line,
                             "at": dt.datetime.combine(d, dt.time(17, int(rng.integers(0, 59))))})
    if logs:
        conn.execute(text("INSERT INTO work_log (org_path, manager_id, author, day, content, created_at) "
                          "VALUES (:p, :m, :a, :d, :c, :at)"), logs)
    return {"matter_flows": len(flows), "work_logs": len(logs)}
