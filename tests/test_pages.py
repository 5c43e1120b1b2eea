"""AppTest smoke tests of every registered page, and the overview's figures against independent SQL."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from apptest_helpers import select_scope

from lib import auth, fmt
from lib.ui import PAGES, Keys

ROOT = Path(__file__).resolve().parent.parent


def user_id(login: str) -> int:
    from lib.db import make_engine
    import os

    with make_engine(os.environ["DATABASE_URL"]).connect() as conn:
        return conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()


def open_page(path: str, lang: str = "zh", city_index: int | None = None, login: str = "admin") -> AppTest:
    """Log in as `login`, run app.py, switch to `path` and return the finished AppTest."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[Keys.LANG] = lang
    at.session_state[Keys.USER_ID] = user_id(login)
    at.run()
    at.switch_page(path)
    at.run()
    if city_index is not None:
        select_scope(at, city_index)
    return at


def test_every_page_file_is_registered():
    files = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert files == {spec.path for spec in PAGES}


@pytest.mark.parametrize("spec", PAGES, ids=[s.path for s in PAGES])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_smoke(fixture_url, spec, lang):
    at = open_page(spec.path, lang)
    assert not at.exception, [e.value for e in at.exception]
    if spec.path != "pages/presentation.py":  # the slide show has headlines, not a page title
        assert at.title, "page shows a title"
    from lib.i18n import catalog
    from test_scope import _rendered_text

    shown = _rendered_text(at) + " ".join(str(getattr(w, "label", "")) for w in at.selectbox) + \
        " ".join(str(getattr(w, "label", "")) for w in at.button)
    raw = [key for key in catalog(lang) if len(key) > 8 and key in shown]
    assert raw == [], "raw catalog keys shown instead of text"


def _independent_overview(engine, scope: str, month: str) -> dict:
    """Recompute the overview's headline figures from the detail tables, in plain SQL + Python."""
    like = scope + "%"
    ly = f"{int(month[:4]) - 1}{month[4:]}"
    with engine.connect() as conn:
        vol = {
            m: conn.execute(
                text("SELECT COALESCE(SUM(m.gasoline_t + m.diesel_t), 0) FROM monthly_consumption m "
                     "JOIN customer c ON c.id = m.customer_id WHERE c.org_path LIKE :s AND m.month = :m"),
                {"s": like, "m": m},
            ).scalar_one()
            for m in (month, ly)
        }
        rows = conn.execute(
            text("SELECT status, lost_month, developed_month, kind, payment FROM customer WHERE org_path LIKE :s"),
            {"s": like},
        ).all()
        stations = conn.execute(
            text("SELECT id FROM org_unit WHERE level = 'station' AND path LIKE :s"), {"s": like}
        ).scalars().all()
        plan_rows = dict(conn.execute(
            text("SELECT org_unit_id, target FROM development_plan WHERE month = :m AND kind = 'personal_card'"),
            {"m": month},
        ).all())
        traffic = conn.execute(
            text("SELECT passing_car + passing_medium + passing_truck + passing_bus, entering, fuelled, "
                 "transactions, full_tank, identified, returned FROM station_traffic "
                 "WHERE org_path LIKE :s AND month = :m"),
            {"s": like, "m": month},
        ).all()
    on_books = sum(
        1 for status, lost, dev, _, _ in rows
        if (status == "existing" or (status == "lost" and lost > month)) and (dev is None or dev <= month)
    )
    churned = sum(1 for _, lost, _, _, _ in rows if lost == month)
    new_card = sum(1 for _, _, dev, kind, pay in rows if dev == month and kind == "personal" and pay == "fuel_card")
    card_target = sum(plan_rows.get(s, 10) for s in stations)
    sums = [sum(r[i] for r in traffic) for i in range(7)]
    return {
        "volume": vol[month], "volume_ly": vol[ly], "customers": on_books, "churned": churned,
        "card_completion": new_card / card_target,
        "entry_rate": sums[1] / sums[0], "fill_up_rate": sums[4] / sums[3],
        "return_rate": sums[6] / sums[5], "pass_through_rate": sums[2] / sums[1],
    }


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("city_index", [None, 1, 2])
def test_overview_figures_equal_independent_sql(engine, city_index):
    from lib.queries import default_scope_and_month
    from lib.i18n import translator

    at = open_page("pages/overview.py", "en", city_index)
    assert not at.exception
    root, month = default_scope_and_month(engine)
    scope = root
    if city_index is not None:
        with engine.connect() as conn:
            cities = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' ORDER BY path")).scalars().all()
        scope = cities[city_index - 1]
    expected = _independent_overview(engine, scope, month)
    assert expected["customers"] > 0 and expected["volume"] > 0
    t = translator("en")
    shown = _metrics(at)
    assert shown[t("overview.volume")] == fmt.tonnes(expected["volume"], "en")
    assert shown[t("overview.customers")] == fmt.count(expected["customers"], "en")
    assert shown[t("overview.churned")] == fmt.count(expected["churned"], "en")
    assert shown[t("overview.plan_card")] == fmt.pct(expected["card_completion"], "en")
    for rate in ("entry_rate", "fill_up_rate", "return_rate", "pass_through_rate"):
        assert shown[t(f"rate.{rate}")] == fmt.pct(expected[rate], "en"), rate
    delta = {m.label: m.delta for m in at.metric}[t("overview.volume")]
    assert delta == fmt.pct((expected["volume"] - expected["volume_ly"]) / expected["volume_ly"], "en", signed=True)


