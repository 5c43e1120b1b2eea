"""Surveys 调查 (002 §6.5.1–6.5.2): the potential customer survey 潜在客户普查 and key customer special
surveys 重点客户专项调查, their status per station and district, and the appendix 2 list.

- Potential customer survey (002 §6.5.1, appendix 2 潜在客户调查表): each station surveys its area
  (streets, compounds, factories) twice a year and reports in July and December (config
  `development.survey_months`); the form counts the objects surveyed per type (`OBJECTS`: the §6.5.1
  list 政府机关、企事业单位、居民社区、商场、停车场、办公楼 with 004 Jilin's 六进 进企业、进学校、进机关、
  进社区、进乡镇、进商圈) and the potential customers found. One survey per station and period; the
  first one recorded stands. A station without a report after its due month is late.
- Special survey (002 §6.5.2): a unit (所属单位: city, district or station) surveys one consumer group
  when the market, the season or the customers' needs change: topic, target group, objects, the days
  it ran and the customers it found. One per unit, topic and start day.

Both are checked by one function (`check_fields`) for the form (`record_survey`,
`record_special_survey`) and the surveys import (lib.importer.people), so both refuse the same values
with the same messages (field, row, reason).
"""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Connection, Engine, literal, text

from lib import auth, vocab
from lib.config import rules as config
from lib.db import upsert, write
from lib.models import SURVEY_STATES
from lib.months import check as _check_month
from lib.months import last_day as _month_end
from lib.queries import in_scope, read_df, scope_like, shift_month
from lib.tiers import NotAllowed
from lib.validation import Checker, Field, ValidationError, text_cell, text_frame
from lib.validation import check_fields as check_spec

OBJECTS = vocab.SURVEY_OBJECTS  # 调查对象
TYPES = vocab.SURVEY_TYPES  # periodic 潜在客户普查 / special 重点客户专项调查
OBJECT_HEADERS = {"agency": "政府机关", "enterprise": "企事业单位", "community": "居民社区", "school": "学校",
                  "town": "乡镇", "business_district": "商圈", "mall": "商场", "parking": "停车场", "office": "办公楼"}
OBJECT_COLUMNS = tuple(f"n_{o}" for o in OBJECTS)  # objects surveyed per type, one column each (form, file, lists)
MAX_COUNT = 100_000
TEXT_MAX = 100  # topic, target group: SpecialSurvey String(100)

# The survey's fields 调查字段规则, in the order of the import file (kind "surveys"); the same checks for the
# forms and the import. Rows without a survey type are potential customer surveys (files of issue 13).
FIELDS = (
    Field("station_code", "加油站代码", "ref", form=False),
    Field("period", "调查期", "own"),
    Field("submitted_on", "报送日期", "date", not_future=True),
    Field("potential_customers", "潜在客户数", "integer", required=True, hi=1_000_000),
    Field("note", "备注", max_len=2000),
    *(Field(f"n_{o}", f"调查数-{h}", "integer", hi=MAX_COUNT, default=0) for o, h in OBJECT_HEADERS.items()),
    Field("survey_type", "调查类型", "choice", options=TYPES, default="periodic", vocabulary="survey_type"),
    Field("org_code", "组织单元代码", "ref", form=False),
    Field("topic", "专项调查主题", max_len=TEXT_MAX),
    Field("target_group", "调查群体", max_len=TEXT_MAX),
    Field("started_on", "开始日期", "date", not_future=True),
    Field("ended_on", "结束日期", "date", not_future=True),
)
KEYS = tuple(f.key for f in FIELDS)


# --- periods 调查期 (002 §6.5.1: July and December) ----------------------------------------------------


def _due_months() -> list[int]:
    return sorted(int(x) for x in config()["development"]["survey_months"])


def is_survey_period(period: str) -> bool:
    """True for a survey period 调查期: a month of config `development.survey_months` (July, December)."""
    return int(_check_month(period)[5:7]) in _due_months()


