"""Page plan 开发计划, pipeline part: the development case forms (002 §6.5.4; lib.development.open_case /
advance_case). Opening a case and moving it refresh the pipeline; the supply agreement rule is shown as
a catalog message; roles without "development.edit" get no form."""
from __future__ import annotations

import pytest
from apptest_helpers import T, metrics, open_page, submit
from sqlalchemy import text

from lib import fmt

PAGE = "pages/plan.py"


def cases_at(at, stage: str) -> int:
    """The pipeline table's "cases" of `stage` as the page shows it."""
    df = next(d.value for d in at.dataframe if "stage" in d.value.columns or T("col.stage") in d.value.columns)
    col = "stage" if "stage" in df.columns else T("col.stage")
    cases = "cases" if "cases" in df.columns else T("col.cases")
    return int(df.loc[df[col] == T(f"val.stage.{stage}"), cases].iloc[0])


def test_a_case_opened_and_moved_on_the_page_refreshes_the_pipeline(writable):
    at = open_page(PAGE, login="station")
    open_before = metrics(at)[T("plan.open_cases")]
    collect_before = cases_at(at, "collect")
    customer = at.selectbox(key="plan_open_customer")
    code = customer.options and customer.value
    assert code, "a customer to open a case for"
    at.text_input(key="plan_open_team").input("站开发小组")
    at = submit(at, T("dev.open"))
    assert not at.exception and not at.error, [e.value for e in at.error]
    with writable.connect() as conn:
        case_id, stage, team, path = conn.execute(text(
            "SELECT d.id, d.stage, d.team, d.org_path FROM development d JOIN customer c ON c.id = d.customer_id "
            "WHERE c.code = :c AND d.stage NOT IN ('signed', 'lost')"), {"c": code}).one()
        audited = conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'development' AND actor = 'station'"
                                    )).scalar_one()
    assert (stage, team, audited) == ("collect", "站开发小组", 1)
    assert metrics(at)[T("plan.open_cases")] == fmt.count(int(open_before.replace(",", "")) + 1, "en")
    assert cases_at(at, "collect") == collect_before + 1  # the pipeline figures refreshed (ui.invalidate)

    at.selectbox(key="plan_move_case").select(case_id)
    at.selectbox(key="plan_move_stage").select("lost")
    at = submit(at, T("dev.move"))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert T("dev.moved", case=case_id, stage=T("val.stage.lost")) in [s.value for s in at.success]
    assert cases_at(at, "collect") == collect_before
    assert metrics(at)[T("plan.open_cases")] == open_before


def test_signing_without_a_supply_agreement_is_refused_on_the_page(writable):
    at = open_page(PAGE, login="station", lang="zh")
    code = at.selectbox(key="plan_open_customer").value
    with writable.begin() as conn:
        conn.execute(text("UPDATE customer SET agreement = NULL WHERE code = :c"), {"c": code})
    at = submit(at, "新建项目")
    with writable.connect() as conn:
        case_id = conn.execute(text("SELECT d.id FROM development d JOIN customer c ON c.id = d.customer_id "
                                    "WHERE c.code = :c AND d.stage = 'collect'"), {"c": code}).scalar_one()
    at.selectbox(key="plan_move_case").select(case_id)
    at.selectbox(key="plan_move_stage").select("signed")
    at = submit(at, "变更阶段")
    assert not at.exception
    assert [e.value for e in at.error] and "供油协议" in at.error[0].value and code in at.error[0].value
    with writable.connect() as conn:
        assert conn.execute(text("SELECT stage FROM development WHERE id = :i"), {"i": case_id}).scalar_one() == "collect"


@pytest.mark.parametrize("login", ["custmgr", "viewer"])
def test_roles_without_the_right_get_no_case_forms(writable, login):
    at = open_page(PAGE, login=login)
    assert not [w for w in at.selectbox if w.key in ("plan_open_customer", "plan_move_case")]
    assert not [b for b in at.button if b.label in (T("dev.open"), T("dev.move"))]
