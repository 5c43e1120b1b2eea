"""Rights attacks 权限攻击 (class 4): every write function of lib/ called as every role outside its
rights (a matrix of doors × roles), and the scope attacks the issue names (a foreign grid id for
`matters.register`, a foreign manager id for `add_log`, month "2026-13" for `set_plan`, …).

Each door is first opened by the lowest role that may open it (the control, once per run): a door
whose control fails reports "error", so a refusal is never counted as held for a wrong argument.
Rights expected per door are fixed here (the PERMISSIONS table of the code before the fixes, and
the issue for grid editing), so the same matrix is tried before and after.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from bench.attacks.core import Attack, Env, actor_for, add, count, failed, held, import_as, params
from bench.attacks.imports import csv_bytes, geojson, grid_feature

ROLES = ("province_admin", "province_viewer", "city_manager", "district_manager", "station_manager",
         "customer_manager")
WRITERS = frozenset(ROLES) - {"province_viewer"}
STATION_UP = frozenset({"province_admin", "city_manager", "district_manager", "station_manager"})
ABOVE_STATION = frozenset({"province_admin", "city_manager", "district_manager"})
ADMINS = frozenset({"province_admin"})
CONTROL = {WRITERS: "customer_manager", STATION_UP: "station_manager", ABOVE_STATION: "district_manager",
           ADMINS: "province_admin"}
DAY = dt.date(2026, 11, 2)


@dataclass(frozen=True)
class Door:
    name: str
    allowed: frozenset
    call: Callable  # (env, engine, user) -> result (an ImportReport counts by its ok)


def _cust(env: Env) -> dict:
    return env.fx["own_customer"]


def _call_actor(fn, engine, user, *args, **kw):
    """Call `fn(engine, actor, *args)` with the actor as its signature wants it."""
    return fn(engine, actor_for(fn, user), *args, **kw)


def _customer_create(env, engine, user):
    from lib import customers

    data = {"name": f"权限测试{user.role}物流有限公司", "kind": "institutional", "sub_type": "enterprise",
            "station_id": env.fx["own_station"]["id"], "status": "existing", "diesel_t": 5,
            "manager_id": env.fx["own_manager"]["id"]}
    return customers.create(engine, user, data, allow_duplicates=True)


def _customer_update(env, engine, user):
    from lib import customers

    return customers.update(engine, user, _cust(env)["id"], {"contact": "权限测试"}, allow_duplicates=True)


def _visit_plan(env, engine, user):
    from lib import visits

    return visits.plan(engine, user, _cust(env)["id"], "phone", dt.date.today() + dt.timedelta(days=3), "x")


def _visit_record(env, engine, user):
    from lib import visits

    return visits.record(engine, user, _cust(env)["id"], "phone", DAY, "权限测试")


def _add_log(env, engine, user):
    from lib import visits

    return visits.add_log(engine, user, DAY, "权限测试")


def _register(env, engine, user):
    from lib import matters

    return matters.register(engine, user, "routine", "权限测试", customer_id=_cust(env)["id"])


def _act(env, engine, user):
    from lib import matters

    mid = matters.register(engine, env.user("customer_manager"), "routine", "权限测试", customer_id=_cust(env)["id"])
    return matters.act(engine, user, mid, "handle")


def _escalate(env, engine, user):
    from lib import matters

    fn = matters.escalate_overdue
    kw = {"now": dt.datetime(2030, 1, 1)}
    if "scope" in params(fn) and actor_for(fn, user) == user.login:
        kw["scope"] = user.scope  # the page passes the user's scope
    n = fn(engine, actor_for(fn, user), **kw)
    if not n:
        raise RuntimeError("nothing escalated")
    return n


def _set_plan(env, engine, user):
    from lib import managers

    return managers.set_plan(engine, user, env.fx["own_manager"]["id"], "2026-11", 12.5)


def _save_manager(env, engine, user):
    from lib import managers

    m = env.fx["own_manager"]
    return managers.save_manager(engine, user, {"code": m["code"], "name": m["name"], "phone": "13900001111",
                                                "station_code": env.fx["own_station"]["code"],
                                                "hired_on": "2024-01-01", "level": ""})


def _override(env, engine, user):
    from lib import rules, tiers

    c = _cust(env)
    i = rules.TIERS.index(c["computed_tier"])
    tier = rules.TIERS[i + 1] if i + 1 < len(rules.TIERS) else rules.TIERS[i - 1]
    return tiers.set_override(engine, user, c["id"], tier, "权限测试：人工调整等级")


def _set_target(env, engine, user):
    from lib import development

    return development.set_target(engine, user, env.fx["own_district"]["id"], "2026-12", "institutional", 5)


def _survey(env, engine, user):
    from lib import surveys

    return surveys.record_survey(engine, user, env.fx["own_unit"]["id"], "2026-12", 7, "权限测试", DAY)


def _open_case(env, engine, user):
    from sqlalchemy import text

    from lib import development

    with engine.connect() as conn:
        cid = conn.execute(text("SELECT id FROM customer WHERE org_path LIKE :p AND status = 'potential' AND id NOT IN "
                                "(SELECT customer_id FROM development) ORDER BY id"),
                           {"p": env.user("customer_manager").scope + "%"}).scalar()
    return development.open_case(engine, user, cid, started_on=DAY)


def _win_back(env, engine, user):
    from lib import tracking

    return tracking.create_task(engine, user, _cust(env)["id"], "2026-10", "drop", DAY + dt.timedelta(days=20))


def _update_station(env, engine, user):
    from lib import stations

    return stations.update_station(engine, user, env.fx["own_station"]["id"], {"nozzles": 9})


def _set_sales(env, engine, user):
    from lib import stations

    return stations.set_sales(engine, user, env.fx["own_station"]["code"], "2026-10", 300, 200)


def _rename(env, engine, user):
    from lib import org

    return _call_actor(org.rename, engine, user, env.fx["own_district"]["code"], "权限测试区")


def _unit_manager(env, engine, user):
    from lib import org

    return _call_actor(org.set_manager, engine, user, env.fx["own_district"]["code"], "权限测试", "13900002222")


def _set_active(env, engine, user):
    from lib import auth

    return _call_actor(auth.set_active, engine, user, env.fx["user_ids"]["customer_manager"], False)


def _reset_password(env, engine, user):
    from lib import auth

    return _call_actor(auth.reset_password, engine, user, env.fx["user_ids"]["province_admin"], "Qz7!attack-pw-2026#x")


def _change_role(env, engine, user):
    from lib import auth

    return _call_actor(auth.change_role, engine, user, env.fx["user_ids"]["station_manager"], "province_admin",
                       _root_id(engine))


def _root_id(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM org_unit WHERE parent_id IS NULL")).scalar_one()


def _create_user_once(env, engine, user):
    from lib import auth

    return _call_actor(auth.create_user_once, engine, user, "rights_new", "权限测试", "station_manager",
                       env.fx["own_unit"]["id"])


def _create_user(env, engine, user):
    from lib import auth

    return _call_actor(auth.create_user, engine, user, "rights_new2", "权限测试", "province_admin", _root_id(engine),
                       "Qz7!attack-pw-2026#y")


def _save_geometries(env, engine, user):
    from shapely.geometry import shape

    from lib.maps import editing

    g = env.fx["own_grid"]
    geom = shape(grid_feature(engine, g["id"])["geometry"])
    fn = editing.save_grid_geometries
    p = params(fn)
    kw = {"scope": user.scope} if "scope" in p else {}
    args = [engine, actor_for(fn, user)]
    return fn(*args, district_path=env.fx["own_district"]["path"], changes={g["id"]: geom}, **kw)


def _import(kind: str, make: Callable):
    def call(env, engine, user):
        rep = import_as(engine, user, kind, make(env, engine), f"rights.{'geojson' if kind == 'grids' else 'csv'}")
        if not rep.ok:
            raise PermissionError("refused: " + ", ".join(sorted({e.code for e in rep.errors}))[:120])
        return rep
    return call


def _grids_file(env, engine):
    g = env.fx["own_grid"]
    return geojson([grid_feature(engine, g["id"], name="权限测试网格", owner_name="攻击者", owner_phone="13900003333")])


def _customers_file(env, engine):
    return csv_bytes(["name", "kind", "sub_type", "station_code", "status", "diesel_t"],
                     [["权限导入测试物流有限公司", "institutional", "enterprise", env.fx["own_station"]["code"], "existing", "3"]])


def _consumption_file(env, engine):
    return csv_bytes(["customer_code", "month", "gasoline_t"], [[_cust(env)["code"], "2026-11", "2"]])


def _users_file(env, engine):
    return csv_bytes(["login", "display_name", "role", "org_code"],
                     [["rights_imp", "权限测试", "province_admin", _root_code(engine)]])


def _root_code(engine) -> str:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT code FROM org_unit WHERE parent_id IS NULL")).scalar_one()


def _stations_file(env, engine):
    return csv_bytes(["code", "name", "district_code", "nozzles"],
                     [[env.fx["own_station"]["code"], "权限测试站", env.fx["own_district"]["code"], "9"]])


DOORS = (
    Door("customers.create", WRITERS, _customer_create),
    Door("customers.update", WRITERS, _customer_update),
    Door("visits.plan", WRITERS, _visit_plan),
    Door("visits.record", WRITERS, _visit_record),
    Door("visits.add_log", WRITERS, _add_log),
    Door("matters.register", WRITERS, _register),
    Door("matters.act", WRITERS, _act),
    Door("tracking.create_task", WRITERS, _win_back),
    Door("matters.escalate_overdue", ABOVE_STATION, _escalate),
    Door("managers.save_manager", ABOVE_STATION, _save_manager),
    Door("tiers.set_override", ABOVE_STATION, _override),
    Door("development.set_target", ABOVE_STATION, _set_target),
    Door("stations.update_station", ABOVE_STATION, _update_station),
    Door("editing.save_grid_geometries", ABOVE_STATION, _save_geometries),
    Door("import.grids", ABOVE_STATION, _import("grids", _grids_file)),
    Door("import.stations", ABOVE_STATION, _import("stations", _stations_file)),
    Door("managers.set_plan", STATION_UP, _set_plan),
    Door("surveys.record_survey", STATION_UP, _survey),
    Door("development.open_case", WRITERS, _open_case),
    Door("stations.set_sales", STATION_UP, _set_sales),
    Door("import.customers", STATION_UP, _import("customers", _customers_file)),
    Door("import.consumption", STATION_UP, _import("consumption", _consumption_file)),
    Door("org.rename", ADMINS, _rename),
    Door("org.set_manager", ADMINS, _unit_manager),
    Door("auth.set_active", ADMINS, _set_active),
    Door("auth.reset_password", ADMINS, _reset_password),
    Door("auth.change_role", ADMINS, _change_role),
    Door("auth.create_user_once", ADMINS, _create_user_once),
    Door("auth.create_user", ADMINS, _create_user),
    Door("import.users", ADMINS, _import("users", _users_file)),
)
QUICK_DOORS = {"matters.escalate_overdue", "import.grids", "auth.reset_password", "editing.save_grid_geometries"}
QUICK_PAIRS = {("auth.set_active", "district_manager"), ("auth.create_user", "city_manager"),
               ("import.consumption", "customer_manager"), ("customers.update", "province_viewer")}


def _try(env: Env, door: Door, role: str) -> tuple[bool, str, int]:
    """Open `door` as `role` on a fresh copy: (done, what happened, audit rows written)."""
    with env.fresh() as engine:
        user = env.user(role)
        before = count(engine, "audit_log")
        try:
            door.call(env, engine, user)
        except Exception as exc:  # noqa: BLE001 - a refusal, whatever its class
            return False, f"{type(exc).__name__}: {' '.join(str(exc).split())[:90]}", 0
        return True, "done", count(engine, "audit_log") - before


def _control(env: Env, door: Door) -> str | None:
    """None when the lowest allowed role can open the door (checked once per run), else why not."""
    cache = env.fx.setdefault("controls", {})
    if door.name not in cache:
        role = CONTROL[door.allowed]
        done, what, _ = _try(env, door, role)
        cache[door.name] = None if done else f"control as {role} failed: {what}"
    return cache[door.name]


def door_attack(env: Env, door: Door, role: str):
    done, what, rows = _try(env, door, role)
    if not done:
        problem = _control(env, door)
        if problem:
            return "error", problem
        return held(f"refused: {what}")
    return failed(f"{role} did it ({rows} audit row(s))")


for _door in DOORS:
    for _role in ROLES:
        if _role not in _door.allowed:
            add(Attack(f"4.{_door.name}.as_{_role}", "4", f"{_door.name} as {_role}",
                       functools.partial(door_attack, door=_door, role=_role),
                       quick=(_door.name in QUICK_DOORS and _role == "station_manager")
                       or (_door.name, _role) in QUICK_PAIRS))


# --- scope attacks: an allowed role, a target outside its scope or a bad value ---------------------


def _scope(env: Env, role: str, call: Callable, what: str):
    with env.fresh() as engine:
        before = count(engine, "audit_log")
        try:
            call(env, engine, env.user(role))
        except Exception as exc:  # noqa: BLE001 - a refusal
            return held(f"refused: {type(exc).__name__}: {' '.join(str(exc).split())[:80]}")
        return failed(f"{what} accepted ({count(engine, 'audit_log') - before} audit row(s))")


def _scoped(name: str, role: str, what: str, quick: bool = False):
    def wrap(call):
        add(Attack(f"4.scope.{name}", "4", name, functools.partial(_scope, role=role, call=call, what=what), quick))
        return call
    return wrap


@_scoped("register_foreign_grid", "station_manager", "a matter on a foreign grid id", quick=True)
def _s1(env, engine, user):
    from lib import matters

    return matters.register(engine, user, "routine", "越权事项", grid_id=env.fx["foreign_grid"]["id"])


@_scoped("add_log_foreign_manager", "station_manager", "a work log under a foreign manager id", quick=True)
def _s2(env, engine, user):
    from lib import visits

    return visits.add_log(engine, user, DAY, "越权日志", manager_id=env.fx["foreign_manager"]["id"])


@_scoped("set_plan_month_13", "station_manager", 'a plan for month "2026-13"', quick=True)
def _s3(env, engine, user):
    from lib import managers

    return managers.set_plan(engine, user, env.fx["own_manager"]["id"], "2026-13", 10)


@_scoped("set_plan_foreign_manager", "station_manager", "a plan for a foreign manager")
def _s4(env, engine, user):
    from lib import managers

    return managers.set_plan(engine, user, env.fx["foreign_manager"]["id"], "2026-11", 10)


@_scoped("update_foreign_customer", "station_manager", "an edit of a foreign customer")
def _s5(env, engine, user):
    from lib import customers

    return customers.update(engine, user, env.fx["foreign_customer"]["id"], {"contact": "越权"})


@_scoped("record_visit_foreign_customer", "customer_manager", "a visit to a foreign customer")
def _s6(env, engine, user):
    from lib import visits

    return visits.record(engine, user, env.fx["foreign_customer"]["id"], "phone", DAY, "越权")


@_scoped("act_foreign_matter", "district_manager", "an action on a foreign matter")
def _s7(env, engine, user):
    from lib import matters

    return matters.act(engine, user, env.fx["foreign_matter"]["id"], "escalate")


@_scoped("override_foreign_customer", "district_manager", "a tier override of a foreign customer")
def _s8(env, engine, user):
    from lib import tiers

    return tiers.set_override(engine, user, env.fx["foreign_customer"]["id"], None, "越权：清除人工等级")


@_scoped("escalate_overdue_whole_province", "district_manager", "escalations outside the district")
def _s9(env, engine, user):
    from lib import matters

    fn = matters.escalate_overdue
    fn(engine, actor_for(fn, user), now=dt.datetime(2030, 1, 1))  # no scope given: the function's default
    return _outside(engine, user.scope)


def _outside(engine, scope: str) -> None:
    n = count(engine, "audit_log", "action = 'escalate' AND org_path NOT LIKE :p", p=scope + "%")
    if not n:
        raise PermissionError("no escalation outside the scope")


@_scoped("grid_geometry_foreign_district", "district_manager", "a grid reshaped in a foreign district")
def _s10(env, engine, user):
    from shapely.geometry import shape

    from lib.maps import editing

    g = env.fx["foreign_grid"]
    geom = shape(grid_feature(engine, g["id"])["geometry"])
    fn = editing.save_grid_geometries
    kw = {"scope": user.scope} if "scope" in params(fn) else {}
    district = g["org_path"].rsplit("/", 2)[0] + "/"
    return fn(engine, actor_for(fn, user), district_path=district, changes={g["id"]: geom}, **kw)


@_scoped("import_customer_foreign_station", "station_manager", "a customer imported into a foreign station")
def _s11(env, engine, user):
    data = csv_bytes(["name", "kind", "sub_type", "station_code", "status", "diesel_t"],
                     [["越权导入物流有限公司", "institutional", "enterprise", env.fx["foreign_station"]["code"],
                       "existing", "3"]])
    rep = import_as(engine, user, "customers", data, "x.csv")
    if not rep.ok:
        raise PermissionError("refused: " + ", ".join(sorted({e.code for e in rep.errors})))


@_scoped("open_case_foreign_customer", "station_manager", "a development case on a foreign customer")
def _s12(env, engine, user):
    from lib import development

    return development.open_case(engine, user, env.fx["foreign_customer"]["id"], started_on=DAY)
