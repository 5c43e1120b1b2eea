"""Downloads 导出: every table and workbook the app writes, with one formula-injection policy.

* `csv_bytes` / `xlsx_bytes`: a table as shown on screen (already labelled), e.g. the daily-work lists.
* `table_csv` / `table_xlsx`: a raw table, labelled with lib.vocab on the way out (the dashboards).
* `write_sheet`: one formatted sheet (title, subtitle, header, data, totals, print setup), used by
  `table_xlsx` and by the monthly report pack (lib.reports).

CSV is UTF-8 with a byte-order mark (Excel on Chinese Windows otherwise reads it as GBK and garbles
Chinese) and CRLF rows, so a cell holding a carriage return is quoted rather than split.

Formula injection (CSV/公式注入, OWASP "CSV injection"): text starting with = + - @, a tab or a
carriage return is neutralised: in a CSV it gets a leading apostrophe, in a workbook it is
stored as a text cell with Excel's quote prefix, never as a formula. Numbers stay numbers: numeric
values are written as numbers, and text that is a plain number such as "-5" or "+86" is left as it
is (`formula_like` is the one policy).
"""
from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from lib import vocab

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def formula_like(value) -> bool:
    """Return True for text a spreadsheet could run as a formula: it starts with = + - @, tab or CR
    and is not a plain number ("-5", "+86", "-0.5" are numbers, "-2+3" and "=1" are not)."""
    return isinstance(value, str) and value.startswith(DANGEROUS) and not _NUMBER.match(value)


def csv_cell(value):
    """Return a value safe for a CSV cell: formula-like text gets a leading apostrophe."""
    return "'" + value if formula_like(value) else value


def put(cell, value) -> None:
    """Write a value into a workbook cell: numpy scalars as Python numbers, timestamps without
    microseconds, containers as text; formula-like text as a text cell with the quote prefix."""
    if isinstance(value, (pd.Timestamp, dt.datetime)) and not pd.isna(value):
        value = pd.Timestamp(value).to_pydatetime().replace(microsecond=0)
    elif value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        value = None
    elif hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, (list, dict, tuple, set)):
        value = str(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula
        if formula_like(value):
            cell.quotePrefix = True


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", str(title))[:31] or "Sheet"


def csv_bytes(df: pd.DataFrame) -> bytes:
    """Return `df` as CSV bytes (UTF-8 with BOM, no index), formula-injection safe."""
    safe = df.copy()
    for i in range(safe.shape[1]):  # only text can be formula-like (by position: headers may repeat)
        col = safe.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            safe.isetitem(i, col.map(csv_cell))
    # CRLF rows (RFC 4180): a cell holding a bare CR is then quoted instead of breaking its row
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def xlsx_bytes(df: pd.DataFrame, sheet: str = "data") -> bytes:
    """Return `df` as an .xlsx workbook (one sheet, header row bold), formula-injection safe."""
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_sheet_title(sheet))
    bold = Font(bold=True)
    header = []
    for name in df.columns:
        cell = WriteOnlyCell(ws)
        put(cell, str(name))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in df.itertuples(index=False, name=None):
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws)
            put(cell, value)
            cells.append(cell)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()



def table_csv(df: pd.DataFrame, t: Callable[..., str], columns: list[str] | None = None,
              values: dict[str, str] | None = None) -> bytes:
    """Return a raw table as CSV, labelled as on the page (lib.vocab.labelled)."""
    return csv_bytes(vocab.labelled(df, t, columns, values))


def table_xlsx(df: pd.DataFrame, t: Callable[..., str], title: str, columns: list[str] | None = None,
               values: dict[str, str] | None = None) -> bytes:
    """Return a raw table as a one-sheet workbook formatted like the report pack."""
    wb = Workbook()
    cols = [c for c in columns if c in df.columns] if columns else [c for c in df.columns if c in vocab.COLUMNS]
    write_sheet(wb.active, _sheet_title(title), title, "", df, cols, t, totals=None, values=values)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- one formatted sheet 表格排版 ----------------------------------------------------------------------

_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="DDE6F0")
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")


