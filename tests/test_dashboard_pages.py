"""The dashboard pages (tiers, plan, four rates, churn, reports): their key figures equal independent SQL
computations on the fixture database, and the writes they offer respect roles, reasons and the audit."""
from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from apptest_helpers import select_scope

from lib import auth, demo, fmt, queries, rules, tiers
from lib.config import rules as config
from lib.db import make_engine
from lib.i18n import translator
from lib.ui import Keys

ROOT = Path(__file__).resolve().parent.parent
T = translator("en")


def _uid(url: str, login: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT id FROM app_user WHERE login = :l"), {"l": login}).scalar_one()
    finally:
        engine.dispose()


def open_page(path: str, login: str = "admin", city_index: int | None = None, lang: str = "en",
              tab: tuple[str, str] | None = None) -> AppTest:
    """Open `path` as `login`; `tab` = (widget key, catalog key of the label) opens that lazy tab."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state[Keys.LANG] = lang
    at.session_state[Keys.USER_ID] = _uid(os.environ["DATABASE_URL"], login)
    if tab:
        at.session_state[tab[0]] = translator(lang)(tab[1])
    at.run()
    at.switch_page(path).run()
    if city_index is not None:
        select_scope(at, city_index)
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _scope(engine, city_index):
    root, month = queries.default_scope_and_month(engine)
    if city_index is None:
        return root, month
    with engine.connect() as conn:
        cities = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' ORDER BY path")).scalars().all()
    return cities[city_index - 1], month


def _customers(engine, scope):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT id, kind, payment, status, lost_month, developed_month, org_path, "
            "COALESCE(tier_override, computed_tier), tier_override, agreement, province_procurement, stable "
            "FROM customer WHERE org_path LIKE :s"), {"s": scope + "%"}).all()


def _on_books(c, month):
    return (c[3] == "existing" or (c[3] == "lost" and c[4] > month)) and (c[5] is None or c[5] <= month)


def _consumption(engine, scope):
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT m.customer_id, m.month, m.gasoline_t, m.diesel_t, m.card_cny FROM monthly_consumption m "
            "JOIN customer c ON c.id = m.customer_id WHERE c.org_path LIKE :s"), {"s": scope + "%"}).all()
        first = conn.execute(text("SELECT MIN(month) FROM monthly_consumption")).scalar()
    by = defaultdict(dict)
    for cid, month, g, d, c in rows:
        by[cid][month] = (g, d, c)
    return by, first


def _idx(m):
    return int(m[:4]) * 12 + int(m[5:7])


@pytest.mark.parametrize("city_index", [None, 2])
def test_tiers_page_figures(engine, city_index):
    at = open_page("pages/tiers.py", city_index=city_index)
    scope, month = _scope(engine, city_index)
    custs = [c for c in _customers(engine, scope) if _on_books(c, month)]
    cons, first = _consumption(engine, scope)
    promote = demote = 0
    for c in custs:
        start = max(c[5] or first, first)
        n3, n12 = (max(1, min(k, _idx(month) - _idx(start) + 1)) for k in (3, 12))
        window3 = [queries.shift_month(month, -k) for k in range(3)]
        window12 = [queries.shift_month(month, -k) for k in range(12)]
        g = sum(cons[c[0]].get(m, (0, 0, 0))[0] for m in window3) / n3
        d = sum(cons[c[0]].get(m, (0, 0, 0))[1] for m in window3) / n3
        card = sum(cons[c[0]].get(m, (0, 0, 0))[2] for m in window12) * 12 / n12
        tier = rules.customer_tier(g, d, card, institutional=c[1] == "institutional", agreement=c[9],
                                   province_procurement=bool(c[10]), stable=bool(c[11]))
        if c[8] is None and tier != c[7]:
            up = rules.TIERS.index(tier) > rules.TIERS.index(c[7])
            promote, demote = promote + up, demote + (not up)
    with engine.connect() as conn:
        units = conn.execute(text("SELECT level, path, staff FROM org_unit WHERE path LIKE :s"), {"s": scope + "%"}).all()
    p = config()["tier_load"]
    flagged = 0
    for level, path, staff in units:
        n = sum(1 for c in custs if c[7] == level and c[6].startswith(path))
        ratio = n / staff if staff else None
        flagged += (ratio is None and n > 0) or (ratio is not None and not
                                                 p[f"{level}_min_per_staff"] <= ratio <= p[f"{level}_max_per_staff"])
    shown = metrics(at)
    assert shown[T("tiers.customers")] == fmt.count(len(custs), "en")
    assert shown[T("tiers.promote")] == fmt.count(promote, "en")
    assert shown[T("tiers.demote")] == fmt.count(demote, "en")
    assert shown[T("tiers.flagged_units")] == fmt.count(flagged, "en")
    assert promote + demote > 0


@pytest.mark.parametrize("city_index", [None, 1])
def test_plan_page_figures(engine, city_index):
    at = open_page("pages/plan.py", city_index=city_index)
    scope, month = _scope(engine, city_index)
    with engine.connect() as conn:
        units = conn.execute(text("SELECT id, level FROM org_unit WHERE path LIKE :s"), {"s": scope + "%"}).all()
        edited = {(u, k): t for u, k, t in conn.execute(
            text("SELECT org_unit_id, kind, target FROM development_plan WHERE month = :m"), {"m": month}).all()}
        new = conn.execute(text("SELECT kind, payment FROM customer WHERE org_path LIKE :s AND developed_month = :m"),
                           {"s": scope + "%", "m": month}).all()
        open_cases = conn.execute(text(
            "SELECT COUNT(*) FROM development WHERE org_path LIKE :s AND stage NOT IN ('signed', 'lost') "
            "AND started_on <= :end"), {"s": scope + "%", "end": "2026-10-31"}).scalar()
        on_time = conn.execute(text(
            "SELECT COUNT(*) FROM survey_submission WHERE org_path LIKE :s AND period = '2026-07' "
            "AND submitted_on <= '2026-07-31'"), {"s": scope + "%"}).scalar()
    stations = [u for u, lv in units if lv == "station"]
    inst_t = sum(edited.get((u, "institutional"), 1) for u, lv in units if lv == "district")
    card_t = sum(edited.get((u, "personal_card"), 10) for u in stations)
    inst_a = sum(1 for k, _ in new if k == "institutional")
    card_a = sum(1 for k, p in new if k == "personal" and p == "fuel_card")
    shown = metrics(at)
    assert shown[T("overview.plan_card")] == fmt.pct(card_a / card_t, "en")
    assert shown[T("plan.inst_completion")] == fmt.pct(inst_a / inst_t, "en")
    assert shown[T("plan.open_cases")] == fmt.count(open_cases, "en")
    assert shown[T("plan.survey_late")] == fmt.count(len(stations) - on_time, "en")
    assert T("plan.formula", actual=card_a, target=card_t) in [c.value for c in at.caption]  # formula beside it


def _rates(engine, scope, month):
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT passing_car + passing_medium + passing_truck + passing_bus, entering, fuelled, transactions, "
            "full_tank, identified, returned FROM station_traffic WHERE org_path LIKE :s AND month = :m"),
            {"s": scope + "%", "m": month}).all()
    s = [sum(r[i] for r in rows) for i in range(7)]
    return {"entry_rate": s[1] / s[0], "fill_up_rate": s[4] / s[3], "return_rate": s[6] / s[5],
            "pass_through_rate": s[2] / s[1]}


@pytest.mark.parametrize("city_index", [None, 3])
def test_four_rates_page_figures_and_formulas(engine, city_index):
    at = open_page("pages/four_rates.py", city_index=city_index)
    scope, month = _scope(engine, city_index)
    now, prev = _rates(engine, scope, month), _rates(engine, scope, queries.shift_month(month, -1))
    deltas = {m.label: m.delta for m in at.metric}
    captions = [c.value for c in at.caption]
    for rate, value in now.items():
        assert metrics(at)[T(f"rate.{rate}")] == fmt.pct(value, "en"), rate
        assert deltas[T(f"rate.{rate}")] == fmt.pct((value - prev[rate]) / prev[rate], "en", signed=True)
        assert T(f"rate.{rate}_formula") in captions  # the formula is on screen next to the figure


@pytest.mark.parametrize("city_index", [None, 2])
def test_churn_page_figures(engine, city_index):
    at = open_page("pages/churn.py", city_index=city_index)
    scope, month = _scope(engine, city_index)
    custs = [c for c in _customers(engine, scope) if c[1] == "institutional" and _on_books(c, month)]
    cons, first = _consumption(engine, scope)
    p = config()["churn"]
    vol = lambda cid, m: sum(cons[cid].get(m, (0, 0, 0))[:2])  # noqa: E731
    warned = set()
    for c in custs:
        window = [queries.shift_month(month, -k) for k in range(int(p["silent_months"]))]
        before = [queries.shift_month(month, -k) for k in range(len(window), len(window) + 12)]
        if sum(vol(c[0], m) for m in window) <= 0 < sum(vol(c[0], m) for m in before):
            warned.add(c[0])
            continue
        prev = [m for m in (queries.shift_month(month, -k) for k in (1, 2, 3)) if m >= max(c[5] or first, first)]
        avg = sum(vol(c[0], m) for m in prev) / len(prev) if prev else 0
        if avg > 0 and vol(c[0], month) < p["drop_share"] * avg:
            warned.add(c[0])
    with engine.connect() as conn:
        latest = dict(conn.execute(text("SELECT customer_id, state FROM win_back_task t WHERE id = "
                                        "(SELECT MAX(id) FROM win_back_task u WHERE u.customer_id = t.customer_id)")).all())
        lost = conn.execute(text("SELECT COUNT(*) FROM customer WHERE org_path LIKE :s AND lost_month = :m "
                                 "AND kind = 'institutional'"), {"s": scope + "%", "m": month}).scalar()
    shown = metrics(at)
    assert shown[T("churn.warnings")] == fmt.count(len(warned), "en") and warned
    assert shown[T("churn.without_task")] == fmt.count(sum(latest.get(c) != "open" for c in warned), "en")
    assert shown[T("churn.lost")] == fmt.count(lost, "en")
    assert shown[T("churn.inst_volume")] == fmt.tonnes(sum(vol(c[0], month) for c in custs), "en")


@pytest.mark.parametrize("city_index", [None, 1])
def test_reports_page_figures(engine, city_index):
    at = open_page("pages/reports.py", city_index=city_index)
    scope, month = _scope(engine, city_index)
    custs = [c for c in _customers(engine, scope) if c[1] == "institutional" and _on_books(c, month)]
    cons, _ = _consumption(engine, scope)
    with engine.connect() as conn:
        lost = conn.execute(text("SELECT COUNT(*) FROM customer WHERE org_path LIKE :s AND lost_month = :m "
                                 "AND kind = 'institutional'"), {"s": scope + "%", "m": month}).scalar()
    shown = metrics(at)
    assert shown[T("pack.tracked")] == fmt.count(len(custs), "en")
    assert shown[T("pack.inst_volume")] == fmt.tonnes(sum(sum(cons[c[0]].get(month, (0, 0, 0))[:2]) for c in custs),
                                                      "en")
    assert shown[T("pack.inst_lost")] == fmt.count(lost, "en")
    assert shown[T("overview.plan_card")] == metrics(open_page("pages/overview.py", city_index=city_index))[
        T("overview.plan_card")]


def test_report_button_builds_the_pack(fixture_url):
    at = open_page("pages/reports.py", login="area")
    assert not [b for b in at.get("download_button")]
    at.button(key="pack_build").click().run()
    assert not at.exception
    assert len(at.get("download_button")) == 1


@pytest.mark.parametrize("page", ["pages/tiers.py", "pages/plan.py", "pages/four_rates.py", "pages/churn.py",
                                  "pages/reports.py"])
def test_pages_speak_chinese_with_the_key_numbers_first(fixture_url, page):
    at = open_page(page, lang="zh")
    assert at.title[0].value in {"客户分级", "开发计划", "四率分析", "跟踪与流失", "月度报表"}
    assert len(at.metric) == 4
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m.label) for m in at.metric)


# --- writes through the pages ----------------------------------------------------------------------


@pytest.fixture()
def writable(fresh_url, monkeypatch):
    engine = make_engine(fresh_url)
    demo.generate(engine, seed=5, customers=900, months=4, end_month="2026-10")
    auth.create_demo_users(engine)
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    yield engine
    engine.dispose()


def _station_customer(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT id, code, name FROM customer WHERE computed_tier = 'station' AND "
                                 "tier_override IS NULL AND status = 'existing' ORDER BY id LIMIT 1")).one()


def _submit(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def test_override_on_the_page_requires_a_reason_and_is_audited(writable):
    cid, code, name = _station_customer(writable)
    at = open_page("pages/tiers.py", tab=("tiers_tab", "tiers.tab_candidates"))
    at.text_input(key="tiers_override_code").input(code)
    at.selectbox(key="tiers_override_tier").set_value("district")
    at.text_area(key="tiers_override_reason").input("  ")
    at = _submit(at, T("tiers.apply"))
    assert not at.exception
    assert at.error and "reason" in at.error[0].value
    with writable.connect() as conn:
        assert conn.execute(text("SELECT tier_override FROM customer WHERE id = :c"), {"c": cid}).scalar() is None
    at.text_area(key="tiers_override_reason").input("客户战略地位重要,报片区经理管理")
    at = _submit(at, T("tiers.apply"))
    assert not at.error and at.success[0].value == T("tiers.override_saved", name=name)
    with writable.connect() as conn:
        assert conn.execute(text("SELECT tier_override FROM customer WHERE id = :c"), {"c": cid}).scalar() == "district"
        audit = conn.execute(text("SELECT actor, action FROM audit_log WHERE entity = 'customer' AND entity_id = :c"),
                             {"c": str(cid)}).all()
    assert [tuple(a) for a in audit] == [("admin", "tier_override")]


@pytest.mark.parametrize("login", ["station", "custmgr", "viewer"])
def test_station_level_and_read_only_roles_get_no_override_or_plan_forms(writable, login):
    at = open_page("pages/tiers.py", login=login, tab=("tiers_tab", "tiers.tab_candidates"))
    assert not [w for w in at.text_input if w.key == "tiers_override_code"]
    at = open_page("pages/plan.py", login=login)
    assert not [w for w in at.number_input if w.key == "plan_edit_target"]


def test_plan_target_edited_on_the_page_is_saved_and_audited(writable):
    at = open_page("pages/plan.py", login="area")
    unit = at.selectbox(key="plan_edit_unit").options[-1]
    at.number_input(key="plan_edit_target").set_value(13)
    at.selectbox(key="plan_edit_unit").select_index(len(at.selectbox(key="plan_edit_unit").options) - 1)
    at = _submit(at, T("plan.save"))
    assert not at.error and at.success, unit
    with writable.connect() as conn:
        row = conn.execute(text("SELECT month, kind, target, updated_by FROM development_plan WHERE updated_by = 'area'"
                                )).one()
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'development_plan' AND actor = 'area'")
                            ).scalar() == 1
    assert tuple(row) == ("2026-11", "personal_card", 13, "area")


def test_win_back_task_created_on_the_churn_page(writable):
    at = open_page("pages/churn.py", login="admin")
    before = metrics(at)[T("churn.without_task")]
    if before == "0":
        pytest.skip("no warning without a task in this small province")
    at.date_input(key="churn_task_due").set_value(dt.date(2026, 11, 30))
    at = _submit(at, T("churn.task_create"))
    assert not at.error and at.success
    assert int(metrics(at)[T("churn.without_task")]) == int(before) - 1


TABS = [("pages/tiers.py", "tiers_tab", k) for k in ("tiers.tab_distribution", "tiers.tab_migration",
                                                    "tiers.tab_candidates", "tiers.tab_load")] + \
       [("pages/churn.py", "churn_tab", k) for k in ("churn.tab_warnings", "churn.tab_tracking", "churn.tab_lost",
                                                    "churn.tab_grades")]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path,key,label", TABS, ids=[x[2] for x in TABS])
def test_every_lazy_tab_opens_and_shows_its_table(fixture_url, path, key, label, lang):
    """Tabs run only when open (st.tabs on_change="rerun"): each one, opened, renders without error
    and shows its content, and the other tabs' tables stay unrendered."""
    at = open_page(path, lang=lang, tab=(key, label))
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[key] == translator(lang)(label)
    assert len(at.dataframe) + len(at.get("plotly_chart")) >= 1
    if label != "tiers.tab_distribution" and path == "pages/tiers.py":  # the first tab did not run
        assert not [c for c in at.get("plotly_chart") if c.key == "tiers_dist_chart"]


def test_long_tables_show_the_first_rows_and_say_so(engine, monkeypatch):
    """The candidate list is cut to ui.TABLE_ROWS rows on the page, with a caption giving the total."""
    from lib import ui

    scope, month = queries.default_scope_and_month(engine)
    n = len(tiers.candidates(engine, scope, month))
    assert n > 3
    monkeypatch.setattr(ui.tables, "TABLE_ROWS", 3)
    at = open_page("pages/tiers.py", tab=("tiers_tab", "tiers.tab_candidates"))
    assert sorted(len(d.value) for d in at.dataframe)[-1] == 3  # the candidates, cut; the overrides are fewer
    assert any(len(d.value) == 3 and T("col.measured_tier") in d.value.columns for d in at.dataframe)
    assert any(c.value == T("dash.rows_capped", shown="3", total=f"{n:,}") for c in at.caption)
