"""The frame's contracts: one permission table, every session key named once, caches cleared by area.

Each detector test first proves on a planted snippet that it finds what it looks for.
"""
from __future__ import annotations

import ast
import datetime as dt
import functools
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from lib import auth, queries, tiers, ui, visits
from lib.ui.keys import Keys, all_keys

ROOT = Path(__file__).resolve().parent.parent
PAGE_FILES = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]
LIB_FILES = sorted((ROOT / "lib").rglob("*.py"))

# --- permissions 权限 ------------------------------------------------------------------------------

# Who may do what, written out independently of lib.auth: one column per role in this order.
ROLE_ORDER = ("province_admin", "province_viewer", "city_manager", "district_manager", "station_manager",
              "customer_manager")
MATRIX = {  # x = allowed, . = refused
    "page.overview": "xxxxxx", "page.tiers": "xxxxxx", "page.plan": "xxxxxx", "page.four_rates": "xxxxxx",
    "page.churn": "xxxxxx", "page.reports": "xxxxxx", "page.grid_map": "xxxxxx", "page.customer_map": "xxxxxx",
    "page.grid_edit": "x.xx..", "page.customers": "xxxxxx", "page.visits": "xxxxxx", "page.matters": "xxxxxx",
    "page.managers": "xxxxxx", "page.imports": "x.xxx.", "page.presentation": "xxxxxx",
    "page.audit": "x.....", "page.admin_users": "x.....",
    "customers.write": "x.xxxx", "visits.write": "x.xxxx", "matters.write": "x.xxxx",
    "matters.escalate_overdue": "x.xx..", "managers.rate": "x.xx..", "managers.plan": "x.xxx.",
    "tiers.override": "x.xx..", "plans.edit": "x.xx..", "surveys.record": "x.xxx.", "churn.task": "x.xxxx",
    "users.manage": "x.....",
    "page.checklist": "x.xxx.",
    "page.stations": "xxxxxx", "stations.edit": "x.xx..", "stations.sales": "x.xxx.",
    "managers.edit": "x.xx..", "rates.targets": "x.xx..",
    "page.setup": "x.....", "org.edit": "x.....",
    "development.edit": "x.xxxx",
    "grids.edit": "x.xx..", "visits.log_for_others": "x.xxx.",
    "imports.customers": "x.xxx.", "imports.consumption": "x.xxx.", "imports.traffic": "x.xxx.",
    "imports.visits": "x.xxx.", "imports.grids": "x.xx..", "imports.stations": "x.xx..",
    "imports.competitor_stations": "x.xx..", "imports.station_sales": "x.xxx.", "imports.managers": "x.xx..",
    "imports.users": "x.....", "imports.targets": "x.xx..", "imports.rate_targets": "x.xx..",
    "imports.surveys": "x.xxx.", "imports.org_units": "x.....", "imports.development": "x.xxx.",
    "imports.revert": "x.....",
    "page.surveys": "xxxxxx",  # issue 15: surveys 客户调查 (recording is surveys.record)
    "managers.confirm": "x.xx..",  # issue 15: trainee confirmation 转正 by the business department (003)
    "months.close": "x.....",
}


def test_roles_are_the_matrix_columns():
    assert set(ROLE_ORDER) == set(auth.ROLES)


def test_the_permission_table_has_exactly_the_matrix_actions():
    assert sorted(auth.PERMISSIONS) == sorted(MATRIX)


@pytest.mark.parametrize("action", sorted(MATRIX))
def test_role_by_action_matrix(action, capsys):
    allowed = "".join("x" if auth.can(role, action) else "." for role in ROLE_ORDER)
    print(f"{action:28} {allowed}")
    assert allowed == MATRIX[action]


# Tier ownership 分级管理主体 (issue 15; 002 §6.1.2 上级督导、本级负责, §6.4 owners), written out
# independently: per role, for the tiers station, district, city, province, whether the role may change a
# customer's tier-deciding figures (lib.customers.locked_fields) and move its tier (lib.tiers.check_owner).
TIER_MATRIX = {"province_admin": "xxxx", "province_viewer": "xxxx", "city_manager": "xxx.",
               "district_manager": "xx..", "station_manager": "x...", "customer_manager": "x..."}
