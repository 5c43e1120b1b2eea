"""Customer managers 客户经理 (003 §4): levels, the transfer flag, commission, ranking, their customers.

003 §4.5: levels 见习/初级/中级/高级; trainee for the first three months, then regular 转正 only when the
business department 业务运作部 confirms it (`confirm`, permission managers.confirm); graded once a year by the
previous year's sales volume; below the junior standard still rates junior, and two ratings in a row
below it call for a transfer 转岗 (lib.rules.manager_level / manager_transfer_due).
003 §4.6.2: commission 销售提成 = monthly volume × per-tonne coefficient by customer type and plan
completion (lib.rules.commission; coefficients in config). A manager's volume is the consumption of
the customers assigned to them; the monthly plan 月度销售任务 is a `manager_plan` row or, by default,
the same month last year × (1 + `[manager_plan] growth`, 20 %: 003 "成品油销售业绩同比增长20%"). With no
plan at all, completion counts as 100 % (default, not from a seed).

The manager spec 客户经理字段 (`FIELDS`, `check_fields`) is shared by the one-manager form and the
`managers` import (lib.importer.people). A manager is identified across imports by its code 编号
(`customer_manager.code`, unique, migration 0012): a file row whose code exists updates that
manager, a new code creates one, an empty code creates one with the generated code "M" + six-digit
id (`generated_code`; rows from before 0012 carry it too). Codes of that form are reserved.
"""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy import Engine, text

from lib import months, rules
from lib.auth import SessionUser, audit, can
from lib.charts import plain_labels
from lib.config import rules as config
from lib.db import upsert, write
from lib.queries import in_scope, read_df, scope_like, scope_manager_id, scoped, shift_month, station_scope
from lib.validation import Checker, Field, ValidationError, text_frame
from lib.validation import check_fields as check_spec

# --- the manager spec 客户经理字段 (form and import) ------------------------------------------------

FIELDS = (
    Field("code", "编号", max_len=30),
    Field("name", "姓名", required=True, max_len=50),
    Field("phone", "电话", max_len=30),
    Field("station_code", "加油站代码", check="ref", required=True),
    Field("hired_on", "入职日期", check="date", required=True, not_future=True),
    Field("level", "级别", check="choice", options=rules.MANAGER_LEVELS, default="trainee"),
)
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,30}$")
GENERATED = re.compile(r"^M\d{6,}$")  # "M" + id: reserved for generated codes
PHONE = re.compile(r"^\+?\d{5,20}$")


def generated_code(manager_id: int) -> str:
    """Return the code a manager without its own gets: "M" + the id on six digits (M000012)."""
    return f"M{int(manager_id):06d}"


def effective_codes(df: pd.DataFrame) -> pd.Series:
    """The code of each manager row (columns id, code): its own, else the generated one."""
    own = df["code"].astype(object)
    return pd.Series([c if isinstance(c, str) and c else generated_code(i) for c, i in zip(own, df["id"])],
                     index=df.index, dtype=object)


def check_fields(ck: Checker, today: dt.date) -> pd.DataFrame:
    """Check the manager fields of a frame of text cells (a file, or the form as one row); return
    the clean values (the station reference is resolved by the caller: lib.importer.people)."""
    out = check_spec(ck, FIELDS, today)
    df = ck.df
    code = df["code"].str.upper()
    ck.flag((code != "") & ~code.str.fullmatch(CODE_PATTERN), "code", "bad_code", values=df["code"])
    out["code"] = code
    phone = df["phone"].str.replace(r"[\s\-()]", "", regex=True)
    ck.flag((phone != "") & ~phone.str.fullmatch(PHONE), "phone", "bad_phone", values=df["phone"])
    out["phone"] = phone
    out["name"] = df["name"]
    return out


