"""Tables for people (报表): translated table headers and values, CSV and Excel downloads, and the
monthly report pack 月度报表 of 002 §6.6.3 and §6.5 (appendices 1–7).

The pack is built from the very functions the pages show (lib.development, lib.tiers,
lib.tracking), so a sheet's totals are the pages' figures. Appendix 1, the monthly development plan
零售客户月度开发计划, is compiled on the 25th of the report month for the *next* month (002 §6.5.3), so
the pack for `month` carries next month's plan; the other sheets are about `month` itself.

Spreadsheet safety: a text cell starting with = + - @ (or a tab / carriage return) is written as
a text cell with Excel's quote prefix, never as a formula (formula injection, OWASP CSV
injection); CSV downloads prefix such text with an apostrophe, the usual mitigation for CSV.
"""
from __future__ import annotations

import datetime as dt
import io
from typing import Callable

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import Engine, text

from lib import development, queries, rules, tiers, tracking
from lib.i18n import translator
from lib.kpis import change

# --- vocabulary 表头与取值 ---------------------------------------------------------------------------
# Every column a dashboard table may show has a catalog key "dcol.<column>"; columns whose values are
# codes get their values translated: tiers → "tier.<x>", kinds → "kind.<x>", org levels →
# "level.<x>", tier rules → "drule.<rule id>", the rest → "dval.<column>.<x>".

COLUMN_KEYS = (
    "code", "name", "kind", "station", "district", "city", "unit", "owner", "manager_name", "level", "staff",
    "customers", "volume_t", "tier", "tier_in_force", "measured_tier", "owner_body", "computed_tier", "from_tier",
    "to_tier", "size", "fuel",
    "payment", "value_class", "direction", "rule", "section", "gasoline_t", "diesel_t", "card_cny", "reason",
    "changed_by", "changed_at", "override_reason", "per_staff", "min_per_staff", "max_per_staff", "status",
    "inst_target", "inst_actual", "inst_completion", "inst_rank", "card_target", "card_actual", "card_completion",
    "card_rank", "plan_kind", "target", "updated_by", "updated_at", "due_on", "late", "stations", "stage", "cases",
    "reached", "period", "submitted_on", "submitted_by", "potential_customers", "sub_type", "competitor", "contact",
    "phone", "customer_status", "entry_rate", "fill_up_rate", "return_rate", "pass_through_rate",
    "entry_rate_target", "fill_up_rate_target", "return_rate_target", "pass_through_rate_target",
    "entry_rate_status", "fill_up_rate_status", "return_rate_status", "pass_through_rate_status",
    "entry_rate_median", "fill_up_rate_median", "return_rate_median", "pass_through_rate_median",
    "throughput", "passing", "entering", "fuelled", "transactions", "full_tank", "identified", "returning",
    "month", "vehicle_class", "share", "visits", "cycle_days", "avg3_t", "vs_avg3", "last_year_t", "vs_last_year",
    "last_visit", "warnings", "lost", "last_fuel_month", "task_state", "task_due", "lost_month", "avg_before_t",
    "lost_reason", "nozzles", "daily_sales_t", "yearly_t", "grade",
)
_TIER_COLUMNS = ("tier", "tier_in_force", "measured_tier", "computed_tier", "from_tier", "to_tier")
# dval.<column>.<value>: the code values of each translated column
VALUE_KEYS = {
    "size": ("small", "medium", "large"),
    "fuel": ("gasoline", "diesel", "both"),
    "payment": ("fuel_card", "bank_card", "cash"),
    "value_class": ("1", "2", "3", "4"),
    "direction": ("promote", "demote"),
    "owner_body": tuple(rules.TIER_OWNER.values()),
    "status": ("over", "under", "ok", "no_staff", "on_time", "late", "missing", "pending"),
    "rate_status": ("green", "amber", "red"),
    "reason": ("silent", "drop", "lost"),
    "task_state": ("open", "done", "cancelled"),
    "stage": ("collect", "plan", "assign", "control", "signed", "lost"),
    "grade": ("large", "graded", "regular", "reform"),
    "vehicle_class": ("car", "medium", "truck", "bus"),
    "plan_kind": ("institutional", "personal_card"),
    "customer_status": ("existing", "potential", "competitor", "lost"),
    "sub_type": tuple(rules.CLASS_CODES["institutional"]) + ("private_car", "individual_transport",
                                                            "individual_production"),
    "bool": ("yes", "no"),
}
_VALUE_COLUMN = {  # column → its VALUE_KEYS vocabulary
    "size": "size", "fuel": "fuel", "payment": "payment", "value_class": "value_class", "direction": "direction",
    "owner_body": "owner_body", "status": "status", "reason": "reason", "task_state": "task_state",
    "stage": "stage", "grade": "grade",
    "vehicle_class": "vehicle_class", "plan_kind": "plan_kind", "customer_status": "customer_status",
    "sub_type": "sub_type", "entry_rate_status": "rate_status", "fill_up_rate_status": "rate_status",
    "return_rate_status": "rate_status", "pass_through_rate_status": "rate_status",
}
RULE_KEYS = ("province.procurement", "province.agreement", "province.card", "city.gasoline", "city.diesel",
             "city.agreement", "city.card", "district.gasoline", "district.diesel", "district.agreement",
             "district.card", "station.institution", "station.personal")