def survey_period(month: str) -> str:
    """Return the survey period due at or before `month`: the latest `YYYY-07` / `YYYY-12` (config
    `development.survey_months`) not after it."""
    month = _check_month(month)
    y, m = int(month[:4]), int(month[5:7])
    due = _due_months()
    past = [d for d in due if d <= m]
    return f"{y:04d}-{past[-1]:02d}" if past else f"{y - 1:04d}-{due[-1]:02d}"


def next_survey_period(month: str) -> str:
    """Return the first survey period after `month`."""
    month = _check_month(month)
    y, m = int(month[:4]), int(month[5:7])
    due = _due_months()
    later = [d for d in due if d > m]
    return f"{y:04d}-{later[0]:02d}" if later else f"{y + 1:04d}-{due[0]:02d}"


def recent_periods(today: dt.date, n: int = 4) -> list[str]:
    """Return the `n` latest survey periods whose month has begun by `today`, latest first (the form's choices)."""
    out = [survey_period(today.strftime("%Y-%m"))]
    while len(out) < n:
        out.append(survey_period(shift_month(out[-1], -1)))
    return out


# --- checks 校验 (one function for the forms and the import) ----------------------------------------------


def check_fields(ck: Checker, today: dt.date) -> pd.DataFrame:
    """Check survey rows of text cells (a file, or a form as one row) of either type; return the clean
    values with `objects` ({object type: count}, the types counted). Periodic rows need a survey period
    (a July or December, 002 §6.5.1); special rows a topic, a target group, the days it ran (the end not
    before the start) and at least one object surveyed (002 §6.5.2). No date in the future, no negative
    count. References (station, unit, scope) are the caller's."""
    for key in KEYS:
        if key not in ck.df.columns:
            ck.df[key] = ""
    out = check_spec(ck, FIELDS, today)
    df = ck.df
    special = (out["survey_type"] == "special").to_numpy()
    period = ck.month("period")
    ck.flag(~special & (df["period"] == ""), "period", "required")
    ck.flag(~special & np.array([isinstance(p, str) and bool(p) and not is_survey_period(p) for p in period], dtype=bool),
            "period", "bad_period", values=df["period"])
    for col in ("topic", "target_group", "started_on", "ended_on"):
        ck.flag(special & (df[col] == ""), col, "required")
    counts = out[list(OBJECT_COLUMNS)].fillna(0)
    ck.flag(special & (counts.to_numpy().sum(axis=1) == 0), "objects", "objects_required")
    start, end = pd.to_datetime(out["started_on"]), pd.to_datetime(out["ended_on"])
    ck.flag(special & (end < start).to_numpy(), "ended_on", "ends_before_start", values=df["ended_on"])
    out["period"] = period
    out["objects"] = [{o: int(n) for o, n in zip(OBJECTS, row) if n == n and n > 0} for row in counts.to_numpy()]
    return out


def object_cells(objects: dict | None) -> dict[str, object]:
    """A form's objects {object type: count} as the file's cells {n_<type>: count}; ValidationError
    bad_choice for a type that is not one of OBJECTS."""
    objects = objects or {}
    unknown = [k for k in objects if k not in OBJECTS]
    if unknown:
        raise ValidationError.one("objects", "bad_choice", value=str(unknown[0]), options="/".join(OBJECTS),
                                  vocab="survey_object")
    return {f"n_{k}": v for k, v in objects.items()}


def validate(today: dt.date, **values) -> dict:
    """Check one survey's form values as the import checks a file row; return the clean values
    (ValidationError listing every bad field)."""
    cells = {k: text_cell(v) for k, v in values.items()}
    ck = Checker(text_frame([cells], KEYS), first_row=0)
    out = check_fields(ck, today)
    if ck.errors:
        raise ValidationError(ck.errors)
    return out.iloc[0].to_dict()


# --- writes 记录 -----------------------------------------------------------------------------------------


def _allowed(actor: auth.SessionUser) -> None:
    if not auth.can(actor, "surveys.record"):
        raise NotAllowed(f"role {actor.role} may not record surveys")


