"""People and plans imports 人员与计划导入 (issue 13): customer managers 客户经理, users 用户,
development targets 开发目标, four-rate targets 四率目标 and potential-customer surveys 潜在客户调查表.

Each kind is checked like the other kinds (pure row checks on text cells, every issue with its row
and column) and written in the import's one transaction, audited row by row. Rights: the importer's
role must hold the kind's action of lib.auth.PERMISSIONS (`ACTIONS`; a file from someone without it
is refused as a whole), and every unit, station and manager a row names must lie inside the
importer's scope. An actor that is no login of the app (a script run by the operator, as `lib.demo`)
has every right inside the scope it passes.

- managers: identified by `code` (lib.managers: existing codes update that manager, new ones create
  one, empty ones get the generated code). A manager with customers or a login keeps its station.
- users: new logins only (an existing login is refused: role changes are made one at a time on the
  users page); each gets a one-time password (lib.auth.insert_user), returned once in
  `ctx.people["secrets"]` and never stored in plain text; a customer-manager role names its manager
  by `manager_code` (a manager of the row's station).
- targets: unit × month × kind, any month (past months are back-fills, never late: lib.development
  .plan_status); institutional targets belong to districts, personal card targets to stations
  (002 §6.5.3); a file that breaks the plan floors (a district's institutional target below 1, a
  city branch's station average of personal card targets below 10: lib.development.plan_floors) is
  refused, the rows named.
- rate_targets: station × rate, the target as a fraction (0.12) or a percentage ("12%").
- surveys: potential customer surveys, one per station and period (a July or December, 002 §6.5.1),
  and special surveys (002 §6.5.2), one per unit, topic and start day; a recorded one stands, as in
  lib.surveys.record_survey / record_special_survey (the same checks: lib.surveys.check_fields).
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from lib import auth, managers, surveys, targets
from lib import development as dev
from lib.importer import check as rowcheck
from lib.importer.read import FileError
from lib.validation import Checker, ValidationError, text_frame

if TYPE_CHECKING:
    from lib.importer.check import Context

KINDS = ("managers", "users", "targets", "rate_targets", "surveys")
ACTIONS = {"managers": "managers.edit", "users": "users.manage", "targets": "plans.edit",
           "rate_targets": "rates.targets", "surveys": "surveys.record"}


# --- references 引用 ---------------------------------------------------------------------------------


def prepare(conn: Connection, ctx: Context, kind: str, actor: str) -> None:
    """Load what the checks of `kind` need into `ctx.people` (units, managers, logins, the actor's
    role, recorded surveys); nothing for the other kinds."""
    if kind not in KINDS:
        return
    row = conn.execute(text("SELECT role, active FROM app_user WHERE login = :l"), {"l": actor}).first()
    role = None if row is None else row.role if row.active else "inactive"  # a deactivated login may do nothing
    refs: dict = {"role": role, "kind": kind}
    refs["units"] = pd.read_sql_query(text("SELECT id, code, level, path, name FROM org_unit"), conn).set_index("code")
    if kind == "targets":  # the stored personal card targets the station-average floor is computed from
        refs["card_targets"] = dev.card_targets(conn)
    if kind in ("managers", "users"):
        mg = pd.read_sql_query(text("SELECT id, code, org_unit_id, org_path, level FROM customer_manager"), conn)
        counts = pd.read_sql_query(text("SELECT manager_id, COUNT(*) AS n FROM customer WHERE manager_id IS NOT NULL "
                                        "GROUP BY manager_id"), conn).set_index("manager_id")["n"]
        logins = pd.read_sql_query(text("SELECT manager_id, COUNT(*) AS n FROM app_user WHERE manager_id IS NOT NULL "
                                        "GROUP BY manager_id"), conn).set_index("manager_id")["n"]
        mg["customers"] = mg["id"].map(counts).fillna(0).astype(int)
        mg["logins"] = mg["id"].map(logins).fillna(0).astype(int)
        mg["code"] = managers.effective_codes(mg)
        refs["managers"] = mg.set_index("code")
    if kind == "users":
        users = pd.read_sql_query(text(
            "SELECT u.login, u.display_name, u.role, o.code AS org_code, u.manager_id FROM app_user u "
            "JOIN org_unit o ON o.id = u.org_unit_id"), conn).set_index("login")
        code_of = dict(zip(refs["managers"]["id"], refs["managers"].index))
        users["manager_code"] = [code_of.get(m, "") if m == m and m is not None else "" for m in users["manager_id"]]
        refs["logins"], refs["users"] = set(users.index), users  # rows as stored: an unchanged one is skipped
        refs["grantable"] = auth.ROLES if role is None else auth.grantable_roles(role)
    if kind == "surveys":
        refs["surveys"] = surveys.recorded_forms(conn)
    ctx.people = refs


def _gate(ctx: Context, kind: str) -> None:
    """Refuse the whole file when the importer's role lacks the kind's action."""
    role = ctx.people.get("role")
    if role is not None and not auth.can(role, ACTIONS[kind]):
        raise FileError("not_allowed", action=ACTIONS[kind])


def unit_refs(ck: Checker, col: str, ctx: Context) -> pd.DataFrame:
    """Look up org unit codes 组织单元代码; flag unknown ones and units outside the scope."""
    units = ctx.people["units"]
    codes = ck.df[col]
    known = codes.isin(units.index)
    ck.flag((codes != "") & ~known, col, "unknown_unit", values=codes)
    u = units.reindex(codes.where(known, None).tolist())
    u.index = ck.df.index
    ck.flag(known & ~u["path"].fillna("").str.startswith(ctx.scope), col, "outside_scope", values=codes)
    return u


def _stations(ck: Checker, ctx: Context) -> pd.DataFrame:
    st = rowcheck.station_refs(ck, "station_code", ctx)
    ck.flag(ck.df["station_code"] == "", "station_code", "required")
    return st


# --- managers 客户经理 ----------------------------------------------------------------------------


def check_managers(df: pd.DataFrame, ctx: Context, first_row: int = 2) -> tuple[pd.DataFrame, Checker]:
    """Manager rows: the manager spec (lib.managers.check_fields), a station inside the scope, the
    code (existing: that manager, inside the scope; new: not of the generated form), no station
    change for a manager with customers or a login, no trainee made regular (that is the confirmation,
    lib.managers.confirm, 003), no code twice."""
    _gate(ctx, "managers")
    ck = Checker(df, first_row)
    out = managers.check_fields(ck, ctx.today)
    st = _stations(ck, ctx)
    out["org_unit_id"], out["org_path"] = st["org_unit_id"], st["org_path"]
    mg = ctx.people["managers"]
    code = out["code"]
    exists = (code != "") & code.isin(mg.index)
    old = mg.reindex(code.where(exists, None).tolist())
    old.index = df.index
    ck.flag(exists & ~old["org_path"].fillna("").str.startswith(ctx.scope), "code", "outside_scope", values=df["code"])
    ck.flag(~exists & code.str.fullmatch(managers.GENERATED), "code", "bad_code", values=df["code"])
    moved = exists & st["org_unit_id"].notna() & (old["org_unit_id"] != st["org_unit_id"])
    ck.flag(moved & ((old["customers"] > 0) | (old["logins"] > 0)), "station_code", "manager_moves",
            values=df["station_code"])
    # 003: a trainee becomes regular only by the business department's confirmation (lib.managers.confirm)
    ck.flag(exists & (old["level"] == "trainee") & (out["level"] != "trainee"), "level", "confirm_required",
            values=df["code"])
    ck.duplicates([code], "code", mask=code != "")
    out["exists"], out["old_id"] = exists, old["id"]
    return out, ck


def write_managers(conn: Connection, out: pd.DataFrame, actor: str) -> tuple[int, int, list[str]]:
    """Insert or update the checked manager rows, audited; return (inserted, updated, codes)."""
    inserted = updated = 0
    codes = []
    for r in out.to_dict("records"):
        values = {"name": r["name"], "phone": r["phone"], "org_unit_id": int(r["org_unit_id"]),
                  "org_path": r["org_path"], "hired_on": r["hired_on"], "level": r["level"]}
        if r["exists"]:
            mid = int(r["old_id"])
            before = dict(conn.execute(text("SELECT code, name, phone, org_path, hired_on, level FROM customer_manager "
                                            "WHERE id = :id"), {"id": mid}).mappings().one())
            conn.execute(text("UPDATE customer_manager SET code = :code, name = :name, phone = :phone, "
                              "org_unit_id = :org_unit_id, org_path = :org_path, hired_on = :hired_on, level = :level "
                              "WHERE id = :id"), {**values, "code": r["code"], "id": mid})
            audit_action, code = "update", r["code"]
            updated += 1
        else:
            before = None
            mid = conn.execute(text(
                "INSERT INTO customer_manager (code, name, phone, org_unit_id, org_path, hired_on, level, misses, active) "
                "VALUES (:code, :name, :phone, :org_unit_id, :org_path, :hired_on, :level, 0, :active) RETURNING id"),
                {**values, "code": r["code"] or None, "active": True}).scalar_one()
            code = r["code"] or managers.generated_code(mid)
            if not r["code"]:
                conn.execute(text("UPDATE customer_manager SET code = :c WHERE id = :id"), {"c": code, "id": mid})
            audit_action = "create"
            inserted += 1
        auth.audit(conn, actor, audit_action, "customer_manager", mid, before, {**values, "code": code},
                   org_path=r["org_path"])
        codes.append(code)
    return inserted, updated, codes


def save_one_manager(conn: Connection, frame: pd.DataFrame, user: auth.SessionUser, today: dt.date) -> str:
    """The one-manager form (lib.managers.save_manager): the import's checks on one row, then its
    write; ValidationError (row 0) names the fields."""
    ctx = rowcheck.load_context(conn, user.scope, today)
    prepare(conn, ctx, "managers", user.login)
    try:
        out, ck = check_managers(frame, ctx, first_row=0)
    except FileError as exc:
        raise ValidationError([exc.error]) from None
    if ck.errors:
        raise ValidationError(ck.errors)
    return write_managers(conn, out, user.login)[2][0]


# --- users 用户 -------------------------------------------------------------------------------------


def check_users(df: pd.DataFrame, ctx: Context, first_row: int = 2) -> tuple[pd.DataFrame, Checker]:
    """User rows: a well-formed login not taken (in the database or above in the file), a role the
    importer may grant, a unit inside the scope at the role's level, and for a customer-manager
    role the manager (by code) of that station."""
    _gate(ctx, "users")
    ck = Checker(df, first_row)
    refs = ctx.people
    login = ck.text("login", required=True, max_len=50)
    ck.flag((login != "") & ~login.str.fullmatch(auth.LOGIN_PATTERN), "login", "bad_login", values=login)
    stored = refs["users"].reindex(login.where(login.isin(refs["logins"]), None).tolist())
    stored.index = df.index
    ck.duplicates([login], "login", mask=login != "")
    name = ck.text("display_name", required=True, max_len=100)
    role = ck.choice("role", auth.ROLES, required=True, vocabulary="role")
    ck.flag(role.isin(auth.ROLES) & ~role.isin(refs["grantable"]), "role", "role_not_grantable", values=role)
    u = unit_refs(ck, "org_code", ctx)
    need = role.map(auth.ROLE_LEVEL)
    ck.flag(u["level"].notna() & need.notna() & (u["level"] != need), "org_code", "role_level", values=df["org_code"],
            )
    mg = refs["managers"]
    mcode = df["manager_code"].str.upper()
    is_cm = role == "customer_manager"
    ck.flag(is_cm & (mcode == ""), "manager_code", "manager_required")
    known = mcode.isin(mg.index)
    m = mg.reindex(mcode.where(known, None).tolist())
    m.index = df.index
    ck.flag(is_cm & (mcode != "") & (~known | (m["org_unit_id"] != u["id"])), "manager_code", "unknown_manager",
            values=df["manager_code"])
    # an existing login given exactly as stored (a downloaded list going back in) is left alone; any
    # other row naming it is refused (role and unit changes are made one at a time on the users page)
    unchanged = (stored["display_name"].eq(name) & stored["role"].eq(role) & stored["org_code"].eq(df["org_code"])
                 & stored["manager_code"].fillna("").str.upper().eq(mcode.where(is_cm, "")))
    ck.flag(stored["role"].notna() & ~unchanged, "login", "login_taken", values=login)
    out = pd.DataFrame({"login": login, "display_name": name, "role": role, "org_unit_id": u["id"],
                        "org_path": u["path"], "manager_id": m["id"].where(is_cm, np.nan), "unchanged": unchanged},
                       index=df.index)
    return out, ck


def write_users(conn: Connection, out: pd.DataFrame, ctx: Context, actor: str) -> tuple[int, int]:
    """Create the checked users with one-time passwords (lib.auth.insert_user); the passwords go to
    `ctx.people["secrets"]` (login, display_name, role, password), to be shown once."""
    secrets = []
    for r in out[~out["unchanged"].astype(bool)].to_dict("records"):
        mid = None if r["manager_id"] != r["manager_id"] or r["manager_id"] is None else int(r["manager_id"])
        _, password = auth.insert_user(conn, actor, r["login"], r["display_name"], r["role"], int(r["org_unit_id"]),
                                       mid)
        secrets.append({"login": r["login"], "display_name": r["display_name"], "role": r["role"],
                        "password": password})
    if secrets:  # nothing to show when every row was an unchanged login
        ctx.people["secrets"] = pd.DataFrame(secrets, columns=["login", "display_name", "role", "password"])
    return len(secrets), 0


def create_one_user(conn: Connection, actor: auth.SessionUser, login: str, display_name: str, role: str,
                    org_unit_id: int, manager_id: int | None) -> str:
    """The users page's create form (lib.auth.create_user_once): the import's checks on one row, then
    its write; return the one-time password. ValidationError (row 0) names the fields."""
    unit = conn.execute(text("SELECT code FROM org_unit WHERE id = :id"), {"id": org_unit_id}).scalar()
    mgr = None if manager_id is None else conn.execute(text("SELECT id, code FROM customer_manager WHERE id = :id"),
                                                        {"id": manager_id}).first()
    frame = text_frame([{"login": login, "display_name": display_name, "role": role, "org_code": unit or "?",
                         "manager_code": "" if mgr is None else (mgr.code or managers.generated_code(mgr.id))}],
                       ["login", "display_name", "role", "org_code", "manager_code"])
    ctx = rowcheck.load_context(conn, actor.scope, dt.date.today())
    prepare(conn, ctx, "users", actor.login)
    try:
        out, ck = check_users(frame, ctx, first_row=0)
    except FileError as exc:
        raise ValidationError([exc.error]) from None
    if ck.errors:
        raise ValidationError(ck.errors)
    write_users(conn, out, ctx, actor.login)
    return str(ctx.people["secrets"]["password"].iloc[0])


# --- development targets 开发目标 -------------------------------------------------------------------


def check_targets(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Target rows: a unit inside the scope at the kind's level (districts institutional, stations
    personal card, 002 §6.5.3), any month, a whole number 0–MAX_TARGET, one row per unit, month, kind."""
    _gate(ctx, "targets")
    ck = Checker(df)
    u = unit_refs(ck, "org_code", ctx)
    month = ck.month("month", required=True)
    kind = ck.choice("kind", dev.KINDS, required=True)
    target = ck.number("target", hi=dev.MAX_TARGET, integer=True, required=True)
    need = kind.map(dev.KIND_LEVEL)
    ck.flag(u["level"].notna() & need.notna() & (u["level"] != need), "org_code", "wrong_level",
            values=df["org_code"])
    ck.duplicates([df["org_code"], month, kind], "org_code")
    out = pd.DataFrame({"org_unit_id": u["id"], "org_path": u["path"], "month": month, "kind": kind,
                        "target": target}, index=df.index)
    _check_floors(ck, out, ctx)
    return out, ck


