"""Downloads 导出: every table and workbook the app writes, with one formula-injection policy.

* `csv_bytes` / `xlsx_bytes`: a table as shown on screen (already labelled), e.g. the daily-work lists.
* `table_csv` / `table_xlsx`: a raw table, labelled with lib.vocab on the way out (the dashboards).
* `write_sheet`: one formatted sheet (title, subtitle, header, data, totals, print setup), used by
  `table_xlsx` and by the monthly report pack (lib.reports).

CSV is UTF-8 with a byte-order mark (Excel on Chinese Windows otherwise reads it as GBK and garbles
Chinese) and CRLF rows, so a cell holding a carriage return is quoted rather than split.

Formula injection (CSV/公式注入, OWASP "CSV injection"): text starting with = + - @, a tab or a
carriage return is neutralised: in a CSV it gets a leading apostrophe, in a workbook it is
stored as a text cell with Excel's quote prefix, never as a formula. Numbers stay numbers: numeric
values are written as numbers, and text that is a plain number such as "-5" or "+86" is left as it
is (`formula_like` is the one policy).
"""
from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from lib import vocab

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def formula_like(value) -> bool:
    """Return True for text a spreadsheet could run as a formula: it starts with = + - @, tab or CR
    and is not a plain number ("-5", "+86", "-0.5" are numbers, "-2+3" and "=1" are not)."""
    return isinstance(value, str) and value.startswith(DANGEROUS) and not _NUMBER.match(value)


def csv_cell(value):
    """Return a value safe for a CSV cell: formula-like text gets a leading apostrophe."""
    return "'" + value if formula_like(value) else value


def put(cell, value) -> None:
    """Write a value into a workbook cell: numpy scalars as Python numbers, timestamps without
    microseconds, containers as text; formula-like text as a text cell with the quote prefix."""
    if isinstance(value, (pd.Timestamp, dt.datetime)) and not pd.isna(value):
        value = pd.Timestamp(value).to_pydatetime().replace(microsecond=0)
    elif value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        value = None
    elif hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, (list, dict, tuple, set)):
        value = str(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula
        if formula_like(value):
            cell.quotePrefix = True


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", str(title))[:31] or "Sheet"


def csv_bytes(df: pd.DataFrame) -> bytes:
    """Return `df` as CSV bytes (UTF-8 with BOM, no index), formula-injection safe."""
    safe = df.copy()
    for i in range(safe.shape[1]):  # only text can be formula-like (by position: headers may repeat)
        col = safe.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            safe.isetitem(i, col.map(csv_cell))
    # CRLF rows (RFC 4180): a cell holding a bare CR is then quoted instead of breaking its row
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def xlsx_bytes(df: pd.DataFrame, sheet: str = "data") -> bytes:
    """Return `df` as an .xlsx workbook (one sheet, header row bold), formula-injection safe."""
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_sheet_title(sheet))
    bold = Font(bold=True)
    header = []
    for name in df.columns:
        cell = WriteOnlyCell(ws)
        put(cell, str(name))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in df.itertuples(index=False, name=None):
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws)
            put(cell, value)
            cells.append(cell)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()



def table_csv(df: pd.DataFrame, t: Callable[..., str], columns: list[str] | None = None,
              values: dict[str, str] | None = None) -> bytes:
    """Return a raw table as CSV, labelled as on the page (lib.vocab.labelled)."""
    return csv_bytes(vocab.labelled(df, t, columns, values))


def table_xlsx(df: pd.DataFrame, t: Callable[..., str], title: str, columns: list[str] | None = None,
               values: dict[str, str] | None = None) -> bytes:
    """Return a raw table as a one-sheet workbook formatted like the report pack."""
    wb = Workbook()
    cols = [c for c in columns if c in df.columns] if columns else [c for c in df.columns if c in vocab.COLUMNS]
    write_sheet(wb.active, _sheet_title(title), title, "", df, cols, t, totals=None, values=values)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- one formatted sheet 表格排版 ----------------------------------------------------------------------

_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DDE6F0")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")


def _width(value) -> int:
    s = "" if value is None else (f"{value:,.3f}" if isinstance(value, float) else str(value))
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def write_sheet(ws, sheet_title: str, title: str, subtitle: str, df: pd.DataFrame, cols: list[str],
                t: Callable[..., str], totals: dict | None, values: dict[str, str] | None = None) -> None:
    """Title, subtitle, header row (frozen, repeated on every printed page), data, totals row;
    widths from the content, number formats per column (lib.vocab), landscape A4 fitted to the page
    width. Cells are shown as on the page (lib.vocab.display) and written with `put`."""
    values = values or {}
    ws.title = sheet_title
    n = max(1, len(cols))
    ws.cell(1, 1, title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    put(ws.cell(2, 1), subtitle)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n)
    widths = []
    for j, c in enumerate(cols, start=1):
        cell = ws.cell(3, j)
        put(cell, vocab.column_label(t, c))
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        widths.append(_width(cell.value))
    shown = [[vocab.display(t, c, v, values.get(c)) for v in df[c].tolist()] for c in cols]
    for i in range(len(df)):
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(4 + i, j)
            put(cell, shown[j - 1][i])
            cell.border = _BORDER
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.number_format = vocab.number_format(c) or "#,##0"
            widths[j - 1] = max(widths[j - 1], _width(cell.value))
    last = 3 + len(df)
    if totals is not None:
        last += 1
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(last, j)
            if j == 1:
                label = t("report.total_n", n=totals["_count"]) if "_count" in totals else t("report.total")
            put(cell, label if j == 1 else totals.get(c))
            cell.font = Font(bold=True)
            cell.fill = _TOTAL_FILL
            cell.border = _BORDER
            if isinstance(cell.value, (int, float)):
                cell.number_format = vocab.number_format(c) or "#,##0"
            widths[j - 1] = max(widths[j - 1], _width(cell.value))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, w + 2))
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "&P / &N"
