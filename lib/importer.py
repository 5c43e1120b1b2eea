"""Imports 数据导入: customers, monthly consumption, station traffic, visits (CSV / Excel) and grids (GeoJSON).

`import_file(engine, kind, data, filename, dry_run=False, scope=None)` reads the bytes, checks every
row and either writes all of them in one transaction or nothing (全部成功或全部不导入). It never raises
for a bad file: the report says what is wrong, with the row (as the spreadsheet numbers it: the
header is row 1), the column and the reason.

Reading: CSV in UTF-8 (with or without BOM) or GB18030/GBK as Excel saves it on Chinese Windows;
.xlsx through openpyxl (first sheet; a cell holding a formula is refused: paste values). Every
cell is read as text, so codes and phones keep their leading zeros ("0012" stays "0012").
Checks are vectorised with pandas: types, ranges, references (station, grid and customer codes
that exist and lie inside the importer's scope), duplicates within the file, and impossible counts
(traffic: a count that would make one of the four rates exceed 100 % rejects the row, FOUR_RATES.md).
Grids (GeoJSON FeatureCollection) must keep their district partitioned (全覆盖、无交叉, 000 §2) —
lib.grids.check_partition — before anything is saved. After consumption (or customers whose tier,
kind or station changed) the station summary is refreshed in the same transaction.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from lib import rules
from lib.auth import audit, manager_scope
from lib.config import rules as config
from lib.customers import (AGREEMENTS, FUELS, KINDS as CUSTOMER_KINDS, LOYALTIES, PAYMENTS, STATUSES,
                           credit_code_ok, max_code)
from lib.db import bulk_insert, write
from lib.models import MonthlyConsumption
from lib.summary import customer_ids, refresh_customer_monthly, refresh_station_monthly
from lib.queries import shift_month

KINDS = ("customers", "consumption", "traffic", "visits", "grids")
MAX_ERRORS = 1000  # errors listed in a report (all are counted)
Progress = Callable[[float, str], None]

# --- messages: code → English text; the page shows the catalog text imp.err.<code> with the same fields
MESSAGES = {
    "too_large": "the file is {size_mb} MB; the limit is {limit_mb} MB",
    "empty": "the file is empty",
    "binary": "not a CSV or Excel file (binary content)",
    "undecodable": "cannot read the text: neither UTF-8 nor GB18030/GBK (byte {position})",
    "unreadable_excel": "cannot open the Excel workbook: {detail}",
    "formulas": "cell {cell} holds a formula; paste values only",
    "parse": "cannot read the CSV: {detail}",
    "bad_format": "unsupported file type {ext}: use .csv or .xlsx (GeoJSON .geojson/.json for grids)",
    "missing_column": "missing column",
    "no_rows": "the file has a header but no data rows",
    "too_many_rows": "{rows} rows; the limit is {limit}",
    "unknown_kind": "unknown import kind {kind}",
    "required": "required",
    "too_long": "longer than {limit} characters",
    "not_number": "not a number: {value}",
    "not_integer": "not a whole number: {value}",
    "out_of_range": "{value} is outside {lo}–{hi}",
    "bad_choice": "{value} is not one of {options}",
    "bad_month": "not a month YYYY-MM: {value}",
    "future_month": "{value} is after the current month",
    "bad_date": "not a date YYYY-MM-DD: {value}",
    "future_date": "{value} is after today",
    "bad_phone": "not a phone number: {value}",
    "bad_credit_code": "not a valid unified social credit code: {value}",
    "bad_code": "not a valid customer code: {value}",
    "unknown_station": "no station with code {value}",
    "unknown_grid": "no grid {value} at this station",
    "unknown_manager": "no customer manager {value} at this station",
    "unknown_customer": "no customer with code {value}",
    "outside_scope": "{value} is outside your scope",
    "duplicate": "duplicate of row {first}",
    "rate_above_100": "{column} ({value}) exceeds {other} ({limit}): {rate} would be above 100%",
    "lost_month_required": "required for a lost customer",
    "date_required": "give planned_on or done_on",
    "lon_lat": "give both lon and lat, or neither",
    "bad_geojson": "not a GeoJSON FeatureCollection: {detail}",
    "bad_geometry": "{detail}",
    "grid_station": "grid {value} belongs to another station",
    "overlap": "grids {a} and {b} overlap by {area} m²",
    "gap": "district {district}: {area} m² covered by no grid",
    "outside": "grid {value} reaches {area} m² beyond its district",
    "internal": "the import failed: {detail}",
}


@dataclass(frozen=True)
class RowError:
    """One problem: `row` as numbered in the file (header = row 1; 0 = the whole file), `column`,
    `code` (a key of MESSAGES / catalog imp.err.<code>) and its `params`."""

    row: int
    column: str
    code: str
    params: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def message(self) -> str:
        return MESSAGES[self.code].format(**self.params)


@dataclass
class ImportReport:
    """Outcome of an import: `ok` (nothing wrong; written unless dry_run), counts and errors."""

    kind: str
    filename: str
    dry_run: bool = False
    ok: bool = False
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    warnings: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    preview: pd.DataFrame | None = None

    def errors_frame(self) -> pd.DataFrame:
        """The errors as a table: row, column, code, message."""
        return pd.DataFrame([{"row": e.row, "column": e.column, "code": e.code, "message": e.message}
                             for e in self.errors], columns=["row", "column", "code", "message"])


class _FileError(Exception):
    def __init__(self, code: str, column: str = "", row: int = 0, **params):
        super().__init__(code)
        self.error = RowError(row, column, code, params)


class _Rollback(Exception):
    pass


# --- column specs --------------------------------------------------------------------------------
# (key, Chinese header, required). Files may use either header; templates use the language chosen.

COLUMNS: dict[str, list[tuple[str, str, bool]]] = {
    "customers": [
        ("code", "客户代码", False), ("name", "客户名称", True), ("kind", "客户类型", True),
        ("sub_type", "客户性质", False), ("station_code", "加油站代码", True), ("grid_code", "网格代码", False),
        ("manager_id", "客户经理编号", False), ("phone", "电话", False), ("credit_code", "统一社会信用代码", False),
        ("contact", "联系人", False), ("fuel", "油品", False), ("fuel_segment", "细分", False),
        ("payment", "支付方式", False), ("industry", "行业", False), ("status", "客户状态", False),
        ("value_class", "价值类别", False), ("loyalty", "忠诚度", False), ("gasoline_t", "汽油月需求(吨)", False),
        ("diesel_t", "柴油月需求(吨)", False), ("card_cny", "不记名卡年采购额(元)", False),
        ("agreement", "协议签订单位", False), ("province_procurement", "省公司统一采购", False),
        ("stable", "消费稳定", False), ("developed_month", "开发月份", False), ("lost_month", "流失月份", False),
        ("lost_reason", "流失原因", False), ("competitor", "竞争对手", False), ("lon", "经度", False),
        ("lat", "纬度", False),
    ],
    "consumption": [
        ("customer_code", "客户代码", True), ("month", "月份", True), ("gasoline_t", "汽油(吨)", False),
        ("diesel_t", "柴油(吨)", False), ("card_cny", "卡消费(元)", False), ("visits", "加油次数", False),
    ],
    "traffic": [
        ("station_code", "加油站代码", True), ("day", "日期", True), ("passing_car", "过往小车", False),
        ("passing_medium", "过往中型车", False), ("passing_truck", "过往大货车", False),
        ("passing_bus", "过往客车", False), ("entering", "进站车辆", True), ("fuelled", "加油车辆", True),
        ("transactions", "加油笔数", True), ("full_tank", "加满笔数", False), ("identified", "识别顾客", False),
        ("returned", "回头顾客", False), ("peak_nozzle_lifts", "高峰小时抬枪次数", False),
        ("sampling", "抽样方法", False),
    ],
    "visits": [
        ("customer_code", "客户代码", True), ("mode", "回访方式", True), ("planned_on", "计划日期", False),
        ("done_on", "完成日期", False), ("note", "回访内容", False),
    ],
    "grids": [
        ("code", "网格代码", True), ("name", "网格名称", True), ("station_code", "加油站代码", True),
        ("owner_name", "网格负责人", False), ("owner_phone", "负责人电话", False), ("owner_duties", "职责", False),
    ],
}
VISIT_MODES = ("onsite", "sms", "phone", "visit", "event")
PASSING = ("passing_car", "passing_medium", "passing_truck", "passing_bus")
# impossible counts: (numerator, denominator, rate) — FOUR_RATES.md "a count that makes a rate exceed 100 %"
RATE_PAIRS = (("entering", "passing", "entry_rate"), ("fuelled", "entering", "pass_through_rate"),
              ("full_tank", "transactions", "fill_up_rate"), ("returned", "identified", "return_rate"),
              ("identified", "fuelled", "identified_share"))


def limits() -> dict:
    """Import limits from config `[imports]` (bytes per file, rows per file)."""
    c = config().get("imports", {})
    return {"max_bytes": int(c.get("max_bytes", 50 * 1024 * 1024)), "max_rows": int(c.get("max_rows", 2_000_000))}


# --- reading -------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """Decode CSV bytes: UTF-8 (BOM or not), else GB18030 (a superset of GBK/GB2312). _FileError if neither."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        first = exc
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise _FileError("undecodable", position=first.start) from None


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    return b"\x00" in head


