"""Validation 数据校验: one set of checks and error codes for forms and imports alike.

A problem is an `Issue(row, column, code, params)`; `code` names a catalog message `err.<code>`
(`lib/locales/<lang>/errors.toml`), so the page shows it in the user's language. A form or a
domain function raises `ValidationError` (a ValueError) carrying its issues; an import reports them.

`Checker` runs the checks column-wise on a frame of text cells (what a file holds, and what a form's
values become through `text_cell`), so a form is checked as a one-row file and both accept and
refuse exactly the same values. Accepted formats (one set), as people write them:
- numbers: "1,234.5", "12,345.6", "1 500" and " 7 " (full-width digits read); finite only. The decimal
  mark is the point only; a comma (or a space) is a thousands separator only between groups of exactly
  three digits after a first group of one to three ("1,500" is 1500), so "1,5" and "1,50" (a decimal
  comma) are refused, never read as 15 or 150; a column of tonnes (key ending "_t") also takes "12吨" / "12 t", a column of yuan (key ending
  "_cny") "12000元", "¥12,000" and "1.2万" / "1.2万元";
- months: 2026-01, 2026-1, 2026/01, 2026.1, 202601, 2026年1月 and a date in the month (2026-01-15,
  2026年1月15日, as Excel writes it; the date must be real: "2026-11-99" is refused); from the configured
  first month (config `[months] first_month`, default 2015-01) to the current month where the field may
  not lie in the future, else to 12 months ahead (plans; `[months] months_ahead`);
- text: no control characters (C0 but tab, line feed and carriage return; DEL; C1) and no longer than
  the field's length (the model's String(n));
- dates: 2026-01-15, 2026/1/15, 2026.1.15, 20260115 and 2026年1月15日 (a time after the date is
  ignored); day-first or month-first dates (15/01/2026, 01/15/2026) are refused: ambiguous;
- choices: the code, or the value's label in Chinese or English as the UI shows it (存量, 机构客户,
  Fuel card), any case, spaces ignored (`lib.vocab.codes_by_label`), mapped to the code;
- yes/no: 1/0, true/false, yes/no, y/n, 是/否, 有/无, √/× in any case (empty is no).
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_ERRORS = 1000  # issues listed (all are counted)

# Every error code; the message is the catalog text err.<code> (zh and en), with the params as fields.
CODES = (
    # files
    "too_large", "empty", "binary", "undecodable", "unreadable_excel", "formulas", "parse", "bad_format",
    "missing_column", "no_rows", "too_many_rows", "unknown_kind", "internal",
    # values
    "required", "too_long", "not_number", "not_integer", "out_of_range", "bad_choice", "bad_month", "future_month",
    "bad_date", "future_date", "bad_phone", "bad_credit_code", "bad_code", "bad_province_code", "bad_province_name",
    # references and scope
    "unknown_station", "unknown_grid", "unknown_manager", "unknown_customer", "outside_scope", "not_found",
    "read_only", "duplicate",
    # rules across fields
    "rate_above_100", "lost_month_required", "lost_before_developed", "override_reason_required", "date_required",
    "lon_lat",
    # grids (GeoJSON)
    "bad_geojson", "bad_geometry", "grid_station", "overlap", "gap", "outside",
    # stations, competitor stations, station sales (lib.stations)
    "unknown_district", "out_of_china", "outside_district", "station_moved", "code_taken", "bad_station_code",
    # people and plans (lib.importer.people, issue 13)
    "not_allowed", "unknown_unit", "bad_login", "login_taken", "role_not_grantable", "role_level",
    "manager_required", "manager_moves", "wrong_level", "bad_period", "already_recorded",
    # org units 组织单元 (lib.org)
    "bad_org_code", "unknown_parent", "level_under_parent", "org_moved", "org_exists", "not_polygon",
    "unknown_region", "province_mismatch", "area_empty", "area_twice", "area_city",
    # development cases 客户开发 (lib.development, 002 §6.5.4)
    "case_open", "case_closed", "stage_backwards", "agreement_required", "stage_date_early", "unknown_developer",
    "case_changed", "lost_reason_required", "developer_required", "case_taken",
    # password policy 密码策略 (lib.auth.check_password, issue 14)
    "password_short", "password_login", "password_weak",
    # limits checked before and while a file is parsed (issue 14, lib.importer.read and worker)
    "zip_limit", "xml_limit", "cell_limit", "column_limit", "cell_count_limit", "line_limit", "control_char",
    "file_too_big_to_read", "read_timeout", "early_month", "too_many_vertices", "internal_ref",
    # imports that cannot destroy (issue 14): a new row matching a stored customer
    "duplicate_customer",
    # tier ownership 分级管理主体 (issue 15, 002 §6.1.1, §6.1.2, §6.4: lib.customers.locked_fields, lib.tiers)
    "tier_transfer_only", "tier_owned_above",
    # surveys 调查 (lib.surveys, 002 §6.5.1–6.5.2, issue 15)
    "objects_required", "ends_before_start", "not_station", "special_recorded",
    # plan floors 计划下限 (lib.development.plan_floors, 002 §6.5.3)
    "below_floor_institutional", "below_floor_card",
    # trainee confirmation 见习经理转正 (lib.managers.confirm, 003)
    "not_trainee", "trainee_period", "confirm_required",
    # closed months 已关账月份 (issue 15, lib.months): a row into a closed month
    "month_closed",
)
# C0 controls but tab, line feed and carriage return; DEL; C1 controls (a \x0b breaks an Excel download)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
YES = frozenset({"1", "true", "yes", "y", "是", "有", "√", "✓", "✔"})
NO = frozenset({"", "0", "false", "no", "n", "否", "无", "×", "✗", "✘"})


@dataclass(frozen=True)
class Issue:
    """One problem: `row` as numbered in the file (header = row 1; 0 = the whole file or a form),
    `column` (a field key, or the header as the file wrote it), `code` (catalog err.<code>) and its `params`."""

    row: int
    column: str
    code: str
    params: dict = field(default_factory=dict, compare=False, hash=False)

    def text(self, t: Callable[..., str]) -> str:
        """The message in the language of `t` (lib.i18n.translator). A bad choice lists the allowed
        values as the labels of its vocabulary (param "vocab") in that language."""
        params = self.params
        if params.get("vocab") and params.get("options"):
            from lib.vocab import label_of

            params = params | {"options": "/".join(label_of(t, params["vocab"], o)
                                                   for o in str(params["options"]).split("/"))}
        if params.get("tier") or params.get("level"):  # a tier and an org level by their labels (issue 15)
            from lib.vocab import label_of

            params = params | {k: label_of(t, k, params[k]) for k in ("tier", "level") if params.get(k)}
        return t(f"err.{self.code}", **params)

    @property
    def message(self) -> str:
        """The message in English (logs, tests, str() of a ValidationError)."""
        return self.text(_english())


def _english() -> Callable[..., str]:
    from lib.i18n import translator

    return translator("en")


class ValidationError(ValueError):
    """Bad input: `errors` lists the issues (field key as `column`). str() reads "field: message" (English)."""

    def __init__(self, errors: list[Issue]):
        self.errors = list(errors)
        first = self.errors[0] if self.errors else Issue(0, "", "internal", {"detail": "no issue"})
        message = first.message
        super().__init__(f"{first.column}: {message[:1].lower()}{message[1:]}" if first.column else message)

    @classmethod
    def one(cls, column: str, code: str, **params) -> ValidationError:
        return cls([Issue(0, column, code, params)])


def describe(exc: Exception, t: Callable[..., str]) -> str:
    """A ValueError from lib/ as text for the page: each issue as "<column label>: <message>" in the
    language of `t` (a plain ValueError keeps its own text)."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    parts = []
    for issue in exc.errors:
        label = t(f"col.{issue.column}") if issue.column else ""
        label = issue.column if label == f"col.{issue.column}" else label
        parts.append(f"{label}: {issue.text(t)}" if label else issue.text(t))
    return "; ".join(parts)