def _width(value) -> int:
    s = "" if value is None else (f"{value:,.3f}" if isinstance(value, float) else str(value))
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def write_sheet(ws, sheet_title: str, title: str, subtitle: str, df: pd.DataFrame, cols: list[str],
                t: Callable[..., str], totals: dict | None, values: dict[str, str] | None = None) -> None:
    """Title, subtitle, header row (frozen, repeated on every printed page), data, totals row;
    widths from the content, number formats per column (lib.vocab), landscape A4 fitted to the page
    width. Cells are shown as on the page (lib.vocab.display) and written with `put`."""
    values = values or {}
    ws.title = sheet_title
    n = max(1, len(cols))
    ws.cell(1, 1, title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    put(ws.cell(2, 1), subtitle)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n)
    widths = []
    for j, c in enumerate(cols, start=1):
        cell = ws.cell(3, j)
        put(cell, vocab.column_label(t, c))
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        widths.append(_width(cell.value))
    shown = [[vocab.display(t, c, v, values.get(c)) for v in df[c].tolist()] for c in cols]
    for i in range(len(df)):
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(4 + i, j)
            put(cell, shown[j - 1][i])
            cell.border = _BORDER
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.number_format = vocab.number_format(c) or "#,##0"
            widths[j - 1] = max(widths[j - 1], _width(cell.value))
    last = 3 + len(df)
    if totals is not None:
        last += 1
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(last, j)
            if j == 1:
                label = t("report.total_n", n=totals["_count"]) if "_count" in totals else t("report.total")
            put(cell, label if j == 1 else totals.get(c))
            cell.font = Font(bold=True)
            cell.fill = _TOTAL_FILL
            cell.border = _BORDER
            if isinstance(cell.value, (int, float)):
                cell.number_format = vocab.number_format(c) or "#,##0"
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


# --- lists in the import formats 可导入格式的下载 -----------------------------------------------------
# Every list the app downloads for an import kind is in the format that import reads (export → edit in
# Excel → import): the import's columns and headers (Chinese headers for "zh", keys for "en", as the
# templates), code values as the labels of the language (which the import accepts), yes/no as 是/否,
# dates YYYY-MM-DD. Each kind's rows come from one reader below (`IMPORT_READERS`).


def _customer_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Customers 客户档案 inside `scope` (all, in code order) with the customer file's columns."""
    from lib import customers, queries
    from lib.importer.specs import columns

    keys = [k for k, _, _ in columns("customers")]
    own = [f.key for f in customers.FIELDS if f.file and f.stored == "column" and f.check != "ref"]
    sql = (f"SELECT c.code, {', '.join('c.' + k for k in own)}, s.code AS station_code, g.code AS grid_code, c.extra "
           "FROM customer c JOIN station s ON s.id = c.station_id LEFT JOIN grid g ON g.id = c.grid_id "
           f"WHERE {queries.in_scope('c.org_path')} ORDER BY c.code")
    df = customers.expand_extra(queries.read_df(conn, sql, scope=queries.scope_like(scope)))
    return df.reindex(columns=keys)


def _consumption_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Monthly consumption 月度消费 of the customers inside `scope` for `month` (every month if None)."""
    from lib import queries

    cond = " AND m.month = :month" if month else ""
    return queries.read_df(conn, (
        "SELECT c.code AS customer_code, m.month, m.gasoline_t, m.diesel_t, m.card_cny, m.visits "
        "FROM monthly_consumption m JOIN customer c ON c.id = m.customer_id "
        f"WHERE {queries.in_scope('c.org_path')}{cond} ORDER BY c.code, m.month"),
        scope=queries.scope_like(scope), month=month)


def _traffic_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Station traffic 站点车流 of the stations inside `scope` for `month` (every month if None)."""
    from lib import queries
    from lib.importer.specs import columns

    keys = [k for k, _, _ in columns("traffic") if k != "station_code"]
    cond = " AND t.month = :month" if month else ""
    return queries.read_df(conn, (
        f"SELECT s.code AS station_code, {', '.join('t.' + k for k in keys)} FROM station_traffic t "
        f"JOIN station s ON s.id = t.station_id WHERE {queries.in_scope('t.org_path')}{cond} ORDER BY s.code, t.day"),
        scope=queries.scope_like(scope), month=month)


