"""Import attacks 导入攻击: class 1 (data loss by import), 2 (exhaustion: every file runs in a child
process with a memory and wall-clock limit, normal and dry run 检查文件) and 3 (values read wrong).
"""
from __future__ import annotations

import csv
import functools
import io
import json
import zipfile

from sqlalchemy import text

from bench.attacks.core import (
    DEMO_END,
    Env,
    actor_for,
    attack,
    count,
    failed,
    held,
    import_as,
    report_summary,
    run_child,
)

STATION = "station_manager"
HELD_MB, HELD_S = 1200, 15.0  # a refused bomb holds only within these (the child's peak RSS and wall time)


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _codes(rep: dict) -> str:
    codes = sorted({e["code"] for e in rep["errors"]})
    return ", ".join(codes[:5]) or "no code"


def _row(engine, table: str, id_: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text(f"SELECT * FROM {table} WHERE id = :i"), {"i": id_}).mappings().one())


# --- class 1: data loss by import --------------------------------------------------------------------


def _partial_customer(env: Env, fixture: str, check) -> tuple[str, str]:
    """Import `code,name,kind,station_code` for an existing customer; `check(before, after)` judges."""
    c = env.fx[fixture]
    station = env.fx["own_station"]["code"] if c["org_path"].startswith(env.fx["own_station"]["org_path"]) else \
        c["org_path"].split("/")[4]
    data = csv_bytes(["code", "name", "kind", "station_code"], [[c["code"], c["name"], c["kind"], station]])
    with env.fresh() as engine:
        rep = report_summary(import_as(engine, env.user("province_admin"), "customers", data, "partial.csv"))
        after = _row(engine, "customer", c["id"])
    if not rep["ok"]:
        return held(f"partial file refused ({_codes(rep)})")
    return check(c, after)


def _kept(*fields):
    def check(before, after):
        lost = [f"{f} {before[f]!r}→{after[f]!r}" for f in fields if before[f] != after[f]]
        return failed("left-out columns blanked: " + "; ".join(lost)) if lost else held(f"{', '.join(fields)} kept")
    return check


for _f, _q in (("phone", True), ("contact", False), ("credit_code", False), ("manager_id", True), ("diesel_t", False)):
    attack("1", f"partial_customers_wipes_{_f}", quick=_q)(
        functools.partial(_partial_customer, fixture="own_customer", check=_kept(_f)))
attack("1", "partial_customers_wipes_coordinates", quick=True)(
    functools.partial(_partial_customer, fixture="own_customer", check=_kept("lon", "lat")))
attack("1", "partial_customers_wipes_lost_status")(
    functools.partial(_partial_customer, fixture="lost_customer", check=_kept("status", "lost_month")))


@attack("1", "import_per_row_audit", quick=True)
def per_row_audit(env: Env):
    c = env.fx["own_customer"]
    data = csv_bytes(["code", "name", "kind", "station_code", "phone"],
                     [[c["code"], c["name"], c["kind"], env.fx["own_station"]["code"], "13900000001"]])
    with env.fresh() as engine:
        import_as(engine, env.user("province_admin"), "customers", data, "audit.csv")
        rows = count(engine, "audit_log", "entity = 'customer' AND entity_id = :i", i=str(c["id"]))
        if not rows and _has_table(engine, "import_change"):  # per-row before/after beside the audit (issue 14)
            rows = count(engine, "import_change", "tbl = :t", t="customer")
    return held(f"{rows} audit row(s) for the changed customer") if rows else \
        failed("no per-row before/after in the audit: only the import's summary row")


def _has_table(engine, name: str) -> bool:
    from sqlalchemy import inspect

    return inspect(engine).has_table(name)


def _revert_fn():
    from lib import audit_log, importer

    revert = getattr(importer, "revert", None)
    if revert is not None and callable(getattr(revert, "revert", None)):  # lib.importer.revert.revert (issue 14)
        return revert.revert
    for mod in (importer, audit_log):
        for name in dir(mod):
            if "revert" in name.lower() and callable(getattr(mod, name)):
                return getattr(mod, name)
    return None


