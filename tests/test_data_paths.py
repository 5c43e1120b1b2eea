"""Data paths 数据来源 (issue 13 §4): every table a page reads, and the non-demo function that writes it.

No dashboard may depend on data that only `lib/demo*.py` can write. The tables a page reads are
derived from its source: the lib modules it imports (and theirs, transitively; lib.demo and the
frame's lib.ui excluded, lib.queries added for the sidebar), and the SQL table names of those
modules (`FROM`/`JOIN`, as tests/test_ui.py does). `WRITERS` below names, for each table, the page
form (a lib function and the page or flow that calls it) or the import kind that writes it; the
tests check each claim (the function's SQL writes that table, the page calls it, the import kind
exists) and that every table read has a verified writer: no expected failures, every kind is merged.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from lib import importer
from lib.models import Base

ROOT = Path(__file__).resolve().parent.parent
TABLES = set(Base.metadata.tables)
READ_SQL = re.compile(r"(?:FROM|JOIN)\s+([a-z_]+)")
ALWAYS = ("lib.queries",)  # the frame's sidebar (scope, months) reads through lib.queries on every page

# table → [(writer, caller)]: writer "import:<kind>" (lib.importer.import_file) or a lib function
# "lib.module.function" with the page (or flow) that calls it. Derived tables name the refresh the
# import and the forms run in their transaction.
WRITERS: dict[str, list[tuple[str, str | None]]] = {
    "org_unit": [("lib.auth.create_first_admin", "lib/ui/login.py"), ("import:org_units", None)],
    "station": [("import:stations", None)],
    "station_sales": [("import:station_sales", None)],
    "competitor_station": [("import:competitor_stations", None)],
    "grid": [("import:grids", None), ("lib.maps.editing.save_grid_geometries", "pages/grid_edit.py")],
    "customer": [("import:customers", None), ("lib.customers.create", "pages/customers.py"),
                 ("lib.tiers.set_override", "pages/tiers.py")],
    "monthly_consumption": [("import:consumption", None)],
    "station_traffic": [("import:traffic", None)],
    "four_rate_target": [("import:rate_targets", None)],
    "station_monthly": [("lib.summary.refresh_station_monthly", "lib/importer/write.py")],
    "customer_monthly": [("lib.summary.refresh_customer_monthly", "lib/importer/write.py")],
    "development_plan": [("lib.development.set_target", "pages/plan.py"), ("import:targets", None)],
    "survey_submission": [("import:surveys", None), ("lib.surveys.record_survey", "pages/surveys.py")],
    # development cases 客户开发 (002 §6.5.4): opened and moved on the plan page's pipeline tab
    # (the forms of pages/plan.py and pages/customers.py are lib.ui.cases's)
    "development": [("lib.development.open_case", "lib/ui/cases.py"), ("lib.development.advance", "lib/ui/cases.py"),
                    ("lib.development.take", "lib/ui/cases.py"), ("import:development", None)],
    # the stage log 开发过程记录 (issue 15): each open, move and take writes a row; the import too
    "development_stage": [("lib.development.open_case", "lib/ui/cases.py"), ("lib.development.advance", "lib/ui/cases.py"),
                          ("import:development", None)],
    "customer_manager": [("import:managers", None)],
    "manager_rating": [("lib.managers.rate", "pages/managers.py")],
    "manager_plan": [("lib.managers.set_plan", "pages/managers.py")],
    "visit": [("import:visits", None), ("lib.visits.record", "pages/visits.py"), ("lib.visits.plan", "pages/visits.py")],
    "work_log": [("lib.visits.add_log", "pages/visits.py")],
    "matter": [("lib.matters.register", "pages/matters.py")],
    "matter_event": [("lib.matters.act", "pages/matters.py")],
    "matter_flow": [("lib.matters.register", "pages/matters.py")],
    "win_back_task": [("lib.tracking.create_task", "pages/churn.py"), ("lib.tracking.close_task", "pages/churn.py")],
    # the users page: pages/admin_users.py → lib.auth.create_user_once → lib.importer.people.create_one_user
    # → write_users → lib.auth.insert_user (one-time password 初始密码), checked from its last step
    "app_user": [("lib.auth.insert_user", "lib/importer/people.py"),
                 ("lib.auth.create_first_admin", "lib/ui/login.py"), ("import:users", None)],
    "audit_log": [("lib.auth.audit", "lib/importer/__init__.py")],
    "patch": [],  # patches 包区: no page reads them yet
    # import batches and their per-row changes 导入批次 (issue 14): every import records them (revert)
    "import_batch": [("lib.importer.revert.record", "lib/importer/__init__.py")],
    "import_change": [("lib.importer.revert.record", "lib/importer/__init__.py")],
    # key customer special surveys 重点客户专项调查 (002 §6.5.2, issue 15): the surveys page and the surveys import
    "special_survey": [("lib.surveys.record_special_survey", "pages/surveys.py"), ("import:surveys", None)],
    # tier history 等级历史 and closed months 已关账 (issue 15): every tier change notes it; the reports page closes
    "customer_tier_before": [("lib.tier_history.note_changes", "lib/importer/write.py"), ("import:customers", None)],
    "month_close": [("lib.months.close_month", "pages/reports.py")],
}


# --- what pages read ---------------------------------------------------------------------------------


def module_file(module: str) -> Path | None:
    base = ROOT / module.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def lib_imports(source: str) -> set[str]:
    """The lib modules a source imports (`from lib import a`, `from lib.x import y`, `import lib.x`)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lib":
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if module_file(f"{node.module}.{a.name}")}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "lib"}
    return {m for m in found if module_file(m) and m != "lib"}