TIER_ORDER = ("station", "district", "city", "province")


def _decides(role: str, tier: str) -> tuple[bool, bool]:
    """(may change the figures of a `tier` customer, owner level suffices to move a tier to or from `tier`)."""
    from lib import customers
    from lib.validation import ValidationError

    who = auth.SessionUser(0, role, role, role, "/37/")
    figures = not set(customers.TIER_FIELDS) & set(customers.locked_fields(who, {"computed_tier": tier,
                                                                                   "tier_override": None}))
    try:
        tiers.check_owner(who, tier, tier)
        moves = True
    except ValidationError:
        moves = False
    return figures, moves


def test_role_by_action_and_tier_matrix_printed():
    """The whole role × action table and the role × tier ownership table in one print (`pytest -s`),
    and the cells the rule book fixes (002 §6.1.1, §6.1.2, §6.4)."""
    head = " ".join(r.split("_")[0][:4] + r.split("_")[1][:1] for r in ROLE_ORDER)
    lines = [f"{'action':28} {head}"] + [
        f"{a:28} " + "     ".join("x" if auth.can(r, a) else "." for r in ROLE_ORDER) for a in sorted(auth.PERMISSIONS)]
    lines += ["", "owner level (002 §6.4) at or above the tier: may change its figures and move it",
              "(the role also needs customers.write / tiers.override above)",
              f"{'role':28} {' '.join(f'{t:9}' for t in TIER_ORDER)}"]
    table = {}
    for role in ROLE_ORDER:
        cells = [_decides(role, t) for t in TIER_ORDER]
        table[role] = "".join("x" if f else "." for f, _ in cells)
        assert table[role] == "".join("x" if m else "." for _, m in cells)  # one rule for figures and moves
        lines.append(f"{role:28} " + " ".join(f"{'x' if f else '.':9}" for f, _ in cells))
    print("\n" + "\n".join(lines))
    assert table == TIER_MATRIX
    assert not auth.can("station_manager", "tiers.override") and auth.can("district_manager", "tiers.override")
    assert not auth.can("customer_manager", "imports.customers") and auth.can("station_manager", "customers.write")
    assert not auth.can("province_viewer", "customers.write")


def test_can_with_a_target_checks_the_scope():
    user = auth.SessionUser(1, "area", "片区经理", "district_manager", "/37/3701/370102/")
    assert auth.can(user, "tiers.override", target="/37/3701/370102/370102003/")
    assert not auth.can(user, "tiers.override", target="/37/3702/")
    viewer = auth.SessionUser(2, "viewer", "省公司查看", "province_viewer", "/37/")
    assert not auth.can(viewer, "tiers.override", target="/37/3701/")


def test_require_raises_permission_error_and_unknown_actions_fail_loudly():
    viewer = auth.SessionUser(2, "viewer", "省公司查看", "province_viewer", "/37/")
    auth.require(viewer, "page.overview")
    with pytest.raises(PermissionError, match="province_viewer may not customers.write"):
        auth.require(viewer, "customers.write")
    with pytest.raises(KeyError):
        auth.can(viewer, "customers.wirte")


def test_navigation_reads_the_permission_table():
    for spec in ui.PAGES:
        assert spec.roles == auth.PERMISSIONS[f"page.{Path(spec.path).stem}"], spec.path
        assert spec.action in auth.PERMISSIONS
    assert set(MATRIX) >= {spec.action for spec in ui.PAGES}


def _role_literals(source: str) -> list[int]:
    """Line numbers of literal role collections or comparisons of `.role` with a role name."""
    roles = set(auth.ROLES)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts and all(
                isinstance(e, ast.Constant) and e.value in roles for e in node.elts):
            found.append(node.lineno)
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "role" for s in sides) and any(
                    isinstance(s, ast.Constant) and s.value in roles for s in sides):
                found.append(node.lineno)
    return sorted(set(found))


def test_role_detector_finds_planted_role_literals():
    planted = ('ok = user.role in ("province_admin", "city_manager")\nR = frozenset({"station_manager"})\n'
               'w = ctx.user.role != "province_viewer"\nT = ("org_unit", "customer_manager")\n')
    assert _role_literals(planted) == [1, 2, 3]  # the table names tuple is not a role list