@attack("1", "import_revert_restores")
def revert_import(env: Env):
    fn = _revert_fn()
    if fn is None:
        return failed("no function to revert an import (lib.importer / lib.audit_log)")
    c = env.fx["own_customer"]
    data = csv_bytes(["code", "name", "kind", "station_code", "phone"],
                     [[c["code"], c["name"], c["kind"], env.fx["own_station"]["code"], "13900000002"]])
    admin = env.user("province_admin")
    with env.fresh() as engine:
        rep = import_as(engine, admin, "customers", data, "revert.csv")
        with engine.connect() as conn:
            aid = conn.execute(text("SELECT MAX(id) FROM audit_log WHERE action = 'import'")).scalar()
        fn(engine, admin, getattr(rep, "batch_id", None) or aid)
        phone = _row(engine, "customer", c["id"])["phone"]
    return held("the import was reverted") if phone == c["phone"] else failed(f"after revert the phone is {phone!r}")


def _consumption_row(engine, path: str) -> dict:
    """A consumption row of a customer under `path` with diesel and card values to lose."""
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT m.*, c.code FROM monthly_consumption m JOIN customer c ON c.id = "
                                      "m.customer_id WHERE c.org_path LIKE :p AND m.diesel_t > 0 AND m.card_cny > 0 "
                                      "ORDER BY m.month DESC, m.customer_id"), {"p": path + "%"}).mappings().first())


@attack("1", "partial_consumption_wipes_diesel")
def partial_consumption(env: Env):
    with env.fresh() as engine:
        before = _consumption_row(engine, env.user(STATION).scope)
        data = csv_bytes(["customer_code", "month", "gasoline_t"], [[before["code"], before["month"], "1"]])
        rep = report_summary(import_as(engine, env.user(STATION), "consumption", data, "partial.csv"))
        with engine.connect() as conn:
            after = dict(conn.execute(text("SELECT * FROM monthly_consumption WHERE customer_id = :c AND month = :m"),
                                      {"c": before["customer_id"], "m": before["month"]}).mappings().one())
    if not rep["ok"]:
        return held(f"partial file refused ({_codes(rep)})")
    return _kept("diesel_t", "card_cny")(before, after)


@attack("1", "partial_stations_wipes_location")
def partial_stations(env: Env):
    s = env.fx["own_station"]
    with env.fresh() as engine:
        before = _row(engine, "station", s["id"])
        with engine.connect() as conn:
            district = conn.execute(text("SELECT code FROM org_unit WHERE id = (SELECT parent_id FROM org_unit "
                                         "WHERE path = :p)"), {"p": s["org_path"]}).scalar()
        data = csv_bytes(["code", "name", "district_code"], [[s["code"], before["name"], district]])
        rep = report_summary(import_as(engine, env.user("province_admin"), "stations", data, "partial.csv"))
        after = _row(engine, "station", s["id"])
    if not rep["ok"]:
        return held(f"partial file refused ({_codes(rep)})")
    keys = [k for k in ("lon", "lat", "opened_on", "nozzles") if k in before]
    return _kept(*keys)(before, after)


@attack("1", "partial_managers_wipes_phone")
def partial_managers(env: Env):
    m = env.fx["own_manager"]
    with env.fresh() as engine:
        before = _row(engine, "customer_manager", m["id"])
        data = csv_bytes(["code", "name", "station_code", "hired_on"],
                         [[m["code"], m["name"], env.fx["own_station"]["code"], str(before["hired_on"])[:10]]])
        rep = report_summary(import_as(engine, env.user("province_admin"), "managers", data, "partial.csv"))
        after = _row(engine, "customer_manager", m["id"])
    if not rep["ok"]:
        return held(f"partial file refused ({_codes(rep)})")
    return _kept("phone", "level")(before, after)


def grid_feature(engine, grid_id: int, geometry=None, **props) -> dict:
    with engine.connect() as conn:
        g = conn.execute(text("SELECT g.*, s.code AS station_code FROM grid g JOIN station s ON s.id = g.station_id "
                              "WHERE g.id = :i"), {"i": grid_id}).mappings().one()
    base = {"code": g["code"], "name": g["name"], "station_code": g["station_code"]}
    return {"type": "Feature", "properties": base | props,
            "geometry": geometry if geometry is not None else json.loads(g["geometry"])}