def _excluded(module: str) -> bool:
    return module.startswith(("lib.demo", "lib.ui", "lib.models"))


def modules_read_by(page: Path) -> set[str]:
    """The lib modules page `page` runs, transitively (lib.demo, lib.ui, lib.models left out)."""
    todo = {m for m in lib_imports(page.read_text(encoding="utf-8")) if not _excluded(m)} | set(ALWAYS)
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        seen.add(module)
        todo |= {m for m in lib_imports(module_file(module).read_text(encoding="utf-8"))
                 if not _excluded(m) and m not in seen}
    return seen


def tables_read(source: str) -> set[str]:
    """The model tables an SQL-bearing source names after FROM or JOIN."""
    return set(READ_SQL.findall(source)) & TABLES


def tables_read_by(page: Path) -> set[str]:
    return set().union(*(tables_read(module_file(m).read_text(encoding="utf-8")) for m in modules_read_by(page)))


PAGES = sorted((ROOT / "pages").glob("*.py"))
READ_BY_PAGES = {p.stem: tables_read_by(p) for p in PAGES}
ALL_READ = set().union(*READ_BY_PAGES.values())


# --- what writes -------------------------------------------------------------------------------------


def writes_table(source: str, table: str) -> bool:
    """Whether `source` writes `table`: INSERT/UPDATE/DELETE on it, lib.db.upsert of it, a bulk insert
    of its model's __table__, or an INSERT built for it (lib.importer.write._insert_sql)."""
    model = next((m.class_.__name__ for m in Base.registry.mappers if m.local_table.name == table), None)
    patterns = [rf"(?:INSERT INTO|UPDATE|DELETE FROM)\s+{table}\b", rf"upsert\(\s*conn,\s*\"{table}\"",
                rf"_insert_sql\(\s*\"{table}\"",  # lib.importer.write
                rf"bulk_insert\(\s*conn,\s*_table\(\"{table}\"\)",  # lib.importer.revert: reflected tables
                rf"(\w+)\s*=\s*_table\(\"{table}\"\)[\s\S]*?\binsert\(\1\)"]
    if model:
        patterns.append(rf"\b{model}\.__table__")
    return any(re.search(p, source) for p in patterns)


def _exists(path: str) -> bool:
    module_name, name = path.rsplit(".", 1)
    return hasattr(importlib.import_module(module_name), name)