def _unit(conn: Connection, actor: auth.SessionUser, org_unit_id: int, station: bool):
    """The org unit (id, level, path) inside the actor's scope; ValidationError on the field "unit"
    when it is not (or, for a station's survey, when it is no station)."""
    unit = conn.execute(text(f"SELECT id, level, path FROM org_unit WHERE id = :id AND {in_scope('path')}"),
                        {"id": int(org_unit_id), "scope": scope_like(actor.scope)}).mappings().first()
    if unit is None:
        raise ValidationError.one("unit", "outside_scope", value=org_unit_id)
    if station and unit["level"] != "station":
        raise ValidationError.one("unit", "not_station", value=org_unit_id)
    return unit


def record_survey(engine: Engine, actor: auth.SessionUser, org_unit_id: int, period: str,
                  potential_customers: int, note: str = "", submitted_on: dt.date | None = None, *,
                  objects: dict | None = None, today: dt.date | None = None) -> None:
    """Record a station's potential customer survey 潜在客户调查表 (002 §6.5.1, appendix 2) for `period`
    (a July or December): the day reported (default today), the objects surveyed {type: count}, the
    potential customers found, a note; audited. Station managers and the levels above record it for the
    stations inside their scope. NotAllowed for another role; ValidationError for bad values, a unit
    outside the scope or a survey already recorded."""
    _allowed(actor)
    today = today or dt.date.today()
    v = validate(today, survey_type="periodic", period=period, submitted_on=submitted_on or today,
                 potential_customers=potential_customers, note=note, **object_cells(objects))
    with write(engine) as conn:
        unit = _unit(conn, actor, org_unit_id, station=True)
        insert_survey(conn, actor.login, unit, v["period"], int(v["potential_customers"]), v["note"],
                      v["submitted_on"], v["objects"])


def insert_survey(conn, actor: str, unit, period: str, potential_customers: int, note: str, day: dt.date,
                  objects: dict | None = None) -> None:
    """Write one station's survey in the caller's transaction (record_survey and the surveys import),
    audited; ValidationError already_recorded when that station's survey for `period` exists."""
    new_id = upsert(conn, "survey_submission",
                    {"org_unit_id": unit["id"], "org_path": unit["path"], "period": period, "submitted_on": day,
                     "submitted_by": actor, "potential_customers": potential_customers, "note": note or "",
                     "objects": literal(objects or {}, JSON)},
                    key=("org_unit_id", "period"), update=(), returning="id")
    if new_id is None:  # one survey per station and period: the first one stands
        raise ValidationError.one("period", "already_recorded", value=period)
    auth.audit(conn, actor, "survey_recorded", "survey_submission", f"{unit['id']}/{period}",
               after={"potential_customers": potential_customers, "submitted_on": day, "objects": objects or {}},
               org_path=unit["path"])


def record_special_survey(engine: Engine, actor: auth.SessionUser, org_unit_id: int, *, topic: str, group: str,
                          objects: dict, started_on: dt.date, ended_on: dt.date, customers_found: int,
                          note: str = "", today: dt.date | None = None) -> int:
    """Record a key customer special survey 重点客户专项调查 (002 §6.5.2) of a unit inside the actor's
    scope: topic, target group (one consumer group), objects surveyed {type: count}, the days it ran and
    the customers found; audited; return its id. Rights as record_survey; ValidationError for bad
    values, a unit outside the scope, or the unit's survey of that topic and start day recorded already."""
    _allowed(actor)
    v = validate(today or dt.date.today(), survey_type="special", topic=topic, target_group=group,
                 started_on=started_on, ended_on=ended_on, potential_customers=customers_found, note=note,
                 **object_cells(objects))
    with write(engine) as conn:
        unit = _unit(conn, actor, org_unit_id, station=False)
        return insert_special(conn, actor.login, unit, v)


