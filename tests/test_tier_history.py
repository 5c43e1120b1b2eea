"""Tier history and closed months (issue 15 point 2; DOMAIN §3 "History"; 002 §6.1.1, §6.6.3): each
month's summary rows hold the tier in force at that month's end, an override applies from its month
on, a closed month's rows and appendix-5 sheet never change and imports into it are refused.
SQLite, and PostgreSQL with TEST_DATABASE_URL.

The small demo province runs to 2026-10; "today" is put in 2026-10 (lib.months.current) so that a
change made today lands in a month with data and the months before it are the earlier ones."""
from __future__ import annotations

import datetime as dt
import io
import itertools
import random

import numpy as np
import openpyxl
import pandas as pd
import pytest
from _import_as import import_file
from _work_db import db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import customers, months, reports, rules, tier_history, tiers
from lib.importer.revert import revert
from lib.summary import refresh_customer_monthly, refresh_station_monthly

NOW = "2026-10"  # the current month in these tests (the demo's last month)
TODAY = dt.date(2026, 10, 20)
EARLIER = ["2026-07", "2026-08", "2026-09"]
SHEET5 = "附录5 机构客户月度等级管理表"


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(months, "current", lambda: NOW)


@pytest.fixture()
def hdb(db):
    """The small province with its summaries as lib.summary computes them (the demo writes its own)."""
    with db.begin() as conn:
        refresh_station_monthly(conn)
        refresh_customer_monthly(conn)
    return db


def rows(engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in r)
                       for r in conn.execute(text(sql), params).all()), key=repr)


def one(engine, sql: str, **params) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text(sql), params).mappings().one())


def state(engine, upto: str) -> dict:
    """Everything a month shows up to `upto`: customer_monthly, station_monthly, monthly_tiers and the
    appendix-5 sheet's cells of each month of EARLIER ≤ upto."""
    out = {"cm": rows(engine, "SELECT * FROM customer_monthly WHERE month <= :m", m=upto),
           "sm": rows(engine, "SELECT * FROM station_monthly WHERE month <= :m", m=upto)}
    for m in (x for x in EARLIER if x <= upto):
        out[f"tiers {m}"] = tiers.monthly_tiers(engine, "/37/", m).to_dict("records")
        out[f"a5 {m}"] = sheet5(engine, m)
    return out


def sheet5(engine, month: str) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(reports.monthly_pack(engine, "/37/", month)))
    return [tuple(r) for r in wb[SHEET5].iter_rows(values_only=True)]


def institution(engine, tier: str = "station", offset: int = 0) -> dict:
    """An existing institutional customer on the books in every month of EARLIER and NOW, computed `tier`, no
    override, with volume in NOW."""
    return one(engine, """SELECT c.id, c.code, c.computed_tier, c.station_id, c.org_path, c.kind, s.code AS station_code
        FROM customer c JOIN station s ON s.id = c.station_id
        WHERE c.kind = 'institutional' AND c.status = 'existing' AND c.tier_override IS NULL
          AND c.computed_tier = :t AND (c.developed_month IS NULL OR c.developed_month <= '2026-06')
          AND EXISTS (SELECT 1 FROM monthly_consumption m WHERE m.customer_id = c.id AND m.month = :now
                      AND m.gasoline_t + m.diesel_t > 0)
        ORDER BY c.code LIMIT 1 OFFSET :o""", t=tier, now=NOW, o=offset)


def month_rows(engine, cid: int) -> dict[str, tuple]:
    """{month: (computed_tier, tier_override)} of a customer's customer_monthly rows."""
    return {m: (c, o) for m, c, o in rows(engine, "SELECT month, computed_tier, tier_override FROM customer_monthly "
                                                  "WHERE customer_id = :c", c=cid)}


def station_volume(engine, station_id: int, month: str, tier: str, kind: str, path: str) -> float:
    got = rows(engine, "SELECT gasoline_t + diesel_t FROM station_monthly WHERE station_id = :s AND month = :m "
                       "AND tier = :t AND kind = :k AND org_path = :p", s=station_id, m=month, t=tier, k=kind, p=path)
    return got[0][0] if got else 0.0


def volume(engine, cid: int, month: str) -> float:
    return rows(engine, "SELECT gasoline_t + diesel_t FROM monthly_consumption WHERE customer_id = :c AND month = :m",
                c=cid, m=month)[0][0]


# --- an override made today --------------------------------------------------------------------------


