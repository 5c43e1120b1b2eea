"""Downloadable templates 导入模板: an empty CSV or .xlsx per kind with the header row (Chinese headers
for "zh", keys for "en") and, in .xlsx, a sheet describing the columns with an example; a GeoJSON
FeatureCollection with one example grid.
"""
from __future__ import annotations

import io
import json

from lib.importer.specs import COLUMNS, KINDS, columns

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
    "org_units": {"code": "370102", "name": "历下区", "level": "district", "parent_code": "3701",
                  "manager_name": "张经理", "manager_phone": "13800000000",
                  "boundary": '{"type":"Polygon","coordinates":[[[117.0,36.6],[117.1,36.6],[117.1,36.7],[117.0,36.6]]]}'},
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


def _workbook(kind: str, header: list[str], lang: str) -> bytes:
    """The .xlsx template: the header row with text-formatted columns, and a help sheet."""
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
    for key, zh, req in columns(kind):
        info.append([key, zh, "yes" if req else "", EXAMPLES.get(kind, {}).get(key, "")])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
