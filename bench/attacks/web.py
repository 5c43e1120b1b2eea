"""Attacks on pages, sessions and the demo (classes 5, 6, 7) and the things that held in the first
campaign (class 0): markdown injection rendered through AppTest, lockout aimed at the admin, weak
passwords, a login while the write lock is held, the setup token, the demo's bind address, XSRF,
static path traversal against a running server, reads by foreign id, kill -9 during an import.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import text

from bench.attacks.core import Env, attack, count, failed, held, import_as, params, report_summary, run_child
from bench.attacks.imports import csv_bytes

ROOT = Path(__file__).resolve().parents[2]
EVIL = "![m](http://a.invalid/x) [l](http://a.invalid/l) :red[红] **粗**"  # cut to each column's length
MARKERS = ("![m](http://a.invalid", "[l](http://a.invalid", ":red[")
SKIP_NODES = ("arrow_data_frame", "iframe", "html", "plotly_chart", "deck_gl_json_chart", "vega_lite_chart",
              "json", "code", "dataframe", "table", "component_instance")  # maps: HTML, not markdown


# --- class 5: markdown injection -------------------------------------------------------------------


def _poison(engine, scope: str) -> None:
    """Hostile text in every user-entered field the issue names, inside `scope`."""
    like = scope + "%"
    stmts = [  # cut to the column's length (PostgreSQL refuses longer text); the image comes first
        "UPDATE customer SET name = CAST(:e AS TEXT), contact = CAST(:e50 AS TEXT) WHERE org_path LIKE :p",
        "UPDATE customer SET tier_override_reason = CAST(:e AS TEXT) WHERE tier_override IS NOT NULL",
        "UPDATE grid SET name = CAST(:e AS TEXT), owner_name = CAST(:e50 AS TEXT), owner_phone = CAST(:e30 AS TEXT)",
        "UPDATE matter SET title = CAST(:e AS TEXT), description = CAST(:e AS TEXT) WHERE org_path LIKE :p",
        "UPDATE work_log SET content = CAST(:e AS TEXT) WHERE org_path LIKE :p",
        "UPDATE visit SET note = CAST(:e AS TEXT) WHERE org_path LIKE :p",
        "UPDATE customer_manager SET name = CAST(:e50 AS TEXT) WHERE org_path LIKE :p",
    ]
    with engine.begin() as conn:
        for sql in stmts:
            conn.execute(text(sql), {"e": EVIL, "e50": EVIL[:50], "e30": EVIL[:30], "p": like})


def _hostile_url(env: Env) -> str:
    """One poisoned copy of the attack database for all the page attacks of the run."""
    if "hostile_url" not in env.fx:
        from lib.db import make_engine

        url = env.copy_url()
        engine = make_engine(url)
        _poison(engine, "/37/3701/")
        engine.dispose()
        env.fx["hostile_url"] = url
    return env.fx["hostile_url"]


def _walk(node):
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _walk(child)


def _markdown_text(node) -> str:
    """What of a node Streamlit renders as markdown: a widget's (or metric's, expander's) label and
    help; the whole body of markdown, headings, captions and alerts. Options, values and data are
    plain text and are not looked at."""
    proto = getattr(node, "proto", None)
    if proto is None:
        return ""
    if hasattr(proto, "label"):
        return f"{proto.label} {getattr(proto, 'help', '')}"
    return str(proto)


def _rendered_hits(at) -> list[str]:
    """Element types whose rendered markdown carries a hostile marker unescaped."""
    hits = []
    for node in _walk(at._tree):
        kind = getattr(node, "type", "")
        if kind in SKIP_NODES:
            continue
        if any(m in _markdown_text(node) for m in MARKERS):
            hits.append(kind or type(node).__name__)
    return hits


def _render(env: Env, page: str, login: str):
    os.environ["DATABASE_URL"] = _hostile_url(env)
    sys.path.insert(0, str(ROOT))
    from tests.apptest_helpers import app  # the page tests' way of logging in (kept working by the fixes)

    at = app(login, lang="en")
    at.run(timeout=120)
    at.switch_page(page)
    at.run(timeout=120)
    return at


def page_attack(env: Env, page: str):
    from lib import auth
    from lib.ui.navigation import PAGES

    spec = next(p for p in PAGES if p.path == page)
    found = {}
    for login, role in (("admin", "province_admin"), ("station", "station_manager")):
        if not auth.can(role, spec.action):
            continue
        at = _render(env, page, login)
        if at.exception:
            return "error", f"the page raised as {login}: {str(at.exception[0].value)[:120]}"
        hits = _rendered_hits(at)
        if hits:
            found[login] = sorted(set(hits))
    if found:
        return failed("hostile markdown rendered in " + "; ".join(f"{k}: {', '.join(v)}" for k, v in found.items()))
    return held("no hostile markdown in the rendered page")


def _pages() -> list[str]:
    from lib.ui.navigation import PAGES

    return [spec.path for spec in PAGES]


QUICK_PAGES = {"pages/customers.py", "pages/matters.py", "pages/visits.py"}
for _page in _pages():
    attack("5", f"page_{Path(_page).stem}", quick=_page in QUICK_PAGES)(functools.partial(page_attack, page=_page))


# --- class 6: sessions and logins ------------------------------------------------------------------


def _login(engine, login: str, password: str, source: str):
    """lib.auth.authenticate from `source` (an address), when the function takes one."""
    from lib import auth

    p = params(auth.authenticate)
    name = next((n for n in p if n in ("source", "ip", "address", "remote", "client", "forwarded_for", "remote_ip")),
                None)
    kw = {name: source} if name else {}
    return auth.authenticate(engine, login, password, **kw)


@attack("6", "lockout_aimed_at_admin", quick=True)
def lockout(env: Env):
    from lib import auth

    with env.fresh() as engine:
        for _ in range(auth.MAX_FAILURES + 1):
            _login(engine, "admin", "guess-wrong", "203.0.113.66")
        res = _login(engine, "admin", auth.DEMO_PASSWORD, "10.1.2.3")
    if res.user is not None:
        return held("the admin logs in from another source after 6 wrong guesses from one")
    return failed(f"the admin is locked out by a stranger's guesses ({res.reason})")


def _session_survives(env: Env, action) -> tuple[bool, str]:
    """Log in as custmgr, do `action(engine, admin)`, say whether that login's session still works: the
    server-side session token the login returns when lib.auth keeps one (issue 14), else the session
    as it was before, keyed by the user id."""
    import datetime as dt

    from lib import auth

    uid = env.fx["user_ids"]["customer_manager"]
    with env.fresh() as engine:
        res = _login(engine, "custmgr", auth.DEMO_PASSWORD, "10.1.2.3")
        token = getattr(res, "token", None)
        action(engine, env.user("province_admin"))
        if token is not None:
            alive = auth.check_session(engine, token, dt.timedelta(hours=1)).user is not None
        else:
            alive = auth.session_user(engine, uid) is not None
    return alive, "server-side session" if token is not None else "session keyed by user id"


def _admin_call(fn, engine, admin, *args):
    from bench.attacks.core import actor_for

    return fn(engine, actor_for(fn, admin), *args)


@attack("6", "reset_ends_other_sessions", quick=True)
def reset_sessions(env: Env):
    from lib import auth

    uid = env.fx["user_ids"]["customer_manager"]
    alive, how = _session_survives(env, lambda e, a: _admin_call(auth.reset_password, e, a, uid, "Qz7!reset-pw-2026#z"))
    return failed(f"the session survives a password reset ({how})") if alive else held(f"reset ended it ({how})")


@attack("6", "deactivation_ends_sessions")
def deactivate_sessions(env: Env):
    from lib import auth

    uid = env.fx["user_ids"]["customer_manager"]
    alive, how = _session_survives(env, lambda e, a: _admin_call(auth.set_active, e, a, uid, False))
    return failed(f"the session survives deactivation ({how})") if alive else held(f"deactivation ended it ({how})")


def weak_password(env: Env, password: str):
    from lib import auth

    with env.fresh() as engine:
        try:
            auth.change_own_password(engine, env.fx["user_ids"]["customer_manager"], auth.DEMO_PASSWORD, password)
        except ValueError as exc:
            return held(f"refused: {str(exc)[:80]}")
    return failed(f"{password!r} accepted as a new password")


for _pw, _q in (("aaaaaaaa", True), ("12345678", True), ("password", False), ("qwertyui", False),
                ("11111111", False), ("admin123", False)):
    attack("6", f"weak_password_{_pw}", quick=_q)(functools.partial(weak_password, password=_pw))


@attack("6", "weak_password_by_admin_reset")
def weak_reset(env: Env):
    from lib import auth

    with env.fresh() as engine:
        try:
            _admin_call(auth.reset_password, engine, env.user("province_admin"), env.fx["user_ids"]["station_manager"],
                        "12345678")
        except ValueError as exc:
            return held(f"refused: {str(exc)[:80]}")
    return failed("'12345678' set by an admin's reset")


HOLD_S = 10.0


@attack("6", "login_during_write_lock", quick=True)
def login_locked(env: Env):
    from lib import auth, db

    with env.fresh() as engine:
        taken, release = threading.Event(), threading.Event()

        def hold():
            with db.write(engine) as conn:
                conn.execute(text("UPDATE station SET nozzles = nozzles WHERE id = 1"))
                taken.set()
                release.wait(HOLD_S)

        th = threading.Thread(target=hold, daemon=True)
        th.start()
        taken.wait(10)
        t0 = time.perf_counter()
        try:
            res = _login(engine, "admin", auth.DEMO_PASSWORD, "10.1.2.3")
            what = "logged in" if res.user else f"refused ({res.reason})"
        except Exception as exc:  # noqa: BLE001 - what the login page would show
            busy = type(exc).__name__ == "Busy"  # lib.auth.Busy: the page says 系统繁忙 (the "busy" message)
            what = "told busy" if busy else f"raised {type(exc).__name__}"
        secs = time.perf_counter() - t0
        release.set()
        th.join()
    if secs > 5 or what.startswith("raised"):
        return failed(f"login during a held write lock: {what} after {secs:.1f} s")
    return held(f"login answered in {secs:.1f} s: {what}")


@attack("6", "setup_token_printed_when_set", quick=True)
def setup_token(env: Env):
    from lib import auth

    old_env, old_tok = os.environ.get("GRIDCRM_SETUP_TOKEN"), auth._SETUP_TOKEN
    os.environ["GRIDCRM_SETUP_TOKEN"] = "attack-token-7f3a"
    auth._SETUP_TOKEN = None
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            auth.setup_token()
    finally:
        auth._SETUP_TOKEN = old_tok
        if old_env is None:
            os.environ.pop("GRIDCRM_SETUP_TOKEN", None)
        else:
            os.environ["GRIDCRM_SETUP_TOKEN"] = old_env
    logged = "attack-token-7f3a" in out.getvalue() + err.getvalue()
    return failed("the token set in GRIDCRM_SETUP_TOKEN is printed to the log") if logged else held("not printed")


SQL_WORDS = re.compile(r"\b(INSERT INTO|SELECT .* FROM|UPDATE \w+ SET|\[SQL:|sqlite3\.|psycopg)", re.I)


@attack("6", "import_error_shows_sql", quick=True)
def error_sql(env: Env):
    c = env.fx["own_customer"]
    data = csv_bytes(["customer_code", "month", "gasoline_t"], [[c["code"], "2026-11", "1"]])
    with env.fresh() as engine:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE audit_log"))  # a database failure in the middle of the import
        rep = report_summary(import_as(engine, env.user("station_manager"), "consumption", data, "e.csv"))
    texts = [e["message"] + " " + " ".join(e["params"].values()) for e in rep["errors"]]
    leaked = [t for t in texts if SQL_WORDS.search(t) or "/work/" in t or ".py" in t]
    if rep["ok"]:
        return "error", "the import succeeded without its audit table"
    return failed(f"the user sees: {leaked[0][:120]}") if leaked else held(f"message without SQL ({rep['errors'][0]['code']})")


# --- class 7: the demo's exposure -------------------------------------------------------------------


def _config() -> dict:
    path = ROOT / ".streamlit" / "config.toml"
    return tomllib.loads(path.read_text()) if path.exists() else {}


LOCAL = ("127.0.0.1", "localhost", "::1")


@attack("7", "config_binds_localhost", quick=True)
def config_address(env: Env):
    addr = _config().get("server", {}).get("address")
    return held(f"server.address = {addr}") if addr in LOCAL else failed(f"server.address = {addr!r}: every interface")


@attack("7", "readme_quick_start_localhost")
def readme(env: Env):
    text_ = (ROOT / "README.md").read_text()
    start = text_.split("## Quick start", 1)[-1].split("\n## ", 1)[0]
    cmd = next((ln for ln in start.splitlines() if "streamlit run" in ln), "")
    if "--server.address" in cmd and any(a in cmd for a in LOCAL):
        return held("the quick start binds to localhost")
    if _config().get("server", {}).get("address") in LOCAL:
        return held("the quick start relies on config.toml's localhost address")
    return failed("the quick start's `streamlit run app.py` serves on every interface")


@attack("7", "demo_password_on_exposed_login", quick=True)
def demo_password(env: Env):
    from lib import auth

    os.environ["DATABASE_URL"] = _hostile_url(env)  # never the base: PostgreSQL copies it as a template
    os.environ["GRIDCRM_DEMO"] = "1"  # the quick start's default: the demo database
    from tests.apptest_helpers import app

    try:
        at = app(None, lang="en")
        at.run(timeout=120)
    finally:
        os.environ.pop("GRIDCRM_DEMO", None)
    shown = any(auth.DEMO_PASSWORD in str(getattr(n, "proto", "")) for n in _walk(at._tree))
    exposed = _config().get("server", {}).get("address") not in LOCAL
    if shown and exposed:
        return failed("the login page prints the demo password and the server answers on every interface")
    return held(f"password shown: {shown}; exposed: {exposed}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(env: Env) -> dict:
    """A real server (streamlit run app.py) on a copy of the attack database, started once per run."""
    if "server" in env.fx:
        return env.fx["server"]
    port = _free_port()
    url = env.copy_url()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=ROOT, env=os.environ | {"DATABASE_URL": url},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not _answers(port):
        time.sleep(0.3)
    env.fx["server"] = {"proc": proc, "port": port}
    return env.fx["server"]


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop_server(env: Env) -> None:
    srv = env.fx.pop("server", None)
    if srv:
        srv["proc"].kill()
        srv["proc"].wait()


def _listening(port: int) -> list[str]:
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    return [ln.split()[3].rsplit(":", 1)[0] for ln in out.splitlines() if ln.strip()]


@attack("7", "server_listens_on_all_interfaces", full_only=True)
def listens(env: Env):
    srv = _server(env)
    addrs = _listening(srv["port"])
    if not addrs:
        return "error", "the server did not start"
    wide = [a for a in addrs if a.strip("[]") not in LOCAL and not a.startswith("127.")]
    return failed(f"listening on {', '.join(addrs)}") if wide else held(f"listening on {', '.join(addrs)} only")


# --- class 0: what held in the first campaign -------------------------------------------------------


@attack("0", "xsrf_and_cors_on", quick=True)
def xsrf(env: Env):
    server = _config().get("server", {})
    off = [k for k in ("enableXsrfProtection", "enableCORS") if server.get(k) is False]
    return failed(f"{', '.join(off)} switched off") if off else held("XSRF protection and CORS checks on (defaults)")


TRAVERSALS = ("/app/static/../../app.py", "/app/static/%2e%2e/%2e%2e/app.py", "/static/..%2f..%2fapp.py",
              "/component/lib.maps.assets.files/..%2f..%2f..%2fapp.py", "/media/..%2f..%2fapp.py")


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except (urllib.error.URLError, OSError):
        return 0, b""


def traversal(env: Env, path: str):
    srv = _server(env)
    status, body = _get(srv["port"], path)
    if status == 0:
        return "error", "the server did not answer"
    if status == 200 and b"st.navigation" in body or b"import streamlit" in body:
        return failed(f"{path} served the source ({len(body)} bytes)")
    return held(f"{path}: HTTP {status}, no source")


for _i, _p in enumerate(TRAVERSALS):
    attack("0", f"static_traversal_{_i + 1}", full_only=True)(functools.partial(traversal, path=_p))


def foreign_read(env: Env, reader: str):
    from lib import customers, matters

    user = env.user("station_manager")
    fid, mid = env.fx["foreign_customer"]["id"], env.fx["foreign_matter"]["id"]
    calls = {"customers.get": lambda e: customers.get(e, user.scope, fid),
             "customers.profile": lambda e: customers.profile(e, user.scope, fid),
             "matters.get": lambda e: matters.get(e, user.scope, mid),
             "matters.history": lambda e: matters.history(e, user.scope, mid)}
    with env.fresh() as engine:
        got = calls[reader](engine)
    empty = got is None or (hasattr(got, "empty") and got.empty)
    return held(f"{reader} of a foreign id: nothing") if empty else failed(f"{reader} returned a foreign row")


for _r in ("customers.get", "customers.profile", "matters.get", "matters.history"):
    attack("0", f"foreign_id_{_r.replace('.', '_')}", quick=_r == "customers.get")(functools.partial(foreign_read, reader=_r))


@attack("0", "refused_import_changes_nothing", quick=True)
def refused(env: Env):
    with env.fresh() as engine:
        with engine.connect() as conn:
            codes = conn.execute(text("SELECT code FROM customer ORDER BY id LIMIT 500")).scalars().all()
        rows = [[c, "2026-11", "3"] for c in codes] + [[codes[0], "2026-11", "abc"]]
        before = (count(engine, "monthly_consumption"), count(engine, "audit_log"))
        rep = report_summary(import_as(engine, env.user("province_admin"), "consumption",
                                       csv_bytes(["customer_code", "month", "gasoline_t"], rows), "r.csv"))
        after = (count(engine, "monthly_consumption"), count(engine, "audit_log"))
    if rep["ok"]:
        return failed("a file with a bad row was accepted")
    return held("refused, nothing changed") if before == after else failed(f"refused but {before} → {after}")


KILL_ROWS = 50_000


def _kill_file(env: Env) -> bytes:
    if "kill_file" not in env.fx:
        st = env.fx["own_station"]["code"]
        rows = [[f"杀进程测试{i:05d}物流有限公司", "institutional", "enterprise", st, f"1{i:010d}", "existing", "2"]
                for i in range(KILL_ROWS)]
        env.fx["kill_file"] = csv_bytes(["name", "kind", "sub_type", "station_code", "phone", "status", "diesel_t"], rows)
    return env.fx["kill_file"]


def _child_customers(url: str, user, data: bytes) -> dict:
    from lib.db import make_engine

    engine = make_engine(url)
    return report_summary(import_as(engine, user, "customers", data, "kill.csv"))


def _import_killed(env: Env, after_s: float):
    """Run the 50,000-row customers import in a child, SIGKILL it after `after_s` s; (child, customers)."""
    from lib.db import make_engine

    url = env.copy_url()
    try:
        ch = run_child(_child_customers, url, env.user("province_admin"), _kill_file(env), mem_mb=4096, wall_s=after_s)
        engine = make_engine(url)
        n = count(engine, "customer")
        engine.dispose()
    finally:
        env.drop(url)
    return ch, n


def _uninterrupted_s(env: Env) -> float:
    """How long the whole import takes (run once per run; the kills aim at fractions of it)."""
    if "kill_T" not in env.fx:
        ch, n = _import_killed(env, 300.0)
        env.fx["kill_T"], env.fx["kill_complete"] = ch.seconds, (ch.status, n)
    return env.fx["kill_T"]


@attack("0", "import_50000_uninterrupted", full_only=True)
def uninterrupted(env: Env):
    secs = _uninterrupted_s(env)
    status, n = env.fx["kill_complete"]
    if n == count_base(env) + KILL_ROWS:
        return held(f"all {KILL_ROWS:,} rows in {secs:.1f} s")
    return "error", f"the control import did not complete ({status}, {n:,} customers)"


def kill_attack(env: Env, fraction: float):
    after_s = round(_uninterrupted_s(env) * fraction, 2)
    for _ in range(3):  # the machine's load varies: an import that finished first is killed sooner
        ch, n = _import_killed(env, after_s)
        if ch.status != "ok":
            break
        after_s = round(ch.seconds * fraction, 2)
    base = count_base(env)
    if ch.status == "ok":
        return "error", f"the import finished before the kill three times (last at {after_s} s)"
    if n in (base, base + KILL_ROWS):
        return held(f"kill -9 at {after_s} s ({fraction:.0%} of the import): {n - base:,} rows (all or none)")
    return failed(f"kill -9 at {after_s} s left {n - base:,} of {KILL_ROWS:,} rows (partial)")


def count_base(env: Env) -> int:
    if "base_customers" not in env.fx:
        from lib.db import make_engine

        engine = make_engine(env.base_url)
        env.fx["base_customers"] = count(engine, "customer")
        engine.dispose()
    return env.fx["base_customers"]


for _f in (0.2, 0.4, 0.6, 0.75):
    attack("0", f"kill_during_import_at_{_f * 100:.0f}pct", full_only=True)(functools.partial(kill_attack, fraction=_f))


