"""The vocabulary of the app (词汇表): every value list, every table column and how a table is shown.

Defined once here, used by the domain modules (checks), the forms, the tables and the downloads:

* value lists 取值 (customer kinds, statuses, fuels, visit modes, matter states, tiers, tier rules …),
  as `VALUES[<vocabulary>]`;
* column labels 表头: catalog key `col.<column>` for every column in `COLUMNS`;
* value labels 取值名称: catalog key `val.<vocabulary>.<value>`, except the three domain terms the
  whole app shares (tiers `tier.<x>`, customer kinds `kind.<x>`, org levels `level.<x>`), whose
  texts are defined once in `common.toml` (see `value_key`);
* the vocabulary a column's values belong to by default (`COLUMN_VALUES`), the columns shown as
  dates or minutes, and the number format of each numeric column on a page and in Excel.

`labelled` is the one function that turns a frame into a table for people; `lib.export` writes the
same table to CSV and Excel. tests/test_i18n.py checks every key of `I18N_DYNAMIC` is in both
catalogs. No streamlit, no database: this module imports only `lib.rules`.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from functools import cache

import pandas as pd

from lib import rules

# --- value lists 取值 --------------------------------------------------------------------------------

TIERS = rules.TIERS  # 客户分级: 站级 < 区县级 < 地市级 < 省级 (002 §6.3.1)
TIER_RULES = rules.RULE_IDS  # the rule that decided a tier (002 §6.3.1, §6.4.1.4)
CUSTOMER_KINDS = ("institutional", "personal")  # 机构客户 个人客户
CUSTOMER_STATUSES = ("existing", "potential", "competitor", "lost")  # 存量 潜在 竞争对手 流失
FUELS = ("gasoline", "diesel", "both")  # 汽油 柴油 汽柴油
PAYMENTS = ("fuel_card", "bank_card", "cash")  # 加油卡 银行卡 现金
LOYALTIES = ("fixed", "floating", "potential", "lost")  # 固定 游离 潜在 流失
AGREEMENTS = ("province", "city", "district")  # 协议签订单位 (None: no agreement)
SUB_TYPES = {kind: tuple(codes) for kind, codes in rules.CLASS_CODES.items()}  # 客户性质 by kind (002 §6.2)
VISIT_MODES = ("onsite", "sms", "phone", "visit", "event")  # 现场维护 短信 电话 客户拜访 客户联谊
MATTER_KINDS = ("routine", "assisted", "emergency", "approval")  # 常规性 协助性 突发性 审批 (000 §3.1)
MATTER_STATES = ("open", "in_progress", "closed")  # 待处理 处理中 已办结
MATTER_STEPS = ("answered", "city_approval", "closed", "onsite", "province_approval", "referred", "registered",
                "reported", "tracking", "checking")  # every step of lib.matters.ROUTES (checked by tests/test_matters.py)
MATTER_ACTIONS = ("act", "answer", "approve", "check", "close", "escalate", "file", "handle", "raise", "refer",
                  "reject", "reply", "submit")  # every action of lib.matters.ROUTES, plus raise and escalate
MATTER_OUTCOMES = ("done", "approved", "rejected")
PLAN_KINDS = ("institutional", "personal_card")  # 机构客户 个人卡客户 (002 §6.5)
RATE_STATUSES = ("green", "amber", "red")  # 四率 against target: 达标 接近 未达标
VEHICLE_CLASSES = ("car", "medium", "truck", "bus")  # 小车 中型车 大货车 客车
ORG_LEVELS = ("station", "district", "city", "province")  # 加油站 区县/片区 地市分公司 省公司
MANAGER_LEVELS = rules.MANAGER_LEVELS  # 见习 初级 中级 高级 (003 §4)
SIZES = rules.SIZES  # 机构规模 (002 §3.2)
# objects of a survey 调查对象: 002 §6.5.1 政府机关、企事业单位、居民社区、商场、停车场、办公楼 and 004 Jilin 六进
# 进企业、进学校、进机关、进社区、进乡镇、进商圈 (agencies and enterprises are in both lists)
SURVEY_OBJECTS = ("agency", "enterprise", "community", "school", "town", "business_district", "mall", "parking",
                  "office")
SURVEY_TYPES = ("periodic", "special")  # 潜在客户普查 (July, December) / 重点客户专项调查 (002 §6.5.1, §6.5.2)

VALUES: dict[str, tuple] = {  # vocabulary → its values (catalog keys via value_key)
    "tier": (*TIERS, "none"),
    "kind": CUSTOMER_KINDS,
    "level": ORG_LEVELS,
    "tier_rule": TIER_RULES,
    "customer_status": CUSTOMER_STATUSES,
    "fuel": FUELS,
    "payment": PAYMENTS,
    "loyalty": LOYALTIES,
    "agreement": AGREEMENTS,
    "sub_type": SUB_TYPES["institutional"] + tuple(s for s in SUB_TYPES["personal"] if s != "other"),
    "mode": VISIT_MODES,
    "matter_kind": MATTER_KINDS,
    "state": MATTER_STATES,
    "step": MATTER_STEPS,
    "action": MATTER_ACTIONS,
    "outcome": MATTER_OUTCOMES,
    "manager_level": MANAGER_LEVELS,
    "log_kind": ("visit", "matter", "log"),
    "bool": ("yes", "no"),
    "size": SIZES,
    "value_class": ("1", "2", "3", "4"),
    "direction": ("promote", "demote"),
    "owner_body": tuple(rules.TIER_OWNER.values()),
    "status": ("over", "under", "ok", "no_staff", "on_time", "late", "missing", "pending"),  # load and report checks
    "rate_status": RATE_STATUSES,
    "reason": ("silent", "drop", "lost"),  # churn warnings 预警原因
    "task_state": ("open", "done", "cancelled"),
    "stage": ("collect", "plan", "assign", "control", "signed", "lost"),
    "grade": ("graded", "regular", "reform"),
    "vehicle_class": VEHICLE_CLASSES,
    "plan_kind": PLAN_KINDS,
    "survey_object": SURVEY_OBJECTS,
    "survey_type": SURVEY_TYPES,
}
SHARED_VALUE_KEYS = ("tier", "kind", "level")  # vocabularies whose labels are app-wide terms: "<vocab>.<value>"


def label_of(t: Callable[..., str], vocab: str, value) -> str:
    """The label of a code in the language of `t` (value_key, else "<vocab>.<value>", else the code)."""
    for key in (value_key(vocab, value), f"{vocab}.{value}"):
        label = t(key)
        if label != key:
            return label
    return str(value)


def value_key(vocab: str, value) -> str:
    """Return the catalog key of a code value: "tier.city", "kind.personal", "level.city", otherwise
    "val.<vocabulary>.<value>" (e.g. "val.payment.fuel_card")."""
    return f"{vocab}.{value}" if vocab in SHARED_VALUE_KEYS else f"val.{vocab}.{value}"


# --- values as people write them 取值的写法 -------------------------------------------------------------
# Files and forms accept a value's code, its Chinese label or its English label (any case, spaces
# and full-width forms ignored); `codes_by_label` is the one lookup (lib.validation.Checker.choice).

ALIASES: dict[str, dict[str, str]] = {  # short forms people write beside the labels, per vocabulary
    "kind": {"机构": "institutional", "单位": "institutional", "个人": "personal"},
    "fuel": {"汽油柴油": "both", "汽油+柴油": "both", "柴汽油": "both", "汽、柴油": "both", "汽油/柴油": "both"},
    "payment": {"油卡": "fuel_card", "ic卡": "fuel_card", "银联卡": "bank_card"},
    "agreement": {"省级": "province", "省": "province", "地市": "city", "地市级": "city", "市公司": "city",
                  "区县": "district", "区县级": "district", "片区": "district"},
    "customer_status": {"存量客户": "existing", "潜在客户": "potential", "流失客户": "lost"},
    "rate": {"进站率": "entry_rate", "加满率": "fill_up_rate", "回头率": "return_rate", "通过率": "pass_through_rate"},
}


def norm_label(value) -> str:
    """A cell as compared with codes and labels: NFKC (full-width → half-width), no spaces, casefolded."""
    return "".join(unicodedata.normalize("NFKC", str(value)).split()).casefold()


def vocabulary_of(options, column: str | None = None) -> str | None:
    """The vocabulary of a choice with `options` in `column`: those whose values are exactly the options
    (else those holding all of them); where several fit (tiers and org levels share their codes), the
    column's own (COLUMN_VALUES, or the column's name), else the first. None when none fits."""
    opts = tuple(str(o) for o in options)
    if not opts:
        return None
    exact = [v for v, xs in VALUES.items() if tuple(map(str, xs)) == opts]
    fits = [v for v, xs in VALUES.items() if set(opts) <= {str(x) for x in xs}]
    own = [v for v in (COLUMN_VALUES.get(column or ""), column) if v in fits]
    return (own or exact or fits or [None])[0]


@cache
def codes_by_label(vocabulary: str | None, options: tuple) -> dict[str, str]:
    """{normalised code or label: code} for `options` of `vocabulary`: the codes, the zh and en labels
    (val.<vocabulary>.<value>, or tier./kind./level.; for a vocabulary outside VALUES such as "role" or
    "rate", "<vocabulary>.<value>"), a zh label without its trailing 客户, and ALIASES.
    A label two options share is left out (ambiguous: only the code is accepted then)."""
    from lib.i18n import LANGUAGES, catalog

    out: dict[str, str] = {}
    ambiguous: set[str] = set()

    def put(label: str, code: str) -> None:
        key = norm_label(label)
        if not key or key in ambiguous:
            return
        if out.get(key, code) != code:
            ambiguous.add(key)
            out.pop(key)
            return
        out[key] = code

    for o in options:
        put(str(o), str(o))
    if vocabulary:
        for lang in LANGUAGES:
            messages = catalog(lang)
            for o in options:  # a vocabulary outside VALUES (role, rate) has its labels at "<vocabulary>.<value>"
                label = messages.get(value_key(vocabulary, o)) or messages.get(f"{vocabulary}.{o}")
                if label:
                    put(label, str(o))
                    if label.endswith("客户") and len(label) > 2:
                        put(label[:-2], str(o))
        for alias, code in ALIASES.get(vocabulary, {}).items():
            if code in options:
                put(alias, code)
    for o in options:  # a code always means itself
        out[norm_label(o)] = str(o)
    return out


# --- columns 表头 ---------------------------------------------------------------------------------------
# Every column a table may show has the catalog key "col.<column>"; one text per column, whichever page
# shows it.

COLUMNS = (
    # customers 客户档案
    "id", "code", "name", "kind", "sub_type", "phone", "status", "customer_status", "tier", "station", "grid",
    "manager", "org_path", "credit_code", "contact", "fuel", "fuel_segment", "payment", "industry", "lon", "lat",
    "value_class", "loyalty", "gasoline_t", "diesel_t", "card_cny", "agreement", "province_procurement", "stable",
    "developed_month", "lost_month", "lost_reason", "competitor", "tier_override", "tier_override_reason",
    "station_id", "grid_id", "manager_id", "reason", "unit", "customers", "customer", "customer_id",
    # organisation 组织
    "city", "district", "owner", "manager_name", "level", "staff", "stations", "per_staff", "min_per_staff",
    "max_per_staff",
    # tiers 分级
    "tier_in_force", "measured_tier", "computed_tier", "from_tier", "to_tier", "owner_body", "size", "direction",
    "rule", "section", "changed_by", "changed_at", "override_reason",
    # plans 开发计划
    "inst_target", "inst_actual", "inst_completion", "inst_rank", "card_target", "card_actual", "card_completion",
    "card_rank", "plan_kind", "target", "updated_by", "updated_at", "due_on", "late", "stage", "cases", "reached",
    "period", "submitted_on", "submitted_by", "potential_customers",
    # four rates 四率
    "entry_rate", "fill_up_rate", "return_rate", "pass_through_rate", "entry_rate_target", "fill_up_rate_target",
    "return_rate_target", "pass_through_rate_target", "entry_rate_status", "fill_up_rate_status",
    "return_rate_status", "pass_through_rate_status", "entry_rate_median", "fill_up_rate_median",
    "return_rate_median", "pass_through_rate_median", "throughput", "passing", "entering", "fuelled", "transactions",
    "full_tank", "identified", "returning", "vehicle_class", "share",
    # tracking and churn 跟踪与流失
    "month", "volume_t", "visits", "cycle_days", "avg3_t", "vs_avg3", "last_year_t", "vs_last_year", "last_visit",
    "warnings", "lost", "last_fuel_month", "task_state", "task_due", "avg_before_t", "nozzles", "daily_sales_t",
    "yearly_t", "grade", "large_target",
    # visits 回访
    "mode", "planned_on", "done_on", "note", "overdue", "days_late", "last_done", "planned", "overdue_plans",
    "due_customers", "who", "what", "detail", "created_by", "visits_done", "visits_planned", "visits_overdue",
    "new_customers", "matters_raised", "matters_closed", "matters_overdue", "plans", "plans_done", "scheduled",
    "overdue_customers", "matters_on_time_n", "plan_done", "coverage", "matters_on_time", "score", "rank",
    # matters 事项
    "title", "state", "step", "escalation", "raised_at", "due_at", "closed_at", "step_since", "outcome", "raised_by",
    "acting_level", "at", "actor", "action",
    # customer managers 客户经理
    "hired_on", "months", "misses", "transfer_due", "institutional_t", "personal_t", "target_t", "completion",
    "commission_cny", "below_standard",
    # audit and imports 审计与导入
    "entity", "entity_id", "before", "after", "row", "column", "message",
    # maps 地图 (grids, partition check, rings, grid history)
    "station_name", "grid_code", "grids_containing", "containing", "grids", "ok", "overlaps", "overlap_m2", "gaps",
    "gap_m2", "outside_m2", "problem", "area_m2", "ring", "existing", "potential", "distance_km",
    "area_before", "area_after",
    # stations 加油站 (lib.stations)
    "district_code", "opened_on", "brand", "sales_months",
    # people and plans 人员与计划 (issue 13)
    "login", "display_name", "role", "org_code", "manager_code", "station_code", "rate",
    # development cases 客户开发 (lib.development)
    "case", "team", "developer", "started_on", "stage_on",
    # surveys 潜在客户调查 (lib.surveys, 002 §6.5.1–6.5.2)
    "survey_type", "topic", "target_group", "ended_on", "recorded_by", "recorded_at", "on_time", "reported_late",
    "missing", "pending", "objects", *(f"n_{o}" for o in SURVEY_OBJECTS),
    # return rate and win-back 回头率与挽回 (issue 15)
    "retention_rate", "vehicle_return_rate", "active_customers", "repeat_customers", "prev_active", "retained",
    "assignee",
    # trainee confirmation 见习经理转正 (issue 15, 003)
    "confirmation_due",
    # issue 15: the stage log, institutions developed without agreement (002 §6.5.4.5)
    "case_id", "inst_no_agreement",
)

COLUMN_VALUES = {  # column → the vocabulary of its values, unless a table says otherwise (`values`)
    **{c: "tier" for c in ("tier", "tier_in_force", "measured_tier", "computed_tier", "from_tier", "to_tier",
                           "tier_override")},
    "kind": "kind", "level": "level", "rule": "tier_rule", "late": "bool", "large_target": "bool",
    "confirmation_due": "bool",
    **{c: c for c in ("size", "fuel", "payment", "value_class", "direction", "owner_body", "status", "reason",
                      "task_state", "stage", "grade", "vehicle_class", "plan_kind", "customer_status", "sub_type",
                      "loyalty", "agreement", "survey_type")},
    **{f"{r}_status": "rate_status" for r in ("entry_rate", "fill_up_rate", "return_rate", "pass_through_rate")},
}
DATETIME_COLUMNS = ("updated_at", "changed_at", "raised_at", "due_at", "closed_at", "step_since", "at", "recorded_at")  # to the minute
DATE_COLUMNS = ("due_on", "submitted_on", "last_visit", "task_due", "started_on", "ended_on")

# number formats by column — tonnes with 3 decimals in Excel as in the consumption data
_RATES = ("entry_rate", "fill_up_rate", "return_rate", "pass_through_rate")
_PCT = ("inst_completion", "card_completion", "vs_avg3", "vs_last_year", "share", *_RATES,
        *(f"{r}_{x}" for r in _RATES for x in ("target", "median")), "completion", "plan_done", "coverage",
        "matters_on_time", "retention_rate", "vehicle_return_rate")
_TONNES = ("volume_t", "gasoline_t", "diesel_t", "avg3_t", "last_year_t", "avg_before_t", "daily_sales_t", "yearly_t",
           "institutional_t", "personal_t", "target_t")
_ONE_DECIMAL = ("cycle_days", "per_staff", "throughput", "min_per_staff", "max_per_staff")
_CNY = ("card_cny", "commission_cny")


def number_format(column: str) -> str | None:
    """Return the Excel number format of a column, or None for text and whole numbers' default."""
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