# number formats by column (Excel) — tonnes with 3 decimals as in the consumption data
_PCT = ("inst_completion", "card_completion", "vs_avg3", "vs_last_year", "share", "entry_rate", "fill_up_rate",
        "return_rate", "pass_through_rate") + tuple(f"{r}_{x}" for r in ("entry_rate", "fill_up_rate", "return_rate",
                                                                           "pass_through_rate")
                                                  for x in ("target", "median"))
_TONNES = ("volume_t", "gasoline_t", "diesel_t", "avg3_t", "last_year_t", "avg_before_t", "daily_sales_t", "yearly_t")
_ONE_DECIMAL = ("cycle_days", "per_staff", "throughput", "min_per_staff", "max_per_staff")
_CNY = ("card_cny",)
_COUNTS = ("passing", "entering", "fuelled", "transactions", "full_tank", "identified", "returning", "customers")


def number_format(column: str) -> str | None:
    """Return the Excel number format for a column, or None for text and whole numbers' default."""
    if column in _PCT:
        return "0.0%"
    if column in _TONNES:
        return "#,##0.000"
    if column in _ONE_DECIMAL:
        return "#,##0.0"
    if column in _CNY:
        return "#,##0"
    return None


def page_format(column: str) -> str | None:
    """Return the st.column_config.NumberColumn format of a column on a page (None: Streamlit's default)."""
    if column in _PCT:
        return "percent"
    if column in _TONNES or column in _ONE_DECIMAL:
        return "%.1f"
    if column in _CNY:
        return "localized"
    return None


_DATETIMES = ("updated_at", "changed_at")
_DATES = ("due_on", "submitted_on", "last_visit", "task_due")


def _value(t: Callable[..., str], column: str, value):
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if column in _DATETIMES:  # minutes are enough; SQLite returns text, PostgreSQL datetimes
        return str(value)[:16]
    if column in _DATES:
        return str(value)[:10]
    if isinstance(value, (bool,)) or (column == "late" and value in (0, 1)):
        return t(f"dval.bool.{'yes' if value else 'no'}")
    if column in _TIER_COLUMNS:
        return t(f"tier.{value}")
    if column in ("kind",):
        return t(f"kind.{value}")
    if column == "level":
        return t(f"level.{value}")
    if column == "rule":
        return t(f"drule.{value}")
    if column in _VALUE_COLUMN:
        key = f"dval.{_VALUE_COLUMN[column]}.{value}"
        text = t(key)
        return value if text == key else text
    return value


def labelled(df: pd.DataFrame, t: Callable[..., str], columns: list[str] | None = None) -> pd.DataFrame:
    """Return `df` (only `columns`, in that order, when given) with translated headers and code values,
    for showing on a page or writing to a file. Unknown columns are left out."""
    cols = [c for c in (columns or list(df.columns)) if c in COLUMN_KEYS and c in df.columns]
    out = pd.DataFrame({t(f"dcol.{c}"): [_value(t, c, v) for v in df[c].tolist()] for c in cols})
    for col in out.columns:  # a text column's blanks show empty, not "None"
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, str)).any():
            out[col] = [v if isinstance(v, str) else "" if v is None or v != v else str(v) for v in out[col]]
    return out


def _is_dangerous(value) -> bool:
    return isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(df: pd.DataFrame, t: Callable[..., str], columns: list[str] | None = None) -> bytes:
    """Return the table as UTF-8 CSV (with BOM, so Excel reads the Chinese), text that could run as
    a formula prefixed with an apostrophe."""
    out = labelled(df, t, columns)
    out = out.map(lambda v: "'" + v if _is_dangerous(v) else v)
    return out.to_csv(index=False).encode("utf-8-sig")


