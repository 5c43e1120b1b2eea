"""Matters 事项 raised in a grid (000 §3.1): four kinds, each with its route, states and due times.

000 §3.1 "严格依照…难度系数、轻重、缓急程度,做好相应的有效处理":
(1) 常规性 routine — the grid owner (station manager) handles it on site, registers it and files it
    with the line department;
(2) 协助性 assisted — the grid owner takes it to the operations manager 经营负责人, gets the answer and
    returns it to the customer;
(3) 突发性 emergency — reported at once, the city company acts immediately, the grid owner tracks it
    on site;
(4) 审批 approval — the grid owner (station manager) gathers the facts, registers and submits it,
    the operations head 经营处负责人 checks it, the city company's functional department approves it,
    and the province company when it must.

`ROUTES` is that table as data: per kind the steps, each with its acting level and the actions that
lead to the next step. A step can also be escalated 逐级上报 one level up (station → district → city →
province) when the acting level cannot settle it or it waited longer than `step_hours`.
`matter.state` keeps the coarse state (open 待处理 → in_progress 处理中 → closed 已办结); the step,
escalation and outcome live in `matter_flow`; every step is a row of `matter_event` (history).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, text

from lib import vocab
from lib.auth import SessionUser, audit, can, level_of, require
from lib.config import rules
from lib.db import write
from lib.queries import in_scope, read_df, scope_like
from lib.validation import check_text

KINDS = vocab.MATTER_KINDS  # 常规性 协助性 突发性 审批
LEVELS = vocab.ORG_LEVELS
CLOSED = "closed"
STATES = vocab.MATTER_STATES


@dataclass(frozen=True)
class Step:
    """One step of a route: who acts (level) and where each action leads (a step id or CLOSED)."""

    step: str
    level: str
    actions: tuple[tuple[str, str], ...]

    def next(self, action: str) -> str:
        return dict(self.actions)[action]


# 000 §3.1, kind → steps in order. Outcomes: an action ending in "reject" closes as rejected.
ROUTES: dict[str, tuple[Step, ...]] = {
    "routine": (  # (1) 现场处理 → 登记 → 交有关条线备案
        Step("registered", "station", (("handle", "onsite"),)),
        Step("onsite", "station", (("file", CLOSED),)),
    ),
    "assisted": (  # (2) 带回经营负责人 → 取得处理意见 → 反馈给服务管理对象
        Step("registered", "station", (("refer", "referred"),)),
        Step("referred", "district", (("answer", "answered"),)),
        Step("answered", "station", (("reply", CLOSED),)),
    ),
    "emergency": (  # (3) 立即上报 → 地市公司紧急处理 → 网格责任人现场跟踪
        Step("reported", "city", (("act", "tracking"),)),
        Step("tracking", "station", (("close", CLOSED),)),
    ),
    # (4) "网格负责人员(加油站经理),应全面了解和掌握各项信息,经营处负责人做好严格把控、界定和审核,然后,由经营处
    # 负责人员呈报给地市公司的职能科进行审批,之后,由上报省公司的向地市公司进行转呈": the grid owner gathers the
    # facts and submits → 经营处负责人审核 → 地市公司职能科审批 → 省公司(需要时)
    "approval": (
        Step("registered", "station", (("submit", "checking"),)),
        Step("checking", "district", (("check", "city_approval"), ("reject", CLOSED))),
        Step("city_approval", "city", (("approve", CLOSED), ("refer", "province_approval"), ("reject", CLOSED))),
        Step("province_approval", "province", (("approve", CLOSED), ("reject", CLOSED))),
    ),
}
ACTIONS = list(vocab.MATTER_ACTIONS)  # every action of ROUTES plus raise and escalate (tests/test_matters.py)
STEP_IDS = list(vocab.MATTER_STEPS)  # every step of ROUTES plus CLOSED (tests/test_matters.py)


def step_of(kind: str, step: str) -> Step:
    """Return the Step `step` of `kind`'s route; ValueError when there is none."""
    for s in ROUTES.get(kind, ()):
        if s.step == step:
            return s
    raise ValueError(f"step: {kind!r} has no step {step!r}")