def test_no_literal_role_collection_outside_auth():
    leaks = {str(p.relative_to(ROOT)): lines for p in [*PAGE_FILES, *LIB_FILES]
             if p != ROOT / "lib" / "auth.py" and (lines := _role_literals(p.read_text(encoding="utf-8")))}
    assert leaks == {}


# --- session-state and widget keys 会话键 ------------------------------------------------------------

_LITERAL = (ast.Constant, ast.JoinedStr)
_KEY_ARG_OF = {"table": 3, "download_buttons": 3}  # ui.table / ui.download_buttons take the key 4th


def _literal_keys(source: str) -> list[int]:
    """Line numbers where a page names a widget or session-state key with a literal string."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if any((kw.arg == "key" or (kw.arg or "").endswith("_key")) and isinstance(kw.value, _LITERAL)
                   for kw in node.keywords):
                found.append(node.lineno)
            elif name == "form" and node.args and isinstance(node.args[0], _LITERAL):
                found.append(node.lineno)
            elif name in _KEY_ARG_OF and len(node.args) > _KEY_ARG_OF[name] and isinstance(
                    node.args[_KEY_ARG_OF[name]], _LITERAL):
                found.append(node.lineno)
            elif (name in ("get", "pop", "setdefault") and isinstance(func, ast.Attribute)
                  and isinstance(func.value, ast.Attribute) and func.value.attr == "session_state"
                  and node.args and isinstance(node.args[0], _LITERAL)):
                found.append(node.lineno)
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
              and node.value.attr == "session_state" and isinstance(node.slice, _LITERAL)):
            found.append(node.lineno)
    return sorted(set(found))


def test_key_detector_finds_planted_literal_keys():
    planted = ('st.text_input("a", key="x_a")\nst.form("x_form")\nst.session_state["x"] = 1\n'
               'st.session_state.get(f"x_{i}")\nui.table(df, t, "name", "x_tab")\nsave(confirm_key="x_c")\n'
               'st.text_input("b", key=K.B)\nui.table(df, t, "name", K.TAB)\nst.session_state[K.X] = 2\n')
    assert _literal_keys(planted) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_pages_name_no_key_literally(path):
    assert _literal_keys(path.read_text(encoding="utf-8")) == []


def test_every_key_value_is_unique():
    values = Counter(all_keys().values())
    assert [v for v, n in values.items() if n > 1] == []
    assert len(values) > 200  # the pages' keys are all there


def test_keys_built_at_run_time_keep_their_old_values():
    """The browser tests and users' sessions see the same keys as before the Keys class."""
    C = Keys.Customers
    assert Keys.row(C.EDIT, 7) == "cust_edit_7"
    assert C.field(Keys.row(C.EDIT, 7), "credit_code") == "cust_edit_7_cc"
    assert C.field(C.NEW, "sub_type", "institutional") == "cust_new_sub_institutional"
    assert C.field(C.NEW, "gasoline_t") == "cust_new_gasoline_t"
    assert C.duplicates(C.NEW_CONFIRM) == "cust_new_confirm_dups"
    assert Keys.table(Keys.Matters.WAITING) == "matter_wait_table"
    assert Keys.csv(Keys.download(Keys.Matters.WAITING)) == "matter_wait_dl_csv"
    assert Keys.row(Keys.Presentation.FILE, "pdf") == "present_file_pdf"
    assert Keys.LANG_WIDGET.format(place="login") == "login_lang_widget"


def test_only_the_cache_module_clears_caches():
    offenders = [str(p.relative_to(ROOT)) for p in [*PAGE_FILES, *LIB_FILES]
                 if "cache_data.clear" in p.read_text(encoding="utf-8") and p.name != "cache.py"]
    assert offenders == []


def test_every_ui_name_a_page_uses_exists():
    used = set()
    for path in PAGE_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ui":
                used.add(node.attr)
    assert {"guard", "cached", "table", "Keys", "invalidate"} <= used
    assert [name for name in sorted(used) if not hasattr(ui, name)] == []


# --- caches cleared by data area 缓存 -----------------------------------------------------------------


