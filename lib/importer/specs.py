"""Column specs per import kind 导入列规则: (key, Chinese header, required), the import limits, and the
value lists only imports use. Files may use either header; templates use the language chosen. The
customer columns are the file fields of the one customer spec (lib.customers.FIELDS), shared with the form;
`columns(kind)` reads that spec when called, so a row added to it is a file column at once.
"""
from __future__ import annotations

from lib import customers, org
from lib.config import rules as config
from lib.visits import FIELDS as VISIT_FIELDS

KINDS = ("customers", "consumption", "traffic", "visits", "grids", "org_units")

COLUMNS: dict[str, list[tuple[str, str, bool]]] = {
    "customers": [(f.key, f.header, f.required) for f in customers.FIELDS if f.file],  # as at import: see columns()
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
    "visits": [(f.key, f.header, f.required) for f in VISIT_FIELDS if f.file],
    "grids": [
        ("code", "网格代码", True), ("name", "网格名称", True), ("station_code", "加油站代码", True),
        ("owner_name", "网格负责人", False), ("owner_phone", "负责人电话", False), ("owner_duties", "职责", False),
    ],
    "org_units": [(f.key, f.header, f.required) for f in org.FIELDS if f.file],  # org units 组织单元 (lib.org)
}
PASSING = ("passing_car", "passing_medium", "passing_truck", "passing_bus")
# impossible counts: (numerator, denominator, rate) — FOUR_RATES.md "a count that makes a rate exceed 100 %"
RATE_PAIRS = (("entering", "passing", "entry_rate"), ("fuelled", "entering", "pass_through_rate"),
              ("full_tank", "transactions", "fill_up_rate"), ("returned", "identified", "return_rate"),
              ("identified", "fuelled", "identified_share"))


def limits() -> dict:
    """Import limits from config `[imports]` (bytes per file, rows per file)."""
    c = config().get("imports", {})
    return {"max_bytes": int(c.get("max_bytes", 50 * 1024 * 1024)), "max_rows": int(c.get("max_rows", 2_000_000))}


def columns(kind: str) -> list[tuple[str, str, bool]]:
    """The columns of `kind`: (key, Chinese header, required); customers from the spec as it stands now."""
    if kind == "customers":
        return [(f.key, f.header, f.required) for f in customers.FIELDS if f.file]
    return COLUMNS[kind]


def required(kind: str, key: str) -> bool:
    """Whether column `key` of `kind` must be filled."""
    return any(k == key and req for k, _, req in columns(kind))


# The action of lib.auth.PERMISSIONS a kind needs beyond the imports page (kinds not listed need none).
KIND_ACTIONS: dict[str, str] = {
    "org_units": "org.edit",  # org units 组织单元: admins, as on the setup page
}


def kinds_for(user) -> list[str]:
    """The import kinds `user` (a SessionUser or a role) may use, in KINDS order."""
    from lib import auth

    return [k for k in KINDS if k not in KIND_ACTIONS or auth.can(user, KIND_ACTIONS[k])]