def acting_level(kind: str, step: str, escalation: int = 0) -> str | None:
    """Return the level that acts on a matter now: the step's own level raised by its escalations."""
    if step == CLOSED:
        return None
    return LEVELS[min(LEVELS.index(step_of(kind, step).level) + escalation, len(LEVELS) - 1)]


def coarse_state(kind: str, step: str) -> str:
    """open (first step, nothing done yet) / in_progress / closed."""
    if step == CLOSED:
        return CLOSED
    return "open" if ROUTES[kind][0].step == step else "in_progress"


def due_hours(kind: str) -> float:
    """Hours from registration to the due time of a matter of `kind` (config `[matters] due_hours`)."""
    if kind not in KINDS:
        raise ValueError(f"kind: one of {', '.join(KINDS)}, got {kind!r}")
    return float(rules()["matters"]["due_hours"][kind])


def step_hours(kind: str) -> float:
    """Hours one step may wait before it may be escalated (config `[matters] step_hours`)."""
    return float(rules()["matters"]["step_hours"][kind])


def due_at(kind: str, raised_at: dt.datetime) -> dt.datetime:
    return raised_at + dt.timedelta(hours=due_hours(kind))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).replace(microsecond=0)


def now_minute() -> dt.datetime:
    """The current time (UTC, naive, like every stored time) to the minute: a stable cache key."""
    return _now().replace(second=0)


def route_steps(kind: str) -> list[tuple[str, str]]:
    """Return [(step, level), …] of `kind`'s main route, in order (the branches are actions)."""
    return [(s.step, s.level) for s in ROUTES[kind]]


def _level_sql() -> str:
    """SQL expression: index in LEVELS of the acting level of flow f joined to matter m."""
    whens = " ".join(f"WHEN m.kind = '{k}' AND f.step = '{s.step}' THEN {LEVELS.index(s.level)}"
                     for k, steps in ROUTES.items() for s in steps)
    return f"(CASE WHEN (CASE {whens} ELSE 9 END) + f.escalation > 3 THEN 3 ELSE (CASE {whens} ELSE 9 END) + f.escalation END)"


# --- writes --------------------------------------------------------------------------------------


def _check_actor(user: SessionUser) -> None:
    if not can(user, "matters.write"):
        raise ValueError("role: read-only users cannot change matters")


def register(engine: Engine, user: SessionUser, kind: str, title: str, description: str = "", *,
             customer_id: int | None = None, grid_id: int | None = None, now: dt.datetime | None = None) -> int:
    """Register a matter 登记事项 for a customer or a grid inside the user's scope; return its id.

    The first step of the kind's route is waiting; an emergency goes straight to the city company.
    """
    _check_actor(user)
    if kind not in KINDS:
        raise ValueError(f"kind: one of {', '.join(KINDS)}, got {kind!r}")
    title = (title or "").strip()
    if not title:
        raise ValueError("title: required")
    if len(title) > 200:
        raise ValueError("title: at most 200 characters")
    title, description = check_text("title", title, 200), check_text("description", description, None)  # issue 14
    now = now or _now()
    with write(engine) as conn:
        if customer_id is not None:
            row = conn.execute(text(f"SELECT org_path, grid_id FROM customer WHERE id = :c AND {in_scope('org_path')}"),
                               {"c": int(customer_id), "scope": scope_like(user.scope)}).first()
            if row is None:
                raise ValueError("customer: not found in your scope")
            if grid_id is not None:  # a grid named beside the customer must be the customer's station's
                _grid_path(conn, user, grid_id, station_of=row[0])
            path, grid_id = row[0], grid_id or row[1]
        elif grid_id is not None:
            path = _grid_path(conn, user, grid_id)
            path = user.scope if len(user.scope) > len(path) else path  # a customer manager's own segment
        else:
            raise ValueError("customer: give the customer or the grid the matter belongs to")
        first = ROUTES[kind][0]
        mid = conn.execute(text(
            "INSERT INTO matter (kind, title, description, customer_id, grid_id, org_path, state, raised_at, due_at, "
            "closed_at, raised_by) VALUES (:k, :t, :d, :c, :g, :p, 'open', :r, :due, NULL, :by) RETURNING id"),
            {"k": kind, "t": title, "d": description or "", "c": customer_id, "g": grid_id, "p": path, "r": now,
             "due": due_at(kind, now), "by": user.login}).scalar_one()
        conn.execute(text("INSERT INTO matter_flow (matter_id, step, escalation, step_since, outcome) "
                          "VALUES (:m, :s, 0, :now, NULL)"), {"m": mid, "s": first.step, "now": now})
        _event(conn, mid, now, user.login, "raise", "open", description or title)
        audit(conn, user.login, "create", "matter", mid, None,
              {"kind": kind, "title": title, "step": first.step, "customer_id": customer_id}, org_path=path)
    return mid