def _counting(fn, calls: Counter):
    """`fn` with a call counter; functools.wraps keeps its module and name, hence its data areas."""
    @functools.wraps(fn)
    def spy(*args, **kwargs):
        calls[fn.__name__] += 1
        return fn(*args, **kwargs)
    return spy


def test_readers_depend_on_the_areas_of_their_module():
    assert "visits" not in ui.areas_of(tiers.distribution)
    assert "visits" in ui.areas_of(visits.by_owner)
    assert ui.areas_of(queries.org_units) == {"org"}
    assert ui.areas_of(queries.overview) == ui.AREAS  # not listed: depends on everything


# Which data area each table belongs to (a summary table belongs to the areas it is built from).
TABLE_AREAS = {
    "org_unit": {"org"}, "station": {"org"}, "competitor_station": {"org"}, "four_rate_target": {"org"},
    "customer": {"customers"}, "customer_monthly": {"customers", "consumption"},
    "station_monthly": {"customers", "consumption"}, "monthly_consumption": {"consumption"},
    "station_traffic": {"consumption"}, "visit": {"visits"}, "work_log": {"visits"},
    "matter": {"matters"}, "matter_event": {"matters"}, "matter_flow": {"matters"}, "win_back_task": {"tasks"},
    "development": {"plans"}, "development_plan": {"plans"}, "survey_submission": {"plans"},
    "customer_manager": {"managers"}, "manager_plan": {"managers"}, "manager_rating": {"managers"},
    "grid": {"grids"}, "patch": {"grids"}, "app_user": {"users"},
    "station_sales": {"org"},  # monthly station sales: the stations' daily sales and grade (lib.stations)
    "development_stage": {"plans"},  # a development case's stage log (issue 15)
}


@pytest.mark.parametrize("module", sorted(ui.cache.READS))
def test_a_module_reads_only_tables_of_its_areas(module):
    """Every table a reader module's SQL names lies in the areas READS gives it (else a write to that
    table would leave its cached results stale). The audit log is read uncached (grid history)."""
    import re

    source = (ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
    tables = set(re.findall(r"(?:FROM|JOIN)\s+([a-z_]+)", source)) & (set(TABLE_AREAS) | {"audit_log"})
    needed = set().union(*(TABLE_AREAS.get(t, set()) for t in tables))
    assert needed - ui.cache.READS[module] == set(), sorted(tables)


def test_a_visits_write_keeps_the_tiers_readers_cached(engine):
    """After a visit is recorded (the page calls ui.invalidate("visits")), the tiers dashboard's
    reader answers from its cache while the visits reader and the everything-reader recompute."""
    with engine.connect() as conn:
        scope = conn.execute(text("SELECT path FROM org_unit WHERE parent_id IS NULL")).scalar_one()
    month, today = "2026-10", dt.date(2026, 10, 20)
    calls: Counter = Counter()
    dist = ui.cached(_counting(tiers.distribution, calls))
    owners = ui.cached(_counting(visits.by_owner, calls))
    overview = ui.cached(_counting(queries.overview, calls))
    ui.invalidate()  # start cold (other tests may have filled these caches)

    def read_all():
        return dist(engine, scope, month), owners(engine, scope, today), overview(engine, scope, month)

    first = read_all()
    read_all()
    assert calls == Counter(distribution=1, by_owner=1, overview=1)  # the second read came from cache
    assert ui.invalidate("visits") >= 2
    again = read_all()
    assert calls == Counter(distribution=1, by_owner=2, overview=2)
    assert again[0].equals(first[0]) and again[1].equals(first[1])
    ui.invalidate("customers")
    read_all()
    assert calls == Counter(distribution=2, by_owner=3, overview=3)


def test_unknown_areas_are_refused():
    with pytest.raises(ValueError, match="unknown data areas"):
        ui.invalidate("visit")
    with pytest.raises(ValueError, match="unknown data areas"):
        ui.cached(tiers.distribution, areas=("tier",))


def test_every_import_kind_names_its_areas():
    from lib import importer

    assert set(ui.IMPORT_AREAS) == set(importer.KINDS)
    assert all(set(a) <= ui.AREAS for a in ui.IMPORT_AREAS.values())
