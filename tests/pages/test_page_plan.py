"""Page plan 开发计划: figures against independent SQL, the target form (roles, save, audit)."""
from __future__ import annotations

import pytest
from apptest_helpers import T, assert_chinese_key_numbers, metrics, open_page, scope_and_month, submit
from sqlalchemy import text

from lib import fmt

PAGE = "pages/plan.py"


@pytest.mark.parametrize("city_index", [None, 1])
def test_plan_page_figures(engine, city_index):
    at = open_page(PAGE, city_index=city_index)
    scope, month = scope_and_month(engine, city_index)
    with engine.connect() as conn:
        units = conn.execute(text("SELECT id, level FROM org_unit WHERE path LIKE :s"), {"s": scope + "%"}).all()
        edited = {(u, k): t for u, k, t in conn.execute(
            text("SELECT org_unit_id, kind, target FROM development_plan WHERE month = :m"), {"m": month}).all()}
        new = conn.execute(text("SELECT kind, payment, agreement FROM customer WHERE org_path LIKE :s "
                                "AND developed_month = :m"), {"s": scope + "%", "m": month}).all()
        open_cases = conn.execute(text(
            "SELECT COUNT(*) FROM development WHERE org_path LIKE :s AND stage NOT IN ('signed', 'lost') "
            "AND started_on <= :end"), {"s": scope + "%", "end": "2026-10-31"}).scalar()
        on_time = conn.execute(text(
            "SELECT COUNT(*) FROM survey_submission WHERE org_path LIKE :s AND period = '2026-07' "
            "AND submitted_on <= '2026-07-31'"), {"s": scope + "%"}).scalar()
    stations = [u for u, lv in units if lv == "station"]
    inst_t = sum(edited.get((u, "institutional"), 1) for u, lv in units if lv == "district")
    card_t = sum(edited.get((u, "personal_card"), 10) for u in stations)
    inst_a = sum(1 for k, _, a in new if k == "institutional" and a)  # with the agreement (002 §6.5.4.5)
    no_agreement = sum(1 for k, _, a in new if k == "institutional" and not a)
    card_a = sum(1 for k, p, _ in new if k == "personal" and p == "fuel_card")
    shown = metrics(at)
    assert shown[T("overview.plan_card")] == fmt.pct(card_a / card_t, "en")
    assert shown[T("plan.inst_completion")] == fmt.pct(inst_a / inst_t, "en")
    assert shown[T("plan.open_cases")] == fmt.count(open_cases, "en")
    assert shown[T("plan.survey_late")] == fmt.count(len(stations) - on_time, "en")
    assert T("plan.formula", actual=card_a, target=card_t) in [c.value for c in at.caption]  # formula beside it
    apart = [c.value for c in at.caption if c.value == T("dev.inst_no_agreement", n=no_agreement, month=month)]
    assert len(apart) == (1 if no_agreement else 0)  # the institutions developed without agreement, shown apart


def test_plan_page_speaks_chinese_with_the_key_numbers_first(fixture_url):
    assert_chinese_key_numbers(PAGE, "开发计划")


@pytest.mark.parametrize("login", ["station", "custmgr", "viewer"])
def test_station_level_and_read_only_roles_get_no_plan_form(writable, login):
    at = open_page(PAGE, login=login)
    assert not [w for w in at.number_input if w.key == "plan_edit_target"]


def test_plan_target_edited_on_the_page_is_saved_and_audited(writable):
    at = open_page(PAGE, login="area")
    unit = at.selectbox(key="plan_edit_unit").options[-1]
    at.number_input(key="plan_edit_target").set_value(13)
    at.selectbox(key="plan_edit_unit").select_index(len(at.selectbox(key="plan_edit_unit").options) - 1)
    at = submit(at, T("plan.save"))
    assert not at.error and at.success, unit
    with writable.connect() as conn:
        row = conn.execute(text("SELECT month, kind, target, updated_by FROM development_plan WHERE updated_by = 'area'"
                                )).one()
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'development_plan' AND actor = 'area'")
                            ).scalar() == 1
    assert tuple(row) == ("2026-11", "personal_card", 13, "area")


def test_target_grid_is_offered_to_plan_editors_only(writable):
    """Issue 13: the unit × month target grid (lib.targets; its saves are tested in test_people_import)."""
    at = open_page(PAGE, login="area")
    assert [b for b in at.button if b.key == "plan_grid_save"]
    at = next(b for b in at.button if b.key == "plan_grid_save").click().run()
    assert not at.exception and not at.error
    assert T("people.grid_unchanged") in [s.value for s in at.success]  # nothing edited: nothing written
    with writable.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM development_plan WHERE updated_by = 'area'")).scalar() == 0
    station = open_page(PAGE, login="station")
    assert not [b for b in station.button if b.key == "plan_grid_save"]