def _check_floors(ck: Checker, out: pd.DataFrame, ctx: Context) -> None:
    """The plan floors 计划下限 of 002 §6.5.3 (lib.development.plan_floors) on the rows without another
    issue: an institutional target below 1; personal card targets that put a city branch's station
    average for a month below 10 (the file's rows over the stored targets over the default): each
    row of that city and month below the floor is named, or all of them when none is."""
    floors = dev.plan_floors()
    ok = ~ck.bad
    ck.flag(ok & (out["kind"] == "institutional").to_numpy() & (out["target"] < floors["institutional"]).to_numpy(),
            "target", "below_floor_institutional", values=ck.df["target"], floor=floors["institutional"])
    card = ok & (out["kind"] == "personal_card").to_numpy()
    if not card.any():
        return
    rows = out[card]
    stations, stored = ctx.people["card_targets"]
    changes = {(int(u), m): int(t) for u, m, t in zip(rows["org_unit_id"], rows["month"], rows["target"])}
    names = dict(zip(ctx.people["units"]["path"], ctx.people["units"]["name"]))
    city = np.array([dev.city_of(p) if isinstance(p, str) else "" for p in out["org_path"]], dtype=object)
    for (path, month), average in sorted(dev.card_averages_below(stations, stored, changes).items()):
        group = card & (city == path) & (out["month"] == month).to_numpy()
        low = group & (out["target"] < floors["personal_card"]).to_numpy()
        ck.flag(low if low.any() else group, "target", "below_floor_card", values=ck.df["target"],
                city=names.get(path, path), month=month, average=average, floor=floors["personal_card"])