def _grid_path(conn: Connection, user: SessionUser, grid_id: int, station_of: str | None = None) -> str:
    """The org path of grid `grid_id` (its station's) when it lies in `user`'s scope (a customer
    manager: their station's grids) and, with `station_of` (a customer's org path), at that customer's
    station; else ValueError."""
    path = conn.execute(text("SELECT org_path FROM grid WHERE id = :g"), {"g": int(grid_id)}).scalar()
    if path is None or not (path.startswith(user.scope) or user.scope.startswith(path)):
        raise ValueError("grid: not found in your scope")
    if station_of is not None and not station_of.startswith(path):
        raise ValueError("grid: not the customer's grid")
    return path


def _event(conn: Connection, matter_id: int, at: dt.datetime, actor: str, action: str, state: str, note: str) -> None:
    conn.execute(text("INSERT INTO matter_event (matter_id, at, actor, action, state, note) "
                      "VALUES (:m, :at, :a, :act, :s, :n)"),
                 {"m": matter_id, "at": at, "a": actor, "act": action, "s": state, "n": note or ""})


def _load(conn: Connection, scope: str, matter_id: int) -> dict:
    row = conn.execute(text(
        f"SELECT m.id, m.kind, m.state, m.org_path, m.title, f.step, f.escalation, f.step_since FROM matter m "
        f"JOIN matter_flow f ON f.matter_id = m.id WHERE m.id = :id AND {in_scope('m.org_path')}"),
        {"id": int(matter_id), "scope": scope_like(scope)}).mappings().first()
    if row is None:
        raise ValueError("matter: not found in your scope")
    return dict(row)


def _user_level(user: SessionUser) -> str:
    return level_of(user)


def available_actions(matter: dict, user: SessionUser) -> list[str]:
    """Return the actions `user` may take on `matter` (a row with kind, step, escalation) now."""
    if matter["step"] == CLOSED or not can(user, "matters.write"):
        return []
    if acting_level(matter["kind"], matter["step"], matter["escalation"]) != _user_level(user):
        return []
    acts = [a for a, _ in step_of(matter["kind"], matter["step"]).actions]
    if LEVELS.index(_user_level(user)) < len(LEVELS) - 1:
        acts.append("escalate")
    return acts