def text_cell(value) -> str:
    """A form value or an Excel cell as the text cell a CSV file would hold: None → "", True → "1",
    2.0 → "2", NaN → "nan", a date → YYYY-MM-DD (a datetime at midnight too)."""
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
    return str(value).strip()


def column_length(table: str, column: str) -> int | None:
    """The length n of the model's String(n) column `table.column` (lib.models), None when unbounded."""
    from lib.models import Base

    return getattr(Base.metadata.tables[table].c[column].type, "length", None)


def check_text(column: str, value: str | None, max_len: int | None) -> str:
    """A form's text value stripped; ValidationError (too_long, control_char) naming `column` when it is
    longer than `max_len` (e.g. `column_length(...)`) or holds a control character."""
    value = (value or "").strip()
    if max_len is not None and len(value) > max_len:
        raise ValidationError.one(column, "too_long", limit=max_len)
    if CONTROL.search(value):
        raise ValidationError.one(column, "control_char")
    return value


def text_frame(rows: list[dict], keys) -> pd.DataFrame:
    """Form values as a frame of text cells with one column per key (missing keys are empty)."""
    return pd.DataFrame({k: pd.Series([text_cell(r.get(k)) for r in rows], dtype=object) for k in keys})


def plain(value):
    """A checked cell as a plain Python value: NaN/"" → None, integral floats stay float."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)) or value == "":
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


class Checker:
    """Collects issues for a frame of text cells (row i of the frame is file row i + `first_row`).

    Each check flags the bad rows (`bad`), keeps the first MAX_ERRORS issues and counts all of them,
    and returns the column's clean values.
    """

    def __init__(self, df: pd.DataFrame, first_row: int = 2):
        self.df = df
        self.first_row = first_row
        self.errors: list[Issue] = []
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
            self.errors.append(Issue(int(i) + self.first_row, column, code, p))

    def add(self, row_index: int, col: str, code: str, /, **params) -> None:
        """One issue on frame row `row_index` (for checks that are not a mask)."""
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(Issue(int(row_index) + self.first_row, col, code, params))
        self.count += 1
        self.bad[row_index] = True

    def text(self, col: str, required: bool = False, max_len: int = 200) -> pd.Series:
        s = self.df[col]
        if required:
            self.flag(s == "", col, "required")
        self.flag(s.str.len() > max_len, col, "too_long", limit=max_len)
        self.flag(s.str.contains(CONTROL), col, "control_char")
        return s

    def number(self, col: str, lo: float = 0.0, hi: float = 1e12, integer: bool = False,
               required: bool = False, default: float = 0.0) -> pd.Series:
        raw = self.df[col]
        empty = raw == ""
        if required:
            self.flag(empty, col, "required")
        num = pd.to_numeric(raw.where(~empty, None), errors="coerce").astype(float)
        retry = ~empty & num.isna()  # "1,234.5", "12吨", "1.2万元": only those rows (rare) take the slow path
        if retry.any():
            codes, uniques = pd.factorize(raw[retry])  # each distinct cell once
            num[retry] = np.array([_number_as_written(v, col) for v in uniques], dtype=float)[codes]
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

    def codes(self, col: str, options, vocabulary: str | None = None) -> pd.Series:
        """The column with each code or label of `options` (zh or en, any case, spaces ignored; see
        lib.vocab.codes_by_label) replaced by its code; other cells unchanged (the caller flags them).
        `vocabulary` names the labels (default: the vocabulary whose values are `options`)."""
        from lib import vocab

        s = self.df[col]
        options = tuple(str(o) for o in options)
        known = s.isin(options) | (s == "")
        if known.all():
            return s
        lookup = vocab.codes_by_label(vocabulary or vocab.vocabulary_of(options, col), options)
        uniques = pd.unique(s[~known])  # files repeat a few values: map each distinct one once
        mapped = {u: lookup.get(vocab.norm_label(u), u) for u in uniques}
        return s.where(known, s.map(mapped))

    def choice(self, col: str, options, default: str | None = None, required: bool = False,
               vocabulary: str | None = None) -> pd.Series:
        """The column as codes of `options`: codes and the UI's labels accepted (`codes`), blanks
        `default`; anything else is bad_choice, listing the options as labels in the reader's language."""
        s = self.df[col]
        if required:
            self.flag(s == "", col, "required")
        from lib import vocab

        voc = vocabulary or vocab.vocabulary_of(options, col)
        mapped = self.codes(col, options, voc)
        filled = mapped if default is None else mapped.where(mapped != "", default)
        bad = (filled != "") & ~filled.isin(list(options))
        self.flag(bad, col, "bad_choice", values=s, options="/".join(map(str, options)), **({"vocab": voc} if voc else {}))
        return filled

    def flag_values(self, col: str) -> pd.Series:
        """Yes/no cells (YES, NO above, any case) as booleans; anything else is bad_choice."""
        codes, uniques = pd.factorize(self.df[col])  # each distinct cell normalised once
        s = pd.Series(np.array([_norm(u) for u in uniques], dtype=object)[codes] if len(uniques) else
                      np.array([], dtype=object), index=self.df.index, dtype=object)
        self.flag(~s.isin(YES | NO), col, "bad_choice", values=self.df[col], options="是/否")
        return s.isin(YES)

    def month(self, col: str, required: bool = False, not_after: str | None = None) -> pd.Series:
        s = self.df[col]
        if required:
            self.flag(s == "", col, "required")
        codes, uniques = pd.factorize(s)  # a file repeats a few months: parse each distinct value once
        ok_u, out_u = _months(pd.Series(uniques, dtype=object))
        ok = pd.Series(ok_u[codes] if len(uniques) else np.zeros(len(s), dtype=bool), index=s.index)
        out = pd.Series(out_u[codes] if len(uniques) else np.array([], dtype=object), index=s.index, dtype=object)
        self.flag((s != "") & ~ok, col, "bad_month", values=s)
        first, last = month_range()
        self.flag(ok & (out < first), col, "early_month", values=out, first=first)
        self.flag(ok & (out > (not_after or last)), col, "future_month", values=out)
        return out

    def date(self, col: str, required: bool = False, not_after: dt.date | None = None) -> pd.Series:
        s = self.df[col]
        if required:
            self.flag(s == "", col, "required")
        d = _dates(s)
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
                self.errors.append(Issue(int(i) + self.first_row, column, "duplicate", {"first": int(rows.iloc[i])}))
        self.count += int(full.sum())
        self.bad |= full