def excel_bytes(df: pd.DataFrame, t: Callable[..., str], title: str, columns: list[str] | None = None) -> bytes:
    """Return the table as a one-sheet Excel workbook, formatted like the report pack."""
    wb = Workbook()
    ws = wb.active
    cols = [c for c in (columns or list(df.columns)) if c in COLUMN_KEYS and c in df.columns]
    _write_sheet(ws, _safe_sheet_title(title), title, "", df, cols, t, totals=None)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _safe_sheet_title(title: str) -> str:
    for ch in '[]:*?/\\':
        title = title.replace(ch, " ")
    return title[:31] or "Sheet"


# --- writing a sheet 表格排版 ---------------------------------------------------------------------

_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DDE6F0")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")


def _put(cell, value) -> None:
    """Write a value; text that a spreadsheet would run as a formula stays text (quote prefix)."""
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        value = pd.Timestamp(value).to_pydatetime().replace(microsecond=0)
    elif hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    cell.value = value
    if _is_dangerous(value):
        cell.data_type = "s"
        cell.quotePrefix = True


def _width(value) -> int:
    s = "" if value is None else (f"{value:,.3f}" if isinstance(value, float) else str(value))
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def _write_sheet(ws, sheet_title: str, title: str, subtitle: str, df: pd.DataFrame, cols: list[str],
                 t: Callable[..., str], totals: dict | None) -> None:
    """Title, subtitle, header row (frozen, repeated on every printed page), data, totals row;
    widths from the content, number formats per column, landscape A4 fitted to the page width."""
    ws.title = sheet_title
    n = max(1, len(cols))
    ws.cell(1, 1, title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    _put(ws.cell(2, 1), subtitle)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n)
    widths = []
    for j, c in enumerate(cols, start=1):
        cell = ws.cell(3, j, t(f"dcol.{c}"))
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        widths.append(_width(cell.value))
    values = [[_value(t, c, v) for v in df[c].tolist()] for c in cols]
    for i in range(len(df)):
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(4 + i, j)
            _put(cell, values[j - 1][i])
            cell.border = _BORDER
            fmt = number_format(c)
            if fmt and isinstance(cell.value, (int, float)):
                cell.number_format = fmt
            elif isinstance(cell.value, (int, float)):
                cell.number_format = "#,##0"
            widths[j - 1] = max(widths[j - 1], _width(cell.value))
    last = 3 + len(df)
    if totals is not None:
        last += 1
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(last, j)
            if j == 1:
                label = t("report.total_n", n=totals["_count"]) if "_count" in totals else t("report.total")
            _put(cell, label if j == 1 else totals.get(c))
            cell.font = Font(bold=True)
            cell.fill = _TOTAL_FILL
            cell.border = _BORDER
            if isinstance(cell.value, (int, float)):
                cell.number_format = number_format(c) or "#,##0"
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


# --- the monthly pack 月度报表 (002 §6.6.3, §6.5) -----------------------------------------------------

SHEETS = (  # (appendix, sheet name, document title) — 002 §6.5.1, §6.5.3, §6.6.3
    (1, "附录1 零售客户月度开发计划", "零售客户月度开发计划"),
    (2, "附录2 潜在客户调查表", "潜在客户调查表"),
    (3, "附录3 机构客户流失统计表", "机构客户流失统计表"),
    (4, "附录4 机构客户月度跟踪管理汇总表", "机构客户月度跟踪管理汇总表"),
    (5, "附录5 机构客户月度等级管理表", "机构客户月度等级管理表"),
    (6, "附录6 机构客户月度跟踪管理明细表", "机构客户月度跟踪管理明细表"),
    (7, "附录7 零售客户开发计划完成统计表", "零售客户开发计划完成统计表"),
)
COLUMNS = {
    1: ["city", "district", "stations", "inst_target", "card_target", "updated_by", "due_on"],
    2: ["station", "code", "name", "kind", "sub_type", "fuel", "gasoline_t", "diesel_t", "competitor", "contact",
        "phone", "customer_status", "stage"],
    3: ["code", "name", "tier", "station", "owner", "lost_month", "avg_before_t", "lost_reason", "competitor"],
    4: ["district", "station", "customers", "volume_t", "avg3_t", "last_year_t", "vs_avg3", "vs_last_year",
        "warnings", "lost"],
    5: ["code", "name", "station", "size", "tier_in_force", "measured_tier", "direction", "rule",
        "override_reason", "owner_body", "gasoline_t", "diesel_t", "card_cny"],
    6: ["code", "name", "tier", "station", "owner", "gasoline_t", "diesel_t", "volume_t", "visits", "cycle_days",
        "avg3_t", "vs_avg3", "last_year_t", "vs_last_year", "last_visit"],
    7: ["unit", "inst_target", "inst_actual", "inst_completion", "inst_rank", "card_target", "card_actual",
        "card_completion", "card_rank"],
}


