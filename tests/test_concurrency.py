"""Concurrent writers: 8 threads writing visits and plan edits at once lose no update and never
see "database is locked" (SQLite: WAL, busy_timeout, BEGIN IMMEDIATE; PostgreSQL: row locks)."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import text

from lib import customers, rules
from lib.auth import SessionUser
from lib.db import make_engine, upgrade, upsert, write

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


# --- customer codes and upserts under concurrent writers ------------------------------------------

CREATORS, CREATES = 8, 6


def _station_setup(engine) -> SessionUser:
    """One province and one station (code 370102001), no customers; return a station user."""
    upgrade(engine)
    with write(engine) as conn:
        conn.execute(text("INSERT INTO org_unit (id, code, name, name_en, level, parent_id, path, manager_name, "
                          "manager_phone, staff) VALUES (1, '37', 'p', 'p', 'province', NULL, '/37/', '', '', 0), "
                          "(2, '370102001', 's', 's', 'station', 1, '/37/370102001/', '', '', 0)"))
        conn.execute(text("INSERT INTO station (id, org_unit_id, org_path, code, name, lon, lat, nozzles, "
                          "daily_sales_t, grade) VALUES (1, 2, '/37/370102001/', '370102001', 's', 117, 36, 8, 3, "
                          "'graded')"))
    return SessionUser(1, "st", "st", "station_manager", "/37/370102001/")


def _new_customer(n: int) -> dict:
    return {"name": f"并发客户{n:03d}", "kind": "personal", "sub_type": "private_car", "station_id": 1,
            "phone": f"137{n:08d}", "gasoline_t": 0.3}


def test_concurrent_creates_get_distinct_codes(fresh_url):
    """Eight threads create customers of one station, kind and class at once (one code prefix): every
    create succeeds, every row is there and no two share a code (MAX+1 alone would hand out one number
    twice on PostgreSQL)."""
    engine = make_engine(fresh_url)
    user = _station_setup(engine)
    errors: list[BaseException] = []
    codes: list[str] = []
    start = threading.Barrier(CREATORS)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(CREATES):
                codes.append(customers.create(engine, user, _new_customer(n * 100 + i))[1])
        except BaseException as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CREATORS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(codes) == len(set(codes)) == CREATORS * CREATES
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT code FROM customer ORDER BY code")).scalars().all()
    assert stored == sorted(codes)
    # numbers 1..n, none skipped: each create saw the previous one's code
    assert [rules.parse_customer_code(c)["seq"] for c in stored] == list(range(1, CREATORS * CREATES + 1))
    engine.dispose()


def test_create_takes_the_next_number_when_its_code_was_taken(fresh_url, monkeypatch):
    """The insert is ON CONFLICT (code) DO NOTHING: a code taken between choosing and inserting it
    (a writer outside the prefix lock) makes the create try the next number, not fail."""
    engine = make_engine(fresh_url)
    user = _station_setup(engine)
    _, first = customers.create(engine, user, _new_customer(1))
    real, calls = customers.next_code, []

    def stale_once(conn, *args):
        calls.append(args)
        return first if len(calls) == 1 else real(conn, *args)

    monkeypatch.setattr(customers, "next_code", stale_once)
    cid, second = customers.create(engine, user, _new_customer(2))
    assert len(calls) == 2 and second != first
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, code, name FROM customer ORDER BY id")).all()
    assert [(r.code, r.name) for r in rows] == [(first, "并发客户001"), (second, "并发客户002")]
    assert rows[1].id == cid
    engine.dispose()


def test_upsert_inserts_then_updates_and_do_nothing_reports_the_clash(fresh_url):
    engine = make_engine(fresh_url)
    _station_setup(engine)
    row = {"org_unit_id": 2, "org_path": "/37/370102001/", "month": "2026-11", "kind": "personal_card",
           "target": 5, "updated_by": "a", "updated_at": dt.datetime(2026, 11, 1)}
    key = ("org_unit_id", "month", "kind")
    with write(engine) as conn:
        first = upsert(conn, "development_plan", row, key, returning="id")
        again = upsert(conn, "development_plan", row | {"target": 7, "updated_by": "b"}, key, returning="id")
        skipped = upsert(conn, "development_plan", row | {"target": 9}, key, update=(), returning="id")
    assert first == again and skipped is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*), MAX(target), MAX(updated_by) FROM development_plan")).one() == (
            1, 7, "b")
    engine.dispose()


def test_concurrent_plan_edits_of_a_new_row_all_succeed(fresh_url):
    """Eight threads set the same unit's target for a month with no row yet: check-then-insert lets
    two of them insert (a unique-constraint error on PostgreSQL); the upsert leaves one row."""
    from lib import development

    engine = make_engine(fresh_url)
    _station_setup(engine)
    admin = SessionUser(2, "adm", "adm", "province_admin", "/37/")
    errors: list[BaseException] = []
    start = threading.Barrier(CREATORS)

    def worker(n: int) -> None:
        try:
            start.wait()
            development.set_target(engine, admin, 2, "2026-12", "personal_card", 10 + n)  # ≥ the floor (002 §6.5.3)
        except BaseException as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CREATORS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with engine.connect() as conn:
        n, target = conn.execute(text("SELECT COUNT(*), MAX(target) FROM development_plan WHERE month = '2026-12'")).one()
        audits = conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'development_plan'")).scalar_one()
    assert n == 1 and 10 <= target < 10 + CREATORS and audits == CREATORS
    engine.dispose()
