"""Page plan 开发计划, pipeline part: the development case forms (002 §6.5.4; lib.development.open_case /
advance / take, through lib.ui.cases). Opening a case and moving it refresh the pipeline and write the
stage log; the supply agreement rule is shown as a catalog message; an open target 待摘牌 is listed and
taken; roles without "development.edit" get no form."""
from __future__ import annotations

import pytest
from apptest_helpers import T, metrics, open_page, submit
from sqlalchemy import text

from lib import fmt

PAGE = "pages/plan.py"


def stage_log(engine, case_id: int) -> list[tuple]:
    """The case's stage log (stage, note), oldest first."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT stage, note FROM development_stage WHERE case_id = :i ORDER BY id"), {"i": case_id})]


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
    cid = customer.options and customer.value
    assert cid, "a customer to open a case for"
    with writable.connect() as conn:
        code = conn.execute(text("SELECT code FROM customer WHERE id = :i"), {"i": cid}).scalar_one()
    at.text_input(key="plan_open_team").input("站开发小组")
    at.text_input(key="plan_open_note").input("初次走访，了解用油需求")
    at = submit(at, T("dev.open"))
    assert not at.exception and not at.error, [e.value for e in at.error]
    with writable.connect() as conn:
        case_id, stage, team, path = conn.execute(text(
            "SELECT d.id, d.stage, d.team, d.org_path FROM development d JOIN customer c ON c.id = d.customer_id "
            "WHERE c.code = :c AND d.stage NOT IN ('signed', 'lost')"), {"c": code}).one()
        audited = conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'development' AND actor = 'station'"
                                    )).scalar_one()
    assert (stage, team, audited) == ("collect", "站开发小组", 1)
    assert stage_log(writable, case_id) == [("collect", "初次走访，了解用油需求")]
    assert metrics(at)[T("plan.open_cases")] == fmt.count(int(open_before.replace(",", "")) + 1, "en")
    assert cases_at(at, "collect") == collect_before + 1  # the pipeline figures refreshed (ui.invalidate)

    at.selectbox(key="plan_move_case").select(case_id)
    at.selectbox(key="plan_move_stage").select("lost")
    at = submit(at, T("dev.move"))  # lost without its reason: refused, nothing written
    assert [e.value for e in at.error] and stage_log(writable, case_id) == [("collect", "初次走访，了解用油需求")]
    at.selectbox(key="plan_move_case").select(case_id)
    at.selectbox(key="plan_move_stage").select("lost")
    at.text_input(key="plan_move_note").input("客户已与竞争对手签约")
    at = submit(at, T("dev.move"))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert stage_log(writable, case_id)[-1] == ("lost", "客户已与竞争对手签约")
    assert T("dev.moved", case=case_id, stage=T("val.stage.lost")) in [s.value for s in at.success]
    assert cases_at(at, "collect") == collect_before
    assert metrics(at)[T("plan.open_cases")] == open_before


def test_signing_without_a_supply_agreement_is_refused_on_the_page(writable):
    at = open_page(PAGE, login="station", lang="zh")
    cid = at.selectbox(key="plan_open_customer").value
    with writable.begin() as conn:  # an institution without its agreement (§6.5.4.5 is the institutions' rule)
        conn.execute(text("UPDATE customer SET agreement = NULL, kind = 'institutional' WHERE id = :c"), {"c": cid})
        code = conn.execute(text("SELECT code FROM customer WHERE id = :i"), {"i": cid}).scalar_one()
    at = submit(at, "新建项目")
    with writable.connect() as conn:
        case_id = conn.execute(text("SELECT d.id FROM development d "
                                    "WHERE d.customer_id = :c AND d.stage = 'collect'"), {"c": cid}).scalar_one()
    at.selectbox(key="plan_move_case").select(case_id)
    at.selectbox(key="plan_move_stage").select("signed")
    at = submit(at, "变更阶段")
    assert not at.exception
    assert [e.value for e in at.error] and "供油协议" in at.error[0].value and code in at.error[0].value
    with writable.connect() as conn:
        assert conn.execute(text("SELECT stage FROM development WHERE id = :i"), {"i": case_id}).scalar_one() == "collect"


@pytest.mark.parametrize("login", ["viewer"])
def test_roles_without_the_right_get_no_case_forms(writable, login):
    at = open_page(PAGE, login=login)
    assert not [w for w in at.selectbox if w.key in ("plan_open_customer", "plan_move_case", "plan_take_case")]
    assert not [b for b in at.button if b.label in (T("dev.open"), T("dev.move"), T("dev.take"))]


def test_an_open_target_is_listed_and_taken_on_the_page(writable):
    """摘牌制 (002 §6.5.4.6): a case opened without a developer is an open target; the station manager
    names its developer on the page, and the case moves to "assign" and leaves the list."""
    from lib import auth, development

    with writable.connect() as conn:
        uid = conn.execute(text("SELECT id FROM app_user WHERE login = 'station'")).scalar_one()
    station = auth.session_user(writable, uid)
    cid = int(development.case_candidates(writable, station.scope)["id"].iloc[-1])
    case_id = development.open_case(writable, station, cid, team="分公司重点客户开发组")
    at = open_page(PAGE, login="station")
    targets = next(d.value for d in at.dataframe if T("col.station") in d.value.columns)
    assert case_id in targets[T("col.id")].tolist()
    at.selectbox(key="plan_take_case").select(case_id)
    developer = at.selectbox(key="plan_take_developer").value
    at.text_input(key="plan_take_note").input("李经理摘牌")
    at = submit(at, T("dev.take"))
    assert not at.exception and not at.error, [e.value for e in at.error]
    with writable.connect() as conn:
        assert tuple(conn.execute(text("SELECT stage, developer_id FROM development WHERE id = :i"),
                                  {"i": case_id}).one()) == ("assign", developer)
    assert stage_log(writable, case_id)[-1] == ("assign", "李经理摘牌")
    assert case_id not in development.open_targets(writable, station.scope)["id"].tolist()
