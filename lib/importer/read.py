"""Reading import files 读取文件: CSV in UTF-8 (with or without BOM) or GB18030/GBK as Excel saves it on
Chinese Windows, .xlsx through openpyxl (first sheet; a cell holding a formula is refused: paste
values), GeoJSON for grids. Every cell is read as text, so codes and phones keep their leading zeros
("0012" stays "0012"). A file that cannot be read raises FileError with its error code.

Limits (specs.limits(), config `[imports]`) are checked before and while parsing, so that a small
hostile file cannot exhaust the server (issue 14): an .xlsx's zip directory first (uncompressed total
and the compression ratio of each member, then the real bytes while streaming), then every XML member
streamed through expat without building anything (no DTD or entity declaration at all: a workbook never
needs one, so entity expansion cannot happen; element nesting depth), then openpyxl read-only with the
sheet's declared dimensions ignored (a stray cell at XFD1048576 pads nothing) and each row's width,
the cell count and each cell's length checked as the rows come. A CSV's line lengths and header width
are checked before pandas parses it. Every cell, of every kind, is then refused when it holds a control
character (C0 other than tab, line feed and carriage return; DEL; C1): they break Excel downloads.
The heavy parse itself runs in a worker process with a memory limit (lib.importer.worker).
"""
from __future__ import annotations

import io
import json
import pyexpat
import warnings
import zipfile

import pandas as pd

from lib.importer.specs import COLUMNS, columns, limits
from lib.validation import CONTROL, Issue, text_cell


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


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def _is_formula(cell) -> bool:
    kind = getattr(cell, "data_type", None)
    return kind == "f" or (isinstance(cell.value, str) and cell.value.startswith("=") and kind != "s")