def _norm(value) -> str:
    """A cell as compared with fixed words: NFKC (full-width → half-width), stripped, lower case."""
    return unicodedata.normalize("NFKC", str(value)).strip().lower()


_GROUPED = re.compile(r"[+-]?\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?")
_UNITS = {"_t": re.compile(r"(?:吨|t|tons?|tonnes?)$"), "_cny": re.compile(r"(?:元|人民币|yuan|cny|rmb)$")}


def _number_as_written(value: str, col: str) -> float:
    """A number cell as people write it (NaN if it is none): full-width digits, thousands separators
    and spaces; for a tonnes column (key ending "_t") a trailing 吨/t; for a yuan column ("_cny") ¥,
    元 and the multiplier 万 (10,000). A unit of another kind ("12元" for tonnes) stays refused."""
    s = _norm(value).replace("，", ",")
    scale = 1.0
    for suffix, unit in _UNITS.items():
        if col.endswith(suffix):
            s = unit.sub("", s).strip()
            if suffix == "_cny":
                s = s.lstrip("¥￥").strip()
                if s.endswith("万"):
                    s, scale = s[:-1].strip(), 10_000.0
    if "," in s or " " in s:  # thousands separators only between groups of three digits ("1,5" is refused)
        if not _GROUPED.fullmatch(s):
            return np.nan
        s = s.replace(",", "").replace(" ", "")
    try:
        return float(s) * scale if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", s) else np.nan
    except ValueError:
        return np.nan