# --- tables for people 表格 -----------------------------------------------------------------------------


def column_label(t: Callable[..., str], column: str) -> str:
    """Return the header of a column in the session's language (the column name if it has no label).
    A column outside COLUMNS with a catalog label (an extension field 扩展字段 of the customer spec,
    lib.customers.FIELDS) is labelled too."""
    if column in COLUMNS:
        return t(f"col.{column}")
    label = t(f"col.{column}")
    return column if label == f"col.{column}" else label


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def display(t: Callable[..., str], column: str, value, vocab: str | None = None):
    """Return one cell as people read it: a code value translated (vocabulary `vocab`, or the column's
    default in COLUMN_VALUES), yes/no for booleans, dates as text, None for a missing value; numbers
    and free text unchanged."""
    if _missing(value):
        return None
    if column in DATETIME_COLUMNS:  # minutes are enough; SQLite returns text, PostgreSQL datetimes
        return str(value)[:16]
    if column in DATE_COLUMNS:
        return str(value)[:10]
    vocab = vocab or COLUMN_VALUES.get(column)
    if isinstance(value, bool) or vocab == "bool":
        return t(value_key("bool", "yes" if value else "no"))
    if vocab and str(value) in VALUES.get(vocab, ()):
        return t(value_key(vocab, value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def labelled(df: pd.DataFrame, t: Callable[..., str], columns: list[str] | None = None,
             values: dict[str, str] | None = None) -> pd.DataFrame:
    """Return `df` as a table for people: translated headers (col.*) and code values (val.*, tier.*, …).

    `columns` picks and orders the columns (once each; those missing from `df` are skipped); without it every
    column that has a label is shown, so internal ids and paths stay out. `values` maps a column to
    its vocabulary where it differs from COLUMN_VALUES (e.g. {"level": "manager_level"}). Text columns
    show blanks as "" (not "None") and hold one type, so the frame displays and downloads cleanly.
    """
    values = values or {}
    cols = [c for c in dict.fromkeys(columns) if c in df.columns] if columns else [c for c in df.columns if c in COLUMNS]
    out = pd.DataFrame({i: [display(t, c, v, values.get(c)) for v in df[c].tolist()] for i, c in enumerate(cols)},
                       index=range(len(df)))
    for i in out.columns:
        if out[i].dtype == object or pd.api.types.is_string_dtype(out[i]):
            cells = out[i].tolist()
            if any(isinstance(v, str) for v in cells) or all(_missing(v) for v in cells):
                out[i] = [v if isinstance(v, str) else "" if _missing(v) else str(v) for v in cells]
    labels = [column_label(t, c) for c in cols]  # two columns may share a label: the later one names its column
    out.columns = [f"{label} ({c})" if label in labels[:i] else label for i, (label, c) in enumerate(zip(labels, cols))]
    return out


# Catalog keys built at run time from this vocabulary (tests/test_i18n.py checks them all).
I18N_DYNAMIC = {
    "col": list(COLUMNS),
    **{("" if v in SHARED_VALUE_KEYS else "val.") + v: [str(x) for x in xs] for v, xs in VALUES.items()},
    "tier_rule": list(TIER_RULES),  # the long explanation of a rule on the customer profile
}
