"""Downloads 导出 of any table on screen: CSV that Excel opens correctly, and .xlsx.

CSV is UTF-8 with a byte-order mark (Excel on Chinese Windows otherwise reads it as GBK and garbles
Chinese). Both are safe against formula injection (CSV/公式注入): in the .xlsx every text cell is
written as text (never a formula); in the CSV a text cell starting with = + - @ (or tab / CR) that is
not a plain number gets a leading apostrophe, which Excel shows as text.
"""
from __future__ import annotations

import io
import re

import pandas as pd

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _safe_text(value):
    if isinstance(value, str) and value.startswith(_DANGEROUS) and not _NUMBER.match(value):
        return "'" + value
    return value


def _text_columns(df: pd.DataFrame) -> list:
    return [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Return `df` as CSV bytes (UTF-8 with BOM, no index), formula-injection safe."""
    safe = df.copy()
    for col in _text_columns(safe):
        safe[col] = safe[col].map(_safe_text)
    return safe.to_csv(index=False).encode("utf-8-sig")


def to_xlsx_bytes(df: pd.DataFrame, sheet: str = "data") -> bytes:
    """Return `df` as an .xlsx workbook (one sheet, header row bold); text cells are stored as text,
    so a value like "=HYPERLINK(…)" is shown, never evaluated."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=re.sub(r"[\[\]:*?/\\]", "_", str(sheet))[:31] or "data")
    bold = Font(bold=True)
    header = []
    for name in df.columns:
        cell = WriteOnlyCell(ws, value=str(name))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in df.itertuples(index=False, name=None):
        cells = []
        for value in row:
            if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
                cells.append(None)
                continue
            if hasattr(value, "item") and not isinstance(value, (str, bytes)):
                value = value.item()  # numpy scalars
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            if isinstance(value, (list, dict, tuple, set)):
                value = str(value)
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula
            cells.append(cell)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