def records(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the customer managers inside `scope` as the form and the import see them: id, code
    (its own or the generated one), name, phone, station_code, hired_on, level."""
    where = scoped("m.org_path", station_scope(scope))
    df = read_df(engine, f"SELECT m.id, m.code, m.name, m.phone, s.code AS station_code, m.hired_on, m.level "
                         f"FROM customer_manager m JOIN station s ON s.org_unit_id = m.org_unit_id "
                         f"WHERE {where.sql} ORDER BY m.org_path, m.name", **where.params)
    df["code"] = effective_codes(df)
    df["hired_on"] = pd.to_datetime(df["hired_on"]).dt.date
    return df


def stations(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the stations inside `scope` a manager may work at: code, name."""
    where = scoped("s.org_path", station_scope(scope))
    return read_df(engine, f"SELECT s.code, s.name FROM station s WHERE {where.sql} ORDER BY s.org_path",
                   **where.params)


def save_manager(engine: Engine, user: SessionUser, values: dict, today: dt.date | None = None) -> str:
    """Create or edit ONE customer manager 客户经理 from the form (the import's checks and write, one
    row, audited in one transaction); return its code. `values`: code (empty: a new manager with a
    generated code; an existing code: edit that manager), name, phone, station_code, hired_on, level.
    Needs `managers.edit` and a station inside the user's scope; ValidationError names the field."""
    from lib.importer import people  # the import's row checks (lib.importer imports this module)

    if not can(user, "managers.edit"):
        raise ValidationError.one("", "not_allowed", action="managers.edit")
    frame = text_frame([values], [f.key for f in FIELDS])
    with write(engine) as conn:
        return people.save_one_manager(conn, frame, user, today or dt.date.today())


def months_employed(hired_on: dt.date, as_of: dt.date) -> float:
    """Months between hiring and `as_of` (30.44-day months), never negative."""
    return max(0.0, (as_of - hired_on).days / 30.44)


def roster(engine: Engine, scope: str, as_of: dt.date) -> pd.DataFrame:
    """Return the customer managers inside `scope` with level, consecutive misses, the transfer flag
    (003: two ratings below junior), months employed and customers assigned.

    Columns: id, name, phone, station, hired_on, months, level, misses, transfer_due, customers,
    confirmation_due (a trainee past the trainee period awaiting confirmation 待转正确认, 003; `confirm`).
    """
    where = scoped("m.org_path", station_scope(scope))
    df = read_df(
        engine,
        f"SELECT m.id, m.name, m.phone, u.name AS station, m.hired_on, m.level, m.misses, "
        f"(SELECT COUNT(*) FROM customer c WHERE c.manager_id = m.id) AS customers FROM customer_manager m "
        f"JOIN org_unit u ON u.id = m.org_unit_id WHERE {where.sql} AND m.active = :a "
        f"ORDER BY m.org_path, m.name", **where.params, a=True)
    if scope_manager_id(scope) is not None:
        df = df[df["id"] == scope_manager_id(scope)].reset_index(drop=True)
    df["hired_on"] = pd.to_datetime(df["hired_on"]).dt.date
    exact = [months_employed(h, as_of) for h in df["hired_on"]]
    df["months"] = [round(x, 1) for x in exact]
    df["transfer_due"] = [rules.manager_transfer_due(int(x)) for x in df["misses"]]
    df["confirmation_due"] = [rules.confirmation_due(x, lv) for x, lv in zip(exact, df["level"])]
    return df[["id", "name", "phone", "station", "hired_on", "months", "level", "misses", "transfer_due", "customers",
               "confirmation_due"]]


def yearly_volume(engine: Engine, scope: str, year: int) -> pd.DataFrame:
    """Return each manager's sales volume (t, gasoline + diesel of their customers) in `year`.

    Read from the station summary, whose org path carries the manager segment "m<id>/".
    Columns: manager_id, volume_t.
    """
    df = read_df(
        engine,
        f"SELECT org_path, SUM(gasoline_t + diesel_t) AS volume_t FROM station_monthly "
        f"WHERE {in_scope('org_path')} AND month >= :a AND month <= :b GROUP BY org_path",
        scope=scope_like(scope), a=f"{year}-01", b=f"{year}-12")
    df = df[df["org_path"].str.contains("/m", regex=False)]
    df["manager_id"] = df["org_path"].str.rstrip("/").str.rsplit("/m", n=1).str[1].astype(int)
    return df.groupby("manager_id", as_index=False)["volume_t"].sum()


def rate(engine: Engine, user: SessionUser, year: int, as_of: dt.date | None = None) -> pd.DataFrame:
    """Rate every active manager inside the user's scope for `year` on the volume of `year` − 1 (003 §4.5).

    Sets level and consecutive misses, writes one `manager_rating` row per manager (replacing an
    earlier rating of the same year), audits each change. A trainee 见习 stays a trainee until the
    business department confirms it (003; `confirm`), however long ago hired: past the trainee period
    the rating shows it as confirmation due, it does not promote. Returns the ratings: manager_id, name,
    last_year_t, level, below_standard, misses, transfer_due, confirmation_due.
    """
    if not can(user, "managers.rate"):
        raise ValueError("role: managers are rated by the district, city or province")
    as_of = as_of or dt.date(year, 1, 1)
    vols = yearly_volume(engine, station_scope(user.scope), year - 1).set_index("manager_id")["volume_t"]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    out = []
    with write(engine) as conn:
        mgrs = conn.execute(text(
            f"SELECT m.id, m.name, m.hired_on, m.level, m.misses, m.org_path FROM customer_manager m "
            f"WHERE {in_scope('m.org_path')} AND m.active = :a ORDER BY m.id"),
            {"scope": scope_like(user.scope), "a": True}).mappings().all()
        for m in mgrs:
            hired = m["hired_on"] if isinstance(m["hired_on"], dt.date) else dt.date.fromisoformat(str(m["hired_on"]))
            volume = float(vols.get(m["id"], 0.0))
            months = months_employed(hired, as_of)
            level, below = rules.manager_level(months, volume, confirmed=m["level"] != "trainee")
            # consecutive ratings below junior before this one: from the rating history, else (first
            # rating in this system) from the record, minus this year's own miss when re-rating
            hist = dict(conn.execute(text("SELECT year, below_standard FROM manager_rating WHERE manager_id = :m"),
                                     {"m": m["id"]}).all())
            earlier = {y: b for y, b in hist.items() if y < year}
            if earlier:
                prior, y = 0, year - 1
                while earlier.get(y):
                    prior, y = prior + 1, y - 1
            else:
                prior = max(0, m["misses"] - (1 if hist.get(year) else 0))
            misses = prior + 1 if below else (prior if level == "trainee" else 0)
            upsert(conn, "manager_rating", {"manager_id": m["id"], "year": year, "last_year_t": volume, "level": level,
                                            "below_standard": below, "rated_at": now, "rated_by": user.login},
                   key=("manager_id", "year"))
            if (level, misses) != (m["level"], m["misses"]):
                conn.execute(text("UPDATE customer_manager SET level = :l, misses = :x WHERE id = :m"),
                             {"l": level, "x": misses, "m": m["id"]})
                audit(conn, user.login, "rate", "customer_manager", m["id"],
                      {"level": m["level"], "misses": m["misses"]},
                      {"level": level, "misses": misses, "year": year, "last_year_t": round(volume, 3)},
                      org_path=m["org_path"])
            out.append({"manager_id": m["id"], "name": m["name"], "last_year_t": volume, "level": level,
                        "below_standard": below, "misses": misses, "transfer_due": rules.manager_transfer_due(misses),
                        "confirmation_due": rules.confirmation_due(months, level)})
    return pd.DataFrame(out, columns=["manager_id", "name", "last_year_t", "level", "below_standard", "misses",
                                      "transfer_due", "confirmation_due"])


def confirm(engine: Engine, user: SessionUser, manager_id: int, today: dt.date | None = None) -> None:
    """Confirm a trainee 见习经理 as regular 转正: level trainee → junior 初级, audited ("confirm").

    003: "见习经理人在实习期满后,被业务运作部认定为合格,即可转正,成为初级经理人" — after the trainee period
    (config `customer_manager.trainee_months`), by the business department 业务运作部: the levels above
    station (`managers.confirm`), for a manager inside the user's scope. ValidationError (catalog
    codes) otherwise: not_allowed, not_found, not_trainee, trainee_period; nothing written.
    """
    if not can(user, "managers.confirm"):
        raise ValidationError.one("role", "not_allowed", action="managers.confirm")
    today = today or dt.date.today()
    with write(engine) as conn:
        m = conn.execute(text(f"SELECT id, name, hired_on, level, org_path FROM customer_manager m WHERE id = :m "
                              f"AND m.active = :a AND {in_scope('m.org_path')}"),
                         {"m": int(manager_id), "a": True, "scope": scope_like(station_scope(user.scope))}).mappings().first()
        if m is None:
            raise ValidationError.one("manager", "not_found")
        if m["level"] != "trainee":
            raise ValidationError.one("manager", "not_trainee", value=m["name"])
        hired = m["hired_on"] if isinstance(m["hired_on"], dt.date) else dt.date.fromisoformat(str(m["hired_on"]))
        if not rules.confirmation_due(months_employed(hired, today), "trainee"):
            raise ValidationError.one("manager", "trainee_period", value=m["name"], hired=hired.isoformat(),
                                      months=config()["customer_manager"]["trainee_months"])
        conn.execute(text("UPDATE customer_manager SET level = 'junior' WHERE id = :m"), {"m": m["id"]})
        audit(conn, user.login, "confirm", "customer_manager", m["id"], {"level": "trainee"},
              {"level": "junior", "confirmed_on": today.isoformat()}, org_path=m["org_path"])


def set_plan(engine: Engine, user: SessionUser, manager_id: int, month: str, target_t: float) -> None:
    """Set a manager's monthly sales plan 月度销售任务 in tonnes (audited)."""
    if not can(user, "managers.plan"):
        raise ValueError("role: plans are set by the station, district, city or province")
    try:
        target = float(target_t)
    except (TypeError, ValueError):
        raise ValueError("target_t: a number of tonnes") from None
    if not 0 <= target <= 1e6:
        raise ValueError("target_t: between 0 and 1,000,000 t")
    try:
        month = months.check(month)  # "2026-13" is no month
    except ValueError:
        raise ValueError(f"month: YYYY-MM, got {month!r}") from None
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with write(engine) as conn:
        path = conn.execute(text(f"SELECT org_path FROM customer_manager m WHERE id = :m AND {in_scope('m.org_path')}"),
                            {"m": int(manager_id), "scope": scope_like(user.scope)}).scalar()
        if path is None:
            raise ValueError("manager: not found in your scope")
        before = conn.execute(text("SELECT target_t FROM manager_plan WHERE manager_id = :m AND month = :mo"),
                              {"m": int(manager_id), "mo": month}).scalar()
        upsert(conn, "manager_plan", {"manager_id": int(manager_id), "month": month, "target_t": target,
                                      "updated_by": user.login, "updated_at": now}, key=("manager_id", "month"))
        audit(conn, user.login, "set_plan", "customer_manager", manager_id,
              None if before is None else {"month": month, "target_t": before}, {"month": month, "target_t": target},
              org_path=path)


def _monthly(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """manager_id, kind, volume_t for `month` from the summary (manager segment of the org path)."""
    df = read_df(
        engine,
        f"SELECT org_path, kind, SUM(gasoline_t + diesel_t) AS volume_t FROM station_monthly "
        f"WHERE {in_scope('org_path')} AND month = :m GROUP BY org_path, kind",
        scope=scope_like(scope), m=month)
    df = df[df["org_path"].str.contains("/m", regex=False)].copy()
    df["manager_id"] = df["org_path"].str.rstrip("/").str.rsplit("/m", n=1).str[1].astype(int)
    return df.groupby(["manager_id", "kind"], as_index=False)["volume_t"].sum()


def ranking(engine: Engine, scope: str, month: str, as_of: dt.date | None = None) -> pd.DataFrame:
    """Return the managers inside `scope` ranked by `month`'s sales volume, with plan, completion and
    commission 销售提成 (003 §4.6.2).

    Columns: id, name, station, level, misses, transfer_due, institutional_t, personal_t, volume_t,
    target_t, completion, commission_cny, rank.
    """
    as_of = as_of or dt.date.today()
    people = roster(engine, scope, as_of)
    vol = _monthly(engine, scope, month).pivot_table(index="manager_id", columns="kind", values="volume_t",
                                                     aggfunc="sum", fill_value=0.0)
    last = _monthly(engine, scope, shift_month(month, -12)).groupby("manager_id")["volume_t"].sum()
    where = scoped("m.org_path", station_scope(scope))
    plans = read_df(
        engine,
        f"SELECT p.manager_id, p.target_t FROM manager_plan p JOIN customer_manager m ON m.id = p.manager_id "
        f"WHERE {where.sql} AND p.month = :m", **where.params, m=month).set_index("manager_id")["target_t"]
    growth = float(config()["manager_plan"]["growth"])
    rows = []
    for p in people.itertuples():
        inst = float(vol.at[p.id, "institutional"]) if p.id in vol.index and "institutional" in vol.columns else 0.0
        pers = float(vol.at[p.id, "personal"]) if p.id in vol.index and "personal" in vol.columns else 0.0
        target = float(plans[p.id]) if p.id in plans.index else (
            float(last[p.id]) * (1 + growth) if p.id in last.index and last[p.id] > 0 else None)
        completion = (inst + pers) / target if target else None
        rate_for_band = completion if completion is not None else 1.0
        cny = rules.commission(inst, "institutional", rate_for_band) + rules.commission(pers, "personal", rate_for_band)
        rows.append({"id": p.id, "name": p.name, "station": p.station, "level": p.level, "misses": p.misses,
                     "transfer_due": p.transfer_due, "institutional_t": inst, "personal_t": pers,
                     "volume_t": inst + pers, "target_t": target, "completion": completion, "commission_cny": cny})
    df = pd.DataFrame(rows, columns=["id", "name", "station", "level", "misses", "transfer_due", "institutional_t",
                                     "personal_t", "volume_t", "target_t", "completion", "commission_cny"])
    df["rank"] = df["volume_t"].rank(ascending=False, method="min").astype("Int64")
    return df.sort_values(["rank", "name"]).reset_index(drop=True)


def customers_of(engine: Engine, scope: str, manager_id: int) -> pd.DataFrame:
    """Return a manager's customers 名下客户 inside `scope` with their location (for the map).

    Columns: id, code, name, tier, kind, status, lon, lat.
    """
    return read_df(
        engine,
        f"SELECT c.id, c.code, c.name, COALESCE(c.tier_override, c.computed_tier) AS tier, c.kind, c.status, "
        f"c.lon, c.lat FROM customer c WHERE c.manager_id = :m AND {in_scope('c.org_path')} ORDER BY c.code",
        m=int(manager_id), scope=scope_like(scope))


TIER_COLOURS = {"province": "#b2182b", "city": "#ef8a62", "district": "#67a9cf", "station": "#2166ac"}


def customers_map(df: pd.DataFrame, t) -> go.Figure:
    """Return a scatter of customers by longitude and latitude coloured by tier (no map tiles: works
    offline). `t` is the translator for the legend and axes."""
    fig = go.Figure()
    located = df.dropna(subset=["lon", "lat"])
    for tier, colour in TIER_COLOURS.items():
        part = located[located["tier"] == tier]
        if len(part):
            fig.add_trace(go.Scatter(x=part["lon"], y=part["lat"], mode="markers", name=t(f"tier.{tier}"),
                                     marker={"color": colour, "size": 8 if tier != "station" else 6},
                                     text=part["name"], hovertemplate="%{text}<extra></extra>"))
    plain_labels(fig)  # customer names as text (issue 14)
    fig.update_layout(xaxis_title=t("work.lon"), yaxis_title=t("work.lat"), height=420,
                      margin={"l": 10, "r": 10, "t": 10, "b": 10}, legend={"orientation": "h"})
    fig.update_yaxes(scaleanchor="x", scaleratio=1.25)  # ~cos(36.5°): degrees of lon and lat look alike
    return fig