# 2026年1月15日, 2026.1.15, 2026/1/15, 2026-01-15, 20260115 (and a time after it) → (year, month, day)
_DATE = re.compile(r"^(\d{4})(?:[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?|(\d{2})(\d{2}))(?:[ t].*)?$")
# 2026年1月, 2026.1, 2026/01, 2026-1, 202601, or a date in the month (day not checked) → (year, month)
_MONTH = re.compile(r"^(\d{4})(?:\s*[-/.年]\s*(\d{1,2})(?:\s*月份?)?(?:\s*[-/.]?\s*(\d{1,2})\s*[日号]?)?"
                    r"|(\d{2})(\d{2})?)(?:[ t]\S.*)?$")


def _dates(s: pd.Series) -> pd.Series:
    """Datetimes (NaT when not a date) for date cells in any accepted format (module docstring).
    YYYY-MM-DD (anything after it ignored, as Excel's "2026-01-15 00:00:00") is parsed at once; each
    distinct other cell once (a file repeats its days)."""
    fast = pd.to_datetime(s.str.slice(0, 10).where(s != "", None), format="%Y-%m-%d", errors="coerce")
    rest = fast.isna() & (s != "")
    if not rest.any():
        return fast
    codes, uniques = pd.factorize(s[rest])
    parsed = _parse_dates(pd.Series(uniques, dtype=object))
    fast[rest] = parsed.to_numpy()[codes]
    return fast


def _parse_dates(s: pd.Series) -> pd.Series:
    m = s.map(_norm).str.extract(_DATE)
    year = m[0]
    month, day = m[1].fillna(m[3]), m[2].fillna(m[4])
    text_ = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    return pd.to_datetime(text_.where(year.notna(), None), format="%Y-%m-%d", errors="coerce")


