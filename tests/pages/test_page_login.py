"""The app frame around the pages: the login form, the first-admin setup of a fresh database, the
user's name in the sidebar, the language chosen before logging in."""
from __future__ import annotations

import datetime as dt

import pytest
from apptest_helpers import app, session_token, user_id
from sqlalchemy import text

from lib import auth
from lib.ui import Keys


def test_without_login_the_app_shows_only_the_login_form(fixture_url):
    at = app(None)
    at.run()
    assert not at.exception
    assert len(at.metric) == 0
    assert [ti.label for ti in at.text_input] == ["用户名", "密码"]


def test_login_form_logs_in_and_wrong_password_is_refused(fixture_url, engine):
    at = app(None)
    at.run()
    at.text_input(key=Keys.LOGIN_NAME).input("admin")
    at.text_input(key=Keys.LOGIN_PASSWORD).input("not the password")
    at.button[0].click().run()
    assert at.error and "不正确" in at.error[0].value
    at.text_input(key=Keys.LOGIN_NAME).input("admin")
    at.text_input(key=Keys.LOGIN_PASSWORD).input(auth.DEMO_PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert auth.check_session(engine, at.session_state[Keys.SESSION], dt.timedelta(minutes=5)).user.login == "admin"


def test_fresh_non_demo_database_asks_for_the_first_admin(fresh_url, monkeypatch):
    """No built-in password: a fresh database with an organisation but no users shows the
    first-admin form, which needs the setup token; with it, the admin is created and can log in."""
    from lib.db import make_engine, upgrade, write

    engine = make_engine(fresh_url)
    upgrade(engine)
    with write(engine) as conn:
        conn.execute(text("INSERT INTO org_unit (code, name, name_en, level, path, manager_name, manager_phone, "
                          "staff) VALUES ('37', '山东', 'Shandong', 'province', '/37/', '', '', 0)"))
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    monkeypatch.setenv("GRIDCRM_DEMO", "0")
    monkeypatch.setenv("GRIDCRM_SETUP_TOKEN", "s3cret-token")
    monkeypatch.setattr(auth, "_SETUP_TOKEN", None)
    at = app(None)
    at.run()
    assert not at.exception
    labels = [ti.label for ti in at.text_input]
    assert labels == ["设置口令", "管理员用户名", "姓名", "密码"]
    assert not [i for i in at.info if "demo-2026" in i.value]  # no demo notice
    at.text_input[0].input("wrong")
    at.text_input[1].input("boss")
    at.text_input[2].input("王总")
    at.text_input[3].input("long enough pw")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["设置口令不正确。"]
    assert auth.user_count(engine) == 0
    at.text_input[0].input("s3cret-token")
    at.button[0].click().run()
    assert auth.user_count(engine) == 1
    assert auth.authenticate(engine, "boss", "long enough pw").user.role == "province_admin"
    engine.dispose()


@pytest.mark.parametrize("name", ["' OR 1=1 --", "<script>alert(1)</script> **bold**"])
def test_hostile_display_name_is_shown_as_plain_text(fresh_url, monkeypatch, name):
    from lib.db import make_engine, upgrade, write

    engine = make_engine(fresh_url)
    upgrade(engine)
    with write(engine) as conn:
        conn.execute(text("INSERT INTO org_unit (code, name, name_en, level, path, manager_name, manager_phone, "
                          "staff) VALUES ('37', '山东', 'Shandong', 'province', '/37/', '', '', 0)"))
    uid = auth.create_first_admin(engine, "boss", name, "long enough pw")
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    monkeypatch.setenv("GRIDCRM_DEMO", "0")
    at = app(None)
    at.session_state[Keys.SESSION] = session_token(uid, fresh_url)
    at.run()
    assert not at.exception  # an organisation without data yet shows empty figures, not an error
    assert f"{name} · 省公司管理员" in [el.value for el in at.sidebar.text]
    engine.dispose()


def test_language_chosen_on_the_login_page_carries_into_the_app(fixture_url):
    at = app(None)
    at.run()
    picker = next(w for w in at.get("button_group") if w.key == "login_lang_widget")
    picker.set_value("en").run()
    assert at.title[0].value == "Fuel Station Grid Customer Management"
    at.text_input(key=Keys.LOGIN_NAME).input("admin")
    at.text_input(key=Keys.LOGIN_PASSWORD).input(auth.DEMO_PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Overview"


def test_empty_database_creates_the_province_with_the_first_admin(fresh_url, monkeypatch):
    """A real company's first start (GRIDCRM_DEMO=0, not even an org unit): the login page asks for
    the setup token, the province company and the first admin; a bad province code is refused in
    Chinese and writes nothing; then the province and the admin exist, and every page the admin may
    open renders without an error on an organisation that has no data yet."""
    from lib.db import is_empty, make_engine, upgrade
    from lib.ui import PAGES, allowed_pages

    engine = make_engine(fresh_url)
    upgrade(engine)
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    monkeypatch.setenv("GRIDCRM_DEMO", "0")
    monkeypatch.setenv("GRIDCRM_SETUP_TOKEN", "s3cret-token")
    monkeypatch.setattr(auth, "_SETUP_TOKEN", None)
    at = app(None)
    at.run()
    assert not at.exception
    assert [ti.label for ti in at.text_input] == ["设置口令", "省份代码(行政区划代码前两位,如 37)",
                                                  "省公司名称(如 山东省分公司)", "管理员用户名", "姓名", "密码"]
    for box, value in zip(at.text_input, ["s3cret-token", "3", "山东省分公司", "boss", "王总", "long enough pw"]):
        box.input(value)
    at.button[0].click().run()
    assert [e.value for e in at.error] == ['输入有误:省份代码应为省级行政区划代码的前两位(如山东为 37):"3"']
    assert is_empty(engine) and auth.user_count(engine) == 0
    at.text_input[1].input("37")
    at.button[0].click().run()
    assert not at.error and auth.user_count(engine) == 1
    with engine.connect() as conn:
        root = conn.execute(text("SELECT code, name, level, path FROM org_unit")).all()
    assert [tuple(r) for r in root] == [("37", "山东省分公司", "province", "/37/")]
    admin = auth.authenticate(engine, "boss", "long enough pw").user
    assert admin.role == "province_admin" and admin.scope == "/37/"
    for spec in allowed_pages(admin.role):
        page = app(None)
        page.session_state[Keys.SESSION] = session_token(admin.id, fresh_url)
        page.run()
        page.switch_page(spec.path).run()
        assert not page.exception, (spec.path, [e.value for e in page.exception])
    assert len(allowed_pages(admin.role)) == len(PAGES)
    engine.dispose()


def test_first_admin_on_an_empty_organisation_needs_a_valid_province(fresh_url):
    from lib.db import is_empty, make_engine, upgrade
    from lib.validation import ValidationError

    engine = make_engine(fresh_url)
    upgrade(engine)
    for code, name in (("", "山东"), ("3", "山东"), ("99", "山东"), ("371", "山东"), ("37", ""), ("37", "x" * 101)):
        with pytest.raises(ValidationError):
            auth.create_first_admin(engine, "boss", "王总", "long enough pw", province_code=code, province_name=name)
    with pytest.raises(ValueError, match="password"):  # a refused admin leaves no province behind
        auth.create_first_admin(engine, "boss", "王总", "short", province_code="37", province_name="山东")
    assert is_empty(engine) and auth.user_count(engine) == 0
    engine.dispose()


def test_a_one_time_password_must_be_changed_before_any_page_opens(writable):
    """Issue 13: a user created with a one-time password logs in, gets only the new-password form
    (no navigation, no page), and after setting a new one is in the app; the old password is spent."""
    admin = auth.session_user(writable, user_id("admin"))
    with writable.connect() as conn:
        unit = conn.execute(text("SELECT id FROM org_unit WHERE level = 'station' ORDER BY path")).scalar()
    once = auth.create_user_once(writable, admin, "first.login", "首次登录", "station_manager", unit)
    at = app(None)
    at.run()
    at.text_input(key=Keys.LOGIN_NAME).input("first.login")
    at.text_input(key=Keys.LOGIN_PASSWORD).input(once)
    at.button[0].click().run()
    assert not at.exception
    assert {w.key for w in at.text_input} == {Keys.CHANGE_OLD, Keys.CHANGE_NEW, Keys.CHANGE_REPEAT}
    assert len(at.metric) == 0 and not at.dataframe  # no page opened
    at.run()  # still only the form on the next run
    assert {w.key for w in at.text_input} == {Keys.CHANGE_OLD, Keys.CHANGE_NEW, Keys.CHANGE_REPEAT}
    at.text_input(key=Keys.CHANGE_OLD).input(once)
    at.text_input(key=Keys.CHANGE_NEW).input("a brand new pw 7")
    at.text_input(key=Keys.CHANGE_REPEAT).input("something else 7")
    at = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{Keys.CHANGE_FORM}")).click().run()
    assert at.error and not auth.authenticate(writable, "first.login", "a brand new pw 7").user  # mismatch: unchanged
    at.text_input(key=Keys.CHANGE_NEW).input("a brand new pw 7")
    at.text_input(key=Keys.CHANGE_REPEAT).input("a brand new pw 7")
    at = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{Keys.CHANGE_FORM}")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not [w for w in at.text_input if w.key == Keys.CHANGE_OLD]  # the app is open
    assert at.metric  # the first page shows its figures
    result = auth.authenticate(writable, "first.login", "a brand new pw 7")
    assert result.user is not None and not result.user.must_change
    assert auth.authenticate(writable, "first.login", once).user is None
