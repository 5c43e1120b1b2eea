"""Page overview 总览: its headline figures against independent SQL, and its default language."""
from __future__ import annotations

import pytest
from apptest_helpers import app, customer_visits, metrics, open_page, scope_and_month
from sqlalchemy import text

from lib import fmt
from lib.i18n import translator


def _return_rate(engine, scope: str, month: str) -> float:
    """顾客回头率 (issue 15): customers on the books with ≥ 2 fuelling visits ÷ those with ≥ 1."""
    repeat, active = customer_visits(engine, scope, month)
    return repeat / active


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
        "return_rate": _return_rate(engine, scope, month), "pass_through_rate": sums[2] / sums[1],
    }


@pytest.mark.parametrize("city_index", [None, 1, 2])
def test_overview_figures_equal_independent_sql(engine, city_index):
    at = open_page("pages/overview.py", lang="en", city_index=city_index)
    assert not at.exception
    scope, month = scope_and_month(engine, city_index)
    expected = _independent_overview(engine, scope, month)
    assert expected["customers"] > 0 and expected["volume"] > 0
    t = translator("en")
    shown = metrics(at)
    assert shown[t("overview.volume")] == fmt.tonnes(expected["volume"], "en")
    assert shown[t("overview.customers")] == fmt.count(expected["customers"], "en")
    assert shown[t("overview.churned")] == fmt.count(expected["churned"], "en")
    assert shown[t("overview.plan_card")] == fmt.pct(expected["card_completion"], "en")
    for rate in ("entry_rate", "fill_up_rate", "return_rate", "pass_through_rate"):
        assert shown[t(f"rate.{rate}")] == fmt.pct(expected[rate], "en"), rate
    delta = {m.label: m.delta for m in at.metric}[t("overview.volume")]
    assert delta == fmt.pct((expected["volume"] - expected["volume_ly"]) / expected["volume_ly"], "en", signed=True)


def test_overview_speaks_chinese_by_default(fixture_url):
    at = app("admin")
    at.run()
    assert not at.exception
    assert at.title[0].value == "总览"
    assert "车辆进站率" in [m.label for m in at.metric]


@pytest.mark.parametrize("city_index", [None, 1])
def test_overview_plan_line_counts_institutions_with_agreement_and_shows_the_others_apart(engine, city_index):
    """002 §6.5.4.5: an institution counts as developed only with its supply agreement; those developed
    without one are named apart under the plan line, never silently dropped (independent count below)."""
    at = open_page("pages/overview.py", lang="en", city_index=city_index)
    scope, month = scope_and_month(engine, city_index)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT agreement FROM customer WHERE org_path LIKE :s AND developed_month = :m "
                                 "AND kind = 'institutional'"), {"s": scope + "%", "m": month}).scalars().all()
    signed = sum(1 for a in rows if a)
    t = translator("en")
    captions = [c.value for c in at.caption]
    assert [c for c in captions if c.startswith(t("overview.plan_line").split("{")[0]) and f" {signed} / " in c]
    expected = t("dev.inst_no_agreement", n=len(rows) - signed, month=month)[:40]  # before any markdown escape
    apart = [c for c in captions if c.startswith(expected)]
    assert len(apart) == (len(rows) > signed)