def _months(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(valid, "YYYY-MM" or "") for month cells in any accepted format (see the module docstring)."""
    m = s.map(_norm).str.extract(_MONTH)
    m[1], m[2] = m[1].fillna(m[3]), m[2].fillna(m[4])
    mon = pd.to_numeric(m[1], errors="coerce")
    ok = m[0].notna() & m[1].notna() & (mon >= 1) & (mon <= 12)
    out = (m[0].fillna("0000") + "-" + mon.fillna(1).astype(int).astype(str).str.zfill(2)).where(ok, "")
    day = m[2].notna() & ok
    if day.any():  # a date in the month must be a real date: "2026-11-99" is not November
        real = pd.to_datetime((out + "-" + m[2].fillna("1").str.zfill(2)).where(day, None), format="%Y-%m-%d",
                              errors="coerce")
        ok &= ~day | real.notna()
        out = out.where(ok, "")
    return ok.to_numpy(dtype=bool), out.to_numpy(dtype=object)


def month_range(today: dt.date | None = None) -> tuple[str, str]:
    """(first, last) month a file or form may name: config `[months] first_month` (default 2015-01) and
    `months_ahead` months after the current one (default 12: plans are made ahead)."""
    from lib.config import rules

    c = rules().get("months", {})
    today = today or dt.date.today()
    ahead = today.year * 12 + today.month - 1 + int(c.get("months_ahead", 12))
    return str(c.get("first_month", "2015-01")), f"{ahead // 12:04d}-{ahead % 12 + 1:02d}"


# --- declarative field specs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field of an entity's spec 字段规则: its key, the Chinese header of import files 表头, the
    check (`check`: text, number, integer, choice, flag, month, date; "own" for a check the entity
    writes itself; "ref" for a reference it resolves against the database), whether a month or date
    may lie in the future, where the field appears (`form`, `file`; `widget=False`: checked on save but
    not shown as a form widget) and where it is stored (`stored`: "column", a real column of the
    entity's table, or "extra", a key of its JSON column `extra` 扩展字段: a field the rules never
    compute with, added with this row and its catalog label alone)."""

    key: str
    header: str
    check: str = "text"
    required: bool = False
    max_len: int = 200
    lo: float = 0.0
    hi: float = 1e12
    options: tuple = ()
    default: object = None
    not_future: bool = False
    form: bool = True
    file: bool = True
    widget: bool = True
    stored: str = "column"
    vocabulary: str | None = None  # the labels a choice accepts and shows (default: lib.vocab.vocabulary_of)

    def __post_init__(self):
        if self.stored not in ("column", "extra"):
            raise ValueError(f"field {self.key}: stored is 'column' or 'extra', not {self.stored!r}")


def _column_vocabulary(key: str) -> str | None:
    from lib.vocab import COLUMN_VALUES

    return COLUMN_VALUES.get(key)


def _vocabulary_values(vocabulary: str) -> tuple:
    from lib.vocab import VALUES

    return tuple(str(v) for v in VALUES.get(vocabulary, ()))


def check_fields(ck: Checker, fields, today: dt.date) -> pd.DataFrame:
    """Run the plain check of every field present in the checker's frame; return the clean columns."""
    out = pd.DataFrame(index=ck.df.index)
    this_month = today.strftime("%Y-%m")
    for f in fields:
        if f.key not in ck.df.columns or f.check in ("own", "ref"):
            continue
        if f.check == "text":
            out[f.key] = ck.text(f.key, required=f.required, max_len=f.max_len)
        elif f.check in ("number", "integer"):
            default = np.nan if f.default is None else f.default
            voc = f.vocabulary or _column_vocabulary(f.key)
            if voc:  # a coded number (价值类别 "一类" → 1): its labels are accepted as for a choice
                ck.df[f.key] = ck.codes(f.key, _vocabulary_values(voc), voc)
            out[f.key] = ck.number(f.key, lo=f.lo, hi=f.hi, integer=f.check == "integer", required=f.required,
                                   default=default)
        elif f.check == "choice":
            out[f.key] = ck.choice(f.key, f.options, default=f.default, required=f.required, vocabulary=f.vocabulary)
        elif f.check == "flag":
            out[f.key] = ck.flag_values(f.key)
        elif f.check == "month":
            out[f.key] = ck.month(f.key, required=f.required, not_after=this_month if f.not_future else None)
        elif f.check == "date":
            out[f.key] = ck.date(f.key, required=f.required, not_after=today if f.not_future else None)
        else:
            raise ValueError(f"field {f.key}: unknown check {f.check!r}")
    return out
