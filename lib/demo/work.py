"""Stage 6, work 日常工作: a few edited development plans 月度开发计划, development cases 客户开发
(002 §6.5.4), visits 维护回访 in five modes (§6.7.1), and the work log 工作日志 of the last week.

One random stream `[seed, 404]` runs through plans → cases → visits → matters (lib.demo.matters), in
that order; the work log has its own stream `[seed, 606]`.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from lib import months
from lib.demo.common import Ids, Period, frame
from lib.demo.stations import Org
from lib.demo.words import VISIT_NOTES
from lib.models import DEV_STAGES

LOG_LINES = ["走访辖区车队客户，了解下月用油计划", "电话回访重点客户 {n} 户，反馈良好", "整理机构客户月度跟踪明细表",
             "现场为客户办理加油卡充值业务", "协调客户开票事宜，已办结", "参加站务例会，通报本周客户开发进度",
             "对流失预警客户进行上门拜访", "向片区经理汇报事项处理进展"]


def columns(rows: list[tuple], names: tuple[str, ...]) -> dict[str, list]:
    """Row tuples → {column: values}."""
    return {k: [r[j] for r in rows] for j, k in enumerate(names)}


def plan_rows(rng: np.random.Generator, ids: Ids, org: Org, period: Period) -> pd.DataFrame:
    """Edited plan rows for next month (the rule-book default applies elsewhere): 3 districts, 5 stations."""
    nxt = months.shift(period.end_month, 1)
    day25 = months.first_day(period.end_month).replace(day=25)
    rows = []
    for d in [org.districts[i] for i in rng.choice(len(org.districts), min(3, len(org.districts)), replace=False)]:
        rows.append((d["id"], d["path"], nxt, "institutional", 2, d["city"]["manager"],
                     dt.datetime.combine(day25, dt.time(16, 30))))
    for s in [org.stations[i] for i in rng.choice(org.n_stations, min(5, org.n_stations), replace=False)]:
        # never below the station-average floor (002 §6.5.3): the defaults elsewhere sit at it
        rows.append((s["unit_id"], s["path"], nxt, "personal_card", int(rng.choice([10, 12, 15])),
                     s["district"]["city"]["manager"], dt.datetime.combine(day25, dt.time(17, 0))))
    cols = columns(rows, ("org_unit_id", "org_path", "month", "kind", "target", "updated_by", "updated_at"))
    cols["id"] = ids.take("development_plan", len(rows))
    return frame(cols)


def case_rows(rng: np.random.Generator, ids: Ids, org: Org, c: dict, period: Period) -> pd.DataFrame:
    """Development cases: prospects at some stage, recent wins (signed), some lost to competitors."""
    as_of, st = period.as_of, org.stations
    rows = []

    def add_case(i, stage, started, stage_on):
        s = st[c["sidx"][i]]
        big = c["inst"][i] and c["value_class"][i] <= 2
        team = f"{s['district']['city']['name']}分公司重点客户开发组(摘牌)" if big else f"{s['name']}开发小组"
        mid = int(c["manager"][i]) or s["managers"][0]["id"]
        if c["inst"][i] and stage in DEV_STAGES[:2]:  # an institution not yet assigned: an open target 待摘牌 (§6.5.4.6)
            mid = None
        rows.append((int(c["id"][i]), c["path"][i], stage, team, mid, started, stage_on))

    potential = np.nonzero(c["status"] == "potential")[0]
    cap = max(20, 12 * org.n_stations)
    for i in rng.permutation(potential)[: min(cap, int(0.3 * len(potential)) + 1)].tolist():
        stage = str(rng.choice(list(DEV_STAGES[:-1]), p=[0.35, 0.27, 0.22, 0.16]))
        started = as_of - dt.timedelta(days=int(rng.integers(5, 150)))
        add_case(i, stage, started, started + dt.timedelta(days=int(rng.integers(0, (as_of - started).days + 1))))
    recent = np.nonzero((c["dev"] >= period.n - 2) & (c["status"] == "existing"))[0]
    for i in rng.permutation(recent)[: min(cap // 4, int(0.15 * len(recent)) + 1)].tolist():
        won = months.first_day(period.month_list[c["dev"][i]]) + dt.timedelta(days=int(rng.integers(0, 28)))
        started = won - dt.timedelta(days=int(rng.integers(10, 90)))
        if not c["inst"][i] or c["agreement"][i]:  # an institution signs only with its agreement (§6.5.4.5)
            add_case(i, "signed", started, won)
    comp = np.nonzero(c["status"] == "competitor")[0]
    for i in rng.permutation(comp)[: min(cap // 4, int(0.1 * len(comp)) + 1)].tolist():
        started = as_of - dt.timedelta(days=int(rng.integers(40, 200)))
        add_case(i, "lost", started, started + dt.timedelta(days=int(rng.integers(20, 40))))
    cols = columns(rows, ("customer_id", "org_path", "stage", "team", "developer_id", "started_on", "stage_on"))
    cols["id"] = ids.take("development", len(rows))
    return frame(cols)


STAGE_NOTES = {"collect": "了解客户用油需求、决策人及目前加油地点", "plan": "制定开发方案：优惠政策与合作方式",
               "assign": "确定开发人员，与决策人对接", "control": "跟踪开发进展，协调价格与开票问题",
               "signed": "签订供油协议，指定专人负责日常业务", "lost": "客户已与竞争对手签订供油协议"}


def stage_log_rows(cases: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The stage log 开发过程记录 of the demo's cases (002 §6.5.4): "collect" on the day each started and,
    when it moved on, its stage on its stage day, each with a note (a lost case's reason); no random draws."""
    rows = []
    for r in cases.itertuples(index=False):
        at = dt.datetime.combine(as_of, dt.time(18, 0))
        rows.append((r.id, DEV_STAGES[0], r.started_on, STAGE_NOTES[DEV_STAGES[0]], "demo", at))
        if r.stage != DEV_STAGES[0]:
            rows.append((r.id, r.stage, r.stage_on, STAGE_NOTES[r.stage], "demo", at))
    return frame(columns(rows, ("case_id", "stage", "stage_on", "note", "actor", "at")))