def function_source(path: str) -> str:
    """The source of lib function `path` and of the functions of its module it calls, transitively,
    so a public function writing through helpers (`create_user_once` → `insert_user` → `_insert_user`)
    counts."""
    module_name, name = path.rsplit(".", 1)
    module = importlib.import_module(module_name)
    sources, todo, seen = [], [name], set()
    while todo:
        current = todo.pop()
        seen.add(current)
        source = inspect.getsource(getattr(module, current))
        sources.append(source)
        for called in set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\(", source)) - seen:
            fn = getattr(module, called, None)
            if inspect.isfunction(fn) and fn.__module__ == module_name:
                todo.append(called)
    return "\n".join(sources)


def verify(table: str, writer: str, caller: str | None) -> str | None:
    """None when the claim holds; else why not."""
    if writer.startswith("import:"):
        kind = writer.split(":", 1)[1]
        return None if kind in importer.KINDS else f"unknown import kind {kind}"
    if not _exists(writer):
        return f"{writer} does not exist"
    if writer.startswith("lib.demo"):
        return "a demo writer does not count"
    if not writes_table(function_source(writer), table):
        return f"{writer} does not write {table}"
    name = writer.rsplit(".", 1)[1]
    if caller is None or not re.search(rf"\b{name}\b", (ROOT / caller).read_text(encoding="utf-8")):
        return f"{caller} does not call {name}"
    return None


# --- tests -------------------------------------------------------------------------------------------


def test_the_detectors_find_what_they_look_for():
    planted = 'rows = read_df(e, "SELECT x FROM station_traffic t JOIN station s ON s.id = t.station_id")'
    assert tables_read(planted) == {"station_traffic", "station"}
    assert writes_table('conn.execute(text("INSERT INTO grid (code) VALUES (:c)"))', "grid")
    assert writes_table('upsert(conn, "development_plan", {})', "development_plan")
    assert writes_table("bulk_insert(conn, MonthlyConsumption.__table__, cols)", "monthly_consumption")
    assert not writes_table('read_df(e, "SELECT * FROM grid")', "grid")
    assert lib_imports("from lib import fmt, ui\nfrom lib.maps import data\nimport lib.tiers\n") == {
        "lib.fmt", "lib.ui", "lib.maps", "lib.maps.data", "lib.tiers"}


def test_pages_read_the_tables_their_dashboards_show():
    """The derivation sees what each dashboard is known to read (a check of the check)."""
    assert {"station_traffic", "four_rate_target"} <= READ_BY_PAGES["four_rates"]
    assert {"development_plan", "survey_submission", "development"} <= READ_BY_PAGES["plan"]
    assert {"grid", "org_unit", "competitor_station"} <= READ_BY_PAGES["grid_map"]
    assert {"station_monthly", "monthly_consumption"} <= READ_BY_PAGES["overview"]
    assert "audit_log" in READ_BY_PAGES["audit"]
    assert "station_sales" in READ_BY_PAGES["checklist"]


def test_the_writer_table_lists_every_table_pages_read():
    assert sorted(ALL_READ - set(WRITERS)) == []
    assert set(WRITERS) <= TABLES


@pytest.mark.parametrize("table,writer,caller", [(t, w, c) for t, ws in WRITERS.items() for w, c in ws],
                         ids=[f"{t}<-{w}" for t, ws in WRITERS.items() for w, _ in ws])
def test_each_claimed_writer_writes_its_table(table, writer, caller):
    """A claim in WRITERS is true: the function writes the table and its caller calls it, or the import
    kind exists."""
    why = verify(table, writer, caller)
    assert why is None, why


@pytest.mark.parametrize("table", sorted(ALL_READ))
def test_every_table_a_page_reads_has_a_writer_outside_demo(table):
    """The issue's rule: for each table a page reads, a page form or an import writes it (not lib.demo)."""
    claims = WRITERS.get(table, [])
    results = [verify(table, w, c) for w, c in claims]
    if None in results:
        return
    pytest.fail(f"{table} is read by pages {sorted(p for p, ts in READ_BY_PAGES.items() if table in ts)} "
                f"but has no writer outside lib.demo: {list(zip([w for w, _ in claims], results))}")


def test_print_the_data_paths(capsys):
    """The table of data paths (pytest -s shows it): table, pages reading it, verified writers."""
    with capsys.disabled():
        for table in sorted(ALL_READ):
            readers = ",".join(sorted(p for p, ts in READ_BY_PAGES.items() if table in ts))
            writers = [w + ("" if verify(table, w, c) is None else " (NOT VERIFIED)") for w, c in WRITERS.get(table, [])]
            print(f"{table:20} read by {len(readers.split(',')):2} pages; written by {', '.join(writers) or '—'}")
    assert len(ALL_READ) >= 20


def test_the_users_page_reaches_insert_user():
    """The app_user claim above is checked from its last step; the steps before it, as source calls."""
    from lib import auth
    from lib.importer import people

    assert re.search(r"\bauth\.create_user_once\(", (ROOT / "pages/admin_users.py").read_text(encoding="utf-8"))
    assert re.search(r"\bpeople\.create_one_user\(", inspect.getsource(auth.create_user_once))
    assert re.search(r"\bwrite_users\(", inspect.getsource(people.create_one_user))
    assert re.search(r"\bauth\.insert_user\(", inspect.getsource(people.write_users))
