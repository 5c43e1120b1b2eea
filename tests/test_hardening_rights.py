"""Rights below every door 权限 (issue 14, failure 4): every write function of lib/ called as every role.

`CASES` is the table: one row per write function (and per kind of target it takes), each called
with a target inside the demo customer manager's station (`own`) and in another city (`foreign`),
as each of the six demo users. A call must succeed exactly when lib.auth.PERMISSIONS and the
target's org path say so (`auth.can(user, action, path)`, or the row's own rule where the
function adds one); a refused call raises and changes no table (every table hashed before and
after, scripts/db_hash.py). `test_every_write_function_is_in_the_table` lists the public functions
of lib/ that open a write transaction and fails on one missing here; docs/RIGHTS.md is the same
list for people. Then the known gaps of the issue, each a test that failed before.
"""
from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import hashlib
import importlib.util
import inspect
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from _work_db import build_demo, private_copy
from sqlalchemy import text

from lib import (
    auth,
    customers,
    development,
    export,
    importer,
    managers,
    matters,
    months,
    org,
    stations,
    surveys,
    targets,
    tiers,
    tracking,
    visits,
)
from lib.actors import system_user
from lib.grids import from_geojson
from lib.maps import editing
from lib.queries import scope_manager_id

ROOT = Path(__file__).resolve().parent.parent
LOGINS = ("admin", "viewer", "city", "area", "station", "custmgr")  # the demo users, one per role
TODAY = dt.date.today()
SMALL = dict(seed=7, customers=240, months=2, end_month="2026-10")

_spec = importlib.util.spec_from_file_location("db_hash", ROOT / "scripts" / "db_hash.py")
db_hash = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(db_hash)


# --- databases: a small demo province once per module, a private copy per test -----------------------


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    """A smaller demo province than _work_db's (the matrix copies it for every one of its cells)."""
    yield from build_demo(tmp_path_factory, SMALL, "rights")


@pytest.fixture()
def db(base_url, tmp_path):
    yield from private_copy(base_url, tmp_path)


def as_user(engine, login: str) -> auth.SessionUser:
    with engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()
    return auth.session_user(engine, uid)


_TABLES: dict[str, sa.MetaData] = {}  # the schema, reflected once per backend (every copy has the same)


def hashes(engine) -> dict:
    """{table: (rows, sha256 of the rows sorted)} of every table, as scripts/db_hash.py hashes them."""
    meta = _TABLES.get(engine.dialect.name)
    if meta is None:
        meta = _TABLES[engine.dialect.name] = sa.MetaData()
        with warnings.catch_warnings():  # SQLite expression indexes are not reflected
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            cols = [c.name for c in table.columns]
            rows = sorted(repr(tuple("<set>" if (name, c) in db_hash.VOLATILE and v is not None else v
                                     for c, v in zip(cols, row))) for row in conn.execute(sa.select(table)))
            out[name] = (len(rows), hashlib.sha256("\n".join([repr(cols), *rows]).encode()).hexdigest()[:16])
    return out


def test_the_table_hash_sees_one_changed_cell(db):
    before = hashes(db)
    with db.begin() as conn:
        conn.execute(text("UPDATE customer SET phone = '13700000009' WHERE id = (SELECT MIN(id) FROM customer)"))
    after = hashes(db)
    assert [t for t in before if before[t] != after[t]] == ["customer"]


# --- targets: one inside the customer manager's station, one in another city ---------------------------


@dataclasses.dataclass(frozen=True)
class Target:
    station_id: int
    station_code: str
    station_path: str
    station_unit_id: int
    district_code: str
    district_path: str
    district_unit_id: int
    manager_id: int  # a customer manager 客户经理 of the station
    assigned: str  # that manager's scope: their customers' org path
    customer_id: int  # a customer of that manager, with no open case or task
    customer_code: str
    tier: str  # a tier one level from the customer's computed tier
    grid_id: int
    lon: float
    lat: float


