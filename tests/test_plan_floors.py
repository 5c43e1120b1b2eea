"""Plan floors 计划下限 (issue 15, 002 §6.5.3): "每个区县月度开发数量不少于1个机构客户 … 站均月度开发个人卡
客户数量不少于10个". A district's institutional target below 1, or personal card targets that bring a city
branch's station average for a month below 10, are refused through every way a target is set
(lib.development.set_target, the plan page's grid lib.targets.save_target_grid, the targets import),
each naming the unit, column and reason and writing nothing; at the floor they are accepted.
Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from _import_as import import_file
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import development, targets
from lib.i18n import translator
from lib.validation import ValidationError

TODAY = dt.date(2026, 11, 20)
MONTH = "2026-12"  # no stored targets in the demo: every station is at the default (10)
FLOOR_CARD, FLOOR_INST, DEFAULT_CARD = 10, 1, 10  # config [development], written out here


def units(engine) -> dict:
    """Two stations of the first city branch, a station of another city, a district: id, code, path;
    and the number of stations of the first city (plain SQL)."""
    with engine.connect() as conn:
        q = lambda sql, **p: conn.execute(text(sql), p).mappings().all()  # noqa: E731
        s1, s2 = q("SELECT id, code, path, name FROM org_unit WHERE level = 'station' ORDER BY path LIMIT 2")
        city = "/".join(s1["path"].split("/")[:3]) + "/"
        far = q("SELECT id, code, path, name FROM org_unit WHERE level = 'station' AND path NOT LIKE :c "
                "ORDER BY path LIMIT 1", c=city + "%")[0]
        district = q("SELECT id, code, path, name FROM org_unit WHERE level = 'district' ORDER BY path LIMIT 1")[0]
        n = conn.execute(text("SELECT COUNT(*) FROM org_unit WHERE level = 'station' AND path LIKE :c"),
                         {"c": city + "%"}).scalar_one()
        city_name = conn.execute(text("SELECT name FROM org_unit WHERE path = :c"), {"c": city}).scalar_one()
    assert s2["path"].startswith(city) and n >= 3
    return {"s1": s1, "s2": s2, "far": far, "district": district, "n": n, "city_name": city_name}


def state(engine) -> tuple:
    """What a refused target must leave unchanged: the plan rows and the audit log."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT org_unit_id, month, kind, target FROM development_plan ORDER BY 1, 2, 3")).all()
    return tuple(map(tuple, rows)), count(engine, "SELECT COUNT(*) FROM audit_log")


# (case, [(unit, target)] in the order set_target applies them, refused unit or None, error code)
CASES = [
    ("institutional 0 refused", [("district", 0)], "district", "below_floor_institutional"),
    ("institutional at the floor (1)", [("district", 1)], None, None),
    ("institutional above", [("district", 4)], None, None),
    ("one station 9: average below 10", [("s1", 9)], "s1", "below_floor_card"),
    ("9 made up by 11 in the same city: average 10", [("s2", 11), ("s1", 9)], None, None),
    ("8 not made up by 11", [("s2", 11), ("s1", 8)], "s1", "below_floor_card"),
    ("another city's 11 does not make up", [("far", 11), ("s1", 9)], "s1", "below_floor_card"),
    ("station 0 refused", [("s1", 0)], "s1", "below_floor_card"),
    ("station at the default", [("s1", 10)], None, None),
]


def _kind(name: str) -> str:
    return "institutional" if name == "district" else "personal_card"


def _expected_average(u: dict, changes: list) -> float:
    """The first city's station average after `changes` (independent of lib: n stations, the rest at 10)."""
    mine = {k: v for k, v in changes if k in ("s1", "s2")}
    return round((DEFAULT_CARD * (u["n"] - len(mine)) + sum(mine.values())) / u["n"], 2)


def _via_set_target(engine, u, changes):
    admin = user(engine, "admin")
    for name, target in changes:
        development.set_target(engine, admin, u[name]["id"], MONTH, _kind(name), target)


def _via_grid(engine, u, changes):
    admin, kind = user(engine, "admin"), _kind(changes[0][0])
    grid = targets.target_grid(engine, admin.scope, kind, [MONTH])
    edited = grid.copy()
    for name, target in changes:
        edited.loc[edited["code"] == u[name]["code"], MONTH] = target
    return targets.save_target_grid(engine, admin, kind, grid, edited, TODAY)


def _via_import(engine, u, changes):
    rows = [{"组织单元代码": u[n]["code"], "月份": MONTH, "计划类型": _kind(n), "目标(户)": str(t)} for n, t in changes]
    data = pd.DataFrame(rows).to_csv(index=False).encode("utf-8")
    report = import_file(engine, "targets", data, "targets.csv", actor="admin", today=TODAY)
    if not report.ok:
        raise ValidationError(report.errors)
    return report


