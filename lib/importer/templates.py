"""Downloadable templates 导入模板: an empty CSV or .xlsx per kind with the header row (Chinese headers
for "zh", keys for "en") and, in .xlsx, drop-downs of the allowed values on choice columns and a sheet
填写说明 listing each column's header, key, whether it is required, its format, its allowed values
(labels in the language chosen; lib.importer.specs.fields) and an example; a GeoJSON FeatureCollection
with one example grid.
"""
from __future__ import annotations

import io
import json

from lib import vocab
from lib.importer.specs import COLUMNS, KINDS, allowed, columns, fields, vocabulary

MAX_VALIDATED_ROWS = 10_001  # rows of the data sheet with a drop-down on choice columns

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
    "stations": {"code": "370102001", "name": "济南历下第1加油站", "district_code": "370102", "lon": "117.05",
                 "lat": "36.67", "opened_on": "2010-05-01", "nozzles": "12"},
    "competitor_stations": {"name": "历下某民营加油站", "brand": "民营", "district_code": "370102", "lon": "117.06",
                            "lat": "36.66"},
    "station_sales": {"station_code": "370102001", "month": "2026-10", "gasoline_t": "180.5", "diesel_t": "95"},
    "managers": {"code": "KM0001", "name": "张伟", "phone": "13805310001", "station_code": "370102001",
                 "hired_on": "2025-03-01", "level": "junior"},
    "users": {"login": "zhangwei", "display_name": "张伟", "role": "customer_manager", "org_code": "370102001",
              "manager_code": "KM0001"},
    "targets": {"org_code": "370102001", "month": "2026-01", "kind": "personal_card", "target": "10"},
    "rate_targets": {"station_code": "370102001", "rate": "entry_rate", "target": "12%"},
    "surveys": {"station_code": "370102001", "period": "2026-07", "submitted_on": "2026-07-28",
                "potential_customers": "35", "note": "周边物流园区走访", "n_enterprise": "12", "n_community": "4",
                "survey_type": "periodic"},
    "org_units": {"code": "370102", "name": "历下区", "level": "district", "parent_code": "3701",
                  "manager_name": "张经理", "manager_phone": "13800000000",
                  "boundary": '{"type":"Polygon","coordinates":[[[117.0,36.6],[117.1,36.6],[117.1,36.7],[117.0,36.6]]]}'},
    "development": {"customer_code": "370102001J10000001X", "stage": "plan", "team": "历下第1站开发小组",
                    "developer_code": "KM0001", "started_on": "2026-09-15", "stage_on": "2026-10-08",
                    "note": "已拜访采购负责人，报价方案已提交"},
}


def template(kind: str, fmt: str = "csv", lang: str = "zh") -> bytes:
    """Return an empty template for `kind`: CSV (UTF-8 with BOM) or .xlsx with the header row (Chinese
    headers for lang "zh", keys for "en") and, in .xlsx, a second sheet describing the columns and an
    example; grids: a GeoJSON FeatureCollection with one example feature."""
    if kind not in KINDS:
        raise ValueError(f"kind: one of {', '.join(KINDS)}")
    if kind == "grids":
        return _grid_example()
    header = [zh if lang == "zh" else key for key, zh, _ in columns(kind)]
    if fmt == "csv":
        return (",".join(header) + "\r\n").encode("utf-8-sig")
    if fmt != "xlsx":
        raise ValueError("fmt: csv or xlsx")
    return _workbook(kind, header, lang)


def _grid_example() -> bytes:
    example = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {k: "" for k, _, _ in COLUMNS["grids"]} | {
            "code": "G370102001", "name": "示例网格", "station_code": "370102001"},
        "geometry": {"type": "Polygon", "coordinates": [[[117.0, 36.6], [117.02, 36.6], [117.02, 36.62],
                                                         [117.0, 36.62], [117.0, 36.6]]]}}]}
    return json.dumps(example, ensure_ascii=False, indent=1).encode("utf-8")


