"""Development cases as the rule book runs them (issue 15 point 3; 002 §6.5.4): collect → plan → assign →
control → signed (or lost, with its reason), each stage logged with its date and note; 摘牌制 open
targets taken by a developer (§6.5.4.6); an institution signs only with its supply agreement and a
signed case makes the customer existing and developed in the month of signing, which is what plan
completion counts (§6.5.4.5); rights and scope below the UI. Table-driven; SQLite and PostgreSQL
(TEST_DATABASE_URL) through tests/_work_db."""
from __future__ import annotations

import datetime as dt

import pytest
from _import_as import import_file as import_as
from _work_db import count, db, small_url, user  # noqa: F401 (fixtures)
from sqlalchemy import text

from lib import development
from lib.validation import ValidationError

START = dt.date(2026, 10, 1)  # inside the demo's last month of data (2026-10)
DAY = dt.timedelta(days=1)


def refused(code: str, fn, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    assert [i.code for i in info.value.errors] == [code], info.value
    return info.value


def customer(engine, scope: str, *, kind: str | None, agreement: bool | None = None, status: str = "potential",
             skip: int = 0) -> int:
    """A customer of `kind` (None: any; personal ones paying by fuel card, the plan's card customers)
    inside `scope` with no case at all, set to `status` (and to have, or not, a supply agreement), as a
    company's data holds them; returns its id."""
    cond = {None: "", "personal": "AND c.kind = 'personal' AND c.payment = 'fuel_card'",
            "institutional": "AND c.kind = 'institutional'"}[kind]
    with engine.begin() as conn:
        cid = conn.execute(text(
            f"SELECT c.id FROM customer c WHERE c.org_path LIKE :s {cond} "
            "AND NOT EXISTS (SELECT 1 FROM development d WHERE d.customer_id = c.id) ORDER BY c.id LIMIT 1 OFFSET :o"),
            {"s": scope + "%", "o": skip}).scalar_one()
        conn.execute(text("UPDATE customer SET status = :st, developed_month = NULL, lost_month = NULL, "
                          "loyalty = COALESCE(:loyalty, loyalty) WHERE id = :c"),
                     {"st": status, "c": cid, "loyalty": None if status == "existing" else "potential"})
        if agreement is not None:
            conn.execute(text("UPDATE customer SET agreement = :a WHERE id = :c"),
                         {"a": "district" if agreement else None, "c": cid})
    return cid


def manager(engine, scope: str, other_than: str | None = None) -> int:
    """An active customer manager inside `scope` (or, with `other_than`, outside that path)."""
    cond = "org_path NOT LIKE :o" if other_than else "org_path LIKE :s"
    return count(engine, f"SELECT MIN(id) FROM customer_manager WHERE {cond} AND active = :t",
                 s=scope + "%", o=(other_than or "") + "%", t=True)


def stage_log(engine, case_id: int) -> list[tuple]:
    """(stage, day, note, actor) of the case's log, oldest first; days as ISO text on both backends."""
    with engine.connect() as conn:
        return [(r[0], str(r[1])[:10], r[2], r[3]) for r in conn.execute(text(
            "SELECT stage, stage_on, note, actor FROM development_stage WHERE case_id = :i ORDER BY id"),
            {"i": case_id})]


def state(engine, case_id: int) -> tuple:
    """What a refused call must leave as it was: the case row, its log and the audit log's size."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT stage, stage_on, developer_id FROM development WHERE id = :i"),
                           {"i": case_id}).one()
    return (row[0], str(row[1])[:10], row[2]), stage_log(engine, case_id), count(engine, "SELECT COUNT(*) FROM audit_log")


# --- each stage move with its date and note -----------------------------------------------------------

MOVES = {  # id: the moves after "collect" (stage, days after the start, note); every one is logged
    "each_stage": [("plan", 3, "方案：季度优惠 + 专属开票"), ("assign", 5, "确定张经理为开发人"),
                   ("control", 9, "第二次洽谈，价格已谈妥"), ("signed", 14, "签订供油协议")],
    "skipping": [("control", 2, "直接进入洽谈"), ("signed", 4, "签约")],
    "lost": [("plan", 1, "制定方案"), ("lost", 6, "客户已与竞争对手签约")],
    "same_day": [("plan", 0, "当天即定方案")],
}


@pytest.mark.parametrize("moves", list(MOVES.values()), ids=list(MOVES))
def test_each_stage_move_is_logged_with_its_date_and_note(db, moves):
    station = user(db, "station")
    cid = customer(db, station.scope, kind="personal")
    dev_id = manager(db, station.scope)
    case = development.open_case(db, station, cid, developer_id=dev_id, started_on=START, note="初次接触")
    left = ["collect"]
    for stage, days, note in moves:
        left.append(development.advance(db, station, case, stage, note=f"  {note} ", on=START + days * DAY))
    assert left[1:] == ["collect"] + [s for s, _, _ in moves[:-1]]  # advance returns the stage it left
    expected = [("collect", START.isoformat(), "初次接触", "station")] + [
        (s, (START + d * DAY).isoformat(), n, "station") for s, d, n in moves]
    assert stage_log(db, case) == expected
    assert state(db, case)[0][:2] == (moves[-1][0], (START + moves[-1][1] * DAY).isoformat())
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE entity = 'development' AND entity_id = :i",
                 i=str(case)) == 1 + len(moves)


# --- refused moves change nothing ----------------------------------------------------------------------

REFUSALS = {  # id: (moves first, the refused move (stage, days, note, developer?), code)
    "backwards": ([("assign", 2, "")], ("plan", 3, "回退", False), "stage_backwards"),
    "same_stage": ([("plan", 2, "")], ("plan", 3, "再来一次", False), "stage_backwards"),
    "after_signed": ([("signed", 2, "")], ("lost", 3, "反悔", False), "case_closed"),
    "after_lost": ([("lost", 2, "价格不合适")], ("plan", 3, "重启", False), "case_closed"),
    "lost_without_reason": ([], ("lost", 2, "", False), "lost_reason_required"),
    "lost_blank_reason": ([], ("lost", 2, "   ", False), "lost_reason_required"),
    "before_last_change": ([("plan", 5, "")], ("control", 4, "倒签", False), "stage_date_early"),
    "in_the_future": ([], ("plan", (dt.date.today() - START).days + 1, "明天", False), "future_date"),
    "unknown_stage": ([], ("won", 2, "", False), "bad_choice"),
    "note_too_long": ([], ("plan", 2, "长" * (development.NOTE_MAX + 1), False), "too_long"),
    "foreign_developer": ([], ("assign", 2, "", True), "unknown_developer"),
}


@pytest.mark.parametrize("first,attempt,code", list(REFUSALS.values()), ids=list(REFUSALS))
def test_refused_moves_change_nothing(db, first, attempt, code):
    station = user(db, "station")
    cid = customer(db, station.scope, kind="personal")
    case = development.open_case(db, station, cid, developer_id=manager(db, station.scope), started_on=START)
    for stage, days, note in first:
        development.advance(db, station, case, stage, note=note, on=START + days * DAY)
    before = state(db, case)
    stage, days, note, foreign = attempt
    extra = {"developer_id": manager(db, station.scope, other_than=station.scope)} if foreign else {}
    refused(code, development.advance, db, station, case, stage, note=note, on=START + days * DAY, **extra)
    assert state(db, case) == before


def test_from_assign_on_a_case_needs_its_developer(db):
    """确定开发人员 (§6.5.4.3): a case without a developer stops before "assign"; naming one moves it."""
    station = user(db, "station")
    case = development.open_case(db, station, customer(db, station.scope, kind="personal"), started_on=START)
    for stage in ("assign", "control", "signed"):
        refused("developer_required", development.advance, db, station, case, stage, on=START + DAY)
    development.advance(db, station, case, "plan", on=START + DAY)  # before "assign": fine
    dev_id = manager(db, station.scope)
    development.advance(db, station, case, "control", on=START + 2 * DAY, developer_id=dev_id)
    assert state(db, case)[0] == ("control", (START + 2 * DAY).isoformat(), dev_id)


# --- signing: the supply agreement, the customer developed that month, the plan actual ------------------


def _inst_actual_sql(engine, scope: str, month: str) -> int:
    """The month's institutional plan actual, written independently: institutions with an agreement
    whose developed month is `month`."""
    return count(engine, "SELECT COUNT(*) FROM customer WHERE org_path LIKE :s AND kind = 'institutional' "
                         "AND agreement IS NOT NULL AND agreement <> '' AND developed_month = :m", s=scope + "%", m=month)


@pytest.mark.parametrize("kind,agreement,signs", [
    ("institutional", False, False), ("institutional", True, True), ("personal", False, True)],
    ids=["institution_without_agreement", "institution_with_agreement", "personal_card_without_agreement"])
def test_signing_needs_an_institutions_agreement_and_counts_once(db, kind, agreement, signs):
    station = user(db, "station")
    scope, month, on = station.scope, "2026-10", dt.date(2026, 10, 20)
    cid = customer(db, scope, kind=kind, agreement=agreement)
    case = development.open_case(db, station, cid, developer_id=manager(db, scope), started_on=START)
    inst_before, plan_before = _inst_actual_sql(db, scope, month), development.totals(db, scope, month)
    if not signs:
        exc = refused("agreement_required", development.advance, db, station, case, "signed", on=on)
        assert exc.errors[0].column == "stage"
        assert development.totals(db, scope, month) == plan_before
        assert count(db, "SELECT COUNT(*) FROM customer WHERE id = :c AND status = 'potential'", c=cid) == 1
        return
    development.advance(db, station, case, "signed", note="签订供油协议", on=on)
    with db.connect() as conn:
        status, developed, loyalty = conn.execute(text(
            "SELECT status, developed_month, loyalty FROM customer WHERE id = :c"), {"c": cid}).one()
    assert (status, developed, loyalty) == ("existing", month, "floating")
    plan = development.totals(db, scope, month)
    key = "institutional" if kind == "institutional" else "personal_card"
    assert plan[key]["actual"] == plan_before[key]["actual"] + 1  # exactly one more
    other = "personal_card" if kind == "institutional" else "institutional"
    assert plan[other]["actual"] == plan_before[other]["actual"]
    assert plan["institutional"]["actual"] == _inst_actual_sql(db, scope, month) == inst_before + (kind == "institutional")
    # the summaries were refreshed in the same transaction: the customer is on the books in October
    assert count(db, "SELECT COUNT(*) FROM customer_monthly WHERE customer_id = :c AND month = :m", c=cid, m=month) == 1
    assert count(db, "SELECT COUNT(*) FROM audit_log WHERE entity = 'customer' AND action = 'case_signed' "
                     "AND entity_id = :c", c=str(cid)) == 1


def test_an_existing_customer_signing_again_is_not_developed_again(db):
    station = user(db, "station")
    cid = customer(db, station.scope, kind="personal", status="existing")
    with db.begin() as conn:
        conn.execute(text("UPDATE customer SET developed_month = '2025-03' WHERE id = :c"), {"c": cid})
    case = development.open_case(db, station, cid, developer_id=manager(db, station.scope), started_on=START)
    development.advance(db, station, case, "signed", on=START + DAY)
    assert count(db, "SELECT COUNT(*) FROM customer WHERE id = :c AND developed_month = '2025-03'", c=cid) == 1


def test_completion_counts_institutions_with_their_agreement_and_shows_the_others(engine):
    """The fixture province: for every month, inst_actual = institutions developed with an agreement and
    inst_no_agreement = those without (independent SQL); the demo gives most developed ones an agreement."""
    months = [r[0] for r in engine.connect().execute(text(
        "SELECT DISTINCT developed_month FROM customer WHERE developed_month IS NOT NULL ORDER BY 1"))]
    with_agreement = without = 0
    for month in months[-6:]:
        plan = development.unit_plan(engine, "/37/", month)
        inst = _inst_actual_sql(engine, "/37/", month)
        no = count(engine, "SELECT COUNT(*) FROM customer WHERE kind = 'institutional' AND developed_month = :m "
                           "AND (agreement IS NULL OR agreement = '')", m=month)
        assert (int(plan["inst_actual"].sum()), int(plan["inst_no_agreement"].sum())) == (inst, no), month
        roll = development.rollup(engine, "/37/", month, "city")
        assert (int(roll["inst_actual"].sum()), int(roll["inst_no_agreement"].sum())) == (inst, no), month
        with_agreement, without = with_agreement + inst, without + no
    assert with_agreement > 4 * without  # "mostly": the demo no longer counts institutions without one


# --- 摘牌制: open targets taken by a developer ----------------------------------------------------------


def test_an_open_target_is_listed_and_taken_once(db):
    city, station = user(db, "city"), user(db, "station")
    cid = customer(db, station.scope, kind="institutional", agreement=True)
    case = development.open_case(db, city, cid, team="济南分公司重点客户开发组(摘牌)", started_on=START,
                                 note="分公司立项")
    for who in (city, station):  # listed for the branch and for the customer's station
        assert case in development.open_targets(db, who.scope)["id"].tolist()
    assert case not in development.open_targets(db, "/37/3702/")["id"].tolist()
    dev_id = manager(db, station.scope)
    foreign = manager(db, station.scope, other_than=station.scope)
    refused("unknown_developer", development.take, db, station, case, foreign, on=START + DAY)
    assert development.take(db, station, case, dev_id, note="张经理摘牌", on=START + DAY) == "collect"
    assert state(db, case)[0] == ("assign", (START + DAY).isoformat(), dev_id)
    assert stage_log(db, case)[-1] == ("assign", (START + DAY).isoformat(), "张经理摘牌", "station")
    assert case not in development.open_targets(db, city.scope)["id"].tolist()
    before = state(db, case)
    refused("case_taken", development.take, db, city, case, dev_id, on=START + 2 * DAY)  # the first taker stands
    assert state(db, case) == before


# --- rights: who may, within what -----------------------------------------------------------------------

RIGHTS = {  # id: (login, whose customer, expected code or None)
    "customer_manager_own": ("custmgr", "own", None),
    "customer_manager_colleague": ("custmgr", "colleague", "outside_scope"),
    "station_manager_own_station": ("station", "own", None),
    "station_manager_other_station": ("station", "other_station", "outside_scope"),
    "area_manager_district": ("area", "own", None),
    "province_viewer": ("viewer", "own", "not_allowed"),
}


def _whose(engine, actor_login: str, whose: str) -> int:
    me = user(engine, actor_login).scope
    station = user(engine, "station").scope
    if whose == "own":
        return customer(engine, user(engine, "custmgr").scope, kind="personal")
    if whose == "colleague":  # the same station, another manager's customer
        with engine.connect() as conn:
            path = conn.execute(text("SELECT MIN(org_path) FROM customer WHERE org_path LIKE :s AND org_path <> :m "
                                     "AND org_path LIKE '%/m%'"), {"s": station + "%", "m": me}).scalar_one()
        return customer(engine, path, kind=None)
    with engine.connect() as conn:
        path = conn.execute(text("SELECT MIN(path) FROM org_unit WHERE level = 'station' AND path <> :s"),
                            {"s": station}).scalar_one()
    return customer(engine, path, kind=None)


@pytest.mark.parametrize("login,whose,code", list(RIGHTS.values()), ids=list(RIGHTS))
def test_rights_and_scope_below_the_ui(db, login, whose, code):
    actor = user(db, login)
    cid = _whose(db, login, whose)
    admin = user(db, "admin")
    n = count(db, "SELECT COUNT(*) FROM development_stage")
    if code:
        refused(code, development.open_case, db, actor, cid, started_on=START)
        assert count(db, "SELECT COUNT(*) FROM development_stage") == n
        case = development.open_case(db, admin, cid, started_on=START)  # opened by someone allowed
        refused("not_allowed" if code == "not_allowed" else "not_found",
                development.advance, db, actor, case, "plan", on=START + DAY)
        assert state(db, case)[0][0] == "collect"
        return
    case = development.open_case(db, actor, cid, started_on=START, note="自己开发")
    mine = manager(db, actor.scope) if login != "custmgr" else int(actor.scope.rstrip("/").rsplit("/m", 1)[1])
    development.advance(db, actor, case, "assign", on=START + DAY, developer_id=mine, note="本人开发")
    assert [s for s, *_ in stage_log(db, case)] == ["collect", "assign"]


# --- the development import follows the same rules ------------------------------------------------------


def _file(rows: list[dict]) -> bytes:
    import pandas as pd

    cols = ["customer_code", "stage", "team", "developer_code", "started_on", "stage_on", "note"]
    return pd.DataFrame([{c: r.get(c, "") for c in cols} for r in rows]).to_csv(index=False).encode("utf-8")


def test_the_import_logs_stages_and_signs_as_the_forms_do(db):
    from lib import managers

    scope = user(db, "area").scope  # a district: institutions enough
    inst, bare, person = (customer(db, scope, kind="institutional", agreement=True),
                          customer(db, scope, kind="institutional", agreement=False, skip=1),
                          customer(db, scope, kind="personal"))
    with db.connect() as conn:
        codes = {i: conn.execute(text("SELECT code FROM customer WHERE id = :i"), {"i": i}).scalar_one()
                 for i in (inst, bare, person)}
        mid, mcode = conn.execute(text("SELECT id, code FROM customer_manager WHERE org_path LIKE :s AND active = :t "
                                       "ORDER BY id LIMIT 1"), {"s": scope + "%", "t": True}).one()
    mcode = mcode or managers.generated_code(mid)
    n = count(db, "SELECT COUNT(*) FROM development_stage")
    bad = import_as(db, "development", _file([
        {"customer_code": codes[bare], "stage": "signed", "developer_code": mcode, "started_on": "2026-09-01",
         "stage_on": "2026-10-05"},
        {"customer_code": codes[person], "stage": "lost", "started_on": "2026-09-01"},
        {"customer_code": codes[inst], "stage": "control", "started_on": "2026-09-01"},
    ]), "cases.csv", actor="area")
    assert {(i.row, i.column, i.code) for i in bad.errors} == {
        (2, "stage", "agreement_required"), (3, "note", "lost_reason_required"),
        (4, "developer_code", "developer_required")}
    assert count(db, "SELECT COUNT(*) FROM development_stage") == n
    good = import_as(db, "development", _file([
        {"customer_code": codes[inst], "stage": "signed", "developer_code": mcode, "started_on": "2026-09-01",
         "stage_on": "2026-10-05", "note": "签订供油协议"},
        {"customer_code": codes[person], "stage": "lost", "started_on": "2026-09-01", "stage_on": "2026-09-20",
         "note": "客户搬迁"},
    ]), "cases.csv", actor="area")
    assert good.ok, good.errors
    with db.connect() as conn:
        cases = dict(conn.execute(text("SELECT customer_id, id FROM development WHERE customer_id IN (:a, :b)"),
                                  {"a": inst, "b": person}).all())
        status = dict(conn.execute(text("SELECT id, status || '/' || COALESCE(developed_month, '') FROM customer "
                                        "WHERE id IN (:a, :b)"), {"a": inst, "b": person}).all())
    assert stage_log(db, cases[inst]) == [("collect", "2026-09-01", "", "area"),
                                          ("signed", "2026-10-05", "签订供油协议", "area")]
    assert stage_log(db, cases[person]) == [("collect", "2026-09-01", "", "area"),
                                            ("lost", "2026-09-20", "客户搬迁", "area")]
    assert status == {inst: "existing/2026-10", person: "potential/"}
    assert count(db, "SELECT COUNT(*) FROM customer_monthly WHERE customer_id = :c AND month = '2026-10'", c=inst) == 1


def test_reverting_a_development_import_undoes_its_cases_their_log_and_the_signing(db):
    """lib.importer.revert: the cases, their stage log and the signed customer come back as they were,
    the summaries with them."""
    from lib import managers
    from lib.importer.revert import revert
    from lib.summary import refresh_customer_monthly, refresh_station_monthly

    scope = user(db, "area").scope
    inst = customer(db, scope, kind="institutional", agreement=True)
    with db.begin() as conn:  # the summaries as lib.summary computes them after the setup above
        refresh_station_monthly(conn)
        refresh_customer_monthly(conn)
        code = conn.execute(text("SELECT code FROM customer WHERE id = :i"), {"i": inst}).scalar_one()
        mid, mcode = conn.execute(text("SELECT id, code FROM customer_manager WHERE org_path LIKE :s AND active = :t "
                                       "ORDER BY id LIMIT 1"), {"s": scope + "%", "t": True}).one()
    mcode = mcode or managers.generated_code(mid)
    queries = ["SELECT * FROM customer ORDER BY id", "SELECT * FROM customer_monthly ORDER BY customer_id, month",
               "SELECT * FROM station_monthly ORDER BY station_id, month, tier, kind, org_path",
               "SELECT * FROM development ORDER BY id", "SELECT * FROM development_stage ORDER BY id"]

    def snapshot():  # sums of floats to 9 places: PostgreSQL adds the rows of a SUM in any order
        with db.connect() as conn:
            return [[tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in conn.execute(text(q))]
                    for q in queries]

    before = snapshot()
    report = import_as(db, "development", _file([
        {"customer_code": code, "stage": "signed", "developer_code": mcode, "started_on": "2026-09-01",
         "stage_on": "2026-10-05", "note": "签订供油协议"}]), "cases.csv", actor="area")
    assert report.ok and report.batch_id, report.errors
    assert snapshot() != before
    assert count(db, "SELECT COUNT(*) FROM customer WHERE id = :c AND status = 'existing'", c=inst) == 1
    result = revert(db, user(db, "admin"), report.batch_id)
    assert result.ok, result
    assert snapshot() == before


def test_two_developers_taking_one_target_at_once_leave_one_taker(db):
    """摘牌 at the same moment (SQLite: BEGIN IMMEDIATE; PostgreSQL: the guarded UPDATE): one take
    stands, the other gets a catalog refusal and writes nothing."""
    import threading

    station = user(db, "station")
    case = development.open_case(db, station, customer(db, station.scope, kind="institutional"), started_on=START)
    with db.connect() as conn:
        devs = [r[0] for r in conn.execute(text("SELECT id FROM customer_manager WHERE org_path LIKE :s AND active = :t "
                                                "ORDER BY id LIMIT 2"), {"s": station.scope + "%", "t": True})]
    assert len(devs) == 2
    barrier, results = threading.Barrier(2), [None, None]

    def take(i):
        barrier.wait()
        try:
            results[i] = development.take(db, station, case, devs[i], on=START + DAY)
        except ValidationError as exc:
            results[i] = exc.errors[0].code

    threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results.count("collect") == 1, results
    assert [r for r in results if r != "collect"][0] in ("case_changed", "case_taken"), results
    winner = devs[results.index("collect")]
    assert state(db, case)[0][2] == winner
    assert [s for s, *_ in stage_log(db, case)] == ["collect", "assign"]