def _sums(df: pd.DataFrame, cols: list[str]) -> dict:
    return {c: float(df[c].fillna(0).sum()) for c in cols if c in df.columns}


def _plan_sheet(engine: Engine, scope: str, nxt: str) -> tuple[pd.DataFrame, str]:
    """Appendix 1 rows (next month's plan per district with stations in scope), and the level the
    completion sheet (appendix 7) rolls up to: districts, or stations for a station or below."""
    st = development.unit_plan(engine, scope, nxt)
    ds = development.district_plan(engine, scope, nxt)
    per = st.groupby("district_path").agg(stations=("station_unit_id", "count"), card_target=("card_target", "sum"))
    city = st.drop_duplicates("district_path").set_index("district_path")["city"]
    a1 = ds.join(per, on="district_path").assign(city=lambda d: d["district_path"].map(city),
                                                 due_on=development.plan_due(nxt))
    a1 = a1[a1["stations"].notna()].copy()
    a1["stations"] = a1["stations"].astype(int)
    a1["card_target"] = a1["card_target"].astype(int)
    return a1, "district" if len(ds) else "station"


def appendix_tables(engine: Engine, scope: str, month: str) -> dict[int, tuple[pd.DataFrame, dict]]:
    """Return {appendix: (rows, totals)} for the pack, each built with the pages' own functions."""
    month = queries.check_month(month)
    nxt = queries.shift_month(month, 1)
    out: dict[int, tuple[pd.DataFrame, dict]] = {}

    # 1 — next month's plan per district (002 §6.5.3: compiled on the 25th)
    a1, level = _plan_sheet(engine, scope, nxt)
    out[1] = (a1, {"stations": int(a1["stations"].sum()), "inst_target": int(a1["inst_target"].sum()),
                   "card_target": int(a1["card_target"].sum())})

    # 2 — potential customers 潜在客户调查表
    a2 = development.potential_customers(engine, scope).rename(columns={"status": "customer_status"})
    out[2] = (a2, {"_count": len(a2), **_sums(a2, ["gasoline_t", "diesel_t"])})

    # 3 — institutional customers lost this month 机构客户流失
    a3 = tracking.lost_customers(engine, scope, month, months=1, kind="institutional")
    out[3] = (a3, {"_count": len(a3), **_sums(a3, ["avg_before_t"])})

    # 4 and 6 — tracking summary and detail 跟踪管理汇总表 / 明细表
    a6 = tracking.tracking_detail(engine, scope, month)
    warnings = tracking.churn_warnings(engine, scope, month, "institutional")
    a4 = tracking.tracking_summary(a6, warnings, a3)
    s4 = {"customers": int(a4["customers"].sum()), **_sums(a4, ["volume_t", "avg3_t", "last_year_t"]),
          "warnings": int(a4["warnings"].sum()), "lost": int(a4["lost"].sum())}
    s4["vs_avg3"] = change(s4["volume_t"], s4["avg3_t"])
    s4["vs_last_year"] = change(s4["volume_t"], s4["last_year_t"])
    out[4] = (a4, s4)
    s6 = {"_count": len(a6), **_sums(a6, ["gasoline_t", "diesel_t", "volume_t", "avg3_t", "last_year_t"]),
          "visits": int(a6["visits"].sum())}
    s6["vs_avg3"] = change(s6["volume_t"], s6["avg3_t"])
    s6["vs_last_year"] = change(s6["volume_t"], s6.get("last_year_t", 0.0))
    out[6] = (a6, s6)

    # 5 — institutional tier management 机构客户月度等级管理表
    a5 = tiers.monthly_tiers(engine, scope, month, kind="institutional")
    pos = {x: i for i, x in enumerate(rules.TIERS)}
    a5["direction"] = [None if n == o or isinstance(ov, str) else ("promote" if pos[n] > pos[o] else "demote")
                       for n, o, ov in zip(a5["tier"], a5["tier_in_force"], a5["override"])]  # as tiers.candidates
    a5["owner_body"] = a5["tier_in_force"].map(rules.TIER_OWNER)
    a5 = a5.rename(columns={"tier": "measured_tier"})
    a5["station"] = a5["station_id"].map(tiers.station_names(engine, a5["station_id"].unique().tolist()))
    out[5] = (a5, {"_count": len(a5), **_sums(a5, ["gasoline_t", "diesel_t", "card_cny"])})

    # 7 — plan completion 开发计划完成统计 (districts; stations when the scope is a station or below)
    a7 = development.rollup(engine, scope, month, level).sort_values("path")
    tot = development.totals(engine, scope, month)
    out[7] = (a7, {
        "inst_target": tot["institutional"]["target"], "inst_actual": tot["institutional"]["actual"],
        "inst_completion": tot["institutional"]["completion"], "card_target": tot["personal_card"]["target"],
        "card_actual": tot["personal_card"]["actual"], "card_completion": tot["personal_card"]["completion"]})
    return out


