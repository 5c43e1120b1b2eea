"""Page tiers 客户分级: figures against independent SQL, every lazy tab, the override form (reason,
audit, roles) and the capped candidate table."""
from __future__ import annotations

import pytest
from apptest_helpers import (
    LAZY_TABS,
    T,
    assert_chinese_key_numbers,
    consumption,
    customers,
    metrics,
    month_index,
    on_books,
    open_page,
    scope_and_month,
    submit,
)
from sqlalchemy import text

from lib import fmt, queries, rules, tiers
from lib.config import rules as config
from lib.i18n import translator

PAGE = "pages/tiers.py"
TAB_KEY, TABS = LAZY_TABS[PAGE]


@pytest.mark.parametrize("city_index", [None, 2])
def test_tiers_page_figures(engine, city_index):
    at = open_page(PAGE, city_index=city_index)
    scope, month = scope_and_month(engine, city_index)
    custs = [c for c in customers(engine, scope) if on_books(c, month)]
    cons, first = consumption(engine, scope)
    promote = demote = 0
    for c in custs:
        start = max(c[5] or first, first)
        n3, n12 = (max(1, min(k, month_index(month) - month_index(start) + 1)) for k in (3, 12))
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


def test_tiers_page_speaks_chinese_with_the_key_numbers_first(fixture_url):
    assert_chinese_key_numbers(PAGE, "客户分级")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("label", TABS)
def test_every_lazy_tab_opens_and_shows_its_table(fixture_url, label, lang):
    """Tabs run only when open (st.tabs on_change="rerun"): each one, opened, renders without error
    and shows its content, and the other tabs' tables stay unrendered."""
    at = open_page(PAGE, lang=lang, tab=(TAB_KEY, label))
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[TAB_KEY] == translator(lang)(label)
    assert len(at.dataframe) + len(at.get("plotly_chart")) >= 1
    if label != "tiers.tab_distribution":  # the first tab did not run
        assert not [c for c in at.get("plotly_chart") if c.key == "tiers_dist_chart"]


def _station_customer(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT id, code, name FROM customer WHERE computed_tier = 'station' AND "
                                 "tier_override IS NULL AND status = 'existing' ORDER BY id LIMIT 1")).one()


def test_override_on_the_page_requires_a_reason_and_is_audited(writable):
    cid, code, name = _station_customer(writable)
    at = open_page(PAGE, tab=(TAB_KEY, "tiers.tab_candidates"))
    at.text_input(key="tiers_override_code").input(code)
    at.selectbox(key="tiers_override_tier").set_value("district")
    at.text_area(key="tiers_override_reason").input("  ")
    at = submit(at, T("tiers.apply"))
    assert not at.exception
    assert at.error and "reason" in at.error[0].value
    with writable.connect() as conn:
        assert conn.execute(text("SELECT tier_override FROM customer WHERE id = :c"), {"c": cid}).scalar() is None
    at.text_area(key="tiers_override_reason").input("客户战略地位重要,报片区经理管理")
    at = submit(at, T("tiers.apply"))
    assert not at.error and at.success[0].value == T("tiers.override_saved", name=name)
    with writable.connect() as conn:
        assert conn.execute(text("SELECT tier_override FROM customer WHERE id = :c"), {"c": cid}).scalar() == "district"
        audit = conn.execute(text("SELECT actor, action FROM audit_log WHERE entity = 'customer' AND entity_id = :c"),
                             {"c": str(cid)}).all()
    assert [tuple(a) for a in audit] == [("admin", "tier_override")]


@pytest.mark.parametrize("login", ["station", "custmgr", "viewer"])
def test_station_level_and_read_only_roles_get_no_override_form(writable, login):
    at = open_page(PAGE, login=login, tab=(TAB_KEY, "tiers.tab_candidates"))
    assert at.session_state[TAB_KEY] == T("tiers.tab_candidates")  # the tab with the form did run
    assert not [w for w in at.text_input if w.key == "tiers_override_code"]


@pytest.mark.parametrize(("login", "offered"), [
    ("admin", ["province", "city", "district", "station"]),
    ("city", ["city", "district", "station"]),
    ("area", ["district", "station"]),
])
def test_override_form_offers_only_the_tiers_the_user_owns(writable, login, offered):
    """002 §6.1.2: a level moves tiers owned at its level or below; the form offers no tier the
    transfer (lib.tiers.set_override) would refuse; None is "back to the rules"."""
    at = open_page(PAGE, login=login, tab=(TAB_KEY, "tiers.tab_candidates"))
    box = at.selectbox(key="tiers_override_tier")
    assert box.options == [T("tiers.clear"), *(T(f"tier.{x}") for x in offered)]


def test_override_form_is_offered_to_admin(writable):
    """The counterpart of the test above: the same tab as an admin holds the form."""
    at = open_page(PAGE, tab=(TAB_KEY, "tiers.tab_candidates"))
    assert [w for w in at.text_input if w.key == "tiers_override_code"]


def test_long_tables_show_the_first_rows_and_say_so(engine, monkeypatch):
    """The candidate list is cut to ui.TABLE_ROWS rows on the page, with a caption giving the total."""
    from lib import ui

    scope, month = queries.default_scope_and_month(engine)
    n = len(tiers.candidates(engine, scope, month))
    assert n > 3
    monkeypatch.setattr(ui.tables, "TABLE_ROWS", 3)
    at = open_page(PAGE, tab=(TAB_KEY, "tiers.tab_candidates"))
    assert sorted(len(d.value) for d in at.dataframe)[-1] == 3  # the candidates, cut; the overrides are fewer
    assert any(len(d.value) == 3 and T("col.measured_tier") in d.value.columns for d in at.dataframe)
    assert any(c.value == T("dash.rows_capped", shown="3", total=f"{n:,}") for c in at.caption)
