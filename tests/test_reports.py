"""lib.reports: the monthly report pack (appendices 1–7) opens with openpyxl, has its sheets and
Chinese headers, prints well, carries the pages' figures in its totals, and never turns text into
formulas; CSV/Excel table downloads are safe too (the policy itself: tests/test_export.py)."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import text

from lib import auth, demo, development, export, queries, reports, surveys, tiers, tracking
from lib.db import make_engine, write
from lib.i18n import translator

MONTH = "2026-10"
ZH = translator("zh")


@pytest.fixture(scope="module")
def packs(engine):
    with engine.connect() as conn:
        city = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' ORDER BY path LIMIT 1")).scalar()
        station = conn.execute(text("SELECT path FROM org_unit WHERE level = 'station' ORDER BY path LIMIT 1")).scalar()
    return {scope: openpyxl.load_workbook(io.BytesIO(reports.monthly_pack(engine, scope, MONTH)))
            for scope in ("/37/", city, station)}


def _total(ws, column: str):
    """The value in the totals row (the last row) under the header of `column`."""
    headers = [c.value for c in ws[3]]
    return ws.cell(ws.max_row, headers.index(ZH(f"col.{column}")) + 1).value


def test_the_pack_has_the_seven_appendix_sheets_with_chinese_headers(packs):
    for wb in packs.values():
        assert wb.sheetnames == [name for _, name, _ in reports.SHEETS]
        assert [n.split(" ")[0] for n in wb.sheetnames] == [f"附录{i}" for i in range(1, 8)]
        for (no, _, title), ws in zip(reports.SHEETS, wb.worksheets):
            assert ws.cell(1, 1).value.startswith(title)
            assert [c.value for c in ws[3]] == [ZH(f"col.{c}") for c in reports.COLUMNS[no]]
            assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h.value) for h in ws[3])  # Chinese headers
            assert ws.cell(ws.max_row, 1).value.startswith("合计")


def test_sheets_are_ready_to_print(packs):
    for ws in packs["/37/"].worksheets:
        assert ws.freeze_panes == "A4"  # header frozen
        assert ws.print_title_rows == "$3:$3"  # and repeated on every printed page
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        widths = [ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width for j in range(1, ws.max_column + 1)]
        assert all(w >= 8 for w in widths) and max(widths) > 10
    ws6 = packs["/37/"]["附录6 机构客户月度跟踪管理明细表"]
    headers = [c.value for c in ws6[3]]
    assert ws6.cell(4, headers.index("销量(吨)") + 1).number_format == "#,##0.000"
    assert ws6.cell(4, headers.index("较3月均") + 1).number_format == "0.0%"


def test_totals_equal_the_pages_figures(engine, packs):
    with engine.connect() as conn:
        city = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' ORDER BY path LIMIT 1")).scalar()
    for scope in ("/37/", city):
        wb = packs[scope]
        plan = queries.plan_completion(engine, scope, MONTH)  # the overview's and the plan page's figures
        ws7 = wb["附录7 零售客户开发计划完成统计表"]
        assert _total(ws7, "card_actual") == plan["personal_card"]["actual"]
        assert _total(ws7, "card_target") == plan["personal_card"]["target"]
        assert _total(ws7, "card_completion") == pytest.approx(plan["personal_card"]["completion"])
        assert _total(ws7, "inst_actual") == plan["institutional"]["actual"]
        nxt = development.totals(engine, scope, "2026-11")
        ws1 = wb["附录1 零售客户月度开发计划"]
        assert _total(ws1, "card_target") == nxt["personal_card"]["target"]
        assert _total(ws1, "inst_target") == nxt["institutional"]["target"]
        churn = tracking.summary(engine, scope, MONTH, "institutional")  # the churn page's figures
        ws6 = wb["附录6 机构客户月度跟踪管理明细表"]
        assert _total(ws6, "volume_t") == pytest.approx(churn["volume_t"])
        assert ws6.cell(ws6.max_row, 1).value == f"合计({churn['institutional']} 户)"
        ws4 = wb["附录4 机构客户月度跟踪管理汇总表"]
        assert _total(ws4, "customers") == churn["institutional"]
        assert _total(ws4, "volume_t") == pytest.approx(churn["volume_t"])
        assert _total(ws4, "warnings") == churn["warnings"]
        with engine.connect() as conn:
            lost = conn.execute(text("SELECT COUNT(*) FROM customer WHERE org_path LIKE :s AND lost_month = :m "
                                     "AND kind = 'institutional'"), {"s": scope + "%", "m": MONTH}).scalar()
            vol = conn.execute(text(
                "SELECT SUM(m.gasoline_t + m.diesel_t) FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id"
                " WHERE c.org_path LIKE :s AND m.month = :m AND c.kind = 'institutional' AND (c.status = 'existing' OR "
                "(c.status = 'lost' AND c.lost_month > :m)) AND (c.developed_month IS NULL OR c.developed_month <= :m)"),
                {"s": scope + "%", "m": MONTH}).scalar()
        assert _total(ws6, "volume_t") == pytest.approx(vol)  # … and an independent SQL sum
        ws3 = wb["附录3 机构客户流失统计表"]
        assert ws3.max_row - 4 == lost and ws3.cell(ws3.max_row, 1).value == f"合计({lost} 户)"
        ws5 = wb["附录5 机构客户月度等级管理表"]
        inst = tiers.summary(engine, scope, MONTH)["institutional"]  # the tiers page's distribution
        assert ws5.cell(ws5.max_row, 1).value == f"合计({inst} 户)"
        ws2 = wb["附录2 潜在客户调查表"]
        assert ws2.max_row - 4 == len(surveys.potential_customers(engine, scope))


def test_a_customer_manager_scope_gets_empty_sheets_not_an_error(engine):
    with engine.connect() as conn:
        path = conn.execute(text("SELECT org_path FROM customer WHERE org_path LIKE '%/m%' LIMIT 1")).scalar()
    wb = openpyxl.load_workbook(io.BytesIO(reports.monthly_pack(engine, path, MONTH)))
    assert len(wb.sheetnames) == 7


@pytest.mark.parametrize("bad", ["2026-13", "oct", ""])
def test_bad_month_is_refused(engine, bad):
    with pytest.raises(ValueError):
        reports.monthly_pack(engine, "/37/", bad)


HOSTILE = ['=HYPERLINK("x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)"]


@pytest.fixture()
def hostile(fresh_url):
    """A small province whose institutional customers of one station are named like formulas."""
    engine = make_engine(fresh_url)
    demo.generate(engine, seed=5, customers=900, months=4, end_month=MONTH)
    auth.create_demo_users(engine)
    with engine.connect() as conn:
        station, path = conn.execute(text(
            "SELECT c.station_id, s.org_path FROM customer c JOIN station s ON s.id = c.station_id "
            "WHERE c.kind = 'institutional' AND c.status = 'existing' GROUP BY c.station_id, s.org_path "
            "HAVING COUNT(*) >= 4 ORDER BY c.station_id LIMIT 1")).one()
        ids = conn.execute(text("SELECT id FROM customer WHERE station_id = :s AND kind = 'institutional' AND "
                                "status = 'existing' ORDER BY id LIMIT 4"), {"s": station}).scalars().all()
    with write(engine) as conn:
        for cid, name in zip(ids, HOSTILE):
            conn.execute(text("UPDATE customer SET name = :n WHERE id = :id"), {"n": name, "id": cid})
    yield engine, path
    engine.dispose()


def test_formula_looking_names_are_stored_as_text(hostile):
    engine, path = hostile
    wb = openpyxl.load_workbook(io.BytesIO(reports.monthly_pack(engine, path, MONTH)))
    ws = wb["附录6 机构客户月度跟踪管理明细表"]
    col = [c.value for c in ws[3]].index(ZH("col.name")) + 1
    cells = {ws.cell(r, col).value: ws.cell(r, col) for r in range(4, ws.max_row)}
    for name in HOSTILE:
        cell = cells[name]
        assert cell.data_type == "s" and cell.value == name  # text, not a formula
        assert cell.quotePrefix
    formulas = [c.coordinate for s in wb.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


def test_table_downloads_are_safe_too(hostile):
    engine, path = hostile
    detail = tracking.tracking_detail(engine, path, MONTH)
    wb = openpyxl.load_workbook(io.BytesIO(export.table_xlsx(detail, ZH, "明细", ["code", "name", "volume_t"])))
    values = {c.value: c for row in wb.active.iter_rows() for c in row}
    assert values['=HYPERLINK("x")'].data_type == "s"
    csv = export.table_csv(detail, ZH, ["name", "volume_t"]).decode("utf-8-sig")
    assert "'=HYPERLINK(\"\"x\"\")" in csv or "'=HYPERLINK" in csv
    assert "\n=HYPERLINK" not in csv and "\n@SUM" not in csv and "\n+cmd" not in csv


@pytest.mark.parametrize("scope", ["/37/", "/37/3702/"])
def test_page_counts_equal_the_built_pack(engine, scope):
    """The report page counts rows in SQL before the pack is built; they equal the built sheets."""
    overview = reports.pack_overview(engine, scope, MONTH)
    tables = reports.appendix_tables(engine, scope, MONTH)
    assert overview["rows"] == {no: len(tables[no][0]) for no in range(1, 8)}
    assert overview["tracked"] == len(tables[6][0]) > 0
    assert overview["volume_t"] == pytest.approx(tables[6][1]["volume_t"])
    assert overview["lost"] == len(tables[3][0])
    assert overview["plan"] == development.totals(engine, scope, MONTH)