def _cell_text(value) -> str:
    """An Excel cell as text: integral floats without ".0", dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_xlsx(data: bytes, max_rows: int) -> pd.DataFrame:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - any failure is a bad workbook
        raise _FileError("unreadable_excel", detail=type(exc).__name__) from None
    try:
        ws = wb.worksheets[0]
        rows = []
        for r, row in enumerate(ws.iter_rows(), start=1):
            values = []
            for c, cell in enumerate(row, start=1):
                if getattr(cell, "data_type", None) == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")
                                                               and getattr(cell, "data_type", None) != "s"):
                    raise _FileError("formulas", cell=f"{get_column_letter(c)}{r}")
                values.append(_cell_text(cell.value))
            rows.append(values)
            if r > max_rows + 1:
                raise _FileError("too_many_rows", rows=f"> {max_rows}", limit=max_rows)
    finally:
        wb.close()
    while rows and not any(v.strip() for v in rows[-1]):
        rows.pop()
    if not rows:
        raise _FileError("empty")
    width = max(len(r) for r in rows)
    header = [h.strip() for h in rows[0]] + [""] * (width - len(rows[0]))
    body = [r + [""] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=object)


def _read_csv(data: bytes) -> pd.DataFrame:
    txt = decode(data)
    if not txt.strip():
        raise _FileError("empty")
    try:
        with warnings.catch_warnings():  # a row longer than the header would lose data: an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.StringIO(txt), dtype=str, keep_default_na=False, na_filter=False,
                             skip_blank_lines=True, engine="c", index_col=False)
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise _FileError("parse", detail=str(exc).strip()[:200]) from None
    except pd.errors.EmptyDataError:
        raise _FileError("empty") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_table(data: bytes, filename: str, max_rows: int | None = None) -> pd.DataFrame:
    """Return the file as a DataFrame of text cells (header row → column names). _FileError when unreadable."""
    max_rows = max_rows or limits()["max_rows"]
    ext = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if ext in ("xlsx", "xlsm"):
        if not data.startswith(b"PK"):
            raise _FileError("unreadable_excel", detail="not a zip/xlsx file")
        return _read_xlsx(data, max_rows)
    if ext in ("xls",):
        raise _FileError("bad_format", ext=".xls")
    if _looks_binary(data):
        raise _FileError("binary")
    return _read_csv(data)


def _map_columns(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Rename Chinese or "中文(key)" headers to keys; _FileError naming the first missing required column."""
    by_label = {}
    for key, zh, _ in COLUMNS[kind]:
        by_label[key.lower()] = key
        by_label[zh] = key
        by_label[f"{zh}({key})".lower()] = key
    rename, seen = {}, set()
    for col in df.columns:
        key = by_label.get(str(col).strip().lower()) or by_label.get(str(col).strip())
        if key and key not in seen:
            rename[col] = key
            seen.add(key)
    df = df[[c for c in df.columns if c in rename]].rename(columns=rename)
    headers = {key: str(col).strip() for col, key in rename.items()}
    missing = [key for key, _, req in COLUMNS[kind] if req and key not in df.columns]
    if missing:
        raise _FileError("missing_column", column=missing[0], row=1)
    for key, _, _ in COLUMNS[kind]:
        if key not in df.columns:
            df[key] = ""
    df = df.astype(object).fillna("")
    for key in df.columns:  # Python str objects: the row loops below iterate them fast
        df[key] = df[key].astype(str).str.strip().astype(object)
    df = df.reset_index(drop=True)
    df.attrs["headers"] = headers  # key → the header as the file wrote it (errors name that)
    return df


# --- vectorised row checks -----------------------------------------------------------------------


