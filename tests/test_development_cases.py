"""Development cases 客户开发 (002 §6.5.4; lib.development.open_case / advance): a case opened for
a customer moves forward through collect → plan → assign → control → signed, or is lost; signing needs
the customer's supply agreement (§6.5.4.5); rights, scope and the stage rules are enforced below the
UI, every change is audited, and a refused change writes nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from _import_as import import_file as import_as
from sqlalchemy import text

from lib import auth, development, validation
from lib.i18n import translator
from lib.validation import ValidationError

TODAY = dt.date.today()


def user(engine, login: str) -> auth.SessionUser:
    with engine.connect() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()
    return auth.session_user(engine, uid)


def free_customer(engine, scope: str, *, agreement: bool | None = None, other_than: str = "") -> str:
    """A customer inside `scope` with no open case (optionally with or without a supply agreement)."""
    cond = "" if agreement is None else ("AND c.agreement IS NOT NULL AND c.agreement <> ''" if agreement
                                         else "AND c.kind = 'institutional' AND (c.agreement IS NULL OR c.agreement = '')")
    with engine.connect() as conn:
        return conn.execute(text(
            f"SELECT c.code FROM customer c WHERE c.org_path LIKE :s AND c.code <> :o {cond} AND NOT EXISTS ("
            "SELECT 1 FROM development d WHERE d.customer_id = c.id AND d.stage NOT IN ('signed', 'lost')) "
            "ORDER BY c.code LIMIT 1"), {"s": scope + "%", "o": other_than}).scalar_one()


def ident(engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM customer WHERE code = :c"), {"c": code}).scalar_one()


def case_row(engine, case_id: int) -> tuple:
    """(stage, stage_on, started_on, team, developer_id); dates as ISO text on both backends."""
    with engine.connect() as conn:
        r = conn.execute(text("SELECT stage, stage_on, started_on, team, developer_id FROM development "
                              "WHERE id = :i"), {"i": case_id}).one()
    return r[0], str(r[1])[:10], str(r[2])[:10], r[3], r[4]


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(text("SELECT COUNT(*) FROM development")).scalar_one(),
                conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'development'")).scalar_one())


def refused(code: str, fn, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    assert [i.code for i in info.value.errors] == [code], info.value
    return info.value


def test_a_case_moves_forward_to_signed_with_the_agreement_audited(small):
    station = user(small, "station")
    code = free_customer(small, station.scope, agreement=False)
    with small.connect() as conn:
        manager = conn.execute(text("SELECT id FROM customer_manager WHERE org_path LIKE :s ORDER BY id LIMIT 1"),
                               {"s": station.scope + "%"}).scalar_one()
    before = development.pipeline(small, station.scope, TODAY.strftime("%Y-%m"))
    start = TODAY - dt.timedelta(days=10)
    case_id = development.open_case(small, station, ident(small, code), team=" 站开发小组 ", developer_id=manager, started_on=start)
    assert case_row(small, case_id) == ("collect", start.isoformat(), start.isoformat(), "站开发小组", manager)
    after = development.pipeline(small, station.scope, TODAY.strftime("%Y-%m"))
    assert after.set_index("stage")["cases"]["collect"] == before.set_index("stage")["cases"]["collect"] + 1
    assert case_id in development.open_cases(small, station.scope)["id"].tolist()
    assert code not in development.case_candidates(small, station.scope)["code"].tolist()

    # forward, skipping a stage (002 §6.5.4: collect → plan → assign → …)
    assert development.advance(small, station, case_id, "assign", on=start + dt.timedelta(days=2)) == "collect"
    refused("stage_backwards", development.advance, small, station, case_id, "plan")
    refused("stage_date_early", development.advance, small, station, case_id, "control", on=start)
    refused("future_date", development.advance, small, station, case_id, "control",
            on=TODAY + dt.timedelta(days=1))
    # no supply agreement on the customer's record: signing is refused (§6.5.4.5), nothing changes
    refused("agreement_required", development.advance, small, station, case_id, "signed")
    assert case_row(small, case_id)[0] == "assign"
    with small.begin() as conn:
        conn.execute(text("UPDATE customer SET agreement = 'district' WHERE code = :c"), {"c": code})
    development.advance(small, station, case_id, "signed")
    assert case_row(small, case_id)[:2] == ("signed", TODAY.isoformat())
    refused("case_closed", development.advance, small, station, case_id, "lost")  # closed for good
    with small.connect() as conn:
        log = conn.execute(text("SELECT action, actor, before, after FROM audit_log WHERE entity = 'development' "
                                "AND entity_id = :i ORDER BY id"), {"i": str(case_id)}).all()
    assert [(a, who) for a, who, *_ in log] == [("case_open", "station"), ("case_stage", "station"),
                                                 ("case_stage", "station")]
    assert '"signed"' in log[-1][3] and '"assign"' in log[-1][2]
    # the customer's next case may be opened now that this one is closed
    assert development.open_case(small, station, ident(small, code)) > case_id


def test_an_open_case_can_be_lost_and_a_customer_has_one_open_case(small):
    area = user(small, "area")
    code = free_customer(small, area.scope)
    case_id = development.open_case(small, area, ident(small, code))
    refused("case_open", development.open_case, small, area, ident(small, code))
    development.advance(small, area, case_id, "lost", note="客户已与竞争对手签约")
    assert case_row(small, case_id)[0] == "lost"
    refused("case_closed", development.advance, small, area, case_id, "control")


@pytest.mark.parametrize("login", ["viewer"])
def test_roles_without_the_right_are_refused_below_the_ui(small, login):
    """"development.edit" (lib.auth.PERMISSIONS): every role but the viewer; the library refuses the others."""
    actor = user(small, login)
    station = user(small, "station")
    code = free_customer(small, station.scope)
    case_id = development.open_case(small, station, ident(small, free_customer(small, station.scope, other_than=code)))
    n = counts(small)
    refused("not_allowed", development.open_case, small, actor, ident(small, code))
    refused("not_allowed", development.advance, small, actor, case_id, "plan")
    assert counts(small) == n
    assert case_row(small, case_id)[0] == "collect"


def test_scope_and_references_are_checked(small):
    station = user(small, "station")
    admin = user(small, "admin")
    with small.connect() as conn:
        outside = conn.execute(text("SELECT code FROM customer WHERE org_path NOT LIKE :s ORDER BY code LIMIT 1"),
                               {"s": station.scope + "%"}).scalar_one()
        foreign_mgr = conn.execute(text("SELECT id FROM customer_manager WHERE org_path NOT LIKE :s LIMIT 1"),
                                   {"s": station.scope + "%"}).scalar_one()
    n = counts(small)
    refused("outside_scope", development.open_case, small, station, ident(small, outside))
    refused("unknown_customer", development.open_case, small, station, "NO-SUCH-CODE")
    refused("required", development.open_case, small, station, "  ")
    mine = free_customer(small, station.scope)
    refused("unknown_developer", development.open_case, small, station, ident(small, mine), developer_id=foreign_mgr)
    refused("too_long", development.open_case, small, station, ident(small, mine), team="组" * (development.TEAM_MAX + 1))
    refused("future_date", development.open_case, small, station, ident(small, mine), started_on=TODAY + dt.timedelta(days=1))
    assert counts(small) == n
    elsewhere = development.open_case(small, admin, ident(small, outside))  # the admin's scope is the province
    refused("not_found", development.advance, small, station, elsewhere, "plan")
    refused("not_found", development.advance, small, station, 10**9, "plan")
    refused("bad_choice", development.advance, small, admin, elsewhere, "won")


def test_messages_come_from_the_catalogs_in_both_languages(small):
    station = user(small, "station")
    code = free_customer(small, station.scope, agreement=False)
    case_id = development.open_case(small, station, ident(small, code))
    exc = refused("agreement_required", development.advance, small, station, case_id, "signed")
    zh, en = validation.describe(exc, translator("zh")), validation.describe(exc, translator("en"))
    assert "供油协议" in zh and code in zh and "§6.5.4.5" in zh
    assert "supply agreement" in en and code in en
    assert zh.startswith(translator("zh")("col.stage"))
    bad = refused("bad_choice", development.advance, small, station, case_id, "won")
    assert translator("zh")("val.stage.signed") in validation.describe(bad, translator("zh"))


THREADS = 6


def _at_once(fn, n: int = THREADS) -> list:
    """Run `fn(i)` in `n` threads released together; return each result or the exception raised."""
    import threading

    start, results = threading.Barrier(n), [None] * n

    def run(i):
        start.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - the test sorts results from refusals
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def test_concurrent_forms_open_one_case_and_move_it_once(small):
    """Six forms at once (SQLite: BEGIN IMMEDIATE; PostgreSQL: the customer's row lock and the guarded
    UPDATE): one case per customer, one move from a stage; the others get a catalog refusal."""
    station = user(small, "station")
    code = free_customer(small, station.scope)
    results = _at_once(lambda i: development.open_case(small, station, ident(small, code), team=f"组{i}"))
    ids = [r for r in results if isinstance(r, int)]
    assert len(ids) == 1, results
    assert {r.errors[0].code for r in results if not isinstance(r, int)} == {"case_open"}
    moved = _at_once(lambda i: development.advance(small, station, ids[0], "plan"))
    assert moved.count("collect") == 1, moved
    assert {r.errors[0].code for r in moved if r != "collect"} <= {"stage_backwards", "case_changed"}
    with small.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'development' AND entity_id = :i"),
                            {"i": str(ids[0])}).scalar_one() == 2  # one open, one move


# --- the `development` import kind (lib.importer.devcases): the same rules from a file ----------------


def _file(rows: list[dict]) -> bytes:
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["customer_code", "stage", "team", "developer_code", "started_on", "stage_on",
                                        "note"])
    w.writeheader()
    w.writerows([{"team": "", "developer_code": "", "stage_on": "", "note": ""} | r for r in rows])
    return buf.getvalue().encode("utf-8")


def test_cases_import_with_the_forms_rules_all_or_nothing(small):
    from lib import managers

    station = user(small, "station")
    free = development.case_candidates(small, station.scope)["code"].tolist()[:4]
    signed, plain, other, busy = free
    with small.begin() as conn:  # institutions: the agreement rule is theirs (§6.5.4.5)
        conn.execute(text("UPDATE customer SET agreement = CASE WHEN code = :s THEN 'district' ELSE NULL END, "
                          "kind = 'institutional' WHERE code IN (:s, :p, :o)"), {"s": signed, "p": plain, "o": other})
    busy_case = development.open_case(small, station, ident(small, busy))
    with small.connect() as conn:
        mid, mcode = conn.execute(text("SELECT id, code FROM customer_manager WHERE org_path LIKE :s AND active = :t "
                                       "ORDER BY id LIMIT 1"), {"s": station.scope + "%", "t": True}).one()
    mcode = mcode or managers.generated_code(mid)
    n = counts(small)
    bad = import_as(small, "development", _file([
        {"customer_code": signed, "stage": "签订供油协议", "started_on": "2026-09-01", "stage_on": "2026-10-02"},
        {"customer_code": plain, "stage": "signed", "started_on": "2026-09-01",  # no agreement (§6.5.4.5)
         "developer_code": mcode},
        {"customer_code": other, "stage": "won", "started_on": "2026-09-01"},
        {"customer_code": other, "stage": "plan", "started_on": "2026-09-10", "stage_on": "2026-09-01"},
        {"customer_code": busy, "stage": "collect", "started_on": "2026-09-01"},  # has an open case
        {"customer_code": "NO-SUCH", "stage": "collect", "started_on": "2026-09-01"},
        {"customer_code": signed, "stage": "plan", "developer_code": "NOPE", "started_on": "2026-09-01"},
    ]), "cases.csv", actor="station")
    found = {(i.row, i.column, i.code) for i in bad.errors}
    assert {(2, "developer_code", "developer_required"), (3, "stage", "agreement_required"),
            (4, "stage", "bad_choice"), (5, "stage_on", "stage_date_early"),
            (6, "customer_code", "case_open"), (7, "customer_code", "unknown_customer"),
            (8, "developer_code", "unknown_developer")} <= found, found
    assert not bad.ok and counts(small) == n  # nothing written
    assert [i.params["case"] for i in bad.errors if i.code == "case_open"] == [busy_case]  # named in the message
    good = import_as(small, "development", _file([
        {"customer_code": signed, "stage": "签订供油协议", "started_on": "2026-09-01", "stage_on": "2026-10-02",
         "developer_code": mcode},
        {"customer_code": plain, "stage": "assign", "team": "站开发小组", "developer_code": mcode,
         "started_on": "2026-10-01"},
        {"customer_code": other, "stage": "lost", "started_on": "2026-08-01", "stage_on": "2026-09-30",
         "note": "客户已与竞争对手签约"},
    ]), "cases.csv", actor="station")
    assert good.ok and (good.inserted, good.updated) == (3, 0), good.errors
    assert counts(small)[0] == n[0] + 3 and counts(small)[1] >= n[1] + 3
    with small.connect() as conn:
        row = conn.execute(text("SELECT d.stage, d.team, d.developer_id FROM development d JOIN customer c "
                                "ON c.id = d.customer_id WHERE c.code = :c"), {"c": plain}).one()
    assert tuple(row) == ("assign", "站开发小组", mid)
    refused = import_as(small, "development", _file([
        {"customer_code": other, "stage": "collect", "started_on": "2026-10-01"}]), "cases.csv", actor="viewer")
    assert not refused.ok and [i.code for i in refused.errors] == ["not_allowed"]
    assert counts(small)[0] == n[0] + 3


def test_a_cases_file_without_any_stage_date_imports(small):
    """Every row leaving 阶段变更日期 blank (the stage dated by its start) failed with an internal error:
    the blank column became Timestamps that do not compare with the start dates."""
    station = user(small, "station")
    code = development.case_candidates(small, station.scope)["code"].tolist()[0]
    report = import_as(small, "development", _file([{"customer_code": code, "stage": "collect",
                                                      "started_on": "2026-09-01"}]), "cases.csv", actor="station")
    assert report.ok and report.inserted == 1, report.errors
    with small.connect() as conn:
        stage_on = conn.execute(text("SELECT d.stage_on FROM development d JOIN customer c ON c.id = d.customer_id "
                                     "WHERE c.code = :c"), {"c": code}).scalar_one()
    assert str(stage_on)[:10] == "2026-09-01"
