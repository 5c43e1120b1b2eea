"""Stage 6b, matters 事项 (000 §3.1): matters raised in the grids with their history 处理记录, and each
matter's place on its kind's route (matter_flow, lib.matters.ROUTES).

Matters continue the random stream `[seed, 404]` of lib.demo.work (after the visits).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from lib.demo.common import Ids, frame
from lib.demo.stations import Org
from lib.demo.words import DUE_DAYS, MATTER_TITLES
from lib.matters import CLOSED, ROUTES

MATTER_COLUMNS = ("id", "kind", "title", "description", "customer_id", "grid_id", "org_path", "state",
                  "raised_at", "due_at", "closed_at", "raised_by")
EVENT_COLUMNS = ("matter_id", "at", "actor", "action", "state", "note")


def matter_rows(rng: np.random.Generator, ids: Ids, org: Org, c: dict,
                as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two matters per station on average, 85 % about a customer: (matter rows, matter_event rows)."""
    now = dt.datetime.combine(as_of, dt.time(11, 0))
    st = org.stations
    n_mat = 2 * org.n_stations
    mat_ids = ids.take("matter", n_mat).tolist()
    consumers = np.nonzero(c["status"] == "existing")[0]
    mats, events = [], []
    for j in range(n_mat):
        kind = str(rng.choice(list(DUE_DAYS), p=[0.5, 0.25, 0.1, 0.15]))
        state = str(rng.choice(["open", "in_progress", "closed"], p=[0.2, 0.3, 0.5]))
        ci = int(rng.choice(consumers)) if len(consumers) and rng.random() < 0.85 else None
        s = st[c["sidx"][ci]] if ci is not None else st[int(rng.integers(0, org.n_stations))]
        age_days = rng.uniform(0.2, 20 if state != "closed" else 90)
        raised = (now - dt.timedelta(days=float(age_days))).replace(microsecond=0)
        title = MATTER_TITLES[kind][int(rng.integers(0, len(MATTER_TITLES[kind])))]
        owner = s["manager"]
        raised_by = owner if rng.random() < 0.6 else "客户来电"
        steps, closed = _history(rng, s, kind, state, raised, now)
        mats.append((mat_ids[j], kind, title, f"{title}。网格负责人{owner}已登记。",
                     int(c["id"][ci]) if ci is not None else None, s["grid_id"],
                     c["path"][ci] if ci is not None else s["path"], state, raised,
                     raised + dt.timedelta(days=DUE_DAYS[kind]), closed, raised_by))
        events += [(mat_ids[j], at.replace(microsecond=0), actor, action, st_, note)
                   for at, actor, action, st_, note in steps]
    ev = {k: [r[i] for r in events] for i, k in enumerate(EVENT_COLUMNS)}
    ev["id"] = ids.take("matter_event", len(events))
    return frame({k: [r[i] for r in mats] for i, k in enumerate(MATTER_COLUMNS)}), frame(ev)


def _history(rng: np.random.Generator, s: dict, kind: str, state: str, raised: dt.datetime,
             now: dt.datetime) -> tuple[list[tuple], dt.datetime | None]:
    """The steps (at, actor, action, state, note) of one matter along its kind's route, and when it closed."""
    owner = s["manager"]
    steps = [(raised, owner, "raised", "open", "登记事项")]
    t = raised
    if state in ("in_progress", "closed"):
        t = t + dt.timedelta(hours=float(rng.uniform(0.5, 12)))
        if kind == "routine":
            steps.append((t, owner, "accepted", "in_progress", "网格负责人现场处理"))
        elif kind == "assisted":
            steps.append((t, s["district"]["manager"], "forwarded", "in_progress", "提交经营管理负责人协助处理"))
        elif kind == "emergency":
            steps.append((t, s["district"]["city"]["manager"], "escalated", "in_progress", "立即上报，市公司组织处置"))
        else:  # 000 §3.1(4): the grid owner gathers the facts and submits, the operations head checks
            steps.append((t - dt.timedelta(minutes=30), owner, "submitted", "in_progress", "网格负责人了解掌握信息后呈报经营负责人"))
            steps.append((t, s["district"]["manager"], "reviewed", "in_progress", "经营负责人审核，报市公司职能部门审批"))
    closed = None
    if state == "closed":
        closed = t + dt.timedelta(days=float(DUE_DAYS[kind] * rng.uniform(0.1, 1.3)))
        if closed > now:
            closed = now - dt.timedelta(minutes=5)
        closed = max(closed, t + dt.timedelta(minutes=10)).replace(microsecond=0)
        if kind == "approval":
            steps.append((closed - dt.timedelta(minutes=5), s["district"]["city"]["manager"], "approved",
                          "in_progress", "市公司职能部门审批同意"))
        steps.append((closed, owner, "closed", "closed", "已答复客户，归档"))
    return steps, closed


def flow_rows(conn: Connection) -> pd.DataFrame:
    """Each matter's step on its route from the coarse state the generator wrote (open → first step,
    in progress → second, closed → done or approved), since its last event."""
    rows = conn.execute(text(
        "SELECT m.id, m.kind, m.state, (SELECT MAX(e.at) FROM matter_event e WHERE e.matter_id = m.id) "
        "FROM matter m ORDER BY m.id")).all()
    flows = []
    for mid, kind, state, last_at in rows:
        steps = ROUTES[kind]
        if state == CLOSED:
            step, outcome = CLOSED, "approved" if kind == "approval" else "done"
        else:
            # in progress: an approval has been submitted and checked, it waits on the city (000 §3.1(4))
            later = "city_approval" if kind == "approval" else steps[1].step
            step, outcome = (steps[0].step if state == "open" else later), None
        if isinstance(last_at, str):
            last_at = dt.datetime.fromisoformat(last_at)
        flows.append((mid, step, 0, last_at, outcome))
    return frame({k: [r[i] for r in flows] for i, k in enumerate(("matter_id", "step", "escalation", "step_since",
                                                                  "outcome"))})