def test_an_override_today_leaves_every_earlier_month_and_its_sheet_alone(hdb):
    c = institution(hdb)
    before = state(hdb, "2026-09")
    st_before = {t: station_volume(hdb, c["station_id"], NOW, t, c["kind"], c["org_path"]) for t in rules.TIERS}
    tiers.set_override(hdb, user(hdb, "admin"), c["id"], "district", "管理调整测试")
    assert state(hdb, "2026-09") == before  # customer_monthly, station_monthly, monthly_tiers, 附录5 cells
    got = month_rows(hdb, c["id"])
    assert got[NOW] == ("station", "district")  # in force from its own month
    assert {m: v for m, v in got.items() if m < NOW} and all(v == ("station", None) for m, v in got.items() if m < NOW)
    # the month's station summary moved the customer's volume from the station tier to the district tier
    v = volume(hdb, c["id"], NOW)
    assert station_volume(hdb, c["station_id"], NOW, "district", c["kind"], c["org_path"]) == pytest.approx(
        st_before["district"] + v)
    assert station_volume(hdb, c["station_id"], NOW, "station", c["kind"], c["org_path"]) == pytest.approx(
        st_before["station"] - v)
    now_tiers = tiers.monthly_tiers(hdb, "/37/", NOW).set_index("customer_id")
    assert now_tiers.loc[c["id"], "tier_in_force"] == "district"
    assert now_tiers.loc[c["id"], "override_reason"] == "管理调整测试"
    a5 = sheet5(hdb, NOW)
    assert any(r[0] == c["code"] and "管理调整测试" in r for r in a5)


def test_an_override_dated_back_applies_from_its_month_and_keeps_the_months_before(hdb):
    c = institution(hdb)
    admin = user(hdb, "admin")
    before = state(hdb, "2026-07")
    tiers.set_override(hdb, admin, c["id"], "district", "从八月起调整", month="2026-08")
    assert state(hdb, "2026-07") == before
    got = month_rows(hdb, c["id"])
    assert {m for m, v in got.items() if v[1] == "district"} == {m for m in got if m >= "2026-08"}
    assert tiers.monthly_tiers(hdb, "/37/", "2026-08").set_index("customer_id").loc[c["id"], "override_reason"] \
        == "从八月起调整"
    # cleared today: August and September keep the override, October has none
    tiers.set_override(hdb, admin, c["id"], None, "恢复按规则分级")
    got = month_rows(hdb, c["id"])
    assert [got[m][1] for m in ("2026-07", "2026-08", "2026-09", NOW)] == [None, "district", "district", None]
    for bad in ("2026-11", "2027-01"):  # not begun yet
        with pytest.raises(ValueError):
            tiers.set_override(hdb, admin, c["id"], "district", "未来的调整", month=bad)


def test_a_demand_edit_that_changes_the_computed_tier_leaves_earlier_months_alone(hdb):
    c = institution(hdb)
    before = state(hdb, "2026-09")
    # 3 t of gasoline a month makes an institution city tier (002 §6.3.1: G ≥ 5 or D ≥ 50 … 2 ≤ G < 5 district)
    changed = customers.update(hdb, user(hdb, "admin"), c["id"], {"gasoline_t": 3.0, "diesel_t": 0.0},
                               allow_duplicates=True)
    assert changed["computed_tier"] == ("station", "district")
    assert state(hdb, "2026-09") == before
    got = month_rows(hdb, c["id"])
    assert got[NOW] == ("district", None) and got["2026-09"] == ("station", None)
    assert rows(hdb, "SELECT until_month, computed_tier, tier_override FROM customer_tier_before "
                     "WHERE customer_id = :c", c=c["id"]) == [(NOW, "station", None)]
    # a second change in the same month keeps the month-end value before the first one
    customers.update(hdb, user(hdb, "admin"), c["id"], {"gasoline_t": 6.0}, allow_duplicates=True)
    assert rows(hdb, "SELECT until_month, computed_tier FROM customer_tier_before WHERE customer_id = :c",
                c=c["id"]) == [(NOW, "station")]
    assert month_rows(hdb, c["id"])[NOW] == ("city", None)


# --- closed months -----------------------------------------------------------------------------------


