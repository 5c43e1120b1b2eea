"""Concurrent writers: 8 threads writing visits and plan edits at once lose no update and never
see "database is locked" (SQLite: WAL, busy_timeout, BEGIN IMMEDIATE; PostgreSQL: row locks)."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import text

from lib.db import make_engine, upgrade, write

THREADS = 8
ROUNDS = 25


def _setup(engine):
    upgrade(engine)
    with write(engine) as conn:
        conn.execute(text("INSERT INTO org_unit (id, code, name, name_en, level, parent_id, path, manager_name, "
                          "manager_phone, staff) VALUES (1, '37', 'p', 'p', 'province', NULL, '/37/', '', '', 0)"))
        conn.execute(text("INSERT INTO station (id, org_unit_id, org_path, code, name, lon, lat, nozzles, "
                          "daily_sales_t, grade) VALUES (1, 1, '/37/', 'S1', 's', 117, 36, 8, 3, 'graded')"))
        conn.execute(text("INSERT INTO customer (id, code, name, kind, sub_type, fuel, fuel_segment, payment, "
                          "industry, phone, credit_code, contact, station_id, org_path, status, value_class, "
                          "loyalty, gasoline_t, diesel_t, card_cny, province_procurement, stable, computed_tier, "
                          "tier_rule, created_at) VALUES (1, 'C1', 'c', 'personal', 'private_car', 'gasoline', '', "
                          "'fuel_card', '', '', '', '', 1, '/37/', 'existing', 4, 'fixed', 0, 0, 0, FALSE, FALSE, "
                          "'station', 'station.personal', :now)"), {"now": dt.datetime(2026, 1, 1)})
        conn.execute(text("INSERT INTO development_plan (org_unit_id, org_path, month, kind, target, updated_by, "
                          "updated_at) VALUES (1, '/37/', '2026-11', 'personal_card', 0, '', :now)"),
                     {"now": dt.datetime(2026, 1, 1)})


def test_eight_threads_lose_no_update(fresh_url):
    engine = make_engine(fresh_url)
    _setup(engine)
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(ROUNDS):
                with write(engine) as conn:
                    # read-modify-write: the classic lost update without a write lock
                    if engine.dialect.name == "postgresql":
                        sel = "SELECT target FROM development_plan WHERE id = 1 FOR UPDATE"
                    else:
                        sel = "SELECT target FROM development_plan WHERE id = 1"
                    target = conn.execute(text(sel)).scalar_one()
                    conn.execute(text("UPDATE development_plan SET target = :t, updated_by = :u WHERE id = 1"),
                                 {"t": target + 1, "u": f"w{n}"})
                    conn.execute(text("INSERT INTO visit (customer_id, org_path, mode, done_on, note, created_by) "
                                      "VALUES (1, '/37/', 'phone', :d, :note, :u)"),
                                 {"d": dt.date(2026, 11, 1), "note": f"{n}-{i}", "u": f"w{n}"})
        except BaseException as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT target FROM development_plan WHERE id = 1")).scalar_one() == THREADS * ROUNDS
        assert conn.execute(text("SELECT COUNT(*) FROM visit")).scalar_one() == THREADS * ROUNDS
        assert conn.execute(text("SELECT COUNT(DISTINCT note) FROM visit")).scalar_one() == THREADS * ROUNDS
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