def insert_special(conn, actor: str, unit, v: dict) -> int:
    """Write one special survey (checked values `v` of check_fields) in the caller's transaction
    (record_special_survey and the surveys import), audited; return its id."""
    row = {"org_unit_id": unit["id"], "org_path": unit["path"], "topic": v["topic"], "target_group": v["target_group"],
           "started_on": v["started_on"], "ended_on": v["ended_on"], "customers_found": int(v["potential_customers"]),
           "note": v["note"] or "", "recorded_by": actor,
           "recorded_at": dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)}
    new_id = upsert(conn, "special_survey", row | {"objects": literal(v["objects"], JSON)},
                    key=("org_unit_id", "topic", "started_on"), update=(), returning="id")
    if new_id is None:
        raise ValidationError.one("topic", "special_recorded", value=v["topic"])
    auth.audit(conn, actor, "special_survey_recorded", "special_survey", new_id,
               after={k: row[k] for k in ("topic", "target_group", "started_on", "ended_on", "customers_found")}
               | {"objects": v["objects"]}, org_path=unit["path"])
    return int(new_id)


def _form(day, count, note, objects, group) -> tuple:
    return (str(day)[:10], int(count), note or "", tuple(sorted(_objects(objects).items())), group or "")


def stored_form(row: dict) -> tuple:
    """A checked row (check_fields) in the form of `recorded_forms`: the day (reported; a special
    survey's end), the customers found, note, objects and target group, compared by the import."""
    special = row["survey_type"] == "special"
    return _form(row["ended_on"] if special else row["submitted_on"], row["potential_customers"], row["note"],
                 row["objects"], row["target_group"] if special else "")


def recorded_forms(conn: Connection) -> dict[tuple, tuple]:
    """Every recorded survey by its key — (unit id, period), or (unit id, "special", topic, start day) —
    as `stored_form` gives a checked row: the import skips a row as recorded and refuses a changed one."""
    out = {}
    for r in conn.execute(text("SELECT org_unit_id, period, submitted_on, potential_customers, note, objects "
                               "FROM survey_submission")).mappings():
        out[(int(r["org_unit_id"]), r["period"])] = _form(r["submitted_on"], r["potential_customers"], r["note"],
                                                           r["objects"], "")
    for r in conn.execute(text("SELECT org_unit_id, topic, started_on, ended_on, customers_found, note, objects, "
                               "target_group FROM special_survey")).mappings():
        out[(int(r["org_unit_id"]), "special", r["topic"], str(r["started_on"])[:10])] = _form(
            r["ended_on"], r["customers_found"], r["note"], r["objects"], r["target_group"])
    return out


# --- status and lists 状态与清单 -------------------------------------------------------------------------


