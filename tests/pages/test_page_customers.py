"""Page customers 客户档案: the archive's count against SQL for each scope, the search form and paging."""
from __future__ import annotations

import pytest
from apptest_helpers import T, metrics, one, open_page, scope_of
from sqlalchemy import text

from lib import fmt
from lib.i18n import translator

PAGE = "pages/customers.py"


@pytest.mark.parametrize("login", ["admin", "city", "station", "custmgr"])
def test_archive_count_equals_sql(engine, login):
    at = open_page(PAGE, login)
    n = one(engine, "SELECT COUNT(*) FROM customer WHERE org_path LIKE :s", s=scope_of(engine, login) + "%")
    assert metrics(at)[T("cust.found")] == fmt.count(n, "en")
    assert len(at.dataframe[0].value) == min(50, n)


def test_archive_search_form_and_paging(engine):
    at = open_page(PAGE, "admin")
    first_page = at.dataframe[0].value[T("col.code")].tolist()
    at.button(key="cust_next").click().run()
    second_page = at.dataframe[0].value[T("col.code")].tolist()
    assert second_page and not set(first_page) & set(second_page)
    with engine.connect() as conn:
        code, name = conn.execute(text("SELECT code, name FROM customer ORDER BY id LIMIT 1 OFFSET 77")).one()
    at.text_input(key="cust_q_code").input(code.lower())
    at.button(key="FormSubmitter:cust_search_form-" + T("cust.search")).click().run()
    assert not at.exception
    assert at.dataframe[0].value[T("col.code")].tolist() == [code]
    assert metrics(at)[T("cust.found")] == "1"
    assert at.session_state["cust_selected"] > 0
    assert any(name in str(s.value) for s in at.subheader)  # the profile tab shows the chosen customer


@pytest.mark.parametrize("lang,shown", [("zh", "输入有误:名称: 必填"), ("en", "Invalid input: Name: Required")])
def test_customer_form_shows_the_issue_in_the_users_language(fixture_url, lang, shown):
    """The archive page's new-customer form, submitted without a name: nothing is written (the
    check fails first) and the message is in the page's language ("输入有误:name: required" before)."""
    at = open_page(PAGE, lang=lang)
    at.text_input(key="cust_new_name").set_value("")
    next(b for b in at.button if b.label == translator(lang)("cust.create")).click()
    at.run()
    assert [e.value for e in at.error] == [shown]


def test_new_customer_with_a_location_appears_on_the_maps(writable):
    """The new-customer form takes a location (here typed; a map click sets the same two fields):
    the customer is stored with it, so the customer maps draw it."""
    from lib.maps import data

    at = open_page(PAGE, "station")
    assert not at.exception
    at.text_input(key="cust_new_name").set_value("定位测试客户")
    at.number_input(key="cust_new_lon").set_value(117.0123)
    at.number_input(key="cust_new_lat").set_value(36.6543)
    next(b for b in at.button if b.label == T("cust.create")).click()
    at.run()
    assert not at.exception and not at.error
    with writable.connect() as conn:
        lon, lat, path = conn.execute(text("SELECT lon, lat, org_path FROM customer WHERE name = '定位测试客户'")).one()
    assert (round(lon, 4), round(lat, 4)) == (117.0123, 36.6543)
    import datetime as dt

    points = data.customer_points(writable, path, dt.date.today().strftime("%Y-%m"), "own")
    assert "定位测试客户" in set(points["name"])  # on the map of its station's customers from this month


@pytest.mark.parametrize("lon, lat, code", [(117.0, None, "lon_lat"), (10.0, 36.0, "out_of_range"),
                                            (117.0, 60.0, "out_of_range")], ids=["lat-missing", "lon-abroad",
                                                                                 "lat-abroad"])
def test_a_location_outside_china_or_half_given_is_refused(lon, lat, code):
    from lib import customers
    from lib.validation import ValidationError

    with pytest.raises(ValidationError) as err:
        customers.validate({"name": "x", "kind": "personal", "station_id": 1, "lon": lon, "lat": lat})
    assert code in [e.code for e in err.value.errors]


@pytest.mark.parametrize("background, click, expected", [
    ("none", {"lng": 117.1234567, "lat": 36.7654321}, (117.123457, 36.765432)),
    ("none", None, None),
], ids=["wgs84", "no-click"])
def test_a_map_click_gives_the_location(background, click, expected):
    from lib.ui.forms import clicked_point

    assert clicked_point({"last_clicked": click}, background) == expected


def test_a_click_on_amap_tiles_is_converted_back_to_wgs84():
    from lib import geo
    from lib.ui.forms import clicked_point

    gx, gy = geo.wgs84_to_gcj02(117.0, 36.6)
    lon, lat = clicked_point({"last_clicked": {"lng": gx, "lat": gy}}, "amap")
    assert abs(lon - 117.0) < 1e-5 and abs(lat - 36.6) < 1e-5 and (gx, gy) != (117.0, 36.6)
