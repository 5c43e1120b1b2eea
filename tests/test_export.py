"""lib.export: one formula-injection policy for every download. Text starting with = + - @, tab or CR
is neutralised (CSV: a leading apostrophe; xlsx: a text cell with the quote prefix, never a formula);
negative numbers stay numbers. Checked for the single-table downloads (lib.export) and for the
monthly report pack (lib.reports), read back with csv and openpyxl."""
from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from lib import export, reports, vocab
from lib.i18n import translator

ZH = translator("zh")
MONTH = "2026-10"

# (id, text): every dangerous first character, as attackers use them
HOSTILE = [
    ("equals", '=HYPERLINK("http://x","y")'),
    ("plus", "+cmd|' /C calc'!A0"),
    ("minus", "-2+3"),
    ("at", "@SUM(A1:A2)"),
    ("tab", "\t=1+1"),
    ("cr", "\r=1+1"),
]
# (id, text) that must be left alone: plain numbers written as text, and harmless text
HARMLESS = [("minus_number", "-5"), ("plus_number", "+86"), ("decimal", "-0.5"), ("name", "中石化"),
            ("inner_equals", "a=b")]


@pytest.mark.parametrize("text", [t for _, t in HOSTILE], ids=[i for i, _ in HOSTILE])
def test_the_policy_neutralises_every_dangerous_prefix(text):
    assert export.formula_like(text)
    assert export.csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", [t for _, t in HARMLESS] + [-5, -5.5, 0, None],
                         ids=[i for i, _ in HARMLESS] + ["int", "float", "zero", "none"])
def test_the_policy_leaves_numbers_and_plain_text_alone(value):
    assert not export.formula_like(value)
    assert export.csv_cell(value) == value


def _frame(text: str) -> pd.DataFrame:
    """A customer list with the text under test as a name and -5 as a (numeric) volume."""
    return pd.DataFrame({"code": ["C1", "C2"], "name": [text, "plain"], "volume_t": [-5.0, 1.25],
                         "customer_id": [1, 2]})


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM so Excel reads the Chinese
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _cells(data: bytes):
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    return ws, {c.value: c for row in ws.iter_rows() for c in row}


def _no_formulas(data: bytes) -> list:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [c.coordinate for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]


@pytest.mark.parametrize("writer", ["labelled", "on_screen"])
@pytest.mark.parametrize("text", [t for _, t in HOSTILE + HARMLESS], ids=[i for i, _ in HOSTILE + HARMLESS])
def test_csv_downloads(text, writer):
    df = _frame(text)
    data = (export.table_csv(df, ZH, ["code", "name", "volume_t"]) if writer == "labelled"
            else export.csv_bytes(vocab.labelled(df, ZH, ["code", "name", "volume_t"])))
    rows = _csv_rows(data)
    assert rows[0] == [ZH("col.code"), ZH("col.name"), ZH("col.volume_t")]
    expected = "'" + text if export.formula_like(text) else text
    assert rows[1][1] == expected
    assert rows[1][2] == "-5.0" and float(rows[1][2]) == -5  # a negative number stays a number


@pytest.mark.parametrize("writer", ["formatted", "on_screen"])
@pytest.mark.parametrize("text", [t for _, t in HOSTILE + HARMLESS], ids=[i for i, _ in HOSTILE + HARMLESS])
def test_xlsx_downloads(text, writer):
    df = _frame(text)
    data = (export.table_xlsx(df, ZH, "客户", ["code", "name", "volume_t"]) if writer == "formatted"
            else export.xlsx_bytes(vocab.labelled(df, ZH, ["code", "name", "volume_t"]), "客户"))
    ws, cells = _cells(data)
    cell = cells[text]
    assert cell.data_type == "s"  # text, not a formula
    assert bool(cell.quotePrefix) == export.formula_like(text)
    minus_five = cells[-5]
    assert minus_five.data_type == "n" and minus_five.value == -5  # stays numeric
    assert _no_formulas(data) == []


@pytest.fixture(scope="module")
def pack_of(engine):
    """Build the monthly pack from crafted appendix tables: appendix 6 (the per-customer detail)
    carries the text under test as a customer name and -5 as a volume; the other sheets are empty."""
    def build(text: str) -> bytes:
        tables = {no: (pd.DataFrame(columns=cols), {}) for no, cols in reports.COLUMNS.items()}
        row = {c: None for c in reports.COLUMNS[6]} | {"code": "C1", "name": text, "volume_t": -5.0, "tier": "city"}
        tables[6] = (pd.DataFrame([row]), {"_count": 1, "volume_t": -5.0})
        original = reports.appendix_tables
        reports.appendix_tables = lambda *_: tables
        try:
            return reports.monthly_pack(engine, "/37/", MONTH)
        finally:
            reports.appendix_tables = original
    return build


@pytest.mark.parametrize("text", [t for _, t in HOSTILE + HARMLESS], ids=[i for i, _ in HOSTILE + HARMLESS])
def test_report_pack(pack_of, text):
    data = pack_of(text)
    ws = openpyxl.load_workbook(io.BytesIO(data))["附录6 机构客户月度跟踪管理明细表"]
    headers = [c.value for c in ws[3]]
    name = ws.cell(4, headers.index(ZH("col.name")) + 1)
    assert name.data_type == "s" and name.value == text
    assert bool(name.quotePrefix) == export.formula_like(text)
    volume = ws.cell(4, headers.index(ZH("col.volume_t")) + 1)
    assert volume.data_type == "n" and volume.value == -5 and volume.number_format == "#,##0.000"
    assert ws.cell(4, headers.index(ZH("col.tier")) + 1).value == ZH("tier.city")  # labelled like the page
    assert _no_formulas(data) == []