def monthly_pack(engine: Engine, scope: str, month: str) -> bytes:
    """Return the monthly report pack 月度报表 for `scope` and `month` (`YYYY-MM`) as an Excel workbook:
    one sheet per appendix 1–7 of 002 §6.5 / §6.6.3, Chinese sheet names and headers, a totals row
    合计 on each, ready to print (frozen and repeated header, widths, number formats, landscape,
    fitted to the page width). Text that looks like a formula is stored as text."""
    t = translator("zh")
    unit = queries.unit_by_path(engine, scope)
    scope_name = unit["name"] if unit else scope
    tables = appendix_tables(engine, scope, month)
    nxt = queries.shift_month(month, 1)
    wb = Workbook()
    wb.remove(wb.active)
    for no, sheet, title in SHEETS:
        df, totals = tables[no]
        period = nxt if no == 1 else month
        subtitle = t("report.subtitle", scope=scope_name, month=period,
                     made=dt.date.today().isoformat())
        if no == 1:
            subtitle += " · " + t("report.plan_due", due=development.plan_due(nxt).isoformat())
        if no == 2:
            subtitle += " · " + t("report.survey_due", period=development.survey_period(month))
        _write_sheet(wb.create_sheet(), sheet, f"{title}({period})", subtitle, df, COLUMNS[no], t, totals)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def pack_due(month: str) -> dt.date:
    """Return the day the pack for `month` is due: the 5th of the next month (002 §6.6.3 每月5日完成)."""
    from lib.config import rules as config

    nxt = queries.shift_month(queries.check_month(month), 1)
    return dt.date(int(nxt[:4]), int(nxt[5:7]), int(config()["development"]["report_due_day"]))


def pack_name(month: str) -> str:
    """Return the pack's file name, e.g. "月度报表_2026-10.xlsx"."""
    return f"月度报表_{queries.check_month(month)}.xlsx"


def contents(rows: dict[int, int], t: Callable[..., str]) -> pd.DataFrame:
    """Return the pack's table of contents: sheet name and number of rows of each appendix
    (`rows` as in `pack_overview`)."""
    return pd.DataFrame({t("pack.sheet"): [name for _, name, _ in SHEETS],
                         t("pack.rows"): [rows[no] for no, _, _ in SHEETS]})


def pack_overview(engine: Engine, scope: str, month: str) -> dict:
    """Return what the report page shows before the pack is built: rows per appendix {1..7: n},
    institutional customers tracked, their volume this month, lost this month, and the plan totals.

    The three per-customer appendices (4–6: one row per institutional customer or its station)
    are counted in SQL on the monthly summary instead of being built: a province has about a
    hundred thousand institutional customers. tests/test_reports.py checks the counts equal the
    built pack's."""
    month = queries.check_month(month)
    inst = tracking.institutional_totals(engine, scope, month)
    with engine.connect() as conn:
        potential = conn.execute(text(
            f"SELECT COUNT(*) FROM customer WHERE {queries.in_scope('org_path')} AND status IN ('potential', 'competitor')"),
            {"scope": queries.scope_like(scope)}).scalar_one()
    lost = tracking.lost_customers(engine, scope, month, months=1, kind="institutional")
    a1, level = _plan_sheet(engine, scope, queries.shift_month(month, 1))
    return {
        "rows": {1: len(a1), 2: int(potential), 3: len(lost), 4: inst["stations"], 5: inst["customers"],
                 6: inst["customers"], 7: len(development.rollup(engine, scope, month, level))},
        "tracked": inst["customers"], "volume_t": inst["volume_t"], "lost": len(lost),
        "plan": development.totals(engine, scope, month),
    }
