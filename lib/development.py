"""Customer development 客户开发 (002 §6.5): monthly plans and their completion, the pipeline and its cases.

- Targets 开发目标 (002 §6.5.3): each district ≥ 1 new institutional customer a month, each station ≥ 10
  new personal card customers a month (config `[development]`); a unit's row in `development_plan`
  (the appendix 1 plan 零售客户月度开发计划, compiled on the 25th for the next month) replaces the
  default. Actuals are the customers whose `developed_month` is the month: institutional customers
  with their supply agreement (lib.queries.developed_institution, 002 §6.5.4.5; the ones without are
  shown apart as `inst_no_agreement`), and personal customers paying by fuel card (one definition:
  lib.queries.new_card_customer).
- Completion 完成率 rolls up station → district → city → province as ratios of sums.
- Pipeline 开发漏斗 (002 §6.5.4): development cases by stage; "reached" counts cases at that stage
  or a later one.
- Cases 客户开发项目 (002 §6.5.4) are opened by `open_case`, moved forward (or lost, with its
  reason) by `advance`, and taken as open targets 待摘牌目标 by `take` (§6.5.4.6 摘牌制), each stage
  with its date and note in the stage log `development_stage`; the forms are lib.ui.cases (the plan
  page's pipeline tab, the customer page's development panel), the file the `development` import
  (lib.importer.devcases); one statement of the stage rules, `stage_rule`, serves both. Signing an
  institution needs its supply agreement (§6.5.4.5) and makes the customer existing and developed
  in the month of signing (`sign_customer`).
- Surveys 潜在客户普查 and special surveys (002 §6.5.1–6.5.2) live in lib.surveys; `summary` counts the
  stations late with theirs.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, Row, text

from lib import auth, validation, vocab
from lib.config import rules as config
from lib.db import upsert, write
from lib.kpis import completion
from lib.models import DEV_STAGES
from lib.months import check as _check_month
from lib.months import last_day as _month_end
from lib.queries import (
    developed_institution,
    in_scope,
    new_card_customer,
    read_df,
    scope_like,
    scope_manager_id,
    shift_month,
)
from lib.summary import refresh_customer_monthly, refresh_station_monthly
from lib.surveys import survey_period, survey_status
from lib.tiers import NotAllowed
from lib.validation import ValidationError

KINDS = vocab.PLAN_KINDS
KIND_LEVEL = {"institutional": "district", "personal_card": "station"}  # who a target belongs to
LEVELS = vocab.ORG_LEVELS
MAX_TARGET = 1000


_df = read_df


def plan_due(month: str) -> dt.date:
    """Return the day the plan for `month` is due: the 25th of the month before (002 §6.5.3)."""
    prev = shift_month(_check_month(month), -1)
    return dt.date(int(prev[:4]), int(prev[5:7]), int(config()["development"]["plan_due_day"]))


# --- plan and completion 计划与完成 ----------------------------------------------------------------


def unit_plan(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return one row per station inside `scope` with its targets and actuals for `month`.

    Columns: station_unit_id, station, station_path, district_id, district, district_path, city,
    city_path, card_target, card_edited, card_actual, inst_actual, inst_no_agreement. The district's
    institutional target is in `district_plan` (it belongs to the district, not to a station).
    inst_actual counts institutions developed in `month` with their supply agreement (002 §6.5.4.5,
    lib.queries.developed_institution); inst_no_agreement those developed without one, shown apart
    ("developed without agreement") and never counted.
    """
    month = _check_month(month)
    p = config()["development"]
    return _df(
        engine,
        f"""SELECT su.id AS station_unit_id, su.name AS station, su.path AS station_path,
                   du.id AS district_id, du.name AS district, du.path AS district_path,
                   cu.name AS city, cu.path AS city_path,
                   COALESCE(dp.target, :card_default) AS card_target,
                   CASE WHEN dp.id IS NULL THEN 0 ELSE 1 END AS card_edited,
                   COALESCE(n.card, 0) AS card_actual, COALESCE(n.inst, 0) AS inst_actual,
                   COALESCE(n.inst_all, 0) - COALESCE(n.inst, 0) AS inst_no_agreement
            FROM org_unit su
            JOIN org_unit du ON du.id = su.parent_id
            JOIN org_unit cu ON cu.id = du.parent_id
            LEFT JOIN development_plan dp ON dp.org_unit_id = su.id AND dp.month = :month AND dp.kind = 'personal_card'
            LEFT JOIN (
                SELECT s.org_unit_id,
                       SUM(CASE WHEN {new_card_customer('c').sql} THEN 1 ELSE 0 END) AS card,
                       SUM(CASE WHEN {developed_institution('c').sql} THEN 1 ELSE 0 END) AS inst,
                       SUM(CASE WHEN c.kind = 'institutional' THEN 1 ELSE 0 END) AS inst_all
                FROM customer c JOIN station s ON s.id = c.station_id
                WHERE {in_scope('c.org_path')} AND c.developed_month = :month
                GROUP BY s.org_unit_id
            ) n ON n.org_unit_id = su.id
            WHERE {in_scope('su.path')} AND su.level = 'station'
            ORDER BY su.path""",
        scope=scope_like(scope), month=month, card_default=p["personal_card_per_station_month"],
    )