# --- four-rate targets 四率目标 ---------------------------------------------------------------------


def check_rate_targets(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Rate target rows: a station inside the scope, one of the four rates, a target as a fraction
    or a percentage between 0 and 100 %, one row per station and rate."""
    _gate(ctx, "rate_targets")
    ck = Checker(df)
    st = _stations(ck, ctx)
    rate = ck.choice("rate", targets.RATES, required=True, vocabulary="rate")
    value = targets.rate_values(ck, "target")
    ck.duplicates([df["station_code"], rate], "station_code")
    out = pd.DataFrame({"station_id": st["id"], "org_path": st["org_path"], "rate": rate, "target": value},
                       index=df.index)
    return out, ck


# --- surveys 潜在客户调查表 -------------------------------------------------------------------------


def check_surveys(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Survey rows of both types (lib.surveys.check_fields, the form's checks): a potential customer
    survey (002 §6.5.1, appendix 2) names a station inside the scope and a survey period (a July or a
    December), one per station and period, a recorded one stands; a special survey (002 §6.5.2) names
    a unit inside the scope (`org_code`, else the station's), one per unit, topic and start day. An
    empty report date is today. A recorded survey given again exactly as recorded is skipped."""
    _gate(ctx, "surveys")
    ck = Checker(df)
    out = surveys.check_fields(ck, ctx.today)
    special = (out["survey_type"] == "special").to_numpy()
    st = rowcheck.station_refs(ck, "station_code", ctx)
    ck.flag(~special & (ck.df["station_code"] == ""), "station_code", "required")
    by_code = (ck.df["org_code"] != "").to_numpy()
    unit = unit_refs(ck, "org_code", ctx)
    ck.flag(special & ~by_code & (ck.df["station_code"] == ""), "org_code", "required")
    use_unit = special & by_code
    out["org_unit_id"] = unit["id"].where(use_unit, st["org_unit_id"])
    out["org_path"] = unit["path"].where(use_unit, st["org_path"])
    out["submitted_on"] = out["submitted_on"].where(out["submitted_on"].notna(), ctx.today)
    out["unchanged"] = _recorded(ck, out, ctx.people["surveys"], special)
    ck.duplicates([out["org_unit_id"], out["period"], out["topic"], out["started_on"].astype(str)], "period")
    return out, ck


def _recorded(ck: Checker, out: pd.DataFrame, done: dict, special: np.ndarray) -> np.ndarray:
    """Rows whose survey is recorded: as recorded (skipped) → True; changed → already_recorded."""
    unchanged = np.zeros(len(out), dtype=bool)
    for i, (u, r) in enumerate(zip(out["org_unit_id"], out.to_dict("records"))):
        if u != u or u is None or ck.bad[i]:
            continue
        key = (int(u), "special", r["topic"], str(r["started_on"])[:10]) if special[i] else (int(u), r["period"])
        if key not in done:
            continue
        given = surveys.stored_form(r)
        if given == done[key] or (not special[i] and given[1:] == done[key][1:] and ck.df["submitted_on"].iloc[i] == ""):
            unchanged[i] = True
        else:
            ck.add(i, "topic" if special[i] else "period", "special_recorded" if special[i] else "already_recorded",
                   value=r["topic"] if special[i] else r["period"])
    return unchanged


def write_surveys(conn: Connection, out: pd.DataFrame, actor: str) -> tuple[int, int]:
    """Record the checked surveys (the first one of a station and period, or of a unit, topic and start
    day, stands; rows as recorded are skipped), audited."""
    new = out[~out["unchanged"].astype(bool)]
    for r in new.to_dict("records"):
        unit = {"id": int(r["org_unit_id"]), "path": r["org_path"]}
        if r["survey_type"] == "special":
            surveys.insert_special(conn, actor, unit, r)
        else:
            surveys.insert_survey(conn, actor, unit, r["period"], int(r["potential_customers"]), r["note"],
                                  r["submitted_on"], r["objects"])
    return len(new), 0


CHECKS = {"managers": check_managers, "users": check_users, "targets": check_targets,
          "rate_targets": check_rate_targets, "surveys": check_surveys}


def write(conn: Connection, kind: str, out: pd.DataFrame, ctx: Context, actor: str) -> tuple[int, int]:
    """Write the checked rows of one of this module's kinds; return (inserted, updated)."""
    if kind == "managers":
        return write_managers(conn, out, actor)[:2]
    if kind == "users":
        return write_users(conn, out, ctx, actor)
    if kind == "targets":
        return targets.write_plan_targets(conn, out.to_dict("records"), actor)
    if kind == "rate_targets":
        return targets.write_rate_targets(conn, out.to_dict("records"), actor)
    return write_surveys(conn, out, actor)
