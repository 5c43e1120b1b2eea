"""The monthly report pack 月度报表 of 002 §6.6.3 and §6.5 (appendices 1–7).

The pack is built from the very functions the pages show (lib.development, lib.tiers,
lib.tracking), so a sheet's totals are the pages' figures. Appendix 1, the monthly development plan
零售客户月度开发计划, is compiled on the 25th of the report month for the *next* month (002 §6.5.3), so
the pack for `month` carries next month's plan; the other sheets are about `month` itself.

Headers and values come from lib.vocab; the sheets are written by lib.export.write_sheet, with its
one formula-injection policy (formula-like text stays text, numbers stay numbers).
"""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pandas as pd
from openpyxl import Workbook
from sqlalchemy import Engine, text

from lib import development, fmt, queries, rules, surveys, tiers, tracking
from lib.export import write_sheet
from lib.i18n import translator
from lib.kpis import change

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
        "card_completion", "card_rank", "inst_no_agreement"],  # the last: developed without agreement (§6.5.4.5)
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
    a2 = surveys.potential_customers(engine, scope).rename(columns={"status": "customer_status"})
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
        "card_actual": tot["personal_card"]["actual"], "card_completion": tot["personal_card"]["completion"],
        "inst_no_agreement": tot["institutional"]["no_agreement"]})
    return out


def _subtitle_note(engine: Engine, scope: str, month: str, no: int, t: Callable[..., str]) -> str:
    """What a sheet's subtitle adds after scope and month: the plan's due day (1), the survey period
    (2), the win-back rate of the institutional customers lost in 12 months (3, 002 §6.6.2)."""
    if no == 1:
        return " · " + t("report.plan_due", due=development.plan_due(queries.shift_month(month, 1)).isoformat())
    if no == 2:
        return " · " + t("report.survey_due", period=surveys.survey_period(month))
    if no == 3:
        back = tracking.win_back_rate(engine, scope, month, "institutional")
        return " · " + t("report.win_back", lost=back["lost"], won=back["won_back"], rate=fmt.pct(back["rate"], "zh"))
    return ""


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
                     made=dt.date.today().isoformat()) + _subtitle_note(engine, scope, month, no, t)
        write_sheet(wb.create_sheet(), sheet, f"{title}({period})", subtitle, df, COLUMNS[no], t, totals)
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
