"""People and plans (issue 13): the imports `managers`, `users`, `targets`, `rate_targets`, `surveys`,
the one-manager form, one-time passwords, the target grid and the rate-target grid. A clean file is
written and audited; a malformed one is refused with its row and column named and no table changed."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from _import_as import import_file
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import auth, development, four_rates, managers, surveys, targets
from lib.importer import map_columns, read_table, template
from lib.validation import ValidationError

TODAY = dt.date(2026, 11, 20)
TABLES = ("customer_manager", "app_user", "development_plan", "four_rate_target", "survey_submission", "audit_log",
          "customer")


def snapshot(engine) -> dict:
    """Row counts of every table these imports may touch, and a digest of the values they change."""
    out = {t: count(engine, f"SELECT COUNT(*) FROM {t}") for t in TABLES}
    with engine.connect() as conn:
        out["values"] = tuple(conn.execute(text(
            "SELECT (SELECT SUM(target) FROM development_plan), (SELECT SUM(target) FROM four_rate_target), "
            "(SELECT COUNT(DISTINCT name || phone || level || org_path || COALESCE(code, '')) FROM customer_manager), "
            "(SELECT SUM(potential_customers) FROM survey_submission)")).one())
    return out


def csv(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8")


def run(engine, kind: str, rows, actor: str = "admin", **kw):
    data = rows if isinstance(rows, bytes) else csv(rows)
    return import_file(engine, kind, data, f"{kind}.csv", actor=actor, today=TODAY, **kw)


def refs(engine) -> dict:
    """Two stations of the first district, a station of another city, the first district, a manager."""
    with engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
        first = q("SELECT s.code, s.org_path FROM station s ORDER BY s.org_path LIMIT 2")
        other_city = q("SELECT s.code FROM station s WHERE s.org_path NOT LIKE "
                       f"'{'/'.join(first[0][1].split('/')[:3])}/%' ORDER BY s.org_path LIMIT 1")[0][0]
        district = q(f"SELECT code FROM org_unit WHERE level = 'district' AND '{first[0][1]}' LIKE path || '%'")[0][0]
        mgr = q(f"SELECT id FROM customer_manager WHERE org_path = '{first[0][1]}' ORDER BY id LIMIT 1")[0][0]
    return {"s1": first[0][0], "s2": first[1][0], "far": other_city, "district": district, "manager": mgr}


# --- managers 客户经理 -------------------------------------------------------------------------------


def test_managers_file_creates_updates_and_generates_codes(db):
    r = refs(db)
    old_code = managers.generated_code(r["manager"])
    report = run(db, "managers", [
        {"编号": "km-01", "姓名": "张伟", "电话": "138 0531 0001", "加油站代码": r["s1"], "入职日期": "2025-03-01",
         "级别": "junior"},
        {"编号": "", "姓名": "李娜", "电话": "", "加油站代码": r["s2"], "入职日期": "2026/01/05", "级别": ""},
        {"编号": old_code, "姓名": "王改名", "电话": "", "加油站代码": r["s1"], "入职日期": "2019-01-01", "级别": "senior"},
    ])
    assert report.ok, [e.message for e in report.errors]
    assert (report.inserted, report.updated) == (2, 1)
    with db.connect() as conn:
        rows = {c: (n, lvl) for c, n, lvl in conn.execute(text("SELECT code, name, level FROM customer_manager "
                                                               "WHERE code IS NOT NULL"))}
        new_id = conn.execute(text("SELECT id FROM customer_manager WHERE name = '李娜'")).scalar_one()
        audits = conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'customer_manager'")).scalar()
    assert rows["KM-01"] == ("张伟", "junior")
    assert rows[managers.generated_code(new_id)] == ("李娜", "trainee")  # empty code: generated; empty level: trainee
    assert rows[old_code] == ("王改名", "senior")  # a manager from before codes existed, found by its generated code
    assert audits == 3
    again = run(db, "managers", [{"code": "KM-01", "name": "张伟", "phone": "", "station_code": r["s1"],
                                  "hired_on": "2025-03-01", "level": "middle"}])
    assert again.ok and (again.inserted, again.updated) == (0, 1)


BAD_MANAGERS = [
    ("missing column", "drop:hired_on", 1, "入职日期", "missing_column"),
    ("unknown station", {"station_code": "999999999"}, 2, "station_code", "unknown_station"),
    ("bad date", {"hired_on": "2026-02-30"}, 2, "hired_on", "bad_date"),
    ("future date", {"hired_on": "2027-01-01"}, 2, "hired_on", "future_date"),
    ("bad level", {"level": "boss"}, 2, "level", "bad_choice"),
    ("bad phone", {"phone": "call me"}, 2, "phone", "bad_phone"),
    ("reserved code", {"code": "M999999"}, 2, "code", "bad_code"),
    ("duplicate code", "dup", 3, "code", "duplicate"),
    ("outside scope", {"station_code": "far"}, 2, "station_code", "outside_scope"),
    ("moves with customers", {"code": "old"}, 2, "station_code", "manager_moves"),
]


@pytest.mark.parametrize("case,change,row,column,code", BAD_MANAGERS, ids=[c[0] for c in BAD_MANAGERS])
def test_malformed_managers_file_changes_nothing(db, case, change, row, column, code):
    r = refs(db)
    good = {"code": "KM-9", "name": "赵六", "phone": "", "station_code": r["s1"], "hired_on": "2025-01-01",
            "level": "junior"}
    rows = [dict(good)]
    if change == "dup":
        rows.append(dict(good))
    elif change == "drop:hired_on":
        rows = [{k: v for k, v in good.items() if k != "hired_on"}]
    else:
        busy, elsewhere = _busy_manager(db)
        fix = {"far": r["far"], "old": managers.generated_code(busy)}
        rows[0].update({k: fix.get(v, v) for k, v in change.items()})
        if case == "moves with customers":
            rows[0]["station_code"] = elsewhere
    before = snapshot(db)
    report = run(db, "managers", rows, scope="/" if case == "moves with customers" else _city_of(db, r["s1"]))
    assert not report.ok
    assert (report.errors[0].row, report.errors[0].code) == (row, code)
    if code != "missing_column":
        assert report.errors[0].column == column
    assert snapshot(db) == before


def _busy_manager(engine) -> tuple[int, str]:
    """A manager with customers, and a station other than theirs."""
    with engine.connect() as conn:
        mid, path = conn.execute(text("SELECT m.id, m.org_path FROM customer_manager m WHERE EXISTS "
                                      "(SELECT 1 FROM customer c WHERE c.manager_id = m.id) ORDER BY m.id")).first()
        other = conn.execute(text("SELECT code FROM station WHERE org_path <> :p ORDER BY code"), {"p": path}).scalar()
    return mid, other


def _city_of(engine, station_code: str) -> str:
    """The scope of the city the station lies in ("/37/3701/")."""
    with engine.connect() as conn:
        path = conn.execute(text("SELECT org_path FROM station WHERE code = :c"), {"c": station_code}).scalar_one()
    return "/" + "/".join([p for p in path.split("/") if p][:2]) + "/"


def test_one_manager_form_creates_and_edits_with_the_import_checks(db):
    r = refs(db)
    area = user(db, "area")
    values = {"code": "", "name": "表单新建", "phone": "0531-8888 6666", "station_code": r["s1"],
              "hired_on": dt.date(2026, 5, 1), "level": "junior"}  # a trainee is made regular by confirmation only
    code = managers.save_manager(db, area, values, TODAY)
    assert code.startswith("M")
    managers.save_manager(db, area, {**values, "code": code, "name": "表单改名", "level": "middle"}, TODAY)
    rec = managers.records(db, area.scope).set_index("code").loc[code]
    assert (rec["name"], rec["level"], rec["phone"]) == ("表单改名", "middle", "053188886666")
    with pytest.raises(ValidationError) as exc:
        managers.save_manager(db, area, {**values, "name": "", "station_code": r["far"]}, TODAY)
    assert {(i.column, i.code) for i in exc.value.errors} >= {("name", "required"), ("station_code", "outside_scope")}
    with pytest.raises(ValidationError) as exc:
        managers.save_manager(db, user(db, "station"), values, TODAY)  # station managers may not edit managers
    assert exc.value.errors[0].code == "not_allowed"


# --- users and one-time passwords 用户与初始密码 -------------------------------------------------------


def test_users_file_gives_one_time_passwords_that_must_be_changed(db):
    r = refs(db)
    managers.save_manager(db, user(db, "admin"), {"code": "KM-U", "name": "客户经理乙", "phone": "",
                                                  "station_code": r["s1"], "hired_on": "2025-01-01",
                                                  "level": "junior"}, TODAY)
    dry = run(db, "users", [{"login": "zhang.wei", "display_name": "张伟", "role": "station_manager",
                             "org_code": r["s1"], "manager_code": ""}], dry_run=True)
    assert dry.ok and dry.secrets is None  # a check shows no password: nothing is created
    report = run(db, "users", [
        {"登录名": "zhang.wei", "姓名": "张伟", "角色": "station_manager", "组织单元代码": r["s1"], "客户经理编号": ""},
        {"登录名": "li_na", "姓名": "李娜", "角色": "customer_manager", "组织单元代码": r["s1"], "客户经理编号": "km-u"},
        {"登录名": "district.x", "姓名": "片区", "角色": "district_manager", "组织单元代码": r["district"],
         "客户经理编号": ""},
    ])
    assert report.ok, [e.message for e in report.errors]
    secrets = report.secrets.set_index("login")["password"]
    assert sorted(secrets.index) == ["district.x", "li_na", "zhang.wei"] and secrets.nunique() == 3
    with db.connect() as conn:
        stored = conn.execute(text("SELECT password_hash, must_change_password FROM app_user WHERE login = 'li_na'")).one()
        log = " ".join(conn.execute(text("SELECT COALESCE(after, '') FROM audit_log")).scalars())
    assert stored[1] and secrets["li_na"] not in stored[0] and secrets["li_na"] not in log
    result = auth.authenticate(db, "li_na", secrets["li_na"])
    assert result.user is not None and result.user.must_change and result.user.scope.endswith("/m" + str(
        managers.records(db, "/").set_index("code").loc["KM-U", "id"]) + "/")
    with pytest.raises(ValueError):
        auth.change_own_password(db, result.user.id, secrets["li_na"], secrets["li_na"])  # must differ
    auth.change_own_password(db, result.user.id, secrets["li_na"], "my own password 1")
    assert not auth.authenticate(db, "li_na", "my own password 1").user.must_change
    assert auth.authenticate(db, "li_na", secrets["li_na"]).user is None  # the one-time password is spent


BAD_USERS = [
    ("taken login", {"login": "admin"}, "login", "login_taken"),
    ("bad login", {"login": "a b"}, "login", "bad_login"),
    ("unknown role", {"role": "boss"}, "role", "bad_choice"),
    ("unknown unit", {"org_code": "NOPE"}, "org_code", "unknown_unit"),
    ("unit not at the role's level", {"role": "city_manager"}, "org_code", "role_level"),
    ("customer manager without manager", {"role": "customer_manager"}, "manager_code", "manager_required"),
    ("manager of another station", {"role": "customer_manager", "manager_code": "other"}, "manager_code",
     "unknown_manager"),
    ("outside scope", {"org_code": "far"}, "org_code", "outside_scope"),
    ("duplicate login", "dup", "login", "duplicate"),
]


@pytest.mark.parametrize("case,change,column,code", BAD_USERS, ids=[c[0] for c in BAD_USERS])
def test_malformed_users_file_changes_nothing(db, case, change, column, code):
    r = refs(db)
    good = {"login": "new.one", "display_name": "新人", "role": "station_manager", "org_code": r["s1"],
            "manager_code": ""}
    rows = [dict(good), dict(good)] if change == "dup" else [dict(good)]
    if change != "dup":
        fix = {"far": r["far"], "other": _manager_elsewhere(db, r["s1"])}
        rows[0].update({k: fix.get(v, v) for k, v in change.items()})
    before = snapshot(db)
    report = run(db, "users", rows, scope=_city_of(db, r["s1"]))
    assert not report.ok and report.secrets is None
    assert (column, code) in {(e.column, e.code) for e in report.errors}, [e.message for e in report.errors]
    assert snapshot(db) == before


def _manager_elsewhere(engine, station_code: str) -> str:
    with engine.connect() as conn:
        mid = conn.execute(text("SELECT m.id FROM customer_manager m JOIN station s ON s.org_unit_id = m.org_unit_id "
                                "WHERE s.code <> :c ORDER BY m.id LIMIT 1"), {"c": station_code}).scalar_one()
    return managers.generated_code(mid)


@pytest.mark.parametrize("kind", ["users", "managers", "targets", "rate_targets", "surveys"])
@pytest.mark.parametrize("actor", ["station", "inactive admin"])
def test_a_role_without_the_right_is_refused_as_a_whole(db, kind, actor):
    if actor == "inactive admin":
        auth.set_active(db, user(db, "admin"), user(db, "admin").id, False)
    elif kind == "surveys":
        actor = "custmgr"  # station managers record surveys; customer managers do not
    before = snapshot(db)
    report = run(db, kind, template(kind, "csv", "en") + b"x,y,z\r\n", actor=actor.split()[-1])
    assert not report.ok and report.errors[0].code == "not_allowed"
    assert snapshot(db) == before


def test_the_users_page_creates_one_user_with_a_one_time_password(db):
    r = refs(db)
    admin = user(db, "admin")
    with db.connect() as conn:
        unit = conn.execute(text("SELECT id FROM org_unit WHERE code = :c"), {"c": r["s1"]}).scalar_one()
    password = auth.create_user_once(db, admin, "page.user", "页面用户", "station_manager", unit)
    assert len(password) >= auth.MIN_PASSWORD
    assert auth.authenticate(db, "page.user", password).user.must_change
    with pytest.raises(PermissionError):  # not an admin: lib.auth.require (issue 14)
        auth.create_user_once(db, user(db, "city"), "x.user", "x", "station_manager", unit)


# --- development targets 开发目标 ---------------------------------------------------------------------


def test_targets_file_back_fills_past_months_without_being_late(db):
    r = refs(db)
    report = run(db, "targets", [
        {"组织单元代码": r["s1"], "月份": "2025-01", "计划类型": "personal_card", "目标(户)": "12"},
        {"组织单元代码": r["district"], "月份": "2025-01", "计划类型": "institutional", "目标(户)": "3"},
        {"组织单元代码": r["s1"], "月份": "2027-03", "计划类型": "personal_card", "目标(户)": "10"},
    ])
    assert report.ok, [e.message for e in report.errors]
    status = development.plan_status(db, "/", "2025-01")
    assert len(status) == 2 and not status["late"].any()  # written in 2026 for 2025-01: a back-fill
    unit = development.unit_plan(db, "/", "2025-01").set_index("station")
    with db.connect() as conn:
        name = conn.execute(text("SELECT name FROM org_unit WHERE code = :c"), {"c": r["s1"]}).scalar_one()
    assert unit.loc[name, "card_target"] == 12
    # the rule: after the due day (25th of the month before) but before the month ended is late
    with db.begin() as conn:
        conn.execute(text("UPDATE development_plan SET updated_at = :t WHERE month = '2025-01'"),
                     {"t": dt.datetime(2025, 1, 10, 9)})
    assert development.plan_status(db, "/", "2025-01")["late"].all()


BAD_TARGETS = [
    ("missing column", "drop:kind", 1, "计划类型", "missing_column"),
    ("unknown unit", {"org_code": "NOPE"}, 2, "org_code", "unknown_unit"),
    ("wrong level", {"kind": "institutional"}, 2, "org_code", "wrong_level"),
    ("bad month", {"month": "2026-13"}, 2, "month", "bad_month"),
    ("negative", {"target": "-1"}, 2, "target", "out_of_range"),
    ("not whole", {"target": "2.5"}, 2, "target", "not_integer"),
    ("bad kind", {"kind": "card"}, 2, "kind", "bad_choice"),
    ("outside scope", {"org_code": "far"}, 2, "org_code", "outside_scope"),
    ("duplicate", "dup", 3, "org_code", "duplicate"),
]


@pytest.mark.parametrize("case,change,row,column,code", BAD_TARGETS, ids=[c[0] for c in BAD_TARGETS])
def test_malformed_targets_file_changes_nothing(db, case, change, row, column, code):
    r = refs(db)
    good = {"org_code": r["s1"], "month": "2026-12", "kind": "personal_card", "target": "11"}
    rows = [dict(good), dict(good)] if change == "dup" else [dict(good)]
    if change == "drop:kind":
        rows = [{k: v for k, v in good.items() if k != "kind"}]
    elif change != "dup":
        rows[0].update({k: r["far"] if v == "far" else v for k, v in change.items()})
    before = snapshot(db)
    report = run(db, "targets", rows, actor="area", scope=user(db, "area").scope)
    assert not report.ok and (report.errors[0].row, report.errors[0].code) == (row, code)
    if code != "missing_column":
        assert report.errors[0].column == column
    assert snapshot(db) == before


def test_target_grid_saves_changed_cells_in_one_transaction(db):
    area = user(db, "area")
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    grid = targets.target_grid(db, area.scope, "personal_card", months)
    assert list(grid.columns) == ["code", "unit", *months] and len(grid) == count(
        db, "SELECT COUNT(*) FROM org_unit WHERE level = 'station' AND path LIKE :s", s=area.scope + "%")
    edited = grid.copy()
    edited.loc[0, "2026-02"] = 17
    edited.loc[1, "2026-12"] = 11
    assert targets.save_target_grid(db, area, "personal_card", grid, edited, TODAY) == 2
    again = targets.target_grid(db, area.scope, "personal_card", months)
    assert (again.loc[0, "2026-02"], again.loc[1, "2026-12"]) == (17, 11)
    assert not development.plan_status(db, area.scope, "2026-02")["late"].any()  # a back-fill
    before = snapshot(db)
    bad = again.copy()
    bad.loc[0, "2026-03"] = 9
    bad.loc[1, "2026-04"] = -5  # one bad cell: nothing is saved, the cell is named
    with pytest.raises(ValidationError) as exc:
        targets.save_target_grid(db, area, "personal_card", again, bad, TODAY)
    assert exc.value.errors[0].column == f"{again.loc[1, 'unit']} 2026-04" and exc.value.errors[0].code == "out_of_range"
    assert snapshot(db) == before


# --- four-rate targets 四率目标 ------------------------------------------------------------------------


def test_rate_targets_accept_fractions_and_percentages(db):
    r = refs(db)
    report = run(db, "rate_targets", [
        {"加油站代码": r["s1"], "指标": "entry_rate", "目标值": "12%"},
        {"加油站代码": r["s1"], "指标": "fill_up_rate", "目标值": "0.6"},
        {"加油站代码": r["s2"], "指标": "return_rate", "目标值": "35 %"},
    ])
    assert report.ok, [e.message for e in report.errors]
    with db.connect() as conn:
        ids = dict(conn.execute(text("SELECT code, id FROM station WHERE code IN (:a, :b)"), {"a": r["s1"], "b": r["s2"]}
                                ).all())
    got = four_rates.targets(db, [ids[r["s1"]], ids[r["s2"]]])
    assert got.loc[ids[r["s1"]], "entry_rate"] == pytest.approx(0.12)
    assert got.loc[ids[r["s1"]], "fill_up_rate"] == pytest.approx(0.6)
    assert got.loc[ids[r["s2"]], "return_rate"] == pytest.approx(0.35)


BAD_RATES = [
    ("above 100 %", {"target": "120%"}, "target", "out_of_range"),
    ("above 1", {"target": "12"}, "target", "out_of_range"),
    ("not a number", {"target": "twelve"}, "target", "not_number"),
    ("empty", {"target": ""}, "target", "required"),
    ("unknown rate", {"rate": "speed"}, "rate", "bad_choice"),
    ("unknown station", {"station_code": "NOPE"}, "station_code", "unknown_station"),
    ("outside scope", {"station_code": "far"}, "station_code", "outside_scope"),
    ("duplicate", "dup", "station_code", "duplicate"),
]


@pytest.mark.parametrize("case,change,column,code", BAD_RATES, ids=[c[0] for c in BAD_RATES])
def test_malformed_rate_targets_file_changes_nothing(db, case, change, column, code):
    r = refs(db)
    good = {"station_code": r["s1"], "rate": "entry_rate", "target": "0.2"}
    rows = [dict(good), dict(good)] if change == "dup" else [dict(good)]
    if change != "dup":
        rows[0].update({k: r["far"] if v == "far" else v for k, v in change.items()})
    before = snapshot(db)
    report = run(db, "rate_targets", rows, actor="area", scope=user(db, "area").scope)
    assert not report.ok and (report.errors[0].column, report.errors[0].code) == (column, code)
    assert snapshot(db) == before


def test_rate_grid_saves_a_changed_target(db):
    area = user(db, "area")
    grid = targets.rate_grid(db, area.scope)
    assert list(grid.columns) == ["code", "station", *targets.RATES]
    edited = grid.copy()
    edited.loc[0, "pass_through_rate"] = 0.91
    assert targets.save_rate_grid(db, area, grid, edited, TODAY) == 1
    assert targets.rate_grid(db, area.scope).loc[0, "pass_through_rate"] == pytest.approx(0.91)
    edited.loc[0, "entry_rate"] = 1.5
    with pytest.raises(ValidationError):
        targets.save_rate_grid(db, area, grid, edited, TODAY)


# --- surveys 潜在客户调查表 -----------------------------------------------------------------------------


def test_surveys_file_records_each_station_once(db):
    r = refs(db)
    report = run(db, "surveys", [
        {"加油站代码": r["s1"], "调查期": "2024-12", "报送日期": "2024-12-28", "潜在客户数": "35", "备注": "物流园区"},
        {"加油站代码": r["s2"], "调查期": "2024/12", "报送日期": "2025-01-03", "潜在客户数": "2", "备注": ""},
    ])
    assert report.ok, [e.message for e in report.errors]
    status = surveys.survey_status(db, "/", "2025-01").set_index("station_unit_id")
    with db.connect() as conn:
        u1, u2 = (conn.execute(text("SELECT id FROM org_unit WHERE code = :c"), {"c": c}).scalar_one()
                  for c in (r["s1"], r["s2"]))
    assert (status.loc[u1, "status"], status.loc[u2, "status"]) == ("on_time", "late")
    assert status.loc[u1, "potential_customers"] == 35
    again = run(db, "surveys", [{"station_code": r["s1"], "period": "2024-12", "submitted_on": "",
                                 "potential_customers": "40", "note": ""}])
    assert not again.ok and again.errors[0].code == "already_recorded"


BAD_SURVEYS = [
    ("not a survey month", {"period": "2026-06"}, "period", "bad_period"),
    ("future report", {"submitted_on": "2026-12-01"}, "submitted_on", "future_date"),
    ("negative count", {"potential_customers": "-3"}, "potential_customers", "out_of_range"),
    ("missing count", {"potential_customers": ""}, "potential_customers", "required"),
    ("unknown station", {"station_code": "NOPE"}, "station_code", "unknown_station"),
    ("duplicate", "dup", "period", "duplicate"),
]


@pytest.mark.parametrize("case,change,column,code", BAD_SURVEYS, ids=[c[0] for c in BAD_SURVEYS])
def test_malformed_surveys_file_changes_nothing(db, case, change, column, code):
    r = refs(db)
    good = {"station_code": r["s1"], "period": "2024-07", "submitted_on": "2024-07-20", "potential_customers": "5",
            "note": ""}
    rows = [dict(good), dict(good)] if change == "dup" else [dict(good)]
    if change != "dup":
        rows[0].update(change)
    before = snapshot(db)
    report = run(db, "surveys", rows)
    assert not report.ok and (report.errors[0].column, report.errors[0].code) == (column, code)
    assert snapshot(db) == before


# --- templates 模板 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["managers", "users", "targets", "rate_targets", "surveys"])
def test_templates_have_chinese_headers_the_import_reads(kind):
    header = template(kind, "csv", "zh").decode("utf-8-sig").strip().split(",")
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in header)
    mapped = map_columns(read_table(template(kind, "csv", "zh") + ",".join(["x"] * len(header)).encode() + b"\r\n",
                                    f"{kind}.csv", 10), kind)
    assert len(mapped) == 1


def test_the_users_form_refuses_what_the_import_refuses(db):
    r = refs(db)
    admin = user(db, "admin")
    with db.connect() as conn:
        station = conn.execute(text("SELECT id FROM org_unit WHERE code = :c"), {"c": r["s1"]}).scalar_one()
    before = snapshot(db)
    for args, code in [(("admin", "x", "station_manager", station), "login_taken"),
                       (("new.form", "x", "city_manager", station), "role_level"),
                       (("new.form", "x", "customer_manager", station), "manager_required"),
                       (("a b", "", "station_manager", station), "bad_login")]:
        with pytest.raises(ValidationError) as exc:
            auth.create_user_once(db, admin, *args)
        assert code in {i.code for i in exc.value.errors}
    assert snapshot(db) == before


@pytest.mark.parametrize("kind", ["managers", "users", "targets", "rate_targets", "surveys"])
def test_every_required_column_missing_is_named(db, kind):
    from lib.importer import columns

    before = snapshot(db)
    for key, _header, required in columns(kind):
        if not required:
            continue
        kept = [h for k, h, _ in columns(kind) if k != key]
        report = run(db, kind, (",".join(kept) + "\r\n" + ",".join("1" * len(kept)) + "\r\n").encode("utf-8"))
        assert not report.ok and (report.errors[0].row, report.errors[0].column, report.errors[0].code) == (
            1, key, "missing_column")
    assert snapshot(db) == before


def test_surveys_outside_the_importers_scope_are_refused(db):
    r = refs(db)
    before = snapshot(db)
    report = run(db, "surveys", [{"station_code": r["far"], "period": "2024-07", "submitted_on": "2024-07-02",
                                  "potential_customers": "1", "note": ""}], actor="area", scope=user(db, "area").scope)
    assert not report.ok and (report.errors[0].column, report.errors[0].code) == ("station_code", "outside_scope")
    assert snapshot(db) == before
