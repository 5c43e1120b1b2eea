"""Reading import files 读取文件: CSV in UTF-8 (with or without BOM) or GB18030/GBK as Excel saves it on
Chinese Windows, .xlsx through openpyxl (first sheet; a cell holding a formula is refused: paste
values), GeoJSON for grids. Every cell is read as text, so codes and phones keep their leading zeros
("0012" stays "0012"). A file that cannot be read raises FileError with its error code.
"""
from __future__ import annotations

import io
import json
import warnings

import pandas as pd

from lib.importer.specs import COLUMNS, columns, limits
from lib.validation import Issue, text_cell


class FileError(Exception):
    """The whole file is refused: `error` is the Issue (row 0 unless a row is named)."""

    def __init__(self, code: str, column: str = "", row: int = 0, **params):
        super().__init__(code)
        self.error = Issue(row, column, code, params)


def decode(data: bytes) -> str:
    """Decode CSV bytes: UTF-8 (BOM or not), else GB18030 (a superset of GBK/GB2312). FileError if neither."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first = exc
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileError("undecodable", position=first.start) from None


def looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def _is_formula(cell) -> bool:
    kind = getattr(cell, "data_type", None)
    return kind == "f" or (isinstance(cell.value, str) and cell.value.startswith("=") and kind != "s")


def _xlsx_rows(data: bytes, max_rows: int) -> list[list[str]]:
    """The first sheet's rows as text, trailing empty rows dropped; FileError on a formula or too many rows."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - any failure is a bad workbook
        raise FileError("unreadable_excel", detail=type(exc).__name__) from None
    try:
        rows = []
        for r, row in enumerate(wb.worksheets[0].iter_rows(), start=1):
            values = []
            for c, cell in enumerate(row, start=1):
                if _is_formula(cell):
                    raise FileError("formulas", cell=f"{get_column_letter(c)}{r}")
                values.append(text_cell(cell.value))
            rows.append(values)
            if r > max_rows + 1:
                raise FileError("too_many_rows", rows=f"> {max_rows}", limit=max_rows)
    finally:
        wb.close()
    while rows and not any(v.strip() for v in rows[-1]):
        rows.pop()
    return rows


def _read_xlsx(data: bytes, max_rows: int) -> pd.DataFrame:
    rows = _xlsx_rows(data, max_rows)
    if not rows:
        raise FileError("empty")
    width = max(len(r) for r in rows)
    header = [h.strip() for h in rows[0]] + [""] * (width - len(rows[0]))
    body = [r + [""] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=object)


def _read_csv(data: bytes) -> pd.DataFrame:
    txt = decode(data)
    if not txt.strip():
        raise FileError("empty")
    try:
        with warnings.catch_warnings():  # a row longer than the header would lose data: an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.StringIO(txt), dtype=str, keep_default_na=False, na_filter=False,
                             skip_blank_lines=True, engine="c", index_col=False)
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise FileError("parse", detail=str(exc).strip()[:200]) from None
    except pd.errors.EmptyDataError:
        raise FileError("empty") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_table(data: bytes, filename: str, max_rows: int | None = None) -> pd.DataFrame:
    """Return the file as a DataFrame of text cells (header row → column names). FileError when unreadable."""
    max_rows = max_rows or limits()["max_rows"]
    ext = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if ext in ("xlsx", "xlsm"):
        if not data.startswith(b"PK"):
            raise FileError("unreadable_excel", detail="not a zip/xlsx file")
        return _read_xlsx(data, max_rows)
    if ext in ("xls",):
        raise FileError("bad_format", ext=".xls")
    if looks_binary(data):
        raise FileError("binary")
    return _read_csv(data)


def _header_keys(kind: str) -> dict[str, str]:
    """Every header a file may use for a column of `kind` → key: the key, the Chinese header, "中文(key)",
    and the column's label in the app's tables (catalog col.<key>, zh and en, as a download shows it),
    compared without case, spaces or full-width forms (lib.vocab.norm_label). A label never takes a
    header another column already has."""
    from lib.i18n import LANGUAGES, catalog
    from lib.vocab import norm_label

    by_label: dict[str, str] = {}
    for key, zh, _ in columns(kind):
        for header in (key, zh, f"{zh}({key})"):
            by_label.setdefault(norm_label(header), key)
    for lang in LANGUAGES:
        messages = catalog(lang)
        for key, _, _ in columns(kind):
            label = messages.get(f"col.{key}")
            if label:
                by_label.setdefault(norm_label(label), key)
    return by_label


def map_columns(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Rename Chinese or "中文(key)" headers to keys, add the missing optional columns empty and strip
    every cell; FileError naming the first missing required column. `attrs["headers"]`: key → the
    header as the file wrote it (errors name that)."""
    from lib.vocab import norm_label

    by_label = _header_keys(kind)
    rename, seen = {}, set()
    for col in df.columns:
        key = by_label.get(norm_label(col))
        if key and key not in seen:
            rename[col] = key
            seen.add(key)
    df = df[[c for c in df.columns if c in rename]].rename(columns=rename)
    headers = {key: str(col).strip() for col, key in rename.items()}
    missing = [key for key, _, req in columns(kind) if req and key not in df.columns]
    if missing:
        raise FileError("missing_column", column=missing[0], row=1)
    for key, _, _ in columns(kind):
        if key not in df.columns:
            df[key] = ""
    df = df.astype(object).fillna("")
    for key in df.columns:  # Python str objects: the row loops of the checks iterate them fast
        df[key] = df[key].astype(str).str.strip().astype(object)
    df = df.reset_index(drop=True)
    df.attrs["headers"] = headers
    return df


def read_features(data: bytes) -> tuple[list, pd.DataFrame]:
    """A GeoJSON FeatureCollection of grids: (features, their properties as text cells per grid column)."""
    try:
        obj = json.loads(decode(data))
    except (ValueError, FileError) as exc:
        raise FileError("bad_geojson", detail=str(getattr(exc, "error", exc))[:120]) from None
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection" or not isinstance(obj.get("features"), list):
        raise FileError("bad_geojson", detail="expected {\"type\": \"FeatureCollection\", \"features\": [...]}")
    feats = obj["features"]
    if not feats:
        raise FileError("no_rows")
    keys = [k for k, _, _ in COLUMNS["grids"]]
    props = pd.DataFrame([{k: ("" if (f.get("properties") or {}).get(k) is None else str(f["properties"][k]).strip())
                           for k in keys} if isinstance(f, dict) else {} for f in feats])
    for key in keys:
        if key not in props.columns:
            props[key] = ""
    return feats, props.fillna("")