def survey_status(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return each station's potential customer survey for the period due at or before `month`.

    Status: "on_time" (reported by the last day of the due month), "late" (reported after it),
    "missing" (not reported and the due month is over), "pending" (the due month is `month` itself
    and nothing is reported yet). Columns: station_unit_id, station, district, period, due_on,
    submitted_on, submitted_by, potential_customers, district_id, status. Missing ones first.
    """
    period = survey_period(month)
    due = _month_end(period)
    df = read_df(
        engine,
        f"""SELECT su.id AS station_unit_id, su.name AS station, du.name AS district, ss.submitted_on,
                   ss.submitted_by, ss.potential_customers, du.id AS district_id
            FROM org_unit su JOIN org_unit du ON du.id = su.parent_id
            LEFT JOIN survey_submission ss ON ss.org_unit_id = su.id AND ss.period = :period
                                          AND ss.submitted_on <= :month_end
            WHERE {in_scope('su.path')} AND su.level = 'station' ORDER BY su.path""",
        scope=scope_like(scope), period=period, month_end=_month_end(month),
    )
    df.insert(3, "period", period)
    df.insert(4, "due_on", due)

    def status(submitted) -> str:
        if submitted is None or submitted != submitted:
            return "pending" if period == month else "missing"
        return "on_time" if pd.Timestamp(submitted).date() <= due else "late"

    df["status"] = [status(x) for x in df["submitted_on"]]
    order = {"missing": 0, "pending": 1, "late": 2, "on_time": 3}
    return df.sort_values("status", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def district_status(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return the survey status per district 片区 for the period due at or before `month`: how many of its
    stations reported on time, late, are missing or pending (survey_status rolled up). Columns:
    district_id, district, period, stations, on_time, reported_late, missing, pending; most missing first."""
    cols = ["district_id", "district", "period", "stations", "on_time", "reported_late", "missing", "pending"]
    df = survey_status(engine, scope, month)
    if df.empty:
        return pd.DataFrame(columns=cols)
    counts = pd.crosstab([df["district_id"], df["district"], df["period"]], df["status"])
    counts = counts.reindex(columns=list(SURVEY_STATES), fill_value=0)
    out = counts.rename(columns={"late": "reported_late"}).reset_index()
    out["stations"] = out[["on_time", "reported_late", "missing", "pending"]].sum(axis=1)
    return out[cols].sort_values(["missing", "reported_late", "district"], ascending=[False, False, True],
                                 kind="stable").reset_index(drop=True)


def _objects(value) -> dict:
    """A stored objects cell (JSON text on SQLite, a dict on PostgreSQL) as a dict."""
    if value is None or value != value or value == "":
        return {}
    return json.loads(value) if isinstance(value, str) else dict(value)


def object_counts(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with its stored `objects` column spread into one count column per object type (n_<type>)."""
    objs = [_objects(x) for x in df.pop("objects")]
    for o in OBJECTS:
        df[f"n_{o}"] = [int(x.get(o, 0)) for x in objs]
    return df


def recorded(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the surveys recorded inside `scope`, both types, latest first: survey_type, unit, period (a
    potential customer survey) or topic, target_group, started_on, ended_on (a special survey),
    submitted_on, potential_customers (found), the objects per type (n_<type>), note, recorded_by and
    recorded_at (a special survey; a potential customer survey's day is its submitted_on)."""
    df = read_df(
        engine,
        f"""SELECT 'periodic' AS survey_type, u.name AS unit, ss.period, '' AS topic, '' AS target_group,
                   NULL AS started_on, NULL AS ended_on, ss.submitted_on, ss.potential_customers, ss.objects,
                   ss.note, ss.submitted_by AS recorded_by, NULL AS recorded_at, ss.submitted_on AS sort_day
            FROM survey_submission ss JOIN org_unit u ON u.id = ss.org_unit_id WHERE {in_scope('ss.org_path')}
            UNION ALL
            SELECT 'special', u.name, '', sp.topic, sp.target_group, sp.started_on, sp.ended_on, NULL,
                   sp.customers_found, sp.objects, sp.note, sp.recorded_by, sp.recorded_at,
                   sp.ended_on
            FROM special_survey sp JOIN org_unit u ON u.id = sp.org_unit_id WHERE {in_scope('sp.org_path')}
            ORDER BY sort_day DESC, unit""",
        scope=scope_like(scope),
    )
    return object_counts(df.drop(columns="sort_day"))


def potential_customers(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the potential and competitor's customers 潜在客户 inside `scope` for the appendix 2 table:
    code, name, station, kind, sub_type, fuel, demand (gasoline_t, diesel_t per month), competitor,
    contact, phone, status and the stage of their latest development case (if any)."""
    return read_df(
        engine,
        f"""SELECT c.code, c.name, s.name AS station, c.kind, c.sub_type, c.fuel, c.gasoline_t, c.diesel_t,
                   c.competitor, c.contact, c.phone, c.status,
                   (SELECT d.stage FROM development d WHERE d.customer_id = c.id
                    ORDER BY d.stage_on DESC, d.id DESC LIMIT 1) AS stage
            FROM customer c JOIN station s ON s.id = c.station_id
            WHERE {in_scope('c.org_path')} AND c.status IN ('potential', 'competitor')
            ORDER BY c.org_path, c.gasoline_t + c.diesel_t DESC""",
        scope=scope_like(scope),
    )


def recordable_units(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the org units inside `scope` a survey may be recorded for: id, name, level, path (stations
    for the potential customer survey; any of them for a special survey), top-down."""
    return read_df(engine, f"SELECT id, name, level, path FROM org_unit WHERE {in_scope('path')} ORDER BY path",
                   scope=scope_like(scope))