def _target(conn, station_path: str, manager_id: int | None = None) -> Target:
    st = conn.execute(text("SELECT s.id, s.code, s.org_unit_id, s.lon, s.lat, d.code AS dcode, d.path AS dpath, "
                           "d.id AS did FROM station s JOIN org_unit u ON u.id = s.org_unit_id "
                           "JOIN org_unit d ON d.id = u.parent_id WHERE s.org_path = :p"),
                      {"p": station_path}).mappings().one()
    if manager_id is None:
        manager_id = conn.execute(text(
            "SELECT c.manager_id FROM customer c WHERE c.station_id = :s AND c.manager_id IS NOT NULL "
            "GROUP BY c.manager_id ORDER BY COUNT(*) DESC, c.manager_id LIMIT 1"), {"s": st["id"]}).scalar_one()
    assigned = auth.manager_scope(station_path, manager_id)
    cu = conn.execute(text(
        "SELECT c.id, c.code, c.computed_tier FROM customer c WHERE c.org_path = :p "
        "AND NOT EXISTS (SELECT 1 FROM development d WHERE d.customer_id = c.id AND d.stage NOT IN ('signed', 'lost')) "
        "AND NOT EXISTS (SELECT 1 FROM win_back_task w WHERE w.customer_id = c.id AND w.state = 'open') "
        "AND c.tier_override IS NULL ORDER BY c.id LIMIT 1"), {"p": assigned}).mappings().one()
    i = tiers.rules.TIERS.index(cu["computed_tier"])
    grid = conn.execute(text("SELECT MIN(id) FROM grid WHERE station_id = :s"), {"s": st["id"]}).scalar_one()
    return Target(st["id"], st["code"], station_path, st["org_unit_id"], st["dcode"], st["dpath"], st["did"],
                  int(manager_id), assigned, cu["id"], cu["code"], tiers.rules.TIERS[i + 1 if i == 0 else i - 1],
                  grid, float(st["lon"]), float(st["lat"]))


def targets_of(engine) -> dict[str, Target]:
    mine = as_user(engine, "custmgr")
    city = as_user(engine, "city")
    station_path = mine.scope[:mine.scope.rstrip("/").rfind("/") + 1]
    with engine.connect() as conn:
        own = _target(conn, station_path, scope_manager_id(mine.scope))
        far = conn.execute(text(
            "SELECT s.org_path FROM station s WHERE s.org_path NOT LIKE :c AND EXISTS (SELECT 1 FROM customer c "
            "WHERE c.station_id = s.id AND c.manager_id IS NOT NULL AND c.tier_override IS NULL) "
            "ORDER BY s.org_path LIMIT 1"), {"c": city.scope + "%"}).scalar_one()
        return {"own": own, "foreign": _target(conn, far)}


# --- the table -------------------------------------------------------------------------------------------

Call = Callable[[object, auth.SessionUser, Target], object]
Expect = Callable[[auth.SessionUser, Target], bool]


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    function: str  # module.function as lib names it
    action: str  # the row of lib.auth.PERMISSIONS it checks
    call: Call
    path: Callable[[Target], str | None] = lambda t: t.assigned  # the target's org path (None: the user's own)
    expect: Expect | None = None  # the case's own rule where the function adds one to PERMISSIONS
    setup: Callable[[object, Target], dict] | None = None  # run as the system actor before the call
    variants: tuple[str, ...] = ("own", "foreign")


def _station(t):
    return t.station_path


def _district(t):
    return t.district_path


def _none(t):
    return None


