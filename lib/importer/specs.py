"""Column specs per import kind 导入列规则: (key, Chinese header, required), the import limits, and the
value lists only imports use. Files may use either header; templates use the language chosen. The
customer columns are the file fields of the one customer spec (lib.customers.FIELDS), shared with the form;
`columns(kind)` reads that spec when called, so a row added to it is a file column at once.
"""
from __future__ import annotations

from collections.abc import Callable

from lib import customers, managers, org, stations, surveys
from lib.config import rules as config
from lib.validation import Field
from lib.visits import FIELDS as VISIT_FIELDS

KINDS = ("customers", "consumption", "traffic", "visits", "grids", "stations", "competitor_stations", "station_sales",
         "managers", "users", "targets", "rate_targets", "surveys", "org_units",
         "development")

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
    "stations": stations.columns("stations"),
    "competitor_stations": stations.columns("competitor_stations"),
    "station_sales": stations.columns("station_sales"),
    # issue 13, people and plans (lib.importer.people)
    "managers": [(f.key, f.header, f.required) for f in managers.FIELDS],
    "users": [("login", "登录名", True), ("display_name", "姓名", True), ("role", "角色", True),
              ("org_code", "组织单元代码", True), ("manager_code", "客户经理编号", False)],
    "targets": [("org_code", "组织单元代码", True), ("month", "月份", True), ("kind", "计划类型", True),
                ("target", "目标(户)", True)],
    "rate_targets": [("station_code", "加油站代码", True), ("rate", "指标", True), ("target", "目标值", True)],
    "surveys": [(f.key, f.header, f.required) for f in surveys.FIELDS],  # both survey types (lib.surveys)
    "org_units": [(f.key, f.header, f.required) for f in org.FIELDS if f.file],  # org units 组织单元 (lib.org)
    # development cases 客户开发 (lib.importer.devcases)
    "development": [("customer_code", "客户代码", True), ("stage", "开发阶段", True), ("team", "开发小组", False),
                    ("developer_code", "开发人员编号", False), ("started_on", "开始日期", True),
                    ("stage_on", "阶段变更日期", False), ("note", "阶段说明", False)],
}
PASSING = ("passing_car", "passing_medium", "passing_truck", "passing_bus")
# impossible counts: (numerator, denominator, rate) — FOUR_RATES.md "a count that makes a rate exceed 100 %"
RATE_PAIRS = (("entering", "passing", "entry_rate"), ("fuelled", "entering", "pass_through_rate"),
              ("full_tank", "transactions", "fill_up_rate"), ("returned", "identified", "return_rate"),
              ("identified", "fuelled", "identified_share"))


_LIMITS = {"max_bytes": 50 * 1024 * 1024, "max_rows": 2_000_000, "max_columns": 200, "max_cell_chars": 1_000_000,
           "max_line_chars": 2_000_000, "max_cells": 40_000_000, "max_unzipped_mb": 1024, "max_zip_ratio": 200,
           "max_xml_depth": 64, "worker_memory_mb": 2048, "worker_seconds": 300, "max_grid_vertices": 20_000}


def limits() -> dict:
    """Import limits from config `[imports]`, each with its default (`_LIMITS`): bytes and rows per file;
    columns, characters per cell and per CSV line, cells per sheet, the .xlsx zip's uncompressed size
    (MB) and compression ratio, XML nesting depth; the parsing worker's memory (MB added to what it starts
    with) and wall-clock seconds; vertices per grid (lib.importer.read, worker, grids)."""
    c = config().get("imports", {})
    return {key: int(c.get(key, default)) for key, default in _LIMITS.items()}


def columns(kind: str) -> list[tuple[str, str, bool]]:
    """The columns of `kind`: (key, Chinese header, required); customers from the spec as it stands now."""
    if kind == "customers":
        return [(f.key, f.header, f.required) for f in customers.FIELDS if f.file]
    return COLUMNS[kind]


def required(kind: str, key: str) -> bool:
    """Whether column `key` of `kind` must be filled."""
    return any(k == key and req for k, _, req in columns(kind))


# The field spec of a kind (lib.validation.Field rows: check, options, range) where one exists, read at
# call time; templates list each column's format and allowed values from it. A kind without a row
# here gets fields guessed from its COLUMNS keys (`fields`). One row per kind, new kinds at the END.
SPECS: dict[str, Callable[[], tuple[Field, ...]]] = {
    "customers": lambda: tuple(f for f in customers.FIELDS if f.file),
    "visits": lambda: tuple(f for f in VISIT_FIELDS if f.file),
    "stations": lambda: stations.FIELDS,
    "competitor_stations": lambda: stations.COMPETITOR_FIELDS,
    "station_sales": lambda: stations.SALES_FIELDS,
    "managers": lambda: managers.FIELDS,
    "org_units": lambda: tuple(f for f in org.FIELDS if f.file),
}
_INTEGER_KEYS = ("visits", "nozzles") + PASSING + ("entering", "fuelled", "transactions", "full_tank", "identified",
                                                    "returned", "peak_nozzle_lifts")


def _guess(key: str, header: str, req: bool) -> Field:
    """A column's Field from its key alone (months, days and dates, tonnes, yuan, counts; else text)."""
    if key == "month" or key.endswith("_month"):
        check = "month"
    elif key == "day" or key.endswith(("_on", "_date")):
        check = "date"
    elif key == "code" or key.endswith("_code"):
        check = "ref"
    elif key in _INTEGER_KEYS:
        check = "integer"
    elif key.endswith(("_t", "_cny")) or key in ("lon", "lat", "target"):
        check = "number"
    else:
        check = "text"
    return Field(key, header, check, required=req)


def fields(kind: str) -> tuple[Field, ...]:
    """The Field of every file column of `kind`, in file order: the kind's spec (SPECS) where it has one
    for the column, else guessed from the key (`_guess`)."""
    spec = {f.key: f for f in SPECS[kind]()} if kind in SPECS else {}
    return tuple(spec.get(key) or _guess(key, zh, req) for key, zh, req in columns(kind))


def vocabulary(field: Field) -> str | None:
    """The vocabulary whose labels a file column accepts (lib.vocab): the field's own, the one its
    choice options form, else the column's default for a coded number or own check (价值类别, 客户性质)."""
    from lib import vocab

    if field.vocabulary:
        return field.vocabulary
    if field.options:
        return vocab.vocabulary_of(field.options, field.key)
    if field.check in ("own", "integer", "choice"):
        return vocab.COLUMN_VALUES.get(field.key)
    return None


def allowed(field: Field) -> tuple[str, ...]:
    """The codes a column accepts (empty: not a list of values): the choice options, or its vocabulary's values."""
    from lib import vocab

    if field.check == "flag":
        return ("yes", "no")
    voc = vocabulary(field)
    if field.options:
        return tuple(str(o) for o in field.options)
    return tuple(str(v) for v in vocab.VALUES.get(voc, ())) if voc else ()


def kinds_for(user) -> list[str]:
    """The import kinds `user` (a SessionUser or a role) may use, in KINDS order: those whose row
    `imports.<kind>` of lib.auth.PERMISSIONS allows the role (import_file checks the same rows)."""
    from lib import auth

    return [k for k in KINDS if auth.can(user, f"imports.{k}")]