class Checker:
    """Collects row errors for a DataFrame of text cells (row i of the frame is file row i + 2)."""

    def __init__(self, df: pd.DataFrame, first_row: int = 2):
        self.df = df
        self.first_row = first_row
        self.errors: list[RowError] = []
        self.count = 0
        self.bad = np.zeros(len(df), dtype=bool)

    def flag(self, mask, column: str, code: str, values=None, **params) -> None:
        mask = np.asarray(mask, dtype=bool)
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        self.bad |= mask
        self.count += len(idx)
        room = MAX_ERRORS - len(self.errors)
        for i in idx[:max(room, 0)]:
            p = dict(params)
            if values is not None:
                p["value"] = str(values.iloc[i] if hasattr(values, "iloc") else values[i])[:60]
            self.errors.append(RowError(int(i) + self.first_row, column, code, p))

    def text(self, col: str, required: bool = False, max_len: int = 200) -> pd.Series:
        s = self.df[col]
        if required:
            self.flag(s == "", col, "required")
        self.flag(s.str.len() > max_len, col, "too_long", limit=max_len)
        return s

    def number(self, col: str, lo: float = 0.0, hi: float = 1e12, integer: bool = False,
               required: bool = False, default: float = 0.0) -> pd.Series:
        raw = self.df[col]
        empty = raw == ""
        if required:
            self.flag(empty, col, "required")
        cleaned = raw.str.replace(",", "", regex=False).str.replace(" ", "", regex=False)
        num = pd.to_numeric(cleaned.where(~empty, None), errors="coerce").astype(float)
        notnum = ~empty & num.isna()
        self.flag(notnum, col, "not_number", values=raw)
        num = num.where(~empty, default if not required else np.nan)
        finite = num.notna() & np.isfinite(num.fillna(0))
        self.flag(~notnum & ~empty & ~finite, col, "not_number", values=raw)
        if integer:
            frac = finite & (num.fillna(0) != np.floor(num.fillna(0)))
            self.flag(frac, col, "not_integer", values=raw)
        out = finite & ((num < lo) | (num > hi))
        self.flag(out, col, "out_of_range", values=raw, lo=f"{lo:g}", hi=f"{hi:g}")
        return num

    def choice(self, col: str, options, default: str | None = None, required: bool = False) -> pd.Series:
        s = self.df[col]
        if required:
            self.flag(s == "", col, "required")
        filled = s if default is None else s.where(s != "", default)
        bad = (filled != "") & ~filled.isin(list(options))
        self.flag(bad, col, "bad_choice", values=s, options="/".join(options))
        return filled

    def month(self, col: str, required: bool = False, not_after: str | None = None) -> pd.Series:
        s = self.df[col]
        if required:
            self.flag(s == "", col, "required")
        # accept 2026-01, 2026-1, 2026/01, 202601 and Excel dates 2026-01-01
        norm = s.str.replace("/", "-", regex=False)
        m = norm.str.extract(r"^(\d{4})-?(\d{1,2})(?:-\d{1,2})?$")
        ok = m[0].notna() & m[1].notna()
        mon = pd.to_numeric(m[1], errors="coerce")
        ok &= (mon >= 1) & (mon <= 12)
        self.flag((s != "") & ~ok, col, "bad_month", values=s)
        out = (m[0].fillna("0000") + "-" + mon.fillna(1).astype(int).astype(str).str.zfill(2)).where(ok, "")
        if not_after:
            self.flag(ok & (out > not_after), col, "future_month", values=out)
        return out

    def date(self, col: str, required: bool = False, not_after: dt.date | None = None) -> pd.Series:
        s = self.df[col]
        if required:
            self.flag(s == "", col, "required")
        norm = s.str.replace("/", "-", regex=False).str.slice(0, 10)
        d = pd.to_datetime(norm.where(s != "", None), format="%Y-%m-%d", errors="coerce")
        self.flag((s != "") & d.isna(), col, "bad_date", values=s)
        if not_after is not None:
            self.flag(d.notna() & (d > pd.Timestamp(not_after)), col, "future_date", values=s)
        return d.dt.date.where(d.notna(), None)

    def duplicates(self, keys: list[pd.Series], column: str, mask=None) -> None:
        frame = pd.concat(keys, axis=1)
        frame.columns = range(len(keys))
        if mask is not None:
            frame = frame[np.asarray(mask, dtype=bool)]
        dup = frame.duplicated(keep="first")
        if not dup.any():
            return
        first = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup()
        first_row = pd.Series(frame.index, index=frame.index).groupby(first).transform("min")
        full = np.zeros(len(self.df), dtype=bool)
        full[frame.index[dup.to_numpy()]] = True
        rows = pd.Series(0, index=self.df.index)
        rows.loc[frame.index] = first_row + self.first_row
        for i in np.flatnonzero(full):
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(RowError(int(i) + self.first_row, column, "duplicate", {"first": int(rows.iloc[i])}))
        self.count += int(full.sum())
        self.bad |= full


# --- context (references) --------------------------------------------------------------------------


@dataclass
class Context:
    """What the row checks need from the database, for one import: stations, grids and managers by
    code, customers by code (only those named in the file), the importer's scope and today."""

    scope: str
    today: dt.date
    stations: pd.DataFrame  # index code → id, org_path, org_unit_id, district_id
    grids: pd.DataFrame  # columns code, id, station_id
    managers: pd.DataFrame  # index id → org_unit_id
    customers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["code", "id", "org_path", "station_id", "manager_id"]).set_index("code"))


def _chunks(values: list, n: int = 900):
    for i in range(0, len(values), n):
        yield values[i:i + n]


def load_context(conn: Connection, scope: str, today: dt.date, customer_codes=()) -> Context:
    """Read the references an import checks against (everything, scope is checked per row)."""
    stations = pd.read_sql_query(text(
        "SELECT s.code, s.id, s.org_path, s.org_unit_id, u.parent_id AS district_id FROM station s "
        "JOIN org_unit u ON u.id = s.org_unit_id"), conn).set_index("code")
    grids = pd.read_sql_query(text("SELECT code, id, station_id FROM grid"), conn)
    managers = pd.read_sql_query(text("SELECT id, org_unit_id FROM customer_manager"), conn).set_index("id")
    ctx = Context(scope, today, stations, grids, managers)
    codes = sorted({c for c in customer_codes if c})
    if codes:
        parts = []
        for chunk in _chunks(codes):
            names = {f"c{i}": c for i, c in enumerate(chunk)}
            parts.append(pd.read_sql_query(text(
                f"SELECT code, id, org_path, station_id, manager_id FROM customer WHERE code IN "
                f"({', '.join(':' + k for k in names)})"), conn, params=names))
        ctx.customers = pd.concat(parts, ignore_index=True).set_index("code")
    return ctx


def _in_scope(paths: pd.Series, scope: str) -> pd.Series:
    return paths.fillna("").str.startswith(scope)


# --- per-kind checks (pure: a frame of text cells and a Context → records and errors) --------------