def _visit_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Visits 维护回访 inside `scope` planned or done in `month` (every visit if None)."""
    from lib import months, queries

    cond = ""
    params = {"scope": queries.scope_like(scope)}
    if month:
        params |= {"lo": months.first_day(month), "hi": months.first_day(months.shift(month, 1))}
        cond = (" AND ((v.planned_on >= :lo AND v.planned_on < :hi) OR (v.done_on >= :lo AND v.done_on < :hi))")
    return queries.read_df(conn, (
        "SELECT c.code AS customer_code, v.mode, v.planned_on, v.done_on, v.note FROM visit v "
        f"JOIN customer c ON c.id = v.customer_id WHERE {queries.in_scope('v.org_path')}{cond} "
        "ORDER BY COALESCE(v.planned_on, v.done_on), c.code, v.id"), **params)


def _org_unit_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Org units 组织单元 inside `scope` (province, cities, districts and areas; stations are the stations
    kind), parents first, with the boundary as GeoJSON text (the `boundary` column the CSV import reads;
    the GeoJSON download is lib.org.units_geojson)."""
    from lib import queries

    return queries.read_df(conn, (
        "SELECT u.code, u.name, u.level, p.code AS parent_code, u.manager_name, u.manager_phone, u.boundary "
        "FROM org_unit u LEFT JOIN org_unit p ON p.id = u.parent_id "
        f"WHERE {queries.in_scope('u.path')} AND u.level <> 'station' ORDER BY u.path"), scope=queries.scope_like(scope))


def _station_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Stations 加油站 of `scope` (lib.stations.table: code, name, district_code, coordinates, opening
    date, nozzles; daily sales and grade ride along as IMPORT_EXTRAS)."""
    from lib import stations

    return stations.table(conn, scope)


def _competitor_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Competitor stations 竞争对手加油站 of `scope` (lib.stations.competitors)."""
    from lib import stations

    return stations.competitors(conn, scope)


def _station_sales_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Monthly station sales 加油站月销量 of the stations of `scope` for `month` (every month if None)."""
    from lib import queries

    where = queries.scoped("x.org_path", queries.station_scope(scope))
    cond = " AND x.month = :month" if month else ""
    return queries.read_df(conn, (
        "SELECT s.code AS station_code, x.month, x.gasoline_t, x.diesel_t FROM station_sales x "
        f"JOIN station s ON s.id = x.station_id WHERE {where.sql}{cond} ORDER BY s.code, x.month"),
        **where.params, **({"month": month} if month else {}))


def _manager_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Customer managers 客户经理 of `scope` as the form and the import see them (lib.managers.records):
    code (own or generated, so a re-import updates that manager), name, phone, station, hired, level."""
    from lib import managers

    return managers.records(conn, scope)


def _user_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Logins 用户 whose unit lies inside `scope`: login, display_name, role, org_code, manager_code
    (no password, no hash). Re-imported unchanged they are left alone (lib.importer.people)."""
    from lib import managers, queries

    df = queries.read_df(conn, (
        "SELECT u.login, u.display_name, u.role, o.code AS org_code, m.id AS manager_id, m.code AS manager_code "
        "FROM app_user u JOIN org_unit o ON o.id = u.org_unit_id LEFT JOIN customer_manager m ON m.id = u.manager_id "
        f"WHERE {queries.in_scope('u.org_path')} ORDER BY u.org_path, u.login"), scope=queries.scope_like(scope))
    has = df["manager_id"].notna()
    df["manager_code"] = df["manager_code"].astype(object).where(has, "")
    if has.any():
        df.loc[has, "manager_code"] = managers.effective_codes(
            df.loc[has, ["manager_code"]].rename(columns={"manager_code": "code"}).assign(
                id=df.loc[has, "manager_id"].astype(int))).to_numpy()
    return df


def _target_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Development targets 开发目标 inside `scope` for `month` (every month if None): org_code, month,
    kind, target (002 §6.5.3: districts institutional, stations personal card)."""
    from lib import queries

    cond = " AND d.month = :month" if month else ""
    return queries.read_df(conn, (
        "SELECT o.code AS org_code, d.month, d.kind, d.target FROM development_plan d "
        f"JOIN org_unit o ON o.id = d.org_unit_id WHERE {queries.in_scope('d.org_path')}{cond} "
        "ORDER BY d.month, o.path, d.kind"), scope=queries.scope_like(scope), **({"month": month} if month else {}))


def percent_text(value) -> str:
    """A fraction as the percentage people type ("12%" for 0.12, "12.5%" for 0.125), exact enough that
    the rate-target import reads the same fraction back."""
    return f"{float(value) * 100:.10g}%"