def geojson(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@attack("1", "partial_grids_wipes_owner")
def partial_grids(env: Env):
    g = env.fx["own_grid"]
    with env.fresh() as engine:
        data = geojson([grid_feature(engine, g["id"])])
        rep = report_summary(import_as(engine, env.user("province_admin"), "grids", data, "partial.geojson"))
        after = _row(engine, "grid", g["id"])
    if not rep["ok"]:
        return held(f"partial file refused ({_codes(rep)})")
    return _kept("owner_name", "owner_phone")(g, after)


# --- class 2: exhaustion, each in a child process ---------------------------------------------------


def _child_import(url: str, user, kind: str, data: bytes, filename: str, dry_run: bool) -> dict:
    from lib.db import make_engine

    engine = make_engine(url)
    before = count(engine, "customer_monthly")
    rep = report_summary(import_as(engine, user, kind, data, filename, dry_run=dry_run))
    rep["customer_monthly"] = (before, count(engine, "customer_monthly"))
    engine.dispose()
    return rep


def _limits(env: Env) -> tuple[int, float]:
    return (2048, 20.0) if env.quick else (env.mem_mb, env.wall_s)


def bomb(env: Env, kind: str, data: bytes, filename: str, dry_run: bool, user_role: str = "province_admin"):
    """Import `data` in a child with the memory and time limits; judge exhaustion, then the report."""
    mem, wall = _limits(env)
    url = env.copy_url()
    try:
        ch = run_child(_child_import, url, env.user(user_role), kind, data, filename, dry_run, mem_mb=mem, wall_s=wall)
    finally:
        env.drop(url)
    env.children.append(ch)
    size = f"{len(data) / 1e6:.1f} MB file, {ch.seconds:.0f} s, peak {ch.peak_rss_mb:.0f} MB"
    if ch.exhausted:
        return failed(f"(exhausted) {ch.status}: {ch.error or 'MemoryError in the report'}; {size}")
    if ch.status != "ok":
        return failed(f"the import raised {ch.error}; {size}")
    rep = ch.value
    before, after = rep["customer_monthly"]
    if rep["ok"] and after > 3 * before:
        return failed(f"accepted; customer_monthly {before:,} → {after:,} rows; {size}")
    if rep["ok"]:
        return failed(f"accepted ({rep['rows']} rows); {size}")
    if ch.seconds > HELD_S or ch.peak_rss_mb > HELD_MB:
        return failed(f"refused ({_codes(rep)}) but heavy; {size}")
    return held(f"refused ({_codes(rep)}); {size}")


def _month_file(env: Env, month: str) -> bytes:
    return csv_bytes(["customer_code", "month", "gasoline_t"], [[env.fx["own_customer"]["code"], month, "1"]])


@functools.lru_cache(maxsize=4)
def xlsx_from_xml(sheet_chunks_key: str) -> bytes:
    """A minimal .xlsx whose first sheet is streamed from the generator named by the key."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                   '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
                   '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml",
                   '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                   '<sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
                   '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            for chunk in SHEETS[sheet_chunks_key]():
                f.write(chunk.encode())
    return buf.getvalue()


_NS = '<?xml version="1.0"?>{dtd}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
_END = "</sheetData></worksheet>"


def _cell(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def _header_row() -> str:
    return '<row r="1">' + _cell("A1", "customer_code") + _cell("B1", "month") + _cell("C1", "gasoline_t") + "</row>"


def _huge_cell():
    yield _NS.format(dtd="") + _header_row() + '<row r="2"><c r="A2" t="inlineStr"><is><t>'
    block = "A" * (1 << 20)
    for _ in range(1000):  # 1,000 MB of text in one cell (about 1 MB of zip)
        yield block
    yield "</t></is></c></row>" + _END


def _many_cells():
    """1,000,000 identical rows × 12 cells (cell references are optional in SpreadsheetML): ~200 MB of
    XML in well under 1 MB of zip."""
    yield _NS.format(dtd="") + _header_row()
    block = ("<row>" + "<c><v>1</v></c>" * 12 + "</row>") * 1000
    for _ in range(1000):
        yield block
    yield _END


def _laughs():
    ents = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    yield _NS.format(dtd=f"<!DOCTYPE worksheet [{ents}]>") + _header_row()
    yield '<row r="2">' + _cell("A2", "&a9;") + "</row>" + _END


def _deep():
    yield _NS.format(dtd="") + _header_row() + '<row r="2"><c r="A2" t="inlineStr"><is><t>'
    yield "<x>" * 200_000 + "</x>" * 200_000
    yield "</t></is></c></row>" + _END


SHEETS = {"huge_cell": _huge_cell, "many_cells": _many_cells, "laughs": _laughs, "deep": _deep}


def _million_columns() -> bytes:
    n = 1_000_000
    return (",".join(["customer_code", "month", "gasoline_t"] + [f"c{i}" for i in range(n)]) + "\n"
            + ",".join(["X", "2026-10", "1"] + ["1"] * n) + "\n").encode()


def _long_line() -> bytes:
    return b"customer_code,month,gasoline_t\n" + b"A" * (45 * 1024 * 1024) + b",2026-10,1\n"


def _dense_grid(env: Env) -> bytes:
    from shapely.geometry import mapping, shape

    with env.fresh() as engine:
        feat = grid_feature(engine, env.fx["own_grid"]["id"])
    geom = shape(feat["geometry"])
    dense = geom.segmentize(geom.boundary.length / 100_005)  # the same shape, ~100,005 vertices
    feat["geometry"] = mapping(dense)
    return geojson([feat])


FILES = {  # name: (kind, filename, bytes factory, quick)
    "month_0000": ("consumption", "m.csv", lambda env: _month_file(env, "0000-01"), True),
    "month_1900": ("consumption", "m.csv", lambda env: _month_file(env, "1900-01"), True),
    "xlsx_huge_cell": ("consumption", "cell.xlsx", lambda env: xlsx_from_xml("huge_cell"), False),
    "xlsx_zip_bomb": ("consumption", "bomb.xlsx", lambda env: xlsx_from_xml("many_cells"), True),
    "xlsx_entity_expansion": ("consumption", "laughs.xlsx", lambda env: xlsx_from_xml("laughs"), False),
    "xlsx_deep_xml": ("consumption", "deep.xlsx", lambda env: xlsx_from_xml("deep"), False),
    "csv_million_columns": ("consumption", "wide.csv", lambda env: _million_columns(), True),
    "csv_45mb_line": ("consumption", "line.csv", lambda env: _long_line(), False),
    "grid_100005_vertices": ("grids", "dense.geojson", _dense_grid, False),
}


def _bomb_attack(env: Env, name: str, dry_run: bool):
    kind, filename, make, _ = FILES[name]
    return bomb(env, kind, make(env), filename, dry_run)


for _name, (_k, _fn, _make, _quick) in FILES.items():
    attack("2", _name, quick=_quick and _name != "month_1900")(functools.partial(_bomb_attack, name=_name, dry_run=False))
    attack("2", f"{_name}_dry_run", quick=_quick and _name == "month_1900")(
        functools.partial(_bomb_attack, name=_name, dry_run=True))


# --- class 3: values read wrong ---------------------------------------------------------------------


def _import_read_back(env: Env, kind: str, header, row, sql: str, role: str = STATION, **kw):
    """Import one row; return (report summary, the value `sql` reads back afterwards)."""
    with env.fresh() as engine:
        rep = report_summary(import_as(engine, env.user(role), kind, csv_bytes(header, [row]), "v.csv"))
        with engine.connect() as conn:
            value = conn.execute(text(sql), kw).scalar()
    return rep, value


def _month_value(env: Env, value: str, col: str = "gasoline_t", month: str = "2026-11"):
    c = env.fx["own_customer"]
    return _import_read_back(env, "consumption", ["customer_code", "month", col], [c["code"], month, value],
                             f"SELECT {col} FROM monthly_consumption WHERE customer_id = :c AND month = :m",
                             c=c["id"], m=month[:7])


@attack("3", "decimal_comma_tonnes", quick=True)
def decimal_comma(env: Env):
    rep, v = _month_value(env, "1,5")
    if not rep["ok"]:
        return held(f"refused ({_codes(rep)})")
    return held("read as 1.5") if v == 1.5 else failed(f'"1,5" t stored as {v}')


@attack("3", "month_with_bad_day", quick=True)
def month_bad_day(env: Env):
    c = env.fx["own_customer"]
    rep, v = _import_read_back(env, "consumption", ["customer_code", "month", "gasoline_t"],
                               [c["code"], "2026-11-99", "1"],
                               "SELECT COUNT(*) FROM monthly_consumption WHERE customer_id = :c AND month = '2026-11'",
                               c=c["id"])
    return held(f"refused ({_codes(rep)})") if not rep["ok"] else failed(f'"2026-11-99" accepted ({v} row as 2026-11)')


@attack("3", "month_13")
def month_13(env: Env):
    rep, _ = _month_value(env, "1", month="2026-13")
    return held(f"refused ({_codes(rep)})") if not rep["ok"] else failed('month "2026-13" accepted')


for _v in ("-5", "nan", "inf", "1e309"):
    def _num(env: Env, value=_v):
        rep, v = _month_value(env, value)
        return held(f"refused ({_codes(rep)})") if not rep["ok"] else failed(f"tonnes {value!r} stored as {v}")
    attack("3", f"tonnes_{_v.replace('-', 'minus_')}")(_num)


@attack("3", "visit_date_feb_30")
def visit_feb_30(env: Env):
    c = env.fx["own_customer"]
    rep, _ = _import_read_back(env, "visits", ["customer_code", "mode", "done_on", "note"],
                               [c["code"], "phone", "2026-02-30", "x"], "SELECT 1")
    return held(f"refused ({_codes(rep)})") if not rep["ok"] else failed('done_on "2026-02-30" accepted')


def _new_customer_row(env: Env, name: str, phone: str = "", contact: str = "") -> list:
    return [name, "institutional", "enterprise", env.fx["own_station"]["code"], phone, contact, "existing", "5"]


NEW_HEADER = ["name", "kind", "sub_type", "station_code", "phone", "contact", "status", "diesel_t"]


def _stored_text(env: Env, name: str, contact: str = "", field: str = "name", role: str = STATION):
    rep, v = _import_read_back(env, "customers", NEW_HEADER, _new_customer_row(env, name, "", contact),
                               f"SELECT {field} FROM customer ORDER BY id DESC LIMIT 1", role=role)
    return rep, v


def _control(env: Env, char: str, field: str = "name"):
    value = f"测试{char}物流有限公司"
    rep, v = _stored_text(env, value if field == "name" else "控制字符测试物流有限公司",
                          value if field == "contact" else "", field)
    if not rep["ok"]:
        return held(f"refused ({_codes(rep)})")
    return failed(f"{char!r} stored in {field}") if v and char in v else held(f"{char!r} not stored")


attack("3", "nul_in_name", quick=True)(functools.partial(_control, char="\x00"))
attack("3", "vertical_tab_in_name", quick=True)(functools.partial(_control, char="\x0b"))
attack("3", "escape_in_contact")(functools.partial(_control, char="\x1b", field="contact"))
attack("3", "bell_in_name")(functools.partial(_control, char="\x07"))


@attack("3", "vertical_tab_in_name_by_form")
def vt_form(env: Env):
    from lib import customers

    data = {"name": "表单\x0b测试有限公司", "kind": "institutional", "sub_type": "enterprise",
            "station_id": env.fx["own_station"]["id"], "status": "existing", "diesel_t": 5}
    with env.fresh() as engine:
        try:
            customers.create(engine, env.user(STATION), data, allow_duplicates=True)
        except (ValueError, customers.DuplicateError) as exc:
            return held(f"refused: {type(exc).__name__}")
    return failed("\\x0b stored through the customer form")


@attack("3", "same_new_customers_file_twice", quick=True)
def twice(env: Env):
    rows = [_new_customer_row(env, f"重复导入测试{i}物流有限公司", f"1390000{i:04d}") for i in range(3)]
    data = csv_bytes(NEW_HEADER, rows)
    with env.fresh() as engine:
        n0 = count(engine, "customer")
        first = report_summary(import_as(engine, env.user(STATION), "customers", data, "new.csv"))
        n1 = count(engine, "customer")
        second = report_summary(import_as(engine, env.user(STATION), "customers", data, "new.csv"))
        n2 = count(engine, "customer")
    if not first["ok"]:
        return failed(f"the first import was refused ({_codes(first)}): the attack's file needs fixing")
    if n2 - n1 >= 3:
        return failed(f"the same file twice: {n0:,} → {n1:,} → {n2:,} customers")
    return held(f"second import {'refused (' + _codes(second) + ')' if not second['ok'] else 'added ' + str(n2 - n1)}")


FIVE_MB = "长" * (5 * 1024 * 1024 // 3)


@attack("3", "name_5mb_import", quick=True)
def name_5mb(env: Env):
    rep, v = _stored_text(env, FIVE_MB, field="LENGTH(name)")
    return held(f"refused ({_codes(rep)})") if not rep["ok"] else failed(f"a {v:,}-character name stored")


@attack("3", "contact_5mb_update")
def contact_5mb(env: Env):
    from lib import customers

    with env.fresh() as engine:
        try:
            customers.update(engine, env.user(STATION), env.fx["own_customer"]["id"], {"contact": FIVE_MB})
        except (ValueError, customers.DuplicateError) as exc:
            return held(f"refused: {type(exc).__name__}")
    return failed("a 5 MB contact stored through the customer form")


@attack("3", "display_name_5mb_user")
def display_name_5mb(env: Env):
    from lib import auth

    admin = env.user("province_admin")
    with env.fresh() as engine:
        try:
            auth.create_user_once(engine, admin, "longname", FIVE_MB, "station_manager", env.fx["own_unit"]["id"])
        except ValueError as exc:
            return held(f"refused: {type(exc).__name__}")
    return failed("a 5 MB display name accepted for a user")


@attack("3", "display_name_5mb_create_user")
def display_name_5mb_create(env: Env):
    from lib import auth

    with env.fresh() as engine:
        fn = auth.create_user
        try:
            fn(engine, actor_for(fn, env.user("province_admin")), "longname2", FIVE_MB, "station_manager",
               env.fx["own_unit"]["id"], "Long-enough-pass-2026!")
        except (ValueError, TypeError) as exc:
            return held(f"refused: {type(exc).__name__}")
    return failed("a 5 MB display name accepted by auth.create_user")


@attack("3", "grid_name_5mb_import")
def grid_name_5mb(env: Env):
    with env.fresh() as engine:
        g = env.fx["own_grid"]
        data = geojson([grid_feature(engine, g["id"], name=FIVE_MB, owner_name=g["owner_name"],
                                     owner_phone=g["owner_phone"])])
        rep = report_summary(import_as(engine, env.user("province_admin"), "grids", data, "g.geojson"))
    return held(f"refused ({_codes(rep)})") if not rep["ok"] else failed("a 5 MB grid name stored")


@attack("3", "unit_rename_5mb")
def rename_5mb(env: Env):
    from lib import org

    with env.fresh() as engine:
        try:
            org.rename(engine, actor_for(org.rename, env.user("province_admin")), env.fx["own_unit"]["code"], FIVE_MB)
        except ValueError as exc:
            return held(f"refused: {type(exc).__name__}")
    return failed("a 5 MB org unit name stored")


@attack("3", "worklog_5mb_refused")
def worklog_5mb(env: Env):
    import datetime as dt

    from lib import visits

    with env.fresh() as engine:
        try:
            visits.add_log(engine, env.user(STATION), dt.date(2026, 11, 2), FIVE_MB)
        except ValueError as exc:
            return held(f"refused: {str(exc)[:60]}")
    return failed("a 5 MB work-log entry stored")


@attack("3", "vertical_tab_breaks_excel_download")
def vt_download(env: Env):
    import pandas as pd

    from lib import export

    rep, name = _stored_text(env, "下载\x0b测试物流有限公司")
    if not rep["ok"]:
        return held(f"refused at import ({_codes(rep)})")
    try:
        data = export.xlsx_bytes(pd.DataFrame({"name": [name]}))
    except Exception as exc:  # noqa: BLE001 - what a download would raise
        return failed(f"the Excel download of a stored \\x0b name raises {type(exc).__name__}")
    return held(f"the download works ({len(data)} bytes)")


__all__ = ["DEMO_END", "bomb", "csv_bytes", "geojson", "grid_feature"]
