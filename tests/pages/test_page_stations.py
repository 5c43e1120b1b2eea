"""Page stations 加油站: the station table lists exactly the stations of the scope with their daily sales
and grade (against SQL), the create form adds a station, the monthly sales form recomputes the grade,
and roles without the right see no form."""
from __future__ import annotations

import calendar
import datetime as dt

import pytest
from apptest_helpers import T, open_page, rendered_text, scope_of
from sqlalchemy import text

from lib.ui import Keys

PAGE = "pages/stations.py"
K = Keys.Stations


@pytest.mark.parametrize("login", ["admin", "area", "station", "custmgr"])
def test_station_table_equals_sql(engine, login):
    at = open_page(PAGE, login)
    scope = scope_of(engine, login)
    station_scope = scope[: scope.rindex("/m") + 1] if "/m" in scope else scope
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, daily_sales_t, grade FROM station WHERE org_path LIKE :s ORDER BY code"),
                            {"s": station_scope + "%"}).all()
    shown = at.dataframe[0].value
    assert shown[T("stn.code")].tolist() == [r[0] for r in rows]
    assert shown[T("col.daily_sales_t")].round(3).tolist() == [round(r[1], 3) for r in rows]
    assert shown[T("col.grade")].tolist() == [T(f"val.grade.{r[2]}") for r in rows]


def test_page_speaks_chinese(engine):
    at = open_page(PAGE, "admin", lang="zh")
    assert "加油站列表" in rendered_text(at) or any(t.label == "加油站列表" for t in at.tabs)


@pytest.mark.parametrize("login", ["viewer", "station"])
def test_roles_without_the_right_see_no_station_form(engine, login):
    at = open_page(PAGE, login)
    assert T("stn.read_only") in [i.value for i in at.info]
    assert not any(b.label == T("stn.save") for b in at.button)


def test_create_form_adds_a_station(writable):
    with writable.connect() as conn:
        code, lon, lat = conn.execute(text("SELECT code, lon, lat FROM org_unit WHERE level = 'district' "
                                           "ORDER BY path")).first()
    at = open_page(PAGE, "admin")
    field = lambda key: Keys.row(K.FIELD, "new", key)  # noqa: E731
    at.text_input(key=field("code")).input("T7001")
    at.text_input(key=field("name")).input("表单新站")
    at.selectbox(key=field("district_code")).set_value(code)
    at.text_input(key=field("lon")).input(f"{lon:.6f}")
    at.text_input(key=field("lat")).input(f"{lat:.6f}")
    at.number_input(key=field("nozzles")).set_value(6)
    at.date_input(key=field("opened_on")).set_value(dt.date(1998, 7, 1))  # more than 10 years ago
    at = at.button(key=K.SAVE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with writable.connect() as conn:
        got = conn.execute(text("SELECT name, nozzles, org_path, opened_on FROM station WHERE code = 'T7001'")).one()
        district_path = conn.execute(text("SELECT path FROM org_unit WHERE code = :c"), {"c": code}).scalar_one()
    assert tuple(got[:3]) == ("表单新站", 6, district_path + "T7001/")
    assert str(got[3])[:10] == "1998-07-01"
    assert T("common.saved") in [s.value for s in at.success]
    assert "T7001" in at.dataframe[0].value[T("stn.code")].tolist()


def test_sales_form_recomputes_the_grade(writable):
    with writable.connect() as conn:
        code, sid = conn.execute(text("SELECT code, id FROM station ORDER BY code")).first()
    month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    days = calendar.monthrange(int(month[:4]), int(month[5:]))[1]
    at = open_page(PAGE, "admin")
    at.selectbox(key=K.SALES_STATION).set_value(code)
    at.text_input(key=K.SALES_MONTH).input(month)
    at.number_input(key=K.SALES_GASOLINE).set_value(4.0 * days)
    at.number_input(key=K.SALES_DIESEL).set_value(1.0 * days)
    at = at.button(key=K.SALES_SAVE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with writable.connect() as conn:
        daily, grade = conn.execute(text("SELECT daily_sales_t, grade FROM station WHERE id = :i"), {"i": sid}).one()
    assert (round(daily, 3), grade) == (5.0, "graded")  # 5 t/day over the one month known
    assert T("stn.sales_saved", daily="5.00", grade=T("val.grade.graded")) in [s.value for s in at.success]


def test_edit_form_renames_a_station_and_keeps_its_code(writable):
    with writable.connect() as conn:
        sid, code = conn.execute(text("SELECT id, code FROM station ORDER BY code")).first()
    at = open_page(PAGE, "admin")
    at.selectbox(key=K.PICK).set_value(sid).run()
    at.text_input(key=Keys.row(K.FIELD, sid, "name")).input("改名后的站")
    at = at.button(key=K.SAVE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with writable.connect() as conn:
        assert conn.execute(text("SELECT code, name FROM station WHERE id = :i"), {"i": sid}).one() == (code, "改名后的站")