def _check_zip(zf: zipfile.ZipFile, lim: dict) -> None:
    """The zip directory of an .xlsx before anything is opened: members, total uncompressed size and
    each member's compression ratio (a zip bomb declares gigabytes; FileError zip_limit naming the limit)."""
    infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if len(infos) > 10_000:
        raise FileError("zip_limit", what="members", value=len(infos), limit=10_000)
    if total > lim["max_unzipped_mb"] * 1048576:
        raise FileError("zip_limit", what="MB", value=total // 1048576, limit=lim["max_unzipped_mb"])
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1048576 and ratio > lim["max_zip_ratio"]:
            raise FileError("zip_limit", what="ratio", value=int(ratio), limit=lim["max_zip_ratio"])


def _scan_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, lim: dict) -> None:
    """Stream one XML member through expat: no DTD or entity declaration, nesting within max_xml_depth,
    no text longer than max_cell_chars, and no more bytes than the directory declared."""
    depth, chars = [0], [0]

    def start(name, attrs):
        depth[0] += 1
        chars[0] = 0
        if depth[0] > lim["max_xml_depth"]:
            raise FileError("xml_limit", what="depth", limit=lim["max_xml_depth"])

    def end(name):
        depth[0] -= 1
        chars[0] = 0

    def data(text):
        chars[0] += len(text)
        if chars[0] > lim["max_cell_chars"]:
            raise FileError("cell_limit", cell=info.filename[:60], limit=lim["max_cell_chars"])

    def doctype(*args):
        raise FileError("xml_limit", what="DOCTYPE/ENTITY", limit=0)

    parser = pyexpat.ParserCreate()
    parser.buffer_text, parser.buffer_size = True, 1 << 16
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = doctype
    seen = 0
    with zf.open(info) as fh:
        while chunk := fh.read(1 << 20):
            seen += len(chunk)
            if seen > info.file_size:
                raise FileError("zip_limit", what="MB", value=seen // 1048576, limit=info.file_size // 1048576)
            parser.Parse(chunk, False)
        parser.Parse(b"", True)


def check_xlsx(data: bytes, lim: dict | None = None) -> None:
    """The .xlsx limits before openpyxl opens it: the zip directory, then each XML member streamed."""
    lim = lim or limits()
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - BadZipFile, a version or compression zipfile does not know, ...
        raise FileError("unreadable_excel", detail="not a zip/xlsx file") from None
    with zf:
        _check_zip(zf, lim)
        for info in zf.infolist():
            if info.filename.lower().endswith((".xml", ".rels", ".vml")):
                try:
                    _scan_member(zf, info, lim)
                except (FileError, MemoryError):
                    raise
                except Exception:  # noqa: BLE001 - bad XML, a broken zip member (CRC, offsets, deflate data)
                    raise FileError("unreadable_excel", detail=f"bad member {info.filename[:60]}") from None


def _cell_name(r: int, c: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(c)}{r}"


def _cell_text(cell, r: int, c: int, max_chars: int) -> str:
    if _is_formula(cell):
        raise FileError("formulas", cell=_cell_name(r, c))
    value = text_cell(cell.value)
    if len(value) > max_chars:
        raise FileError("cell_limit", cell=_cell_name(r, c), limit=max_chars)
    return value


def _xlsx_rows(data: bytes, max_rows: int, lim: dict | None = None) -> list[list[str]]:
    """The first sheet's rows as text, trailing empty rows dropped; FileError on a formula, too many rows,
    columns or cells, or a cell too long (the sheet's declared dimensions are ignored: nothing is padded)."""
    from openpyxl import load_workbook

    lim = lim or limits()
    check_xlsx(data, lim)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        ws = wb.worksheets[0]
        ws.reset_dimensions()
    except MemoryError:  # the worker's memory limit: "too large to read" (lib.importer.worker)
        raise
    except Exception as exc:  # noqa: BLE001 - any other failure is a bad workbook
        raise FileError("unreadable_excel", detail=type(exc).__name__) from None
    try:
        rows, cells, max_chars = [], 0, lim["max_cell_chars"]
        for r, row in enumerate(ws.iter_rows(), start=1):
            if r > max_rows + 1:
                raise FileError("too_many_rows", rows=f"> {max_rows}", limit=max_rows)
            if len(row) > lim["max_columns"]:
                raise FileError("column_limit", row=r, columns=len(row), limit=lim["max_columns"])
            cells += len(row)
            if cells > lim["max_cells"]:
                raise FileError("cell_count_limit", limit=lim["max_cells"])
            rows.append([_cell_text(cell, r, c, max_chars) for c, cell in enumerate(row, start=1)])
    except (FileError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - a sheet openpyxl cannot read to the end is a bad workbook
        raise FileError("unreadable_excel", detail=type(exc).__name__) from None
    finally:
        wb.close()
    while rows and not any(v.strip() for v in rows[-1]):
        rows.pop()
    return rows


def _read_xlsx(data: bytes, max_rows: int, lim: dict | None = None) -> pd.DataFrame:
    rows = _xlsx_rows(data, max_rows, lim)
    if not rows:
        raise FileError("empty")
    width = max(len(r) for r in rows)
    header = [h.strip() for h in rows[0]] + [""] * (width - len(rows[0]))
    body = [r + [""] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=object)


def check_csv(txt: str, lim: dict) -> None:
    """CSV limits before pandas parses: every line's length (FileError naming the first line too long)
    and the header's width."""
    import csv

    lines = txt.splitlines()
    longest = max(map(len, lines), default=0)
    if longest > lim["max_line_chars"]:
        row = next(i for i, line in enumerate(lines, start=1) if len(line) > lim["max_line_chars"])
        raise FileError("line_limit", row=row, chars=longest, limit=lim["max_line_chars"])
    header = next(csv.reader(lines[:1]), [])
    if len(header) > lim["max_columns"]:
        raise FileError("column_limit", row=1, columns=len(header), limit=lim["max_columns"])


def _read_csv(data: bytes, lim: dict | None = None) -> pd.DataFrame:
    txt = decode(data)
    if not txt.strip():
        raise FileError("empty")
    check_csv(txt, lim or limits())
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
    lim = limits()
    max_rows = max_rows or lim["max_rows"]
    ext = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if ext in ("xlsx", "xlsm"):
        if not data.startswith(b"PK"):
            raise FileError("unreadable_excel", detail="not a zip/xlsx file")
        df = _read_xlsx(data, max_rows, lim)
    elif ext in ("xls",):
        raise FileError("bad_format", ext=".xls")
    elif looks_binary(data) and not _utf8(data):  # a NUL in UTF-8 text: check_cells names its cell
        raise FileError("binary")
    else:
        df = _read_csv(data, lim)
    check_cells(df, lim)
    return df


def check_cells(df: pd.DataFrame, lim: dict) -> None:
    """Every cell (and header) of a read file: no control character, none longer than max_cell_chars.
    FileError naming the first bad cell's row (header = 1) and column."""
    for header in df.columns:
        if CONTROL.search(str(header)):
            raise FileError("control_char", column=str(header)[:60], row=1)
    for pos, col in enumerate(df.columns):
        s = df.iloc[:, pos].astype(str)
        for code, bad in (("control_char", s.str.contains(CONTROL)),
                          ("cell_limit", s.str.len() > lim["max_cell_chars"])):
            if bad.any():
                row = int(bad.to_numpy().argmax()) + 2
                raise FileError(code, column=str(col)[:60], row=row, cell=f"{str(col)[:60]} {row}",
                                limit=lim["max_cell_chars"])


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
    except (ValueError, RecursionError, FileError) as exc:  # RecursionError: JSON nested too deep
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