def district_plan(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return one row per district inside `scope` with its institutional target for `month`.

    Columns: district_id, district, district_path, inst_target, inst_edited, updated_by, updated_at.
    """
    p = config()["development"]
    return _df(
        engine,
        f"""SELECT u.id AS district_id, u.name AS district, u.path AS district_path,
                   COALESCE(dp.target, :default) AS inst_target,
                   CASE WHEN dp.id IS NULL THEN 0 ELSE 1 END AS inst_edited, dp.updated_by, dp.updated_at
            FROM org_unit u
            LEFT JOIN development_plan dp ON dp.org_unit_id = u.id AND dp.month = :month AND dp.kind = 'institutional'
            WHERE {in_scope('u.path')} AND u.level = 'district'
            ORDER BY u.path""",
        scope=scope_like(scope), month=_check_month(month), default=p["institutional_per_district_month"],
    )


def _depth(level: str) -> int:
    return LEVELS[::-1].index(level) + 1


def _prefix(path: str, level: str) -> str:
    parts = [x for x in path.strip("/").split("/") if x]
    return "/" + "/".join(parts[:_depth(level)]) + "/"


ROLLUP_COLUMNS = ["unit_id", "unit", "path", "inst_target", "inst_actual", "inst_completion", "inst_rank",
                  "card_target", "card_actual", "card_completion", "card_rank", "inst_no_agreement"]


def rollup(engine: Engine, scope: str, month: str, level: str) -> pd.DataFrame:
    """Return plan completion 开发计划完成 for `month` per unit at org `level` inside `scope`.

    Targets and actuals are sums over the unit's stations and districts; completion = actual ÷
    target (None without a target). Ranks 排名: 1 = best completion, ties share a rank.
    Columns: unit_id, unit, path, inst_target, inst_actual, inst_completion, inst_rank, card_target,
    card_actual, card_completion, card_rank, inst_no_agreement (institutions developed without their
    supply agreement, not counted: unit_plan). Stations carry no institutional target (NaN).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    stations = unit_plan(engine, scope, month)
    districts = district_plan(engine, scope, month)
    units = _df(engine, f"SELECT id AS unit_id, name AS unit, path FROM org_unit WHERE {in_scope('path')} "
                        f"AND level = :level ORDER BY path", scope=scope_like(scope), level=level)
    if units.empty:
        return pd.DataFrame(columns=ROLLUP_COLUMNS)
    stations["key"] = [_prefix(p, level) for p in stations["station_path"]]
    agg = stations.groupby("key")[["card_target", "card_actual", "inst_actual", "inst_no_agreement"]].sum()
    units = units.join(agg, on="path")
    if level == "station":
        units["inst_target"] = float("nan")
    else:
        districts["key"] = [_prefix(p, level) for p in districts["district_path"]]
        units = units.join(districts.groupby("key")[["inst_target"]].sum(), on="path")
    for col in ("card_target", "card_actual", "inst_actual", "inst_no_agreement"):
        units[col] = units[col].fillna(0).astype(int)
    units["inst_completion"] = [completion(a, t) if t == t else None
                                for a, t in zip(units["inst_actual"], units["inst_target"])]
    units["card_completion"] = [completion(a, t) for a, t in zip(units["card_actual"], units["card_target"])]
    for kind in ("inst", "card"):
        units[f"{kind}_rank"] = units[f"{kind}_completion"].astype(float).rank(ascending=False, method="min")
    return units[ROLLUP_COLUMNS].sort_values(["card_rank", "path"]).reset_index(drop=True)


def totals(engine: Engine, scope: str, month: str) -> dict[str, dict]:
    """Return {kind: {target, actual, completion}} for the whole scope (the page's key figures).

    Equal to lib.queries.plan_completion, computed here from the per-unit rows the tables show; the
    institutional entry also holds `no_agreement`, the institutions developed in `month` without their
    supply agreement (not in `actual`, 002 §6.5.4.5).
    """
    stations = unit_plan(engine, scope, month)
    districts = district_plan(engine, scope, month)
    inst_t, inst_a = int(districts["inst_target"].sum()), int(stations["inst_actual"].sum())
    card_t, card_a = int(stations["card_target"].sum()), int(stations["card_actual"].sum())
    return {
        "institutional": {"target": inst_t, "actual": inst_a, "completion": completion(inst_a, inst_t),
                          "no_agreement": int(stations["inst_no_agreement"].sum())},
        "personal_card": {"target": card_t, "actual": card_a, "completion": completion(card_a, card_t)},
    }


def _unit_in_scope(conn, actor: auth.SessionUser, org_unit_id: int):
    """The org unit `org_unit_id` (id, level, path) if it lies in the actor's scope, else NotAllowed."""
    unit = conn.execute(
        text(f"SELECT id, level, path FROM org_unit WHERE id = :id AND {in_scope('path')}"),
        {"id": int(org_unit_id), "scope": scope_like(actor.scope)},
    ).mappings().first()
    if unit is None:
        raise NotAllowed(f"unit {org_unit_id} is not in your scope")
    return unit


# --- plan floors 计划下限 (002 §6.5.3) -------------------------------------------------------------
# "每个区县月度开发数量不少于1个机构客户;个人卡客户开发计划按加油站数量安排开发计划,站均月度开发个人卡客户数量
# 不少于10个". The plan is the city branch's (所属单位客户开发计划, compiled by it on the 25th, appendix 1), so
# the station average is taken over each city branch's stations, a station without a stored target
# counting at the config default. Districts are not checked on their own: the city branch may give one
# district's stations fewer new card customers and another's more, as long as its average holds
# (a district's own floor is the institutional one). A change that raises an average stored below the
# floor (before the floors existed) is let through; one that lowers it is not. Every way a target is set checks the same:
# set_target, the plan page's grid and the targets import (lib.importer.people.check_targets).


def plan_floors() -> dict[str, int]:
    """The floors of config `[development]`: {"institutional": per district, "personal_card": station average}."""
    p = config()["development"]
    return {"institutional": int(p["institutional_floor_per_district"]),
            "personal_card": int(p["personal_card_floor_station_average"])}


def city_of(path: str) -> str:
    """The path of the city branch 所属单位 a unit's path lies in ("/37/3701/370102/…" → "/37/3701/")."""
    return _prefix(path, "city")


def card_targets(conn, months: list[str] | None = None) -> tuple[pd.DataFrame, dict]:
    """Every station unit (id, path, city) and the stored personal card targets {(station id, month):
    target} (of `months` only when given), what the station-average floor is computed from."""
    stations = pd.read_sql_query(text("SELECT id, path FROM org_unit WHERE level = 'station'"), conn)
    stations["city"] = [city_of(p) for p in stations["path"]]
    rows = conn.execute(text("SELECT org_unit_id, month, target FROM development_plan WHERE kind = 'personal_card'"))
    keep = None if months is None else set(months)
    stored = {(int(u), m): int(t) for u, m, t in rows if keep is None or m in keep}
    return stations, stored


def card_averages_below(stations: pd.DataFrame, stored: dict, changes: dict) -> dict[tuple[str, str], float]:
    """The (city path, month) pairs touched by `changes` {(station id, month): target} that the changes
    put below the floor: the station average of personal card targets (changes over stored over the
    default) is below it and lower than before the changes (002 §6.5.3 站均), with that average. A
    change that raises an average already below the floor (data stored before the floors) is let through."""
    default = int(config()["development"]["personal_card_per_station_month"])
    floor = plan_floors()["personal_card"]
    city_of_id = dict(zip(stations["id"].astype(int), stations["city"]))
    members = stations.groupby("city")["id"].agg(list).to_dict()
    below = {}
    for city, month in {(city_of_id[int(u)], m) for u, m in changes if int(u) in city_of_id}:
        before = [stored.get((int(u), month), default) for u in members[city]]
        after = [changes.get((int(u), month), b) for u, b in zip(members[city], before)]
        if sum(after) < floor * len(after) and sum(after) < sum(before):
            below[(city, month)] = round(sum(after) / len(after), 2)
    return below


def _check_floor(conn, unit, month: str, kind: str, target: int) -> None:
    """ValidationError (column target) when `target` breaks the plan floor of its kind (002 §6.5.3)."""
    floors = plan_floors()
    if kind == "institutional":
        if target < floors["institutional"]:
            raise ValidationError.one("target", "below_floor_institutional", value=target,
                                      floor=floors["institutional"])
        return
    stations, stored = card_targets(conn, [month])
    below = card_averages_below(stations, stored, {(int(unit["id"]), month): target})
    if below:
        (city, _), average = next(iter(below.items()))
        name = conn.execute(text("SELECT name FROM org_unit WHERE path = :p"), {"p": city}).scalar()
        raise ValidationError.one("target", "below_floor_card", value=target, city=name or city, month=month,
                                  average=average, floor=floors["personal_card"])


def set_target(engine: Engine, actor: auth.SessionUser, org_unit_id: int, month: str, kind: str,
               target: int) -> None:
    """Set a unit's development target for `month` (the appendix 1 plan), audited.

    Institutional targets belong to districts, personal card targets to stations. Only roles above
    station level may edit, only for units inside their scope. A target below the plan floors (002
    §6.5.3: a district's institutional target < 1, or its city branch's station average of personal
    card targets < 10, see `plan_floors`) raises ValidationError and writes nothing. Raises
    NotAllowed or ValueError.
    """
    if not auth.can(actor, "plans.edit"):
        raise NotAllowed(f"role {actor.role} may not edit development plans")
    month = _check_month(month)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target <= MAX_TARGET:
        raise ValueError(f"target must be a whole number 0–{MAX_TARGET}, got {target!r}")
    with write(engine) as conn:
        unit = _unit_in_scope(conn, actor, org_unit_id)
        if unit["level"] != KIND_LEVEL[kind]:
            raise ValueError(f"{kind} targets belong to {KIND_LEVEL[kind]} units, not to a {unit['level']}")
        _check_floor(conn, unit, month, kind, target)  # 002 §6.5.3: nothing written below a floor
        before = conn.execute(
            text("SELECT id, target FROM development_plan WHERE org_unit_id = :u AND month = :m AND kind = :k"),
            {"u": unit["id"], "m": month, "k": kind},
        ).first()
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        upsert(conn, "development_plan", {"org_unit_id": unit["id"], "org_path": unit["path"], "month": month,
                                          "kind": kind, "target": target, "updated_by": actor.login, "updated_at": now},
               key=("org_unit_id", "month", "kind"), update=("target", "updated_by", "updated_at"))
        auth.audit(conn, actor.login, "plan_target", "development_plan", f"{unit['id']}/{month}/{kind}",
                   before={"target": before[1] if before else None}, after={"target": target},
                   org_path=unit["path"])


def plan_status(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return the appendix 1 plan rows edited for `month` inside `scope` with whether each came by
    its due date (the 25th of the month before). Columns: unit, plan_kind, target, updated_by,
    updated_at, due_on, late.

    A target written after its month had ended is a back-fill 补录 (the history of a company that
    starts using the app, lib.targets / the targets import), not a plan compiled late: never late.
    """
    df = _df(
        engine,
        f"""SELECT u.name AS unit, dp.kind AS plan_kind, dp.target, dp.updated_by, dp.updated_at
            FROM development_plan dp JOIN org_unit u ON u.id = dp.org_unit_id
            WHERE {in_scope('dp.org_path')} AND dp.month = :month ORDER BY dp.org_path, dp.kind""",
        scope=scope_like(scope), month=_check_month(month),
    )
    due = plan_due(month)
    df["due_on"] = due
    end = _month_end(month)
    df["late"] = [due < pd.Timestamp(x).date() <= end for x in df["updated_at"]]
    return df


# --- pipeline 开发漏斗 (002 §6.5.4) ---------------------------------------------------------------


def pipeline(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return development cases 客户开发 started by the end of `month` by stage (002 §6.5.4), with
    "reached" = cases at this stage or a later one (the funnel). Lost cases are a row of their own.
    Columns: stage, cases, reached."""
    df = _df(
        engine,
        f"SELECT stage, COUNT(*) AS cases FROM development WHERE {in_scope('org_path')} "
        f"AND started_on <= :end GROUP BY stage",
        scope=scope_like(scope), end=_month_end(_check_month(month)),
    )
    counts = dict(zip(df["stage"], df["cases"].astype(int)))
    rows, reached = [], 0
    for stage in reversed(DEV_STAGES):
        reached += counts.get(stage, 0)
        rows.append({"stage": stage, "cases": counts.get(stage, 0), "reached": reached})
    rows.reverse()
    rows.append({"stage": "lost", "cases": counts.get("lost", 0), "reached": None})
    return pd.DataFrame(rows)


# --- development cases 客户开发 (002 §6.5.4) ----------------------------------------------------------
# A case follows the customer from "collect" to "signed" (or "lost"), each stage reached written to its
# stage log `development_stage` with its day and note. The lib functions check rights ("development.edit"),
# scope and the stage rules themselves, so a form, the import and any other caller refuse alike.

CASE_STAGES = (*DEV_STAGES, "lost")  # the stages a case can be moved to (vocab "stage")
CLOSED_STAGES = ("signed", "lost")
TEAM_MAX = 100  # Development.team is String(100)
NOTE_MAX = 500  # a stage note 阶段说明
# from 确定开发人员 (002 §6.5.4.3) on a case has its developer; before it, a case without one is an open
# target 待摘牌目标 (§6.5.4.6 摘牌制) any developer of the unit may take
ASSIGNED = DEV_STAGES[DEV_STAGES.index("assign"):]


def _allowed(actor: auth.SessionUser) -> None:
    """Rights below the UI: ValidationError not_allowed unless `actor` may edit development cases."""
    if not auth.can(actor, "development.edit"):
        raise ValidationError.one("role", "not_allowed", action="development.edit")


def _case_day(day, column: str, not_before: dt.date | None = None) -> dt.date:
    """A case's date: today when None; never in the future, never before `not_before`."""
    day = dt.date.today() if day is None else day
    if isinstance(day, dt.datetime):
        day = day.date()
    if not isinstance(day, dt.date):
        raise ValidationError.one(column, "bad_date", value=str(day))
    if day > dt.date.today():
        raise ValidationError.one(column, "future_date", value=day.isoformat())
    if not_before is not None and day < not_before:
        raise ValidationError.one(column, "stage_date_early", value=day.isoformat(), limit=not_before.isoformat())
    return day


def _as_date(value) -> dt.date:
    """A DATE column's value as a date (SQLite returns text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def clean_note(note) -> str:
    """A stage note 阶段说明 stripped; ValidationError too_long / control_char (lib.validation rules)."""
    note = "" if note is None else str(note).strip()
    if len(note) > NOTE_MAX:
        raise ValidationError.one("note", "too_long", limit=NOTE_MAX)
    if validation.CONTROL.search(note):
        raise ValidationError.one("note", "control_char")
    return note


def default_case_day(month: str) -> dt.date:
    """Return the day a case form proposes: today, or the last day of `month` when the page shows an
    earlier month (a case started later would not be in that month's pipeline)."""
    return min(dt.date.today(), _month_end(_check_month(month)))


def stage_rule(current: str | None, stage: str, *, institutional: bool, agreement: str, developer,
               note: str) -> tuple[str, str] | None:
    """The first stage rule a move of a case from `current` (None: a case written at `stage` from
    the start, as an import row) to `stage` breaks, as (column, catalog code); None when it may move.

    The one statement of the rules, for `advance`/`take` and the development import alike:
    - a signed or lost case is closed; a case moves forward only (stages may be skipped) or is lost;
    - lost 开发失败 needs its reason in the note;
    - an institutional customer 机构客户 signs only with its supply agreement on record (002 §6.5.4.5:
      单位客户开发成功后均须与其签订供油协议); a personal card customer signs without one;
    - from 确定开发人员 on (002 §6.5.4.3) the case has a developer.
    """
    if current in CLOSED_STAGES:
        return "stage", "case_closed"
    if stage != "lost" and current is not None and DEV_STAGES.index(stage) <= DEV_STAGES.index(current):
        return "stage", "stage_backwards"
    if stage == "lost" and not note:
        return "note", "lost_reason_required"
    if stage == "signed" and institutional and not (agreement or "").strip():
        return "stage", "agreement_required"
    if stage in ASSIGNED and developer is None:
        return "developer", "developer_required"
    return None


def log_stage(conn, case_id: int, stage: str, day: dt.date, note: str, actor: str) -> None:
    """Write one stage-log row 开发过程记录 (the stage reached, its day and note) in the caller's transaction."""
    conn.execute(text("INSERT INTO development_stage (case_id, stage, stage_on, note, actor, at) "
                      "VALUES (:c, :s, :d, :n, :a, :at)"),
                 {"c": int(case_id), "s": stage, "d": day, "n": note or "", "a": actor,
                  "at": dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)})


def sign_customer(conn, actor: str, customer_id: int, day: dt.date) -> bool:
    """Signing 签订供油协议 makes the customer an existing customer 存量客户 developed 新开发 in the month
    of `day` (002 §6.5.4.5), which is what plan completion counts, in the caller's transaction: status
    existing, developed_month, loyalty floating, a lost customer's lost month cleared; audited; the
    summaries refreshed. A customer already existing stays as it is (not newly developed); returns
    whether the customer changed."""
    row = conn.execute(text("SELECT status, developed_month, lost_month, loyalty, station_id, org_path "
                            "FROM customer WHERE id = :id"), {"id": int(customer_id)}).mappings().one()
    if row["status"] == "existing":
        return False
    after = {"status": "existing", "developed_month": day.strftime("%Y-%m"), "lost_month": None,
             "loyalty": "floating" if row["loyalty"] in (None, "potential", "lost") else row["loyalty"]}
    conn.execute(text("UPDATE customer SET status = :status, developed_month = :developed_month, "
                      "lost_month = :lost_month, lost_reason = NULL, loyalty = :loyalty WHERE id = :id"),
                 after | {"id": int(customer_id)})
    auth.audit(conn, actor, "case_signed", "customer", int(customer_id),
               {k: row[k] for k in after}, after, org_path=row["org_path"])
    refresh_customer_monthly(conn, [int(customer_id)])  # on the books from its developed month (lib.summary)
    refresh_station_monthly(conn, station_ids=[int(row["station_id"])])
    return True


def _developer(conn, actor: auth.SessionUser, developer_id) -> int | None:
    """The developer 开发人员: an active customer manager inside the actor's scope (a customer manager:
    themselves), else unknown_developer."""
    if developer_id is None:
        return None
    dev_path = conn.execute(text("SELECT org_path FROM customer_manager WHERE id = :m AND active = :t"),
                            {"m": int(developer_id), "t": True}).scalar()
    own = scope_manager_id(actor.scope) == int(developer_id)
    if dev_path is None or not (dev_path.startswith(actor.scope) or own):
        raise ValidationError.one("developer", "unknown_developer", value=developer_id)
    return int(developer_id)


def _customer(conn, actor: auth.SessionUser, customer_id) -> Row:
    """The customer row (id, code, org_path) a case is opened for, inside the actor's scope, locked."""
    if customer_id is None or isinstance(customer_id, bool) or str(customer_id).strip() == "":
        raise ValidationError.one("customer", "required")
    try:
        cid = int(customer_id)
    except (TypeError, ValueError):
        raise ValidationError.one("customer", "unknown_customer", value=str(customer_id)) from None
    cust = conn.execute(text("SELECT id, code, org_path FROM customer WHERE id = :c"), {"c": cid}).first()
    if cust is None:
        raise ValidationError.one("customer", "unknown_customer", value=str(customer_id))
    if not cust.org_path.startswith(actor.scope):
        raise ValidationError.one("customer", "outside_scope", value=cust.code)
    # Lock the customer's row (PostgreSQL; SQLite's write lock is already held), so two forms opening a
    # case for one customer at once cannot both pass the open-case check.
    conn.execute(text("UPDATE customer SET name = name WHERE id = :id"), {"id": cust.id})
    return cust


def open_case(engine: Engine, actor: auth.SessionUser, customer_id: int, *, developer_id: int | None = None,
              team: str = "", started_on: dt.date | None = None, note: str = "") -> int:
    """Open a development case 客户开发 for the customer `customer_id` at the first stage, collect
    information 收集基本情况 (002 §6.5.4.1), logged with its day and note and audited; return the case id.

    `team`: the development team 开发小组 (key accounts: 摘牌制, a team led by the branch head, §6.5.4.6);
    `developer_id`: the customer manager 客户经理 developing it (inside the actor's scope); without one
    the case is an open target 待摘牌目标 (`open_targets`, `take`); `started_on`: default today, not in
    the future. A customer has at most one open case (one not signed or lost). ValidationError
    (catalog codes) when the actor may not edit cases, the customer is unknown or outside the actor's
    scope, already has an open case, or a field is wrong.
    """
    _allowed(actor)
    team = (team or "").strip()
    if len(team) > TEAM_MAX:
        raise ValidationError.one("team", "too_long", limit=TEAM_MAX)
    note, day = clean_note(note), _case_day(started_on, "started_on")
    with write(engine) as conn:
        cust = _customer(conn, actor, customer_id)
        open_id = conn.execute(text("SELECT id FROM development WHERE customer_id = :c "
                                    "AND stage NOT IN ('signed', 'lost') ORDER BY id LIMIT 1"), {"c": cust.id}).scalar()
        if open_id is not None:
            raise ValidationError.one("customer", "case_open", value=cust.code, case=open_id)
        row = {"customer_id": cust.id, "org_path": cust.org_path, "stage": DEV_STAGES[0], "team": team,
               "developer_id": _developer(conn, actor, developer_id), "started_on": day, "stage_on": day}
        case_id = conn.execute(text(
            "INSERT INTO development (customer_id, org_path, stage, team, developer_id, started_on, stage_on) "
            "VALUES (:customer_id, :org_path, :stage, :team, :developer_id, :started_on, :stage_on) RETURNING id"),
            row).scalar_one()
        log_stage(conn, case_id, row["stage"], day, note, actor.login)
        auth.audit(conn, actor.login, "case_open", "development", case_id, None,
                   {"customer": cust.code, "stage": row["stage"], "team": team, "developer_id": row["developer_id"],
                    "started_on": day.isoformat(), "note": note}, org_path=cust.org_path)
    return int(case_id)


def advance(engine: Engine, actor: auth.SessionUser, case_id: int, stage: str, *, note: str = "",
            on: dt.date | None = None, developer_id: int | None = None) -> str:
    """Move development case `case_id` forward to `stage` (one or more stages at once), or to "lost"
    开发失败 with its reason in `note`, on the day `on` (default today): the stage log gets the stage, day
    and note, the change is audited; return the stage it left.

    `developer_id` names (or changes: 开发人等级随谈判次数逐级递增, §6.5.4.3) the developer; from
    "assign" on the case needs one. Signing 签订供油协议 makes the customer existing and developed in
    the month of `on` (`sign_customer`). The rules are `stage_rule`'s; ValidationError (catalog codes)
    when the actor may not edit cases, the case is not in their scope, the stage is unknown, a rule
    is broken or the day is in the future or before the last stage change.
    """
    return _move(engine, actor, case_id, stage, note=note, on=on, developer_id=developer_id, taking=False)


def take(engine: Engine, actor: auth.SessionUser, case_id: int, developer_id: int, *, note: str = "",
         on: dt.date | None = None) -> str:
    """Take an open target 摘牌 (002 §6.5.4.6 "摘牌制"): the developer `developer_id` takes the case (one
    without a developer yet), which moves to 确定开发人员 "assign", logged and audited; return the stage
    it left. ValidationError case_taken when the case already has its developer (the first taker
    stands), developer_required without a developer, else as `advance`."""
    return _move(engine, actor, case_id, "assign", note=note, on=on, developer_id=developer_id, taking=True)


def _move(engine: Engine, actor: auth.SessionUser, case_id, stage: str, *, note, on, developer_id,
          taking: bool) -> str:
    """`advance` and `take`: check, move, log, sign (module comment above)."""
    _allowed(actor)
    if stage not in CASE_STAGES:
        raise ValidationError.one("stage", "bad_choice", value=str(stage), options="/".join(CASE_STAGES), vocab="stage")
    note = clean_note(note)
    with write(engine) as conn:
        case = conn.execute(text(
            "SELECT d.stage, d.stage_on, d.org_path, d.developer_id, d.customer_id, c.code, c.kind, c.agreement "
            "FROM development d JOIN customer c ON c.id = d.customer_id WHERE d.id = :id"), {"id": int(case_id)}).first()
        if case is None or not case.org_path.startswith(actor.scope):
            raise ValidationError.one("case", "not_found")
        if taking and case.developer_id is not None and case.stage not in CLOSED_STAGES:
            raise ValidationError.one("developer", "case_taken", value=case.code)
        developer = case.developer_id if developer_id is None else _developer(conn, actor, developer_id)
        broken = stage_rule(case.stage, stage, institutional=case.kind == "institutional", agreement=case.agreement,
                            developer=developer, note=note)
        if broken:
            raise ValidationError.one(*broken, value=case.code)
        last = _as_date(case.stage_on)
        day = _case_day(on, "stage_on", not_before=last)
        moved = conn.execute(text("UPDATE development SET stage = :s, stage_on = :d, developer_id = :m "
                                  "WHERE id = :id AND stage = :old"),
                             {"s": stage, "d": day, "m": developer, "id": int(case_id), "old": case.stage}).rowcount
        if moved != 1:  # moved by someone else meanwhile (PostgreSQL, read committed): nothing written
            raise ValidationError.one("stage", "case_changed", value=case.code)
        log_stage(conn, case_id, stage, day, note, actor.login)
        if stage == "signed":
            sign_customer(conn, actor.login, case.customer_id, day)
        auth.audit(conn, actor.login, "case_take" if taking else "case_stage", "development", int(case_id),
                   {"stage": case.stage, "stage_on": last.isoformat(), "developer_id": case.developer_id},
                   {"stage": stage, "stage_on": day.isoformat(), "developer_id": developer, "note": note},
                   org_path=case.org_path)
    return case.stage


_CASE_COLUMNS = """d.id, c.code, c.name AS customer, d.stage, d.team, m.name AS developer, d.started_on, d.stage_on
            FROM development d JOIN customer c ON c.id = d.customer_id
            LEFT JOIN customer_manager m ON m.id = d.developer_id"""


def open_cases(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the open development cases 进行中的开发项目 inside `scope` (not signed, not lost), latest
    change first: id, code, customer, stage, team, developer, started_on, stage_on."""
    return _df(engine, f"""SELECT {_CASE_COLUMNS}
            WHERE {in_scope('d.org_path')} AND d.stage NOT IN ('signed', 'lost')
            ORDER BY d.stage_on DESC, d.id DESC""", scope=scope_like(scope))


def open_targets(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the open targets 待摘牌目标 inside `scope` (002 §6.5.4.6 摘牌制): open cases without a
    developer yet (e.g. key accounts opened by the branch's development team), oldest first, with the
    customer's station: id, code, customer, station, stage, team, started_on, stage_on."""
    return _df(engine, f"""SELECT d.id, c.code, c.name AS customer, s.name AS station, d.stage, d.team,
                   d.started_on, d.stage_on
            FROM development d JOIN customer c ON c.id = d.customer_id JOIN station s ON s.id = c.station_id
            WHERE {in_scope('d.org_path')} AND d.stage NOT IN ('signed', 'lost') AND d.developer_id IS NULL
            ORDER BY d.started_on, d.id""", scope=scope_like(scope))


def customer_cases(engine: Engine, scope: str, customer_id: int) -> dict:
    """Return the development cases of one customer inside `scope` for its development panel 客户开发:
    {"cases": id, code, customer, stage, team, developer, started_on, stage_on (latest first),
    "log": the stage log (case_id, stage, stage_on, note, actor, at; latest first),
    "open": the id of its open case or None, "open_stage": its stage}."""
    cases = _df(engine, f"""SELECT {_CASE_COLUMNS}
            WHERE {in_scope('d.org_path')} AND d.customer_id = :cid ORDER BY d.started_on DESC, d.id DESC""",
                scope=scope_like(scope), cid=int(customer_id))
    log = _df(engine, f"""SELECT l.case_id, l.stage, l.stage_on, l.note, l.actor, l.at
            FROM development_stage l JOIN development d ON d.id = l.case_id
            WHERE {in_scope('d.org_path')} AND d.customer_id = :cid ORDER BY l.stage_on DESC, l.id DESC""",
              scope=scope_like(scope), cid=int(customer_id))
    still = cases.loc[~cases["stage"].isin(CLOSED_STAGES)]
    return {"cases": cases, "log": log, "open": int(still["id"].iloc[0]) if len(still) else None,
            "open_stage": str(still["stage"].iloc[0]) if len(still) else None}


def next_stage(stage: str | None) -> str:
    """The stage after `stage` on the way to signing (what a move form proposes); "plan" when unknown."""
    if stage not in DEV_STAGES[:-1]:
        return DEV_STAGES[1]
    return DEV_STAGES[DEV_STAGES.index(stage) + 1]


def case_candidates(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the customers inside `scope` a case may be opened for (no open case): id, code, name,
    status; potential and competitor's customers 潜在客户 first (002 §6.5.1), then the others."""
    return _df(
        engine,
        f"""SELECT c.id, c.code, c.name, c.status FROM customer c
            WHERE {in_scope('c.org_path')} AND c.code IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM development d WHERE d.customer_id = c.id AND d.stage NOT IN ('signed', 'lost'))
            ORDER BY CASE WHEN c.status IN ('potential', 'competitor') THEN 0 ELSE 1 END, c.org_path, c.code""",
        scope=scope_like(scope),
    )


def summary(engine: Engine, scope: str, month: str) -> dict:
    """Return the plan page's key figures: completion per kind, pipeline cases, and the survey count of
    stations late or missing for the current period."""
    surveys = survey_status(engine, scope, month)  # lib.surveys (002 §6.5.1)
    pipe = pipeline(engine, scope, month)
    return {
        "plan": totals(engine, scope, month),
        "open_cases": int(pipe.loc[~pipe["stage"].isin(["signed", "lost"]), "cases"].sum()),
        "signed": int(pipe.loc[pipe["stage"] == "signed", "cases"].sum()),
        "survey_period": survey_period(month),
        "survey_late": int(surveys["status"].isin(["missing", "late"]).sum()),
        "survey_missing": int((surveys["status"] == "missing").sum()),
        "stations": int(len(surveys)),
    }


def next_month(month: str) -> str:
    """Return the month after `month` (the month a plan compiled in `month` is for)."""
    return shift_month(_check_month(month), 1)


def kind_for(level: str) -> str:
    """Return the target kind a unit of org `level` carries: districts institutional, stations personal card."""
    for kind, lvl in KIND_LEVEL.items():
        if lvl == level:
            return kind
    raise ValueError(f"only districts and stations carry development targets, not a {level}")


def editable_units(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the districts and stations inside `scope` (id, name, level, path), the units with targets."""
    return _df(engine, f"SELECT id, name, level, path FROM org_unit WHERE {in_scope('path')} "
                       f"AND level IN ('district', 'station') ORDER BY path", scope=scope_like(scope))


def levels_for(scope: str) -> list[str]:
    """Return the org levels that have units inside `scope`, from stations up to the scope's own level
    (a station manager's scope has stations only)."""
    depth = len([p for p in scope.strip("/").split("/") if p])  # 1 province … 4 station
    return [lv for lv in LEVELS if _depth(lv) >= min(depth, 4)]