def act(engine: Engine, user: SessionUser, matter_id: int, action: str, note: str = "",
        now: dt.datetime | None = None) -> str:
    """Take `action` on a matter as the acting level; return the new step (CLOSED when done).

    "escalate" passes the current step one level up (逐级上报); any other action follows the route.
    ValueError when the matter is outside the user's scope, closed, not waiting on the user's level,
    or the action is not one of the step's.
    """
    _check_actor(user)
    note = check_text("note", note, None)  # no control characters (issue 14)
    now = now or _now()
    with write(engine) as conn:
        m = _load(conn, user.scope, matter_id)
        if m["step"] == CLOSED:
            raise ValueError("matter: already closed")
        level = acting_level(m["kind"], m["step"], m["escalation"])
        if level != _user_level(user):
            raise ValueError(f"matter: waiting on the {level} level, not on you")
        if action == "escalate":
            if level == LEVELS[-1]:
                raise ValueError("action: the province level cannot escalate further")
            new_step, esc = m["step"], m["escalation"] + 1
            conn.execute(text("UPDATE matter_flow SET escalation = :e, step_since = :now WHERE matter_id = :m"),
                         {"e": esc, "now": now, "m": m["id"]})
            _event(conn, m["id"], now, user.login, "escalate", m["state"],
                   note or f"escalated to {LEVELS[LEVELS.index(level) + 1]}")
            audit(conn, user.login, "escalate", "matter", m["id"], {"escalation": m["escalation"]},
                  {"escalation": esc}, org_path=m["org_path"])
            return new_step
        step = step_of(m["kind"], m["step"])
        if action not in dict(step.actions):
            raise ValueError(f"action: {action!r} is not possible at step {m['step']!r}")
        new_step = step.next(action)
        state = coarse_state(m["kind"], new_step)
        outcome = ("rejected" if action == "reject" else "approved" if action == "approve" else "done") \
            if new_step == CLOSED else None
        conn.execute(text("UPDATE matter_flow SET step = :s, escalation = 0, step_since = :now, outcome = :o "
                          "WHERE matter_id = :m"), {"s": new_step, "now": now, "o": outcome, "m": m["id"]})
        conn.execute(text("UPDATE matter SET state = :st, closed_at = :c WHERE id = :m"),
                     {"st": state, "c": now if new_step == CLOSED else None, "m": m["id"]})
        _event(conn, m["id"], now, user.login, action, state, note)
        audit(conn, user.login, action, "matter", m["id"], {"step": m["step"], "state": m["state"]},
              {"step": new_step, "state": state, "outcome": outcome}, org_path=m["org_path"])
    return new_step


def escalate_overdue(engine: Engine, user: SessionUser, now: dt.datetime | None = None) -> int:
    """Escalate every open step inside `user`'s scope that waited longer than its kind's `step_hours`
    one level up (逐级上报), audited as `user`; return how many were escalated. The matters page runs it
    as its user (PermissionError without `matters.escalate_overdue`); a scheduler runs
    `escalate_overdue_job`."""
    require(user, "matters.escalate_overdue")
    now, scope, actor = now or _now(), user.scope, user.login
    n = 0
    with write(engine) as conn:
        rows = conn.execute(text(
            f"SELECT m.id, m.kind, m.state, m.org_path, f.step, f.escalation, f.step_since FROM matter m "
            f"JOIN matter_flow f ON f.matter_id = m.id WHERE f.step <> 'closed' AND {in_scope('m.org_path')}"),
            {"scope": scope_like(scope)}).mappings().all()
        for r in rows:
            level = acting_level(r["kind"], r["step"], r["escalation"])
            since = r["step_since"]
            since = dt.datetime.fromisoformat(since) if isinstance(since, str) else since  # SQLite: text
            if level == LEVELS[-1] or now - since <= dt.timedelta(hours=step_hours(r["kind"])):
                continue
            conn.execute(text("UPDATE matter_flow SET escalation = escalation + 1, step_since = :now "
                              "WHERE matter_id = :m"), {"now": now, "m": r["id"]})
            _event(conn, r["id"], now, actor, "escalate", r["state"],
                   f"overdue at {level}: escalated to {LEVELS[LEVELS.index(level) + 1]}")
            audit(conn, actor, "escalate", "matter", r["id"], {"escalation": r["escalation"]},
                  {"escalation": r["escalation"] + 1}, org_path=r["org_path"])
            n += 1
    return n


def escalate_overdue_job(engine: Engine, now: dt.datetime | None = None) -> int:
    """The scheduled sweep 定时逐级上报: `escalate_overdue` over the whole organisation as the system
    actor (lib.actors, which no page imports); return how many steps were escalated."""
    from lib.actors import system_user

    return escalate_overdue(engine, system_user(engine), now)


# --- reads ---------------------------------------------------------------------------------------