def _rate_target_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Four-rate targets 四率目标 set for the stations of `scope` (the stored ones; a station without its
    own target uses the default of config [four_rates]), the target as a percentage."""
    from lib import queries

    df = queries.read_df(conn, (
        "SELECT s.code AS station_code, t.rate, t.target FROM four_rate_target t JOIN station s ON s.id = t.station_id "
        f"WHERE {queries.in_scope('s.org_path')} ORDER BY s.code, t.rate"), scope=queries.scope_like(scope))
    df["target"] = df["target"].map(percent_text).astype(object)
    return df


def _survey_rows(conn, scope: str, month: str | None) -> pd.DataFrame:
    """Surveys recorded for the units of `scope`, every period, both types (lib.surveys, 002 §6.5.1–6.5.2):
    the potential customer surveys of its stations, then its special surveys; the import's columns."""
    from lib import queries, surveys

    where = queries.scoped("v.org_path", queries.station_scope(scope))
    periodic = queries.read_df(conn, (
        "SELECT 'periodic' AS survey_type, s.code AS station_code, v.period, v.submitted_on, v.potential_customers, "
        "v.note, v.objects FROM survey_submission v JOIN station s ON s.org_unit_id = v.org_unit_id "
        f"WHERE {where.sql} ORDER BY v.period, s.code"), **where.params)
    where = queries.scoped("v.org_path", queries.station_scope(scope))
    special = queries.read_df(conn, (
        "SELECT 'special' AS survey_type, u.code AS org_code, v.topic, v.target_group, v.started_on, v.ended_on, "
        "v.customers_found AS potential_customers, v.note, v.objects FROM special_survey v "
        f"JOIN org_unit u ON u.id = v.org_unit_id WHERE {where.sql} ORDER BY v.started_on, u.code, v.topic"),
        **where.params)
    return surveys.object_counts(pd.concat([periodic, special], ignore_index=True))


IMPORT_READERS: dict[str, Callable] = {  # import kind → its rows (conn, scope, month); new kinds at the END
    "customers": _customer_rows,
    "consumption": _consumption_rows,
    "traffic": _traffic_rows,
    "visits": _visit_rows,
    "org_units": _org_unit_rows,
    "stations": _station_rows,
    "competitor_stations": _competitor_rows,
    "station_sales": _station_sales_rows,
    "managers": _manager_rows,
    "users": _user_rows,
    "targets": _target_rows,
    "rate_targets": _rate_target_rows,
    "surveys": _survey_rows,
}
# Kinds whose rows have months: the imports page offers the chosen month's rows (others: every row).
MONTHLY_KINDS = ("consumption", "traffic", "visits", "station_sales", "targets")
# Columns shown after the import's own for people (the import ignores them), as on the page: kind → columns
# Vocabularies outside lib.vocab.VALUES whose labels are "<vocabulary>.<code>" (lib.vocab.codes_by_label reads
# them back), and the file columns of kinds without a Field spec that hold them: kind → {column: vocabulary}
OWN_KEY_VOCABULARIES = ("role", "rate")
COLUMN_VOCABULARIES: dict[str, dict[str, str]] = {"users": {"role": "role"}, "rate_targets": {"rate": "rate"}}
# Columns an .xlsx download leaves empty: a boundary's GeoJSON is longer than an Excel cell holds (32,767
# characters), and an empty boundary cell keeps the stored one (lib.org.write_units); boundaries go out as
# CSV text and as GeoJSON (lib.org.units_geojson) instead
XLSX_BLANK: dict[str, tuple[str, ...]] = {"org_units": ("boundary",)}
IMPORT_EXTRAS: dict[str, tuple[str, ...]] = {"stations": ("daily_sales_t", "grade")}