def _trainee_due(engine, t) -> dict:
    """The target's manager as a trainee past the trainee period, awaiting confirmation (003)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE customer_manager SET level = 'trainee', hired_on = :h WHERE id = :m"),
                     {"h": TODAY - dt.timedelta(days=200), "m": t.manager_id})
    return {}


def _customer_data(t):
    return {"name": "权限测试客户", "kind": "personal", "sub_type": "private_car", "station_id": t.station_id,
            "manager_id": t.manager_id, "phone": "13712345679", "gasoline_t": 0.3}


def _grid_feature(engine, t) -> bytes:
    fc = json.loads(export.grids_geojson(engine, t.station_path))
    fc["features"] = fc["features"][:1]
    props = fc["features"][0]["properties"]
    for key in props:
        if key in ("name", "网格名称"):
            props[key] = "改名网格"
        if key in ("owner_phone", "负责人电话"):
            props[key] = "13999999999"
    return json.dumps(fc, ensure_ascii=False).encode()


def _import(kind: str, body: Callable[[object, Target], bytes], name: str = "f.csv") -> Call:
    def call(engine, user, t):
        report = importer.import_file(engine, kind, body(engine, t), name, user=user, today=TODAY)
        if not report.ok:
            raise ValueError(report.errors_frame().to_string())
        return report
    return call


def _csv(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8-sig")


def _target_grid(engine, user, t):
    before = targets.target_grid(engine, "/", "personal_card", ["2026-11"])
    after = before.copy()
    after.loc[after["code"] == t.station_code, "2026-11"] = 19  # above the floor (002 §6.5.3)
    return targets.save_target_grid(engine, user, "personal_card", before, after, TODAY)


def _rate_grid(engine, user, t):
    before = targets.rate_grid(engine, "/")
    after = before.copy()
    after.loc[after["code"] == t.station_code, "entry_rate"] = 0.5
    return targets.save_rate_grid(engine, user, before, after, TODAY)


def _district_boundary(engine, t) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT boundary FROM org_unit WHERE id = :i"), {"i": t.district_unit_id}).scalar_one()


def _grid_geometry(engine, t):
    with engine.connect() as conn:
        return from_geojson(conn.execute(text("SELECT geometry FROM grid WHERE id = :g"), {"g": t.grid_id}).scalar_one())


def _open_case(engine, t):
    return {"case": development.open_case(engine, system_user(engine), t.customer_id)}


def _matter(engine, t, now=None):
    return {"matter": matters.register(engine, system_user(engine), "routine", "权限测试事项",
                                       customer_id=t.customer_id, now=now)}


def _task(engine, t):
    return {"task": tracking.create_task(engine, system_user(engine), t.customer_id, "2026-10", "silent",
                                         TODAY + dt.timedelta(days=20))}


def _acting_station(user, t):  # matters.act: the step waits on the station level (lib.matters.ROUTES)
    return auth.can(user, "matters.write", t.assigned) and auth.ROLE_LEVEL[user.role] == "station"


def _grid_in_reach(user, t):  # a grid's matter: a customer manager registers in their station's grids
    return auth.can(user, "matters.write") and (t.station_path.startswith(user.scope)
                                               or user.scope.startswith(t.station_path))


def _own_log(user, t):  # a customer manager writes their own log; others need visits.log_for_others
    return auth.can(user, "visits.write") and (
        user.scope == t.assigned or auth.can(user, "visits.log_for_others", t.station_path))


OVERDUE_AT = dt.datetime(2026, 1, 1, 8, 0)
CASES = [
    Case("customers.create", "customers.create", "customers.write",
         lambda e, u, t: customers.create(e, u, _customer_data(t), allow_duplicates=True, today=TODAY)),
    Case("customers.update", "customers.update", "customers.write",
         lambda e, u, t: customers.update(e, u, t.customer_id, {"phone": "13700000001"}, allow_duplicates=True)),
    Case("development.set_target", "development.set_target", "plans.edit",
         lambda e, u, t: development.set_target(e, u, t.district_unit_id, "2026-11", "institutional", 7), _district),
    Case("development.open_case", "development.open_case", "development.edit",
         lambda e, u, t: development.open_case(e, u, t.customer_id)),
    Case("development.advance", "development.advance", "development.edit",
         lambda e, u, t, case=None: development.advance(e, u, case, "lost", note="权限测试"), setup=_open_case),
    Case("development.take", "development.take", "development.edit",
         lambda e, u, t, case=None: development.take(e, u, case, t.manager_id), setup=_open_case),
    Case("surveys.record_survey", "surveys.record_survey", "surveys.record",
         lambda e, u, t: surveys.record_survey(e, u, t.station_unit_id, surveys.next_survey_period(TODAY.strftime("%Y-%m")), 5), _station),
    Case("surveys.record_special_survey", "surveys.record_special_survey", "surveys.record",
         lambda e, u, t: surveys.record_special_survey(e, u, t.station_unit_id, topic="权限测试", group="物流企业",
                                                       objects={"enterprise": 2}, started_on=TODAY,
                                                       ended_on=TODAY, customers_found=1), _station),
    Case("managers.save_manager", "managers.save_manager", "managers.edit",
         lambda e, u, t: managers.save_manager(e, u, {"code": "", "name": "权限测试经理", "phone": "",
                                                       "station_code": t.station_code, "hired_on": dt.date(2026, 5, 1),
                                                       "level": "trainee"}, TODAY), _station),
    Case("managers.rate", "managers.rate", "managers.rate", lambda e, u, t: managers.rate(e, u, 2026), _none,
         variants=("own",)),
    Case("managers.set_plan", "managers.set_plan", "managers.plan",
         lambda e, u, t: managers.set_plan(e, u, t.manager_id, "2026-11", 12.5), _station),
    Case("managers.confirm", "managers.confirm", "managers.confirm",
         lambda e, u, t: managers.confirm(e, u, t.manager_id, TODAY), _station, setup=_trainee_due),
    Case("matters.register", "matters.register", "matters.write",
         lambda e, u, t: matters.register(e, u, "routine", "权限测试", customer_id=t.customer_id)),
    Case("matters.register_grid", "matters.register", "matters.write",
         lambda e, u, t: matters.register(e, u, "routine", "权限测试", grid_id=t.grid_id), _station,
         expect=_grid_in_reach),
    Case("matters.act", "matters.act", "matters.write",
         lambda e, u, t, matter=None: matters.act(e, u, matter, "escalate"), setup=_matter, expect=_acting_station),
    Case("matters.escalate_overdue", "matters.escalate_overdue", "matters.escalate_overdue",
         lambda e, u, t, matter=None: matters.escalate_overdue(e, u, now=OVERDUE_AT + dt.timedelta(days=30)), _none,
         setup=lambda e, t: _matter(e, t, OVERDUE_AT), variants=("own",)),
    Case("org.rename", "org.rename", "org.edit", lambda e, u, t: org.rename(e, u, t.district_code, "权限测试区"),
         _district),
    Case("org.set_manager", "org.set_manager", "org.edit",
         lambda e, u, t: org.set_manager(e, u, t.district_code, "张三", "13900000000"), _district),
    Case("org.set_boundary", "org.set_boundary", "org.edit",
         lambda e, u, t: org.set_boundary(e, u, t.district_code, _district_boundary(e, t)), _district),
    Case("org.setup_from_map", "org.setup_from_map", "org.edit",
         lambda e, u, t: org.setup_from_map(e, u, "37", cities=[t.district_code[:4] + "00"],
                                            districts=[t.district_code]), _none, variants=("own",)),
    Case("stations.create_station", "stations.create_station", "stations.edit",
         lambda e, u, t: stations.create_station(e, u, {"code": "T9901", "name": "权限测试站",
                                                        "district_code": t.district_code}, today=TODAY), _district),
    Case("stations.update_station", "stations.update_station", "stations.edit",
         lambda e, u, t: stations.update_station(e, u, t.station_id, {"name": "权限改名站"}, today=TODAY), _station),
    Case("stations.save_competitor", "stations.save_competitor", "stations.edit",
         lambda e, u, t: stations.save_competitor(e, u, {"name": "权限对手站", "brand": "民营", "district_code":
                                                         t.district_code, "lon": t.lon, "lat": t.lat}, today=TODAY),
         _district),
    Case("stations.set_sales", "stations.set_sales", "stations.sales",
         lambda e, u, t: stations.set_sales(e, u, t.station_code, "2026-10", 50, 20, today=TODAY), _station),
    Case("targets.save_target_grid", "targets.save_target_grid", "plans.edit", _target_grid, _station),
    Case("targets.save_rate_grid", "targets.save_rate_grid", "rates.targets", _rate_grid, _station),
    Case("tiers.set_override", "tiers.set_override", "tiers.override",
         lambda e, u, t: tiers.set_override(e, u, t.customer_id, t.tier, "权限测试的理由")),
    Case("tracking.create_task", "tracking.create_task", "churn.task",
         lambda e, u, t: tracking.create_task(e, u, t.customer_id, "2026-10", "silent", TODAY + dt.timedelta(days=9))),
    Case("tracking.close_task", "tracking.close_task", "churn.task",
         lambda e, u, t, task=None: tracking.close_task(e, u, task, "已挽回", True), setup=_task),
    Case("visits.plan", "visits.plan", "visits.write",
         lambda e, u, t: visits.plan(e, u, t.customer_id, "phone", TODAY + dt.timedelta(days=3))),
    Case("visits.record", "visits.record", "visits.write",
         lambda e, u, t: visits.record(e, u, t.customer_id, "phone", TODAY, "电话回访，客户满意")),
    Case("visits.add_log", "visits.add_log", "visits.log_for_others",
         lambda e, u, t: visits.add_log(e, u, TODAY, "权限测试日志", manager_id=t.manager_id), expect=_own_log),
    Case("maps.editing.save_grid_geometries", "maps.editing.save_grid_geometries", "grids.edit",
         lambda e, u, t: editing.save_grid_geometries(e, u, t.district_path, {t.grid_id: _grid_geometry(e, t)}),
         _district),
    Case("importer.import_file.consumption", "importer.import_file", "imports.consumption",
         _import("consumption", lambda e, t: _csv([{"客户代码": t.customer_code, "月份": "2026-10", "汽油(吨)": 1.5}]))),
    Case("importer.import_file.station_sales", "importer.import_file", "imports.station_sales",
         _import("station_sales", lambda e, t: _csv([{"加油站代码": t.station_code, "月份": "2026-10",
                                                       "汽油(吨)": 40, "柴油(吨)": 10}])), _station),
    Case("importer.import_file.grids", "importer.import_file", "imports.grids",
         _import("grids", _grid_feature, "g.geojson"), _station),
    # issue 15: closing and reopening a month 关账 (admins; the whole organisation)
    Case("months.close_month", "months.close_month", "months.close",
         lambda e, u, t: months.close_month(e, u, "2026-09"), _none, variants=("own",)),
    Case("months.reopen_month", "months.reopen_month", "months.close",
         lambda e, u, t: months.reopen_month(e, u, "2026-09"), _none, variants=("own",),
         setup=lambda e, t: (months.close_month(e, system_user(e), "2026-09"), {})[1]),
]
CELLS = [pytest.param(c, v, login, id=f"{c.id}-{v}-{login}") for c in CASES for v in c.variants for login in LOGINS]


def _call(case: Case, engine, user, t: Target, extra: dict):
    return case.call(engine, user, t, **extra)


@pytest.mark.parametrize("case,variant,login", CELLS)
def test_write_succeeds_exactly_when_the_permission_table_and_scope_allow(db, case, variant, login):
    t = targets_of(db)[variant]
    user = as_user(db, login)
    extra = case.setup(db, t) if case.setup else {}
    path = case.path(t)
    allowed = case.expect(user, t) if case.expect else auth.can(user, case.action, path)
    if allowed:
        _call(case, db, user, t, extra)  # raises (the test fails) when a permitted call is refused
        return
    before = hashes(db)
    with pytest.raises((PermissionError, ValueError)):
        _call(case, db, user, t, extra)
    assert hashes(db) == before, "a refused call changed a table"


# --- the registry: every public write function of lib/ is in the table --------------------------------

# Functions that write only inside a transaction their caller opened (the caller checks the user);
# lib.auth's user administration belongs to the sessions work (issue 14, failure 6); lib.transfer's
# restore loads an empty database; lib.demo builds the demo.
INNER_OR_ELSEWHERE = {
    "auth.create_user", "auth.create_user_once", "auth.set_active", "auth.reset_password", "auth.change_role",
    "auth.change_own_password", "auth.authenticate", "auth.create_first_admin", "auth.create_demo_users",
    "transfer.restore", "matters.escalate_overdue_job",
    # issue 14 as well: unlock (users.manage) and ending one's own session by its token are tested with the
    # sessions (tests/test_hardening_sessions.py), the import revert (imports.revert, admins) with the
    # imports (tests/test_hardening_imports.py::test_revert_refused_after_a_later_edit_and_for_non_admins)
    "auth.unlock", "auth.end_session", "importer.revert.revert",
}
SKIP_MODULES = ("lib/demo/", "lib/db.py")


def write_functions() -> set[str]:
    """Public module-level functions of lib/ whose body opens a write transaction (`write(engine)`)."""
    found = set()
    for path in sorted((ROOT / "lib").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(SKIP_MODULES):
            continue
        module = rel[len("lib/"):-3].replace("/", ".").removesuffix(".__init__")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                src = ast.get_source_segment(path.read_text(encoding="utf-8"), node) or ""
                if _opens_write(src) or _calls_private_writer(path, node):
                    found.add(f"{module}.{node.name}")
    return found


def _opens_write(src: str) -> bool:
    return "write(engine)" in src or "db.write(engine)" in src or "_check_and_write(" in src or "_edit(engine" in src


def _calls_private_writer(path: Path, node: ast.FunctionDef) -> bool:
    """A public function handing its engine to a private helper that opens the transaction."""
    text_ = path.read_text(encoding="utf-8")
    private = {n.name for n in ast.parse(text_).body if isinstance(n, ast.FunctionDef) and n.name.startswith("_")
               and "write(engine)" in (ast.get_source_segment(text_, n) or "")}
    return any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in private
               for c in ast.walk(node))


def test_every_write_function_is_in_the_table():
    tested = {c.function for c in CASES}
    missing = write_functions() - tested - INNER_OR_ELSEWHERE
    assert not missing, f"write functions with no row in CASES (tests/test_hardening_rights.py): {sorted(missing)}"
    assert tested <= write_functions() | {"importer.import_file"}


def test_the_rights_table_in_docs_lists_every_write_function():
    doc = (ROOT / "docs" / "RIGHTS.md").read_text(encoding="utf-8")
    assert not [f for f in {c.function for c in CASES} if f"`{f}`" not in doc]


def test_every_write_function_takes_the_acting_user():
    import lib.maps.editing

    mods = {"customers": customers, "development": development, "managers": managers, "matters": matters,
            "org": org, "stations": stations, "targets": targets, "tiers": tiers, "tracking": tracking,
            "visits": visits, "surveys": surveys, "maps.editing": lib.maps.editing, "importer": importer,
            "months": months}
    for name in sorted({c.function for c in CASES}):
        module, fn = name.rsplit(".", 1)
        params = inspect.signature(getattr(mods[module], fn)).parameters
        assert "user" in params or "actor" in params, name
        ann = str(params.get("user", params.get("actor")).annotation)
        assert "SessionUser" in ann, (name, ann)


def test_no_page_reaches_the_system_actor():
    for page in sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]:
        src = page.read_text(encoding="utf-8")
        assert "lib.actors" not in src and "system_user" not in src and "escalate_overdue_job" not in src, page


# --- imports: the kind against the user's rights ---------------------------------------------------------


@pytest.mark.parametrize("kind", importer.KINDS)
def test_import_kind_needs_its_permission_row_and_kinds_for_agrees(db, kind):
    data = b"x,y\n1,2\n"
    for login in LOGINS:
        user = as_user(db, login)
        report = importer.import_file(db, kind, data, "f.csv", user=user, today=TODAY)
        allowed = auth.can(user, f"imports.{kind}")
        assert not report.ok
        assert (report.errors[0].code == "not_allowed") is not allowed, (login, report.errors_frame())
        assert (kind in importer.specs.kinds_for(user)) is allowed


# --- the known gaps of the issue, each failing before ---------------------------------------------------


def test_station_manager_cannot_change_grids_through_the_import(db):
    """Failure 4: a station manager changed grid names, owners, the service-contact phone and shapes."""
    t = targets_of(db)["own"]
    station = as_user(db, "station")
    before = hashes(db)
    report = importer.import_file(db, "grids", _grid_feature(db, t), "g.geojson", user=station)
    assert not report.ok and report.errors[0].code == "not_allowed"
    assert hashes(db) == before
    assert "grids" not in importer.specs.kinds_for(station)


def test_escalate_overdue_checks_the_user_and_the_system_job_runs_as_system(db):
    t = targets_of(db)["own"]
    _matter(db, t, OVERDUE_AT)
    later = OVERDUE_AT + dt.timedelta(days=30)
    before = hashes(db)
    for login in ("viewer", "station", "custmgr"):
        with pytest.raises(PermissionError):
            matters.escalate_overdue(db, as_user(db, login), now=later)
    assert hashes(db) == before
    assert matters.escalate_overdue_job(db, now=later) >= 1
    with db.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log WHERE action = 'escalate' ORDER BY id DESC")).scalar() \
            == "system"


def test_save_grid_geometries_checks_the_role(db):
    t = targets_of(db)["own"]
    before = hashes(db)
    for login in ("viewer", "station", "custmgr"):
        with pytest.raises(PermissionError):
            editing.save_grid_geometries(db, as_user(db, login), t.district_path, {t.grid_id: _grid_geometry(db, t)})
    assert hashes(db) == before


def test_register_refuses_a_foreign_grid_beside_an_own_customer(db):
    tg = targets_of(db)
    station = as_user(db, "station")
    before = hashes(db)
    with pytest.raises(ValueError, match="grid"):
        matters.register(db, station, "routine", "外区网格", customer_id=tg["own"].customer_id,
                         grid_id=tg["foreign"].grid_id)
    assert hashes(db) == before


def test_add_log_refuses_a_foreign_manager_and_another_managers_log(db):
    tg = targets_of(db)
    station, mine = as_user(db, "station"), as_user(db, "custmgr")
    with db.connect() as conn:
        colleague = conn.execute(text("SELECT id FROM customer_manager WHERE org_path = :p AND id <> :m ORDER BY id"),
                                 {"p": tg["own"].station_path, "m": tg["own"].manager_id}).scalar()
    before = hashes(db)
    with pytest.raises(ValueError, match="manager"):
        visits.add_log(db, station, TODAY, "外站经理", manager_id=tg["foreign"].manager_id)
    if colleague is not None:
        with pytest.raises(ValueError, match="manager"):
            visits.add_log(db, mine, TODAY, "同事的日志", manager_id=colleague)
    assert hashes(db) == before
    assert visits.add_log(db, station, TODAY, "本站经理", manager_id=tg["own"].manager_id)
    assert visits.add_log(db, mine, TODAY, "自己的日志")


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "0000-01", "2026-1", "2026-11-99", "26-11"])
def test_set_plan_refuses_a_month_that_is_no_month(db, month):
    t = targets_of(db)["own"]
    before = hashes(db)
    with pytest.raises(ValueError, match="month"):
        managers.set_plan(db, as_user(db, "area"), t.manager_id, month, 10.0)
    assert hashes(db) == before


# --- imports: every row's unit against the user's scope, every kind ---------------------------------------


def _rows_of(engine, kind: str, scope: str) -> tuple[bytes, str]:
    """One city's rows of `kind` as the import reads them (the app's own download), and a file name."""
    if kind == "grids":
        return export.grids_geojson(engine, scope), "g.geojson"
    with engine.connect() as conn:
        customer, station = (conn.execute(text(f"SELECT code FROM {table} WHERE org_path LIKE :s ORDER BY code"),
                                          {"s": scope + "%"}).scalars().first() for table in ("customer", "station"))
    made = {  # kinds the demo has no rows of
        "development": {"客户代码": customer, "开发阶段": development.DEV_STAGES[0], "开始日期": "2026-10-01",
                        "阶段变更日期": "2026-10-01"},
        "station_sales": {"加油站代码": station, "月份": "2026-10", "汽油(吨)": 40, "柴油(吨)": 10},
        "targets": {"组织单元代码": station, "月份": "2026-11", "计划类型": "personal_card", "目标(户)": 17},
        "surveys": {"加油站代码": station, "调查期": "2019-07", "潜在客户数": 3},  # a period long past: none recorded
    }
    if kind in made:
        return _csv([made[kind]]), f"{kind}.csv"
    df = export.import_frame(engine, kind, scope, "zh", "2026-10" if kind in export.MONTHLY_KINDS else None)
    assert len(df), kind
    return _csv(df.head(3).to_dict("records")), f"{kind}.csv"


@pytest.mark.parametrize("kind", [*export.IMPORT_READERS, "grids", "development"])
def test_import_refuses_rows_outside_the_users_scope_for_every_kind(db, kind):
    """The demo city's rows imported by an admin of another city: refused, nothing written; the same
    file imported over the whole organisation passes its checks (so the scope made the difference)."""
    home = as_user(db, "city").scope
    with db.connect() as conn:
        other = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' AND path <> :c ORDER BY path"),
                             {"c": home}).scalars().first()
    data, name = _rows_of(db, kind, home)
    outsider = system_user(scope=other)
    before = hashes(db)
    report = importer.import_file(db, kind, data, name, user=outsider, today=TODAY)
    assert not report.ok and report.error_count >= 1, kind
    assert hashes(db) == before
    if kind != "users":  # existing logins are refused anyway (login_taken)
        whole = importer.import_file(db, kind, data, name, user=system_user(db), dry_run=True, today=TODAY)
        assert whole.ok, (kind, whole.errors_frame().head())