def visit_rows(rng: np.random.Generator, ids: Ids, org: Org, c: dict, managers: list[dict],
               as_of: dt.date) -> pd.DataFrame:
    """Visits in five modes: 70 % done in the last 3 months, 15 % planned ahead, 15 % overdue."""
    mgr_name = {mg["id"]: mg["name"] for mg in managers}
    existing = np.nonzero((c["status"] == "existing") & (c["manager"] > 0))[0]
    n_vis = min(len(existing), 20 * org.n_stations)
    weight = np.where(c["inst"][existing], 6.0, 1.0)
    who = rng.choice(existing, n_vis, replace=False, p=weight / weight.sum()) if n_vis else np.array([], dtype=int)
    modes = np.array(["onsite", "sms", "phone", "visit", "event"], dtype=object)
    rows = []
    kinds = rng.choice(3, n_vis, p=[0.7, 0.15, 0.15])
    for i, kd in zip(who.tolist(), kinds.tolist()):
        mode = str(modes[rng.choice(5, p=[0.25, 0.15, 0.3, 0.2, 0.1])])
        mid = int(c["manager"][i])
        if kd == 0:
            done = as_of - dt.timedelta(days=int(rng.integers(1, 91)))
            planned = done - dt.timedelta(days=int(rng.integers(0, 4)))
        elif kd == 1:
            planned, done = as_of + dt.timedelta(days=int(rng.integers(1, 22))), None
        else:
            planned, done = as_of - dt.timedelta(days=int(rng.integers(1, 21))), None
        notes = VISIT_NOTES[mode]
        note = notes[int(rng.integers(0, len(notes)))] if done else ""
        rows.append((int(c["id"][i]), c["path"][i], mid, mode, planned, done, note, mgr_name[mid]))
    cols = columns(rows, ("customer_id", "org_path", "manager_id", "mode", "planned_on", "done_on", "note",
                          "created_by"))
    cols["id"] = ids.take("visit", len(rows))
    return frame(cols)


def work_log_rows(conn: Connection, seed: int, as_of: dt.date) -> pd.DataFrame:
    """A work log for the working days of the last week, for about 60 % of the days of each manager."""
    rng = np.random.default_rng([seed, 606])
    managers = conn.execute(text("SELECT id, org_path, name FROM customer_manager ORDER BY id")).all()
    days = [d for d in (as_of - dt.timedelta(days=k) for k in range(1, 8)) if d.weekday() < 5]
    rows = []
    for mid, path, name in managers:
        for d in days:
            if rng.random() < 0.6:
                line = LOG_LINES[int(rng.integers(0, len(LOG_LINES)))].format(n=int(rng.integers(2, 9)))
                rows.append((f"{path}m{mid}/", mid, name, d, line,
                             dt.datetime.combine(d, dt.time(17, int(rng.integers(0, 59))))))
    return frame(columns(rows, ("org_path", "manager_id", "author", "day", "content", "created_at")))