def check_frame(kind: str, df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Check a mapped frame of one kind; return (clean values per row, the Checker with its errors)."""
    return {"customers": _check_customers, "consumption": _check_consumption, "traffic": _check_traffic,
            "visits": _check_visits}[kind](df, ctx)


def _station_refs(ck: Checker, col: str, ctx: Context, manager_rows: bool = False) -> pd.DataFrame:
    """Look up station codes; flag unknown ones and stations outside the scope. `manager_rows`: rows that
    carry a manager segment (customers) may name the station of a customer manager's own scope."""
    codes = ck.df[col]
    known = codes.isin(ctx.stations.index)
    ck.flag((codes != "") & ~known, col, "unknown_station", values=codes)
    st = ctx.stations.reindex(codes.where(known, None).tolist())
    st.index = ck.df.index
    inside = _in_scope(st["org_path"], ctx.scope)
    if manager_rows:
        inside |= _scope_under_station(st["org_path"], ctx.scope)
    ck.flag(known & ~inside, col, "outside_scope", values=codes)
    return st


def _scope_under_station(paths: pd.Series, scope: str) -> pd.Series:
    """A customer manager's scope lies under their station's path."""
    return pd.Series([bool(p) and scope.startswith(p) and scope != p for p in paths.fillna("")], index=paths.index)


def _customer_refs(ck: Checker, col: str, ctx: Context) -> pd.DataFrame:
    codes = ck.df[col].str.upper()
    known = codes.isin(ctx.customers.index)
    ck.flag((codes != "") & ~known, col, "unknown_customer", values=ck.df[col])
    cu = ctx.customers.reindex(codes.where(known, None).tolist())
    cu.index = ck.df.index
    ck.flag(known & ~_in_scope(cu["org_path"], ctx.scope), col, "outside_scope", values=ck.df[col])
    return cu


def _check_customers(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    ck = Checker(df)
    out = pd.DataFrame(index=df.index)
    out["code"] = df["code"].str.upper()
    out["name"] = ck.text("name", required=True, max_len=200)
    out["kind"] = ck.choice("kind", CUSTOMER_KINDS, required=True)
    sub = df["sub_type"].where(df["sub_type"] != "", "other")
    valid_sub = [(k == "institutional" and s in rules.CLASS_CODES["institutional"])
                 or (k == "personal" and s in rules.CLASS_CODES["personal"]) or k not in CUSTOMER_KINDS
                 for k, s in zip(out["kind"], sub)]
    ck.flag(~np.array(valid_sub, dtype=bool), "sub_type", "bad_choice", values=df["sub_type"],
            options="/".join(sorted(set(rules.CLASS_CODES["institutional"]) | set(rules.CLASS_CODES["personal"]))))
    out["sub_type"] = sub
    out["fuel"] = ck.choice("fuel", FUELS, default="gasoline")
    out["fuel_segment"] = ck.text("fuel_segment", max_len=30)
    out["payment"] = ck.choice("payment", PAYMENTS, default="cash")
    out["industry"] = ck.text("industry", max_len=30)
    phone = df["phone"].str.replace(r"[\s\-()]", "", regex=True)
    ck.flag((phone != "") & ~phone.str.fullmatch(r"\+?[0-9]{5,20}"), "phone", "bad_phone", values=df["phone"])
    out["phone"] = phone
    cc = df["credit_code"].str.upper()
    bad_cc = np.array([bool(c) and not credit_code_ok(c) for c in cc], dtype=bool)
    ck.flag(bad_cc, "credit_code", "bad_credit_code", values=df["credit_code"])
    out["credit_code"] = cc
    out["contact"] = ck.text("contact", max_len=50)
    out["status"] = ck.choice("status", STATUSES, default="existing")
    out["value_class"] = ck.number("value_class", lo=1, hi=4, integer=True, default=4)
    default_loyalty = out["status"].map({"existing": "floating", "lost": "lost"}).fillna("potential")
    loyalty = df["loyalty"].where(df["loyalty"] != "", default_loyalty)
    ck.flag(~loyalty.isin(LOYALTIES), "loyalty", "bad_choice", values=df["loyalty"], options="/".join(LOYALTIES))
    out["loyalty"] = loyalty
    out["gasoline_t"] = ck.number("gasoline_t", hi=100_000)
    out["diesel_t"] = ck.number("diesel_t", hi=100_000)
    out["card_cny"] = ck.number("card_cny", hi=1e10)
    agreement = ck.choice("agreement", AGREEMENTS)
    out["agreement"] = pd.Series([a or None for a in agreement], index=df.index, dtype=object)
    yes, no = {"1", "true", "yes", "y", "是", "TRUE", "True"}, {"", "0", "false", "no", "n", "否", "FALSE", "False"}
    for col in ("province_procurement", "stable"):
        ck.flag(~df[col].isin(yes | no), col, "bad_choice", values=df[col], options="是/否")
        out[col] = df[col].isin(yes)
    this_month = ctx.today.strftime("%Y-%m")
    out["developed_month"] = ck.month("developed_month", not_after=this_month)
    out["lost_month"] = ck.month("lost_month", not_after=this_month)
    ck.flag((out["status"] == "lost") & (df["lost_month"] == ""), "lost_month", "lost_month_required")
    out["lost_reason"] = ck.text("lost_reason", max_len=100)
    out["competitor"] = ck.text("competitor", max_len=50)
    lon, lat = ck.number("lon", lo=73, hi=136, default=np.nan), ck.number("lat", lo=3, hi=54, default=np.nan)
    ck.flag((df["lon"] == "") != (df["lat"] == ""), "lon", "lon_lat")
    out["lon"], out["lat"] = lon, lat

    # references: station, grid, manager; scope
    st = _station_refs(ck, "station_code", ctx, manager_rows=True)
    out["station_id"] = st["id"]
    out["station_code"] = df["station_code"]
    grid_of = ctx.grids.set_index("code")
    gcode = df["grid_code"]
    g_known = gcode.isin(grid_of.index)
    g = grid_of.reindex(gcode.where(g_known, None).tolist())
    g.index = df.index
    ck.flag((gcode != "") & (~g_known | (g["station_id"] != st["id"])), "grid_code", "unknown_grid", values=gcode)
    first_grid = ctx.grids.groupby("station_id")["id"].min()
    out["grid_id"] = g["id"].where(gcode != "", st["id"].map(first_grid))
    mid = ck.number("manager_id", lo=1, hi=2**31, integer=True, default=np.nan)
    mid_key = [int(m) if m == m and float(m).is_integer() else None for m in mid]
    m_known = pd.Series([m is not None and m in ctx.managers.index for m in mid_key], index=df.index)
    m_unit = ctx.managers["org_unit_id"].reindex([m if k else None for m, k in zip(mid_key, m_known)]).to_numpy()
    ck.flag((df["manager_id"] != "") & mid.notna() & (~m_known | (m_unit != st["org_unit_id"].to_numpy())),
            "manager_id", "unknown_manager", values=df["manager_id"])
    out["manager_id"] = mid
    paths = [manager_scope(p, int(m)) if isinstance(p, str) and m == m else p
             for p, m in zip(st["org_path"], mid)]
    out["org_path"] = paths
    ck.flag(st["org_path"].notna() & ~pd.Series(paths, index=df.index).fillna("").str.startswith(ctx.scope),
            "manager_id" if "/m" in ctx.scope else "station_code", "outside_scope",
            values=df["manager_id"] if "/m" in ctx.scope else df["station_code"])

    # existing codes: update (inside scope only); new codes must be well-formed
    has_code = out["code"] != ""
    exists = out["code"].isin(ctx.customers.index)
    old = ctx.customers.reindex(out["code"].where(exists, None).tolist())
    old.index = df.index
    ck.flag(exists & ~_in_scope(old["org_path"], ctx.scope), "code", "outside_scope", values=df["code"])
    bad_code = []
    for c, e in zip(out["code"], exists):
        ok = True
        if c and not e:
            try:
                rules.parse_customer_code(c)
            except ValueError:
                ok = False
        bad_code.append(not ok)
    ck.flag(np.array(bad_code, dtype=bool), "code", "bad_code", values=df["code"])
    out["exists"] = exists
    out["old_id"] = old["id"]
    out["old_station_id"] = old["station_id"]

    # duplicates within the file
    ck.duplicates([out["code"]], "code", mask=has_code)
    ck.duplicates([out["credit_code"]], "credit_code", mask=out["credit_code"] != "")
    ck.duplicates([out["name"], out["phone"]], "name", mask=(out["phone"] != "") & ~has_code)

    # tier 分级, rule and size, recomputed from the figures (002 §6.3.1, §3.2)
    tiers, rules_, sizes = [], [], []
    memo: dict = {}  # rows with the same figures get the same decision (files repeat values a lot)
    for key in zip(out["gasoline_t"].tolist(), out["diesel_t"].tolist(), out["card_cny"].tolist(),
                   out["kind"].tolist(), out["agreement"].tolist(), out["province_procurement"].tolist(),
                   out["stable"].tolist(), ck.bad.tolist()):
        g_, d_, c_, k_, a_, p_, s_, bad = key
        if bad or any(not isinstance(v, float) or v != v for v in (g_, d_, c_)):
            tiers.append(None); rules_.append(None); sizes.append(None)
            continue
        if key not in memo:
            dec = rules.tier_decision(g_, d_, c_, institutional=k_ == "institutional", agreement=a_,
                                      province_procurement=bool(p_), stable=bool(s_))
            memo[key] = (dec.tier, dec.rule, rules.institution_size(g_, d_, c_) if k_ == "institutional" else None)
        tier, rule, size = memo[key]
        tiers.append(tier); rules_.append(rule); sizes.append(size)
    out["computed_tier"], out["tier_rule"], out["size"] = tiers, rules_, sizes
    return out, ck


def _check_consumption(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    ck = Checker(df)
    out = pd.DataFrame(index=df.index)
    ck.text("customer_code", required=True, max_len=24)
    cu = _customer_refs(ck, "customer_code", ctx)
    out["customer_id"] = cu["id"]
    out["station_id"] = cu["station_id"]
    out["month"] = ck.month("month", required=True, not_after=ctx.today.strftime("%Y-%m"))
    out["gasoline_t"] = ck.number("gasoline_t", hi=100_000)
    out["diesel_t"] = ck.number("diesel_t", hi=100_000)
    out["card_cny"] = ck.number("card_cny", hi=1e9)
    out["visits"] = ck.number("visits", hi=100_000, integer=True)
    ck.duplicates([df["customer_code"].str.upper(), out["month"]], "customer_code")
    return out, ck


def _check_traffic(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    ck = Checker(df)
    out = pd.DataFrame(index=df.index)
    st = _station_refs(ck, "station_code", ctx)
    ck.flag(df["station_code"] == "", "station_code", "required")
    out["station_id"] = st["id"]
    out["org_path"] = st["org_path"]
    day = ck.date("day", required=True, not_after=ctx.today)
    out["day"] = day
    out["month"] = [d.strftime("%Y-%m") if d is not None else None for d in day]
    counts = [k for k, _, _ in COLUMNS["traffic"] if k not in ("station_code", "day", "sampling")]
    for col in counts:
        required = any(k == col and req for k, _, req in COLUMNS["traffic"])
        out[col] = ck.number(col, hi=10_000_000, integer=True, required=required)
    out["passing"] = out[list(PASSING)].sum(axis=1)
    has_passing = (df[list(PASSING)] != "").any(axis=1)
    for num, den, rate in RATE_PAIRS:
        if den == "passing":
            over = has_passing & (out[num] > out["passing"])
        elif num == "identified":
            over = (df["identified"] != "") & (out[num] > out[den])
        else:
            over = (df[num] != "") & (out[num] > out[den])
        over = over.fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(over):
            if len(ck.errors) < MAX_ERRORS:
                ck.errors.append(RowError(int(i) + 2, num, "rate_above_100", {
                    "column": num, "value": int(out[num].iloc[i]), "other": den, "limit": int(out[den].iloc[i]),
                    "rate": rate}))
        ck.count += int(over.sum())
        ck.bad |= over
    out["sampling"] = df["sampling"].where(df["sampling"] != "", "15min/h x 24h")
    ck.flag(df["sampling"].str.len() > 30, "sampling", "too_long", limit=30)
    ck.duplicates([df["station_code"], out["day"].astype(str)], "day")
    return out, ck


def _check_visits(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    ck = Checker(df)
    out = pd.DataFrame(index=df.index)
    ck.text("customer_code", required=True, max_len=24)
    cu = _customer_refs(ck, "customer_code", ctx)
    out["customer_id"] = cu["id"]
    out["org_path"] = cu["org_path"]
    out["manager_id"] = cu["manager_id"]
    out["mode"] = ck.choice("mode", VISIT_MODES, required=True)
    out["planned_on"] = ck.date("planned_on")
    out["done_on"] = ck.date("done_on", not_after=ctx.today)
    ck.flag((df["planned_on"] == "") & (df["done_on"] == ""), "planned_on", "date_required")
    out["note"] = ck.text("note", max_len=2000)
    ck.duplicates([df["customer_code"].str.upper(), out["mode"], df["planned_on"], df["done_on"]], "customer_code")
    return out, ck


# --- writing ---------------------------------------------------------------------------------------


def _pylist(s: pd.Series) -> list:
    """A column as a list of plain Python values (NaN/NA → None, timestamps → datetime)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return [None if pd.isna(v) else v.to_pydatetime() for v in s]
    values = s.astype(object)
    return values.where(s.notna(), None).tolist()


def _rows(frame: pd.DataFrame, cols: list[str]) -> list[tuple]:
    """Rows of `cols` as tuples of plain Python values (column-wise conversion: fast)."""
    return list(zip(*(_pylist(frame[c]) for c in cols)))


def _bulk(conn: Connection, sql: str, cols: list[str], rows: list[tuple]) -> int:
    """executemany on the driver with positional parameters; `sql` has one {} for the placeholders
    of `cols` in order ("?" for sqlite, "%s" for psycopg). Returns the rows affected."""
    if not rows:
        return 0
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    result = conn.exec_driver_sql(sql.replace("{?}", mark), rows)
    return result.rowcount


def _insert_sql(table: str, cols: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['{?}'] * len(cols))})"


_CUSTOMER_FIELDS = ("name", "kind", "size", "sub_type", "fuel", "fuel_segment", "payment", "industry", "phone",
                    "credit_code", "contact", "lon", "lat", "station_id", "grid_id", "org_path", "manager_id",
                    "status", "value_class", "loyalty", "gasoline_t", "diesel_t", "card_cny", "agreement",
                    "province_procurement", "stable", "computed_tier", "tier_rule", "developed_month", "lost_month",
                    "lost_reason", "competitor")


def _assign_codes(conn: Connection, out: pd.DataFrame, ctx: Context) -> pd.Series:
    """Codes for new rows without one: next free number per station, kind and class (001 客户代码制)."""
    new = (out["code"] == "")
    codes = out["code"].copy()
    if not new.any():
        return codes
    cls = [rules.class_code(k, s) for k, s in zip(out.loc[new, "kind"], out.loc[new, "sub_type"])]
    prefix = [f"{sc.upper()}{rules.KIND_LETTER[k]}{c:02d}" for sc, k, c in
              zip(out.loc[new, "station_code"], out.loc[new, "kind"], cls)]
    tmp = pd.DataFrame({"prefix": prefix, "station": out.loc[new, "station_code"].tolist(),
                        "kind": out.loc[new, "kind"].tolist(), "cls": cls}, index=out.index[new])
    start = {}
    given = out.loc[~new, "code"].tolist()
    for p in tmp["prefix"].unique():
        top = max_code(conn, p)
        seqs = [int(top[len(p):len(p) + 6])] if top else [0]
        seqs += [int(c[len(p):len(p) + 6]) for c in given if c.startswith(p) and c[len(p):len(p) + 6].isdigit()]
        start[p] = max(seqs)
    tmp["seq"] = tmp.groupby("prefix", sort=False).cumcount() + 1 + tmp["prefix"].map(start)
    if (tmp["seq"] > 999_999).any():
        raise _FileError("internal", detail="customer numbers exhausted for a station and class")
    codes.loc[tmp.index] = [rules.customer_code(s, k, int(c), int(q))
                            for s, k, c, q in zip(tmp["station"], tmp["kind"], tmp["cls"], tmp["seq"])]
    return codes


def _write_customers(conn: Connection, out: pd.DataFrame, ctx: Context, actor: str) -> tuple[int, int, list]:
    out = out.copy()
    out["code"] = _assign_codes(conn, out, ctx)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    out["developed_month"] = out["developed_month"].where(out["developed_month"] != "", None)
    out["lost_month"] = out["lost_month"].where(out["lost_month"] != "", None)
    for col in ("lost_reason", "competitor"):
        out[col] = out[col].where(out[col] != "", None)
    out["value_class"] = out["value_class"].astype(int)
    cols = list(_CUSTOMER_FIELDS)
    new, upd = out[~out["exists"]], out[out["exists"]]
    if len(new):
        names = cols + ["code", "created_at"]
        _bulk(conn, _insert_sql("customer", names), names, _rows(new.assign(created_at=now), names))
    if len(upd):
        _bulk(conn, f"UPDATE customer SET {', '.join(c + ' = {?}' for c in cols)} WHERE code = {{?}}", cols + ["code"],
              _rows(upd, cols + ["code"]))
    # new customers have no consumption yet; updated ones may have changed tier, kind, station or path
    stations = sorted({int(s) for s in pd.concat([upd["station_id"], upd["old_station_id"]]).dropna()})
    if stations:
        refresh_station_monthly(conn, station_ids=stations)
    refresh_customer_monthly(conn, customer_ids(conn, out["code"].tolist()))  # new ones are on the books too
    return len(new), len(upd), stations


def _write_consumption(conn: Connection, out: pd.DataFrame, progress: Progress) -> tuple[int, int]:
    cols = ["customer_id", "month", "gasoline_t", "diesel_t", "card_cny", "visits"]
    out = out.copy()
    out["customer_id"] = out["customer_id"].astype(int)
    out["visits"] = out["visits"].astype(int)
    recs = _rows(out, cols)
    first, last = conn.execute(text("SELECT MIN(month), MAX(month) FROM monthly_consumption")).first()
    updated = 0
    step = 50_000
    for i in range(0, len(recs), step):
        part = recs[i:i + step]
        if conn.dialect.name == "postgresql":  # one DELETE over arrays and a COPY, not 2 × 50,000 statements
            updated += max(conn.execute(text(
                "DELETE FROM monthly_consumption m USING unnest(CAST(:ids AS integer[]), CAST(:months AS varchar[])) "
                "AS d(customer_id, month) WHERE m.customer_id = d.customer_id AND m.month = d.month"),
                {"ids": [r[0] for r in part], "months": [r[1] for r in part]}).rowcount, 0)
            bulk_insert(conn, MonthlyConsumption.__table__, {c: [r[k] for r in part] for k, c in enumerate(cols)})
        else:
            updated += max(_bulk(conn, "DELETE FROM monthly_consumption WHERE customer_id = {?} AND month = {?}",
                                 ["customer_id", "month"], [r[:2] for r in part]), 0)
            _bulk(conn, _insert_sql("monthly_consumption", cols), cols, part)
        progress(0.6 + 0.3 * min(1.0, (i + step) / len(recs)), "write")
    # one pass over the months and stations the file touched
    refresh_station_monthly(conn, months=sorted(set(out["month"])),
                            station_ids=sorted({int(s) for s in out["station_id"]}))
    # A month's volumes feed that month's and the next 12 months' measures (lib.summary). A month
    # before or after the data so far changes every customer on the books: the data's span moved.
    lo, hi = min(out["month"]), max(out["month"])
    if first is None or lo < first:
        refresh_customer_monthly(conn)
    else:
        if hi > last:  # new months: every customer on the books gets its rows for them
            refresh_customer_monthly(conn, from_month=shift_month(last, 1))
        if lo <= last:
            refresh_customer_monthly(conn, out["customer_id"].unique().tolist(), from_month=lo)
    return len(recs) - updated, updated


def _write_traffic(conn: Connection, out: pd.DataFrame) -> tuple[int, int]:
    cols = ["station_id", "day", "org_path", "month", *PASSING, "entering", "fuelled", "transactions", "full_tank",
            "identified", "returned", "peak_nozzle_lifts", "sampling"]
    out = out.copy()
    for c in cols:
        if c not in ("day", "org_path", "month", "sampling"):
            out[c] = out[c].astype(int)
    recs = _rows(out, cols)
    updated = max(_bulk(conn, "DELETE FROM station_traffic WHERE station_id = {?} AND day = {?}",
                        ["station_id", "day"], [r[:2] for r in recs]), 0)
    _bulk(conn, _insert_sql("station_traffic", cols), cols, recs)
    return len(recs) - updated, updated


def _write_visits(conn: Connection, out: pd.DataFrame, actor: str) -> tuple[int, int]:
    out = out.copy()
    out["customer_id"] = out["customer_id"].astype(int)
    out["created_by"] = actor
    cols = ["customer_id", "org_path", "manager_id", "mode", "planned_on", "done_on", "note", "created_by"]
    _bulk(conn, _insert_sql("visit", cols), cols, _rows(out, cols))
    return len(out), 0


# --- grids (GeoJSON) -----------------------------------------------------------------------------


def _grids(conn: Connection, data: bytes, ctx_scope: str, actor: str, report: ImportReport) -> None:
    from shapely.geometry import MultiPolygon, Polygon, shape
    from shapely.validation import explain_validity

    from lib.grids import area_m2, check_partition, from_geojson, to_geojson

    try:
        obj = json.loads(decode(data))
    except (ValueError, _FileError) as exc:
        raise _FileError("bad_geojson", detail=str(getattr(exc, "error", exc))[:120]) from None
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection" or not isinstance(obj.get("features"), list):
        raise _FileError("bad_geojson", detail="expected {\"type\": \"FeatureCollection\", \"features\": [...]}")
    feats = obj["features"]
    if not feats:
        raise _FileError("no_rows")
    report.rows = len(feats)
    props = pd.DataFrame([{k: ("" if (f.get("properties") or {}).get(k) is None else str(f["properties"][k]).strip())
                           for k, _, _ in COLUMNS["grids"]} if isinstance(f, dict) else {} for f in feats])
    for key, _, _ in COLUMNS["grids"]:
        if key not in props.columns:
            props[key] = ""
    props = props.fillna("")
    ck = Checker(props, first_row=1)  # row = feature number
    stations = pd.read_sql_query(text(
        "SELECT s.code, s.id, s.org_path, s.org_unit_id, u.parent_id AS district_id FROM station s "
        "JOIN org_unit u ON u.id = s.org_unit_id"), conn).set_index("code")
    ctx = Context(ctx_scope, dt.date.today(), stations, pd.DataFrame(columns=["code", "id", "station_id"]),
                  pd.DataFrame(columns=["org_unit_id"]))
    ck.text("code", required=True, max_len=30)
    ck.text("name", required=True, max_len=100)
    ck.text("owner_name", max_len=50)
    ck.text("owner_phone", max_len=30)
    st = _station_refs(ck, "station_code", ctx)
    ck.flag(props["station_code"] == "", "station_code", "required")
    ck.duplicates([props["code"]], "code")
    geoms = []
    for i, f in enumerate(feats):
        g = None
        try:
            g = shape(f["geometry"]) if isinstance(f, dict) and f.get("geometry") else None
            if g is None:
                raise ValueError("no geometry")
            if not isinstance(g, (Polygon, MultiPolygon)):
                raise ValueError(f"expected Polygon or MultiPolygon, got {g.geom_type}")
            if not g.is_valid:
                raise ValueError(f"invalid geometry ({explain_validity(g)})")
        except Exception as exc:  # noqa: BLE001 - any geometry problem names the feature
            ck.flag(np.arange(len(feats)) == i, "geometry", "bad_geometry", detail=str(exc)[:120])
            g = None
        geoms.append(g)
    existing = pd.read_sql_query(text("SELECT g.id, g.code, g.station_id, g.geometry FROM grid g"), conn).set_index("code")
    known = props["code"].isin(existing.index)
    moved = [k and sid == sid and existing.at[c, "station_id"] != sid
             for c, k, sid in zip(props["code"], known, st["id"])]
    ck.flag(np.array(moved, dtype=bool), "code", "grid_station", values=props["code"])
    if ck.count:
        report.errors, report.error_count = ck.errors, ck.count
        raise _Rollback
    # partition check per district touched: existing grids of the district, replaced by the file's
    props["station_id"], props["district_id"] = st["id"].astype(int), st["district_id"].astype(int)
    row_of = {c: i + 1 for i, c in enumerate(props["code"])}
    for district_id, part in props.groupby("district_id"):
        boundary, dname = conn.execute(text("SELECT boundary, name FROM org_unit WHERE id = :d"),
                                       {"d": int(district_id)}).one()
        cells = {}
        for code, geom_text in conn.execute(text(
                "SELECT g.code, g.geometry FROM grid g JOIN station s ON s.id = g.station_id "
                "JOIN org_unit u ON u.id = s.org_unit_id WHERE u.parent_id = :d"), {"d": int(district_id)}).all():
            cells[code] = from_geojson(geom_text)
        for idx in part.index:
            cells[props.at[idx, "code"]] = geoms[idx]
        rep = check_partition(cells, from_geojson(boundary))
        for a, b, area in rep.overlaps:
            ck.errors.append(RowError(row_of.get(a, row_of.get(b, 0)), "geometry", "overlap",
                                      {"a": a, "b": b, "area": f"{area:,.0f}"}))
        for area in rep.gaps:
            ck.errors.append(RowError(int(min(row_of[c] for c in part["code"])), "geometry", "gap",
                                      {"district": dname, "area": f"{area:,.0f}"}))
        for gid, area in rep.outside:
            ck.errors.append(RowError(row_of.get(gid, 0), "geometry", "outside", {"value": gid, "area": f"{area:,.0f}"}))
    if ck.errors:
        report.errors, report.error_count = ck.errors[:MAX_ERRORS], len(ck.errors)
        raise _Rollback
    ins = upd = 0
    for idx in props.index:
        g = geoms[idx]
        values = {"code": props.at[idx, "code"], "name": props.at[idx, "name"], "sid": int(props.at[idx, "station_id"]),
                  "path": st.at[idx, "org_path"], "geom": to_geojson(g), "on": props.at[idx, "owner_name"],
                  "op": props.at[idx, "owner_phone"], "od": props.at[idx, "owner_duties"],
                  "area": float(area_m2(g)) / 1e6}
        if props.at[idx, "code"] in existing.index:
            conn.execute(text("UPDATE grid SET name = :name, geometry = :geom, owner_name = :on, owner_phone = :op, "
                              "owner_duties = :od, area_km2 = :area WHERE code = :code"), values)
            upd += 1
        else:
            conn.execute(text("INSERT INTO grid (code, name, station_id, org_path, geometry, owner_name, owner_phone, "
                              "owner_duties, area_km2) VALUES (:code, :name, :sid, :path, :geom, :on, :op, :od, :area)"),
                         values)
            ins += 1
    report.inserted, report.updated = ins, upd


# --- entry point ---------------------------------------------------------------------------------


@contextmanager
def _big_cache(conn: Connection):
    """SQLite: a 128 MB page cache while the bulk write updates the indexes (as lib.demo does)."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA cache_size=-131072")
    try:
        yield conn
    finally:
        if sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-2000")


def _root_scope(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT path FROM org_unit WHERE parent_id IS NULL ORDER BY id LIMIT 1")).scalar() or "/"


def import_file(engine: Engine, kind: str, data: bytes, filename: str, *, dry_run: bool = False,
                scope: str | None = None, actor: str = "import", progress: Progress | None = None,
                today: dt.date | None = None) -> ImportReport:
    """Check and import one file of `kind` ("customers", "consumption", "traffic", "visits", "grids").

    All rows or none are written, in one transaction (lib.db.write); with `dry_run` everything is
    checked (and written, then rolled back) so the report's counts are exact. `scope` (an org path;
    default the whole organisation) limits the stations, grids and customers the file may touch.
    `progress(fraction, stage)` is called as the file is read, checked and written. Never raises
    for a bad file: see the report's `ok` and `errors`.
    """
    t0 = time.perf_counter()
    report = ImportReport(kind, filename, dry_run)
    progress = progress or (lambda f, s: None)
    today = today or dt.date.today()
    try:
        if kind not in KINDS:
            raise _FileError("unknown_kind", kind=kind)
        lim = limits()
        if len(data) > lim["max_bytes"]:
            raise _FileError("too_large", size_mb=f"{len(data) / 1048576:.1f}", limit_mb=f"{lim['max_bytes'] / 1048576:.0f}")
        if not data or not data.strip(b"\xef\xbb\xbf \t\r\n"):
            raise _FileError("empty")
        scope = scope or _root_scope(engine)
        progress(0.05, "read")
        if kind == "grids":
            if _looks_binary(data):
                raise _FileError("binary")
            with write(engine) as conn:
                _grids(conn, data, scope, actor, report)
                audit(conn, actor, "import", "grids", filename[:50], None,
                      {"rows": report.rows, "inserted": report.inserted, "updated": report.updated}, org_path=scope)
                if dry_run:
                    raise _Rollback
        else:
            df = _map_columns(read_table(data, filename, lim["max_rows"]), kind)
            report.rows = len(df)
            if not len(df):
                raise _FileError("no_rows", row=2)
            if len(df) > lim["max_rows"]:
                raise _FileError("too_many_rows", rows=len(df), limit=lim["max_rows"])
            progress(0.2, "check")
            with write(engine) as conn, _big_cache(conn):
                codes = df["customer_code"] if "customer_code" in df else df["code"] if kind == "customers" else ()
                ctx = load_context(conn, scope, today, [str(c).upper() for c in codes])
                out, ck = check_frame(kind, df, ctx)
                progress(0.5, "check")
                if ck.count:
                    headers = df.attrs.get("headers", {})
                    report.errors = sorted((RowError(e.row, headers.get(e.column, e.column), e.code, e.params)
                                            for e in ck.errors), key=lambda e: (e.row, e.column))
                    report.error_count = ck.count
                    raise _Rollback
                report.preview = out.head(20)
                progress(0.6, "write")
                if kind == "customers":
                    report.inserted, report.updated, _ = _write_customers(conn, out, ctx, actor)
                elif kind == "consumption":
                    report.inserted, report.updated = _write_consumption(conn, out, progress)
                elif kind == "traffic":
                    report.inserted, report.updated = _write_traffic(conn, out)
                else:
                    report.inserted, report.updated = _write_visits(conn, out, actor)
                audit(conn, actor, "import", kind, filename[:50], None,
                      {"rows": report.rows, "inserted": report.inserted, "updated": report.updated}, org_path=scope)
                if dry_run:
                    raise _Rollback
        report.ok = True
    except _Rollback:
        report.ok = not report.errors
        if not report.ok:
            report.inserted = report.updated = 0
    except _FileError as exc:
        report.errors, report.error_count = [exc.error], 1
    except Exception as exc:  # noqa: BLE001 - a report, never a traceback, for whatever the file holds
        report.errors, report.error_count = [RowError(0, "", "internal", {"detail": f"{type(exc).__name__}: {exc}"[:300]})], 1
        report.inserted = report.updated = 0
    report.seconds = round(time.perf_counter() - t0, 3)
    progress(1.0, "done")
    return report


# --- templates -----------------------------------------------------------------------------------

EXAMPLES = {
    "customers": {"name": "济南示例物流有限公司", "kind": "institutional", "sub_type": "logistics",
                  "station_code": "370102001", "phone": "053188886666", "fuel": "diesel", "payment": "fuel_card",
                  "status": "existing", "diesel_t": "25", "stable": "是"},
    "consumption": {"customer_code": "370102001J10000001X", "month": "2026-10", "gasoline_t": "0",
                    "diesel_t": "23.5", "card_cny": "12000", "visits": "40"},
    "traffic": {"station_code": "370102001", "day": "2026-10-01", "passing_car": "5200", "passing_medium": "600",
                "passing_truck": "700", "passing_bus": "150", "entering": "800", "fuelled": "740",
                "transactions": "760", "full_tank": "410", "identified": "300", "returned": "140",
                "peak_nozzle_lifts": "90", "sampling": "15min/h x 24h"},
    "visits": {"customer_code": "370102001J10000001X", "mode": "phone", "done_on": "2026-10-08",
               "note": "电话回访，客户对服务满意"},
}


def template(kind: str, fmt: str = "csv", lang: str = "zh") -> bytes:
    """Return an empty template for `kind`: CSV (UTF-8 with BOM) or .xlsx with the header row (Chinese
    headers for lang "zh", keys for "en") and, in .xlsx, a second sheet describing the columns and an
    example; grids: a GeoJSON FeatureCollection with one example feature."""
    if kind not in KINDS:
        raise ValueError(f"kind: one of {', '.join(KINDS)}")
    if kind == "grids":
        example = {"type": "FeatureCollection", "features": [{
            "type": "Feature", "properties": {k: "" for k, _, _ in COLUMNS["grids"]} | {
                "code": "G370102001", "name": "示例网格", "station_code": "370102001"},
            "geometry": {"type": "Polygon", "coordinates": [[[117.0, 36.6], [117.02, 36.6], [117.02, 36.62],
                                                             [117.0, 36.62], [117.0, 36.6]]]}}]}
        return json.dumps(example, ensure_ascii=False, indent=1).encode("utf-8")
    header = [zh if lang == "zh" else key for key, zh, _ in COLUMNS[kind]]
    if fmt == "csv":
        return (",".join(header) + "\r\n").encode("utf-8-sig")
    if fmt != "xlsx":
        raise ValueError("fmt: csv or xlsx")
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = kind
    ws.append(header)
    for col in ws.iter_cols(min_row=1, max_row=1):
        for cell in col:
            cell.number_format = "@"
    for c in range(1, len(header) + 1):  # text format for the data cells so codes keep leading zeros
        letter = ws.cell(row=1, column=c).column_letter
        ws.column_dimensions[letter].number_format = "@"
        ws.column_dimensions[letter].width = 16
    info = wb.create_sheet("说明" if lang == "zh" else "help")
    info.append(["column", "表头", "required", "example"])
    for key, zh, req in COLUMNS[kind]:
        info.append([key, zh, "yes" if req else "", EXAMPLES.get(kind, {}).get(key, "")])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