def _format(field, t) -> str:
    """How a column is written, in the language of `t` (tpl.fmt.*)."""
    check = field.check
    if check == "number":
        if field.key.endswith("_t"):
            return t("tpl.fmt.tonnes")
        if field.key.endswith("_cny"):
            return t("tpl.fmt.yuan")
        return t("tpl.fmt.number", lo=f"{field.lo:g}", hi=f"{field.hi:g}")
    if check == "integer":
        return t("tpl.fmt.integer", lo=f"{field.lo:g}", hi=f"{min(field.hi, 1e12):g}")
    if check == "text":
        return t("tpl.fmt.text", n=field.max_len)
    if check == "ref" and field.key == "code" and not field.required:  # customers: blank creates, a code updates
        return t("tpl.fmt.code")
    if check in ("choice", "flag", "month", "date", "ref"):
        return t(f"tpl.fmt.{check}")
    return t("tpl.fmt.choice") if allowed(field) else t("tpl.fmt.own")


def labels(field, t) -> list[str]:
    """The allowed values of a column as labels in the language of `t` ([] when it is not a list)."""
    codes = allowed(field)
    voc = "bool" if field.check == "flag" else vocabulary(field)
    return [t(vocab.value_key(voc, c)) if voc else c for c in codes]


def _example(kind: str, field, t) -> str:
    value = EXAMPLES.get(kind, {}).get(field.key, "")
    voc = "bool" if field.check == "flag" else vocabulary(field)
    if voc and value in allowed(field):
        return t(vocab.value_key(voc, value))
    return value


def _workbook(kind: str, header: list[str], lang: str) -> bytes:
    """The .xlsx template: the header row with text-formatted columns and, on choice columns, a
    drop-down of the allowed labels (an Excel data validation reading a list sheet); a help sheet
    填写说明 (header, key, required, format, allowed values, example) in the language chosen."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from lib.i18n import translator

    t = translator(lang)
    specs = fields(kind)
    wb = Workbook()
    ws = wb.active
    ws.title = kind
    ws.append(header)
    for c in range(1, len(header) + 1):  # text format for the data cells so codes keep leading zeros
        letter = get_column_letter(c)
        ws.cell(row=1, column=c).number_format = "@"
        ws.column_dimensions[letter].number_format = "@"
        ws.column_dimensions[letter].width = 16
    ws.freeze_panes = "A2"
    info = wb.create_sheet(t("tpl.sheet_help"))
    info.append([t("tpl.note") + " " + t("tpl.blank_rule")])  # with the blank-cell rule (lib.importer.merge)
    info.append([t("tpl.header"), t("tpl.key"), t("tpl.required"), t("tpl.format"), t("tpl.allowed"), t("tpl.example")])
    lists = wb.create_sheet(t("tpl.sheet_lists"))
    n_lists = 0
    for c, (f, head) in enumerate(zip(specs, header), start=1):
        values = labels(f, t)
        info.append([head, f.key, t("tpl.yes") if f.required else t("tpl.no"), _format(f, t), "、".join(values)
                     if lang == "zh" else ", ".join(values), _example(kind, f, t)])
        if not values:
            continue
        n_lists += 1
        col = get_column_letter(n_lists)
        lists.cell(1, n_lists, head)
        for r, label in enumerate(values, start=2):
            lists.cell(r, n_lists, label).data_type = "s"
        dv = DataValidation(type="list", formula1=f"'{lists.title}'!${col}$2:${col}${len(values) + 1}",
                            allow_blank=True, showErrorMessage=True, errorStyle="warning")
        dv.add(f"{get_column_letter(c)}2:{get_column_letter(c)}{MAX_VALIDATED_ROWS}")
        ws.add_data_validation(dv)
    for letter, width in zip("ABCDEF", (18, 18, 8, 36, 48, 24)):
        info.column_dimensions[letter].width = width
    lists.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