def test_a_closed_month_does_not_change_after_an_import_a_move_and_an_override(hdb):
    admin = user(hdb, "admin")
    closed = months.close_month(hdb, admin, "2026-09")
    first = rows(hdb, "SELECT MIN(month) FROM monthly_consumption")[0][0]
    assert closed == months.month_range(first, "2026-09") == months.closed(hdb)  # every earlier month too
    before = state(hdb, "2026-09")
    c, d = institution(hdb), institution(hdb, offset=1)
    # a consumption import for another month (the open one)
    body = f"customer_code,month,gasoline_t,diesel_t\n{c['code']},{NOW},7,1\n{d['code']},{NOW},2,2\n"
    report = import_file(hdb, "consumption", body.encode(), "c.csv", today=TODAY)
    assert report.ok, report.errors_frame().to_string()
    # a customer move to another station
    other = one(hdb, "SELECT id, org_path FROM station WHERE id <> :s ORDER BY id LIMIT 1", s=d["station_id"])
    customers.update(hdb, admin, d["id"], {"station_id": other["id"], "manager_id": None, "grid_id": None},
                     allow_duplicates=True)
    # an override
    tiers.set_override(hdb, admin, c["id"], "district", "关账后的调整")
    # a full refresh as a migration or a repair would run it
    with hdb.begin() as conn:
        refresh_station_monthly(conn)
        refresh_customer_monthly(conn)
    assert state(hdb, "2026-09") == before
    # the open month did change: the move, the override and the imported volume show there
    assert rows(hdb, "SELECT station_id FROM customer_monthly WHERE customer_id = :c AND month = :m",
                c=d["id"], m=NOW) == [(other["id"],)]
    assert month_rows(hdb, c["id"])[NOW] == ("station", "district")
    with pytest.raises(ValueError, match="closed"):
        tiers.set_override(hdb, admin, d["id"], "district", "关账月份的调整", month="2026-09")


@pytest.mark.parametrize("kind,body", [
    ("consumption", "customer_code,month,gasoline_t,diesel_t\n{code},{month},5,5\n"),
    ("station_sales", "station_code,month,gasoline_t,diesel_t\n{station},{month},100,100\n"),
    ("traffic", "station_code,day,passing_car,entering,fuelled,transactions\n{station},{month}-15,500,100,50,40\n"),
])
def test_an_import_into_a_closed_month_is_refused_and_changes_nothing(hdb, kind, body):
    months.close_month(hdb, user(hdb, "admin"), "2026-09")
    c = institution(hdb)
    tables = ["monthly_consumption", "station_sales", "station_traffic", "customer_monthly", "station_monthly"]
    before = {t: rows(hdb, f"SELECT * FROM {t}") for t in tables}
    data = body.format(code=c["code"], station=c["station_code"], month="2026-09").encode()
    report = import_file(hdb, kind, data, "f.csv", today=TODAY)
    assert not report.ok
    errors = report.errors_frame()
    assert list(zip(errors["row"], errors["code"])) == [(2, "month_closed")]
    assert "2026-09" in errors["message"].iloc[0] and "closed" in errors["message"].iloc[0]
    assert {t: rows(hdb, f"SELECT * FROM {t}") for t in tables} == before
    # the same row for the open month goes in
    ok = import_file(hdb, kind, body.format(code=c["code"], station=c["station_code"], month=NOW).encode(), "f.csv",
                     today=TODAY)
    assert ok.ok, ok.errors_frame().to_string()


def test_closing_and_reopening_are_for_admins_audited_and_keep_a_prefix_of_months(hdb):
    admin, city = user(hdb, "admin"), user(hdb, "city")
    with pytest.raises(PermissionError):
        months.close_month(hdb, city, "2026-08")
    assert months.closed(hdb) == []
    months.close_month(hdb, admin, "2026-08")
    assert months.close_month(hdb, admin, "2026-08") == []  # already closed
    with pytest.raises(PermissionError):
        months.reopen_month(hdb, city, "2026-08")
    assert months.reopen_month(hdb, admin, "2026-07") == ["2026-07", "2026-08"]
    assert months.closed(hdb)[-1] == "2026-06" and months.is_closed(hdb, "2026-06")
    assert not months.is_closed(hdb, "2026-07")
    with pytest.raises(ValueError):
        months.close_month(hdb, admin, "2026-11")  # not ended
    assert [a for (a,) in rows(hdb, "SELECT action FROM audit_log WHERE entity = 'month'")] == \
        ["month_close", "month_reopen"]