WAYS = {"set_target": _via_set_target, "grid": _via_grid, "import": _via_import}


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("case,changes,refused,code", CASES, ids=[c[0] for c in CASES])
def test_targets_below_the_floors_are_refused_every_way(db, way, case, changes, refused, code):
    u = units(db)
    before = state(db)
    if refused is None:
        WAYS[way](db, u, changes)
        grid = targets.target_grid(db, "/", _kind(changes[0][0]), [MONTH]).set_index("code")[MONTH]
        assert {n: int(grid[u[n]["code"]]) for n, _ in changes} == dict(changes)  # in force (the grid skips 1 = default)
        plan = development.unit_plan(db, "/", MONTH)
        city_rows = plan[plan["station_path"].str.startswith("/".join(u["s1"]["path"].split("/")[:3]) + "/")]
        assert city_rows["card_target"].mean() >= FLOOR_CARD
        return
    last = changes
    if way == "set_target":  # one call per target: the earlier ones are written, the refused one is not
        _via_set_target(db, u, changes[:-1])
        before, last = state(db), changes[-1:]
    with pytest.raises(ValidationError) as exc:
        WAYS[way](db, u, last)
    assert state(db) == before  # nothing written, nothing audited
    issues = exc.value.errors
    assert [i.code for i in issues] == [code]
    issue = issues[0]
    en, zh = issue.text(translator("en")), issue.text(translator("zh"))
    assert "002 §6.5.3" in en and "002 §6.5.3" in zh
    target = dict(changes)[refused]
    assert issue.params["value"] in (target, str(target))
    if code == "below_floor_card":
        assert issue.params["city"] == u["city_name"] and issue.params["month"] == MONTH
        assert issue.params["average"] == _expected_average(u, changes) < FLOOR_CARD
        assert issue.params["floor"] == FLOOR_CARD and u["city_name"] in zh
    else:
        assert issue.params["floor"] == FLOOR_INST
    column = {"set_target": "target", "grid": f"{u[refused]['name']} {MONTH}", "import": "目标(户)"}[way]
    assert issue.column == column
    if way == "import":  # the row of the file (header = row 1)
        assert issue.row == 2 + [n for n, _ in changes].index(refused)


def test_stored_targets_count_in_the_average(db):
    """A station raised earlier makes room for another below 10 later (stored over default)."""
    u, admin = units(db), user(db, "admin")
    development.set_target(db, admin, u["s2"]["id"], MONTH, "personal_card", 12)
    development.set_target(db, admin, u["s1"]["id"], MONTH, "personal_card", 8)  # (12 + 8 + 10·(n-2)) / n = 10
    with pytest.raises(ValidationError):
        development.set_target(db, admin, u["s1"]["id"], MONTH, "personal_card", 7)
    with db.connect() as conn:
        assert conn.execute(text("SELECT target FROM development_plan WHERE org_unit_id = :u AND month = :m"),
                            {"u": u["s1"]["id"], "m": MONTH}).scalar_one() == 8
    with pytest.raises(ValidationError):  # lowering the one that made room is refused in turn
        development.set_target(db, admin, u["s2"]["id"], MONTH, "personal_card", 11)


def test_raising_an_average_stored_below_the_floor_is_let_through(db):
    """Targets stored before the floors (written here directly) may leave a city below 10: raising one
    is accepted, lowering one further is refused."""
    u, admin = units(db), user(db, "admin")
    with db.begin() as conn:
        conn.execute(text("INSERT INTO development_plan (org_unit_id, org_path, month, kind, target, updated_by, "
                          "updated_at) VALUES (:u, :p, :m, 'personal_card', 0, 'legacy', :t)"),
                     {"u": u["s1"]["id"], "p": u["s1"]["path"], "m": MONTH, "t": dt.datetime(2026, 11, 1)})
    development.set_target(db, admin, u["s1"]["id"], MONTH, "personal_card", 5)  # 0 → 5: still below, but up
    with pytest.raises(ValidationError):
        development.set_target(db, admin, u["s2"]["id"], MONTH, "personal_card", 9)  # down: refused
    with pytest.raises(ValidationError):
        development.set_target(db, admin, u["s1"]["id"], MONTH, "personal_card", 4)


def test_floors_come_from_config_with_their_section():
    from lib.config import DEFAULT_RULES

    text_ = DEFAULT_RULES.read_text(encoding="utf-8")
    assert "002 §6.5.3" in text_
    assert development.plan_floors() == {"institutional": FLOOR_INST, "personal_card": FLOOR_CARD}