def test_overview_speaks_chinese_by_default(fixture_url):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[Keys.USER_ID] = user_id("admin")
    at.run()
    assert not at.exception
    assert at.title[0].value == "总览"
    assert "车辆进站率" in [m.label for m in at.metric]


def test_without_login_the_app_shows_only_the_login_form(fixture_url):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert len(at.metric) == 0
    assert [ti.label for ti in at.text_input] == ["用户名", "密码"]


@pytest.mark.parametrize("spec", PAGES, ids=[s.path for s in PAGES])
def test_page_file_run_directly_without_login_shows_login(fixture_url, spec):
    """Streamlit's pages/ auto-discovery runs a page file without app.py: its guard must hold."""
    at = AppTest.from_file(str(ROOT / spec.path), default_timeout=120)
    at.run()
    assert not at.exception
    assert len(at.metric) == 0 and len(at.dataframe) == 0
    assert "密码" in [ti.label for ti in at.text_input]


def test_login_form_logs_in_and_wrong_password_is_refused(fixture_url):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.text_input(key=Keys.LOGIN_NAME).input("admin")
    at.text_input(key=Keys.LOGIN_PASSWORD).input("not the password")
    at.button[0].click().run()
    assert at.error and "不正确" in at.error[0].value
    at.text_input(key=Keys.LOGIN_NAME).input("admin")
    at.text_input(key=Keys.LOGIN_PASSWORD).input(auth.DEMO_PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state[Keys.USER_ID] == user_id("admin")


@pytest.mark.parametrize("login", [u[0] for u in auth.DEMO_USERS])
@pytest.mark.parametrize("spec", PAGES, ids=[s.path for s in PAGES])
def test_page_guard_refuses_roles_without_access(fixture_url, spec, login):
    """Run each page file directly, logged in as each role: a role without access sees a refusal."""
    from lib.ui import allowed_pages

    role = next(u[2] for u in auth.DEMO_USERS if u[0] == login)
    at = AppTest.from_file(str(ROOT / spec.path), default_timeout=120)
    at.session_state[Keys.USER_ID] = user_id(login)
    at.run()
    assert not at.exception
    if spec in allowed_pages(role):
        assert not at.error, [e.value for e in at.error]
    else:
        assert [e.value for e in at.error] == ["您的角色无权打开此页面。"]
        assert len(at.metric) == 0 and len(at.dataframe) == 0


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
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
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
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[Keys.USER_ID] = uid
    at.run()
    assert not at.exception  # an organisation without data yet shows empty figures, not an error
    assert f"{name} · 省公司管理员" in [el.value for el in at.sidebar.text]
    engine.dispose()


def test_language_chosen_on_the_login_page_carries_into_the_app(fixture_url):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    picker = next(w for w in at.get("button_group") if w.key == "login_lang_widget")
    picker.set_value("en").run()
    assert at.title[0].value == "Fuel Station Grid Customer Management"
    at.text_input(key=Keys.LOGIN_NAME).input("admin")
    at.text_input(key=Keys.LOGIN_PASSWORD).input(auth.DEMO_PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Overview"