# --- revert ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("revert_in", [NOW, "2026-11"])
def test_revert_of_a_customers_import_that_changed_a_tier_keeps_the_history_true(hdb, monkeypatch, revert_in):
    c = institution(hdb)
    before = state(hdb, "2026-09")
    body = f"code,name,kind,station_code,gasoline_t,diesel_t\n{c['code']},,institutional,{c['station_code']},3,0\n"
    report = import_file(hdb, "customers", body.encode(), "c.csv", today=TODAY)
    assert report.ok, report.errors_frame().to_string()
    assert month_rows(hdb, c["id"])[NOW] == ("district", None)
    monkeypatch.setattr(months, "current", lambda: revert_in)
    result = revert(hdb, user(hdb, "admin"), report.batch_id)
    assert result.ok, result
    assert one(hdb, "SELECT computed_tier FROM customer WHERE id = :c", c=c["id"])["computed_tier"] == "station"
    assert state(hdb, "2026-09") == before
    hist = rows(hdb, "SELECT until_month, computed_tier FROM customer_tier_before WHERE customer_id = :c", c=c["id"])
    if revert_in == NOW:  # undone within the month: October ends as it began
        assert hist == [(NOW, "station")] and month_rows(hdb, c["id"])[NOW] == ("station", None)
    else:  # undone in November: October was district tier, November on station tier again
        assert hist == [(NOW, "station"), ("2026-11", "district")]
        assert month_rows(hdb, c["id"])[NOW] == ("district", None)


def test_revert_of_a_consumption_import_into_a_month_closed_since_is_refused(hdb):
    c = institution(hdb)
    body = f"customer_code,month,gasoline_t,diesel_t\n{c['code']},2026-09,9,9\n"
    report = import_file(hdb, "consumption", body.encode(), "c.csv", today=TODAY)
    assert report.ok
    months.close_month(hdb, user(hdb, "admin"), "2026-09")
    before = rows(hdb, "SELECT * FROM monthly_consumption")
    result = revert(hdb, user(hdb, "admin"), report.batch_id)
    assert not result.ok and result.reason == "closed"
    assert rows(hdb, "SELECT * FROM monthly_consumption") == before


# --- the vectorised lookup -----------------------------------------------------------------------------


def _plain_lookup(hist: list[tuple], cid: int, month: str, current: tuple) -> tuple:
    """The rule in plain Python: the earliest history row of the customer with until_month > month."""
    later = sorted((u, comp, ov) for c, u, comp, ov in hist if c == cid and u > month)
    return (later[0][1], later[0][2]) if later else current


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_vectorised_lookup_equals_the_rule(seed):
    rnd = random.Random(seed)
    ms = months.month_range("2025-01", "2026-12")
    hist = []
    for cid in range(1, 40):
        for u in sorted(rnd.sample(ms, rnd.randint(0, 4))):
            hist.append((cid, u, rnd.choice(rules.TIERS), rnd.choice([None, *rules.TIERS])))
    frame = pd.DataFrame(hist, columns=["customer_id", "until_month", "computed_tier", "tier_override"])
    pairs = [(cid, m) for cid, m in itertools.product(range(1, 42), ms)]
    current = {cid: (rnd.choice(rules.TIERS), rnd.choice([None, "city"])) for cid in range(1, 42)}
    ids = np.array([p[0] for p in pairs])
    got = tier_history.in_force(frame.sample(frac=1, random_state=seed), ids,
                                np.array([months.index(p[1]) for p in pairs]),
                                {"computed_tier": np.array([current[c][0] for c in ids], dtype=object),
                                 "tier_override": np.array([current[c][1] for c in ids], dtype=object)})
    assert list(zip(got["computed_tier"], got["tier_override"])) == [_plain_lookup(hist, c, m, current[c]) for c, m in pairs]


def test_note_changes_writes_once_per_customer_and_month(hdb):
    c = institution(hdb)
    with hdb.begin() as conn:
        assert tier_history.note_change(conn, c["id"], "station", None) == 0  # nothing changes
        assert tier_history.note_change(conn, c["id"], "city", None) == 1
        assert tier_history.note_change(conn, c["id"], "province", "city") == 0  # the month has its row
        assert tier_history.note_change(conn, c["id"], "city", None, month="2026-11") == 1
    assert rows(hdb, "SELECT until_month, computed_tier FROM customer_tier_before WHERE customer_id = :c",
                c=c["id"]) == [(NOW, "station"), ("2026-11", "station")]

