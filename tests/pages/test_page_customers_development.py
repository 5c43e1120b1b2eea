"""Page customers 客户档案, development panel 客户开发 (002 §6.5.4; lib.ui.cases on the profile tab): the
customer's cases with their stage log; a case opened when none is open, the open one moved with its date
and note; signing makes the customer existing and developed this month (§6.5.4.5); a viewer sees the
log but no form."""
from __future__ import annotations

import datetime as dt

from apptest_helpers import T, open_page, submit
from sqlalchemy import text

PAGE = "pages/customers.py"


def _show(at, code: str):
    at.text_input(key="cust_q_code").input(code.lower())
    at.button(key="FormSubmitter:cust_search_form-" + T("cust.search")).click().run()
    assert not at.exception
    return at


def _potential(engine, scope: str) -> tuple[int, str]:
    """A personal customer inside `scope` without any case, made a potential customer 潜在客户 (a personal
    card customer signs without an agreement)."""
    with engine.begin() as conn:
        cid, code = conn.execute(text(
            "SELECT c.id, c.code FROM customer c WHERE c.org_path LIKE :s AND c.kind = 'personal' "
            "AND NOT EXISTS (SELECT 1 FROM development d WHERE d.customer_id = c.id) "
            "ORDER BY c.id LIMIT 1"), {"s": scope + "%"}).one()
        conn.execute(text("UPDATE customer SET status = 'potential', developed_month = NULL, lost_month = NULL "
                          "WHERE id = :c"), {"c": cid})
    return cid, code


def _log(engine, cid: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT l.stage, l.note, l.actor FROM development_stage l JOIN development d ON d.id = l.case_id "
            "WHERE d.customer_id = :c ORDER BY l.id"), {"c": cid})]


def test_a_case_opened_and_signed_on_the_customer_page(writable):
    with writable.connect() as conn:
        scope = conn.execute(text("SELECT org_path FROM app_user WHERE login = 'station'")).scalar_one()
        mgr = conn.execute(text("SELECT id FROM customer_manager WHERE org_path LIKE :s AND active = :t "
                                "ORDER BY id LIMIT 1"), {"s": scope + "%", "t": True}).scalar_one()
    cid, code = _potential(writable, scope)
    at = _show(open_page(PAGE, login="station"), code)
    base = f"cust_case_{cid}"
    at.text_input(key=f"{base}_open_note").input("加油卡推介，客户有意向")
    at = submit(at, T("dev.open"))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _log(writable, cid) == [("collect", "加油卡推介，客户有意向", "station")]
    # the open case can now be moved; signing needs the developer (from "assign" on)
    at.selectbox(key=f"{base}_move_stage").select("signed")
    at = submit(at, T("dev.move"))
    assert [e.value for e in at.error] and len(_log(writable, cid)) == 1
    at.selectbox(key=f"{base}_move_stage").select("signed")
    at.selectbox(key=f"{base}_move_developer").select(mgr)
    at.text_input(key=f"{base}_move_note").input("办理加油卡，签约")
    at = submit(at, T("dev.move"))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _log(writable, cid)[-1] == ("signed", "办理加油卡，签约", "station")
    with writable.connect() as conn:
        status, developed = conn.execute(text("SELECT status, developed_month FROM customer WHERE id = :c"),
                                         {"c": cid}).one()
    assert (status, developed) == ("existing", dt.date.today().strftime("%Y-%m"))
    log_table = next(d.value for d in at.dataframe if T("col.at") in d.value.columns)
    assert log_table[T("col.note")].tolist() == ["办理加油卡，签约", "加油卡推介，客户有意向"]  # latest first
    # closed: no move form; a new case may be opened
    assert not [w for w in at.selectbox if w.key == f"{base}_move_stage"]
    assert [b for b in at.button if b.label == T("dev.open")]


def test_a_viewer_sees_the_stage_log_but_no_form(writable):
    with writable.connect() as conn:
        cid, code = conn.execute(text("SELECT c.id, c.code FROM development d JOIN customer c ON c.id = d.customer_id "
                                      "ORDER BY d.id LIMIT 1")).one()
        n = conn.execute(text("SELECT COUNT(*) FROM development_stage l JOIN development d ON d.id = l.case_id "
                              "WHERE d.customer_id = :c"), {"c": cid}).scalar_one()
    at = _show(open_page(PAGE, login="viewer"), code)
    log_table = next(d.value for d in at.dataframe if T("col.at") in d.value.columns)
    assert n >= 1 and len(log_table) == n
    assert not [b for b in at.button if b.label in (T("dev.open"), T("dev.move"))]