def _file_cell(value, field, voc: str | None, t: Callable[..., str]):
    """One value as the import file writes it: a label for a coded value, 是/否, dates as text."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return ""
    if field.check == "flag":
        return t(vocab.value_key("bool", "yes" if bool(value) and value not in ("0", "false") else "no"))
    if voc:
        code = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        if code in vocab.VALUES.get(voc, ()) or (field.options and code in map(str, field.options)):
            label = t(vocab.value_key(voc, code))
            return code if label == vocab.value_key(voc, code) else label
        if voc in OWN_KEY_VOCABULARIES and t(f"{voc}.{code}") != f"{voc}.{code}":  # role.<code>, rate.<code>
            return t(f"{voc}.{code}")
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date().isoformat() if value.time() == dt.time() else str(value)[:16]
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if field.check == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if field.check == "date" and isinstance(value, str):
        return value[:10]
    return value


def as_import_file(df: pd.DataFrame, kind: str, lang: str) -> pd.DataFrame:
    """Rows of `kind` (one column per import key) as the import file reads them: the template's headers
    and column order, code values as labels in `lang`, yes/no as 是/否 (or yes/no)."""
    from lib.i18n import translator
    from lib.importer.specs import columns, fields
    from lib.importer.specs import vocabulary as field_vocabulary

    t = translator(lang)
    out = {}
    for field, (key, zh, _) in zip(fields(kind), columns(kind)):
        voc = field_vocabulary(field) or COLUMN_VOCABULARIES.get(kind, {}).get(key)
        cells = df[key].tolist() if key in df.columns else [None] * len(df)
        memo: dict = {}  # columns repeat their values (codes, months, blanks): each distinct one once

        def cell(v, field=field, voc=voc, memo=memo):
            try:
                k = (type(v), v)
                if k not in memo:
                    memo[k] = _file_cell(v, field, voc, t)
                return memo[k]
            except TypeError:  # an unhashable value (a list in an extension field)
                return _file_cell(v, field, voc, t)

        out[zh if lang == "zh" else key] = pd.Series([cell(v) for v in cells], dtype=object)
    return pd.DataFrame(out, index=range(len(df)))


def import_frame(engine, kind: str, scope: str, lang: str = "zh", month: str | None = None) -> pd.DataFrame:
    """The rows of import kind `kind` inside `scope` (and `month` where the kind has months) in that
    import's format (`as_import_file`); ValueError for a kind the app does not download."""
    if kind not in IMPORT_READERS:
        raise ValueError(f"kind: one of {', '.join(IMPORT_READERS)}")
    with engine.connect() as conn:
        rows = IMPORT_READERS[kind](conn, scope, month)
    out = as_import_file(rows, kind, lang)
    extras = [c for c in IMPORT_EXTRAS.get(kind, ()) if c in rows.columns]
    if extras:  # read-only columns for people, after the import's own (the import ignores them)
        from lib.i18n import translator

        t = translator(lang)
        for c in extras:
            out[vocab.column_label(t, c)] = pd.Series([vocab.display(t, c, v) for v in rows[c]], dtype=object)
    return out


def import_csv(engine, kind: str, scope: str, lang: str = "zh", month: str | None = None) -> bytes:
    """`import_frame` as CSV bytes (UTF-8 with BOM, formula-injection safe): what the import reads."""
    return csv_bytes(import_frame(engine, kind, scope, lang, month))


def import_xlsx(engine, kind: str, scope: str, lang: str = "zh", month: str | None = None) -> bytes:
    """`import_frame` as an .xlsx workbook (one sheet, first): what the import reads. Columns of
    XLSX_BLANK go out empty (an empty cell keeps the stored value on import)."""
    df = import_frame(engine, kind, scope, lang, month)
    for key in XLSX_BLANK.get(kind, ()):
        head = next(zh if lang == "zh" else k for k, zh, _ in _columns(kind) if k == key)
        df[head] = ""
    return xlsx_bytes(df, kind)


def _columns(kind: str):
    from lib.importer.specs import columns

    return columns(kind)


def grids_geojson(engine, scope: str) -> bytes:
    """The grids 网格 inside `scope` as the grid import reads them: a GeoJSON FeatureCollection, one
    feature per grid with the import's keys as properties (code, name, station_code, owner_name,
    owner_phone, owner_duties) and the stored WGS-84 geometry at full precision (so a re-import keeps
    the partition exact)."""
    import json

    from lib import queries
    from lib.importer.specs import COLUMNS

    keys = [k for k, _, _ in COLUMNS["grids"]]
    df = queries.read_df(engine, (
        "SELECT g.code, g.name, s.code AS station_code, g.owner_name, g.owner_phone, g.owner_duties, g.geometry "
        f"FROM grid g JOIN station s ON s.id = g.station_id WHERE {queries.in_scope('g.org_path')} ORDER BY g.code"),
        scope=queries.scope_like(scope))
    features = [{"type": "Feature", "properties": {k: ("" if r[k] is None else str(r[k])) for k in keys},
                 "geometry": json.loads(r["geometry"])} for r in df.to_dict("records")]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode("utf-8")
