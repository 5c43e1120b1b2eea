"""Page setup 组织设置: on an empty organisation the admin creates the cities and districts of the
province from the real map (with a subset of cities), lands there after creating the first admin,
and renames a unit; on the demo province it lists the units in scope."""
from __future__ import annotations

from apptest_helpers import app, open_page
from sqlalchemy import text

from lib import auth
from lib.db import make_engine, upgrade
from lib.ui import Keys

PAGE = "pages/setup.py"
K = Keys.Setup


def _unit_list(at):
    """The table of org units (not the editable table of the map setup)."""
    return next(d for d in at.dataframe if not (d.key or "").startswith(K.TABLE)).value


def test_demo_province_lists_its_units(engine):
    at = open_page(PAGE, "admin", lang="zh")
    assert at.title[0].value == "组织设置"
    with engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM org_unit WHERE level <> 'station'")).scalar_one()
    assert len(_unit_list(at)) == n


def test_empty_company_sets_up_two_cities_from_the_map_and_renames_one(fresh_url, monkeypatch):
    engine = make_engine(fresh_url)
    upgrade(engine)
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    monkeypatch.setenv("GRIDCRM_DEMO", "0")
    monkeypatch.setenv("GRIDCRM_SETUP_TOKEN", "s3cret-token")
    monkeypatch.setattr(auth, "_SETUP_TOKEN", None)
    at = app(None)
    at.run()
    for ti, value in zip(at.text_input, ["s3cret-token", "37", "山东省分公司", "boss", "王总", "long enough pw"]):
        ti.input(value)
    at.button[0].click().run()
    assert not at.exception and auth.user_count(engine) == 1
    assert at.session_state[Keys.DEEP_LINK] == PAGE  # after logging in, the admin lands on the setup page
    at.text_input(key=Keys.LOGIN_NAME).input("boss")
    at.text_input(key=Keys.LOGIN_PASSWORD).input("long enough pw")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "组织设置"
    at.multiselect(key=Keys.row(K.CITIES, "37")).set_value(["3701", "3702"]).run()
    at.button(key=K.CREATE).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with engine.connect() as conn:
        levels = dict(conn.execute(text("SELECT level, COUNT(*) FROM org_unit GROUP BY level")).all())
    assert levels == {"province": 1, "city": 2, "district": 12 + 10}
    assert "已建立 24 个组织单元" in at.success[0].value
    shown = _unit_list(at)
    assert len(shown) == 25
    at.selectbox(key=K.UNIT).set_value("370102").run()
    at.text_input(key=Keys.row(K.NAME, "370102")).input("历下营销片区")
    at.text_input(key=Keys.row(K.PHONE, "370102")).input("not a phone")
    at = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{K.EDIT_FORM}")).click().run()
    assert at.error and "负责人电话" in at.error[0].value  # refused in Chinese, field named
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM org_unit WHERE code = '370102'")).scalar_one() == "历下营销片区"
    at.text_input(key=Keys.row(K.PHONE, "370102")).input("13800000000")
    at = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{K.EDIT_FORM}")).click().run()
    assert not at.error and at.success
    with engine.connect() as conn:
        assert conn.execute(text("SELECT manager_phone FROM org_unit WHERE code = '370102'")).scalar_one() == \
            "13800000000"
    engine.dispose()
