"""Stage 7, the dashboards' own tables (演示数据: 调查表、挽回任务、四率目标), after customers, consumption,
traffic and the summary tables exist:

- potential customer surveys 潜在客户调查表 (002 §6.5.1) for every July and December of the history:
  most stations on time, some late, a few of the latest period still missing;
- win-back tasks 挽回任务 for about 60 % of the institutional churn warnings of the last month (some
  already done), so the churn page shows both tasks and warnings without one; and for three in five
  of the institutional customers lost in the last 12 months (one won back, one not, one open, by
  customer id: no random draw, so the stream below is unchanged), so the win-back rate has figures;
- per-station four-rate targets 四率目标 for about a tenth of the stations (the rest use the defaults).

One random stream `[seed, 505]` through the three, in that order.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import Connection, text

from lib import months, vocab
from lib.config import rules as config
from lib.models import FourRateTarget, SpecialSurvey, SurveySubmission, WinBackTask

TASK_NOTES = {"drop": "上门拜访,了解用油量下降原因,商谈优惠方案", "silent": "电话联系客户负责人,确认是否转向竞争对手"}
RATES = ("entry_rate", "fill_up_rate", "return_rate", "pass_through_rate")


def generate(conn: Connection, *, seed: int, first_month: str, end_month: str, as_of: dt.date) -> dict:
    """Write the dashboards' demo rows in the caller's transaction; return their counts."""
    rng = np.random.default_rng([seed, 505])
    surveys = survey_rows(conn, rng, survey_periods(first_month, end_month), as_of)
    if surveys:
        conn.execute(SurveySubmission.__table__.insert(), surveys)
    tasks = win_back_rows(conn, rng, end_month, as_of)
    tasks += lost_win_back_rows(conn, end_month, as_of, {t["customer_id"] for t in tasks})
    if tasks:
        conn.execute(WinBackTask.__table__.insert(), tasks)
    targets = target_rows(conn, rng)
    if targets:
        conn.execute(FourRateTarget.__table__.insert(), targets)
    special = special_rows(conn, seed, end_month, as_of)
    if special:
        conn.execute(SpecialSurvey.__table__.insert(), special)
    return {"survey_submissions": len(surveys), "win_back_tasks": len(tasks), "four_rate_targets": len(targets),
            "special_surveys": len(special)}


def survey_periods(first: str, last: str) -> list[str]:
    """The survey due months (config `development.survey_months`) from `first` to `last`."""
    due = {int(x) for x in config()["development"]["survey_months"]}
    return [p for p in months.month_range(first, last) if int(p[5:7]) in due]


def survey_rows(conn: Connection, rng: np.random.Generator, periods: list[str], as_of: dt.date) -> list[dict]:
    """One survey per station and period; 18 % late, 8 % of the latest period not reported yet."""
    stations = conn.execute(text(
        "SELECT u.id, u.path, u.manager_name, "
        "(SELECT COUNT(*) FROM customer c WHERE c.station_id = s.id AND c.status IN ('potential', 'competitor')) "
        "FROM org_unit u JOIN station s ON s.org_unit_id = u.id WHERE u.level = 'station' ORDER BY u.path")).all()
    rows = []
    for k, period in enumerate(periods):
        end = months.last_day(period)
        latest = k == len(periods) - 1
        for unit_id, path, manager, potential in stations:
            r = rng.random()
            if latest and r < 0.08:
                continue  # not reported (yet): late
            if r < 0.18:  # reported after the due month
                day = end + dt.timedelta(days=int(rng.integers(1, 25)))
            else:
                day = end.replace(day=int(rng.integers(1, end.day + 1)))
            rows.append({"org_unit_id": unit_id, "org_path": path, "period": period, "submitted_on": min(day, as_of),
                         "submitted_by": manager, "note": "",
                         "potential_customers": int(max(0, potential + rng.integers(-3, 6))),
                         "objects": survey_objects(unit_id, period)})
    return rows


def survey_objects(unit_id: int, period: str) -> dict[str, int]:
    """The objects a demo survey counted 调查对象 (002 §6.5.1, 六进): three types, 1–15 each, from a generator
    of their own (the station and period), so the rest of the demo draws the same numbers as before."""
    own = np.random.default_rng([int(unit_id), int(period.replace("-", ""))])
    kinds = own.choice(len(vocab.SURVEY_OBJECTS), size=3, replace=False)
    return {vocab.SURVEY_OBJECTS[int(k)]: int(own.integers(1, 16)) for k in sorted(kinds)}


# key customer special surveys 重点客户专项调查 (002 §6.5.2): one consumer group each, in the season it changes
SPECIAL_TOPICS = (("冬季物流车队用油需求调查", "物流运输企业", ("enterprise", "business_district")),
                  ("开学季接送车辆调查", "学校及教育机构", ("school", "community")),
                  ("农忙季农机用油调查", "乡镇农机合作社", ("town", "agency")))


def special_rows(conn: Connection, seed: int, end_month: str, as_of: dt.date) -> list[dict]:
    """One special survey per district in the month before `end_month`, a topic of SPECIAL_TOPICS each
    (a generator of their own: the rest of the demo draws the same numbers as before)."""
    own = np.random.default_rng([seed, 652])
    month = months.from_index(months.index(end_month) - 1)
    start = dt.date(int(month[:4]), int(month[5:]), 3)
    districts = conn.execute(text("SELECT id, path, manager_name FROM org_unit WHERE level = 'district' "
                                  "ORDER BY path")).all()
    rows = []
    for i, (unit_id, path, manager) in enumerate(districts):
        topic, group, kinds = SPECIAL_TOPICS[i % len(SPECIAL_TOPICS)]
        rows.append({"org_unit_id": unit_id, "org_path": path, "topic": topic, "target_group": group,
                     "objects": {k: int(own.integers(2, 20)) for k in kinds}, "started_on": min(start, as_of),
                     "ended_on": min(start + dt.timedelta(days=int(own.integers(5, 20))), as_of),
                     "customers_found": int(own.integers(1, 12)), "note": "", "recorded_by": manager or "",
                     "recorded_at": dt.datetime.combine(min(start + dt.timedelta(days=21), as_of), dt.time(17))})
    return rows


def win_back_rows(conn: Connection, rng: np.random.Generator, end_month: str, as_of: dt.date) -> list[dict]:
    """Win-back tasks for about 60 % of the institutional churn warnings of `end_month`, 12 % done."""
    from lib.tracking import churn_warnings  # noqa: PLC0415 (lib.tracking imports lib.tiers → lib.summary)

    warnings = churn_warnings(conn, "/", end_month, "institutional")
    managers = dict(conn.execute(text("SELECT id, manager_id FROM customer WHERE kind = 'institutional'")).all())
    paths = dict(conn.execute(text("SELECT id, org_path FROM customer WHERE kind = 'institutional'")).all())
    created = dt.datetime.combine(as_of, dt.time(9, 0)) - dt.timedelta(days=10)
    tasks = []
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
    return tasks


def lost_win_back_rows(conn: Connection, end_month: str, as_of: dt.date, taken: set[int]) -> list[dict]:
    """Win-back tasks (reason lost) for the institutional customers lost in the 12 months up to
    `end_month`: id % 5 == 0 won back 20 days after its lost month began, 1 not won back, 2 open."""
    rows = conn.execute(text("SELECT id, org_path, manager_id, lost_month FROM customer WHERE kind = 'institutional' "
                             "AND lost_month > :start AND lost_month <= :end ORDER BY id"),
                        {"start": months.shift(end_month, -12), "end": end_month}).all()
    tasks = []
    for cid, path, manager, lost in rows:
        pick = cid % 5
        if pick > 2 or cid in taken:
            continue
        day = min(months.first_day(lost) + dt.timedelta(days=20), as_of)
        tasks.append({
            "customer_id": int(cid), "org_path": path, "manager_id": manager, "month": lost, "reason": "lost",
            "due_on": day, "state": ("done", "cancelled", "open")[pick], "note": TASK_NOTES["silent"],
            "outcome": ("客户恢复加油", "客户已转向竞争对手", "")[pick], "created_by": "demo",
            "created_at": dt.datetime.combine(months.first_day(lost), dt.time(9, 0)),
            "done_on": day if pick < 2 else None,
        })
    return tasks


def target_rows(conn: Connection, rng: np.random.Generator) -> list[dict]:
    """Four-rate targets for a tenth of the stations: the default × 0.9, 1.05 or 1.1."""
    defaults = config()["four_rates"]["targets"]
    ids = [r[0] for r in conn.execute(text("SELECT id FROM station ORDER BY id")).all()]
    picked = rng.choice(ids, max(1, len(ids) // 10), replace=False).tolist() if ids else []
    return [{"station_id": int(sid), "rate": rate,
             "target": round(float(defaults[rate]) * float(rng.choice([0.9, 1.05, 1.1])), 3)}
            for sid in picked for rate in RATES]