_LIST = """
SELECT m.id, m.kind, m.title, m.state, f.step, f.escalation, {level} AS level_idx, m.raised_at, m.due_at,
       m.closed_at, f.step_since, f.outcome, c.name AS customer, g.name AS grid, m.raised_by, m.org_path
FROM matter m JOIN matter_flow f ON f.matter_id = m.id
LEFT JOIN customer c ON c.id = m.customer_id
LEFT JOIN grid g ON g.id = m.grid_id
WHERE {where}
ORDER BY m.due_at, m.id
LIMIT :lim
"""


def _list(engine: Engine, where: str, params: dict, limit: int = 500) -> pd.DataFrame:
    df = read_df(engine, _LIST.format(level=_level_sql(), where=where), **params, lim=limit)
    df["acting_level"] = [None if s == CLOSED else LEVELS[int(i)] for s, i in zip(df["step"], df["level_idx"])]
    return df.drop(columns="level_idx")


def matters(engine: Engine, scope: str, state: str | None = None, kind: str | None = None,
            limit: int = 500) -> pd.DataFrame:
    """Return matters inside `scope` (optionally of one coarse state and kind), soonest due first.

    Columns: id, kind, title, state, step, escalation, raised_at, due_at, closed_at, step_since,
    outcome, customer, grid, raised_by, org_path, acting_level.
    """
    where = in_scope("m.org_path")
    params: dict = {"scope": scope_like(scope)}
    if state:
        where += " AND m.state = :state"
        params["state"] = state
    if kind:
        where += " AND m.kind = :kind"
        params["kind"] = kind
    return _list(engine, where, params, limit)


def waiting_on(engine: Engine, scope: str, level: str, limit: int = 500) -> pd.DataFrame:
    """Return open matters inside `scope` whose current step waits on `level` (待我处理)."""
    if level not in LEVELS:
        raise ValueError(f"level: one of {', '.join(LEVELS)}")
    return _list(engine, f"{in_scope('m.org_path')} AND f.step <> 'closed' AND {_level_sql()} = :lvl",
                 {"scope": scope_like(scope), "lvl": LEVELS.index(level)}, limit)


def overdue(engine: Engine, scope: str, now: dt.datetime | None = None, level: str | None = None,
            limit: int = 500) -> pd.DataFrame:
    """Return open matters inside `scope` past their due time 超期 (optionally waiting on `level`)."""
    now = now or _now()
    where = f"{in_scope('m.org_path')} AND f.step <> 'closed' AND m.due_at < :now"
    params = {"scope": scope_like(scope), "now": now}
    if level:
        where += f" AND {_level_sql()} = :lvl"
        params["lvl"] = LEVELS.index(level)
    return _list(engine, where, params, limit)


def history(engine: Engine, scope: str, matter_id: int) -> pd.DataFrame:
    """Return a matter's history 处理记录 (at, actor, action, state, note), oldest first; empty if outside scope."""
    return read_df(
        engine,
        f"SELECT e.at, e.actor, e.action, e.state, e.note FROM matter_event e JOIN matter m ON m.id = e.matter_id "
        f"WHERE e.matter_id = :id AND {in_scope('m.org_path')} ORDER BY e.at, e.id",
        id=int(matter_id), scope=scope_like(scope))


def get(engine: Engine, scope: str, matter_id: int) -> dict | None:
    """Return one matter (with step, escalation, acting level) inside `scope`, else None."""
    df = _list(engine, f"{in_scope('m.org_path')} AND m.id = :id", {"scope": scope_like(scope), "id": int(matter_id)})
    return df.iloc[0].to_dict() if len(df) else None


def counts(engine: Engine, scope: str, now: dt.datetime | None = None) -> dict[str, int]:
    """Return open, overdue and closed-this-month matter counts inside `scope`."""
    now = now or _now()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with engine.connect() as conn:
        row = conn.execute(text(
            f"SELECT COALESCE(SUM(CASE WHEN m.state <> 'closed' THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN m.state <> 'closed' AND m.due_at < :now THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN m.closed_at >= :ms THEN 1 ELSE 0 END), 0) "
            f"FROM matter m WHERE {in_scope('m.org_path')}"),
            {"scope": scope_like(scope), "now": now, "ms": month_start}).one()
    return {"open": int(row[0]), "overdue": int(row[1]), "closed_this_month": int(row[2])}
