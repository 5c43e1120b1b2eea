"""Page checklist 数据完整性 / 设置清单: the gaps it shows against independent SQL, its links to the page
and the import that fill each gap, and the short version on the overview."""
from __future__ import annotations

from pathlib import Path

from apptest_helpers import T, app, metrics, open_page, rendered_text, scope_and_month
from sqlalchemy import text

from lib import checklist, fmt, importer, months, ui

PAGE = "pages/checklist.py"


def _station_gaps(engine, scope: str, month: str) -> dict[str, tuple[int, int]]:
    """Stations of `scope` without traffic in `month`, without 4 rate targets, without sales in the last
    12 months — each as (missing, total), in plain SQL + Python."""
    like = scope + "%"
    start = months.shift(month, -12)
    with engine.connect() as conn:
        stations = conn.execute(text("SELECT id FROM station WHERE org_path LIKE :s"), {"s": like}).scalars().all()
        traffic = set(conn.execute(text("SELECT DISTINCT station_id FROM station_traffic WHERE month = :m"),
                                   {"m": month}).scalars())
        targets = conn.execute(text("SELECT station_id, COUNT(*) FROM four_rate_target GROUP BY station_id")).all()
        sales = set(conn.execute(text("SELECT DISTINCT station_id FROM station_sales WHERE month > :a AND month <= :m"),
                                 {"a": start, "m": month}).scalars())
    full = {sid for sid, n in targets if n >= 4}
    total = len(stations)
    return {"traffic": (sum(s not in traffic for s in stations), total),
            "rate_targets": (sum(s not in full for s in stations), total),
            "station_sales": (sum(s not in sales for s in stations), total)}


def _gap_line(check: str, missing: int, total: int, month: str) -> str:
    values = {"label": T(f"checklist.check.{check}", month=month), "unit": T("checklist.unit.stations"),
              "missing": missing, "total": total, "done": total - missing}
    return T("checklist.line_gap", **values)


def test_the_fixture_gaps_show_with_their_counts(engine):
    """On the demo province, every station-level gap computed independently shows as its line, and
    the status counts equal lib.checklist's."""
    at = open_page(PAGE)
    scope, month = scope_and_month(engine, None)
    gaps = {k: v for k, v in _station_gaps(engine, scope, month).items() if v[0] > 0}
    assert gaps, "the demo province has a known gap (station sales, rate targets)"
    shown = rendered_text(at)
    for check, (missing, total) in gaps.items():
        assert _gap_line(check, missing, total, month) in shown, check
    counts = checklist.open_items(checklist.checklist(engine, scope, month))
    assert metrics(at) == {T(f"checklist.{s}"): fmt.count(counts[s], "en") for s in checklist.STATUSES}


def test_each_gap_links_to_its_page_and_import(engine):
    """Every line not complete links to the registered page that fills it and, when its import kind
    exists, to the imports page with that kind in the URL (the imports page preselects it)."""
    at = open_page(PAGE)
    links = {(el.proto.page, el.proto.query_string) for el in at.get("page_link")}
    scope, month = scope_and_month(engine, None)
    items = checklist.checklist(engine, scope, month)
    gaps = items[items["status"] != "ok"]
    expected = {("imports", f"kind={k}") for k in gaps["kind"] if k in importer.KINDS}
    expected |= {(Path(p).stem, "") for p in gaps["page"] if ui.page_spec(p) and p != "pages/imports.py"}
    assert expected and expected <= links, expected - links
    assert ("imports", "kind=visits") in expected  # the demo records no visit at some stations


def test_a_city_scope_counts_only_its_stations(engine):
    at = open_page(PAGE, city_index=2)
    scope, month = scope_and_month(engine, 2)
    missing, total = _station_gaps(engine, scope, month)["station_sales"]
    root_total = _station_gaps(engine, *scope_and_month(engine, None))["station_sales"][1]
    assert 0 < total < root_total
    if missing:
        assert _gap_line("station_sales", missing, total, month) in rendered_text(at)


def test_without_traffic_the_four_rates_line_says_missing(writable):
    with writable.begin() as conn:
        conn.execute(text("DELETE FROM station_traffic"))
        month = conn.execute(text("SELECT MAX(month) FROM monthly_consumption")).scalar_one()
        stations = conn.execute(text("SELECT COUNT(*) FROM station")).scalar_one()
    at = app("admin", "en")
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = rendered_text(at)
    assert _gap_line("traffic", stations, stations, month) in shown
    traffic_line = next(m.value for m in at.markdown if T("checklist.check.traffic", month=month) in m.value)
    assert T("checklist.status.missing") in traffic_line


def test_the_overview_shows_the_short_version_with_a_link(engine):
    at = open_page("pages/overview.py")
    scope, month = scope_and_month(engine, None)
    counts = checklist.open_items(checklist.checklist(engine, scope, month))
    assert counts["missing"] + counts["partial"] > 0
    assert [i.value for i in at.info] == [T("checklist.short", missing=counts["missing"], partial=counts["partial"])]
    assert any(el.proto.page.endswith("checklist") for el in at.get("page_link"))


def test_the_short_version_is_not_shown_to_roles_without_the_checklist(fixture_url):
    at = open_page("pages/overview.py", login="viewer")
    assert not at.info
    assert not any(el.proto.page.endswith("checklist") for el in at.get("page_link"))


def test_the_imports_page_preselects_the_kind_a_link_names(fixture_url):
    at = app("admin", "en")
    at.run()
    at.query_params["kind"] = "traffic"
    at.switch_page("pages/imports.py").run()
    assert not at.exception
    assert at.get("button_group")[0].value == "traffic"


def test_the_page_in_chinese(fixture_url):
    at = open_page(PAGE, lang="zh")
    assert at.title[0].value == "数据完整性"
    assert [m.label for m in at.metric] == ["缺失", "不全", "齐全"]
