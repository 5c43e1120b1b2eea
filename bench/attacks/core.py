"""The attack harness 攻击框架: registry, results, a database copy per attack, child processes with
a memory and wall-clock limit, the fixtures (users per role, own and foreign ids) and the run loop.
"""
from __future__ import annotations

import inspect
import os
import pickle
import resource
import select
import shutil
import signal
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

CLASSES = {
    "0": "held before (XSRF, static paths, foreign ids, killed imports)",
    "1": "data loss by import",
    "2": "exhaustion",
    "3": "values read wrong",
    "4": "rights",
    "5": "markdown injection",
    "6": "sessions and logins",
    "7": "demo exposure",
}
DEMO_SEED, DEMO_END = 5, "2026-10"
ROLE_LOGINS = {"province_admin": "admin", "province_viewer": "viewer", "city_manager": "city",
               "district_manager": "area", "station_manager": "station", "customer_manager": "custmgr"}


@dataclass
class Result:
    """One attack's outcome: held / failed / error (the attack itself broke), with a one-line reason."""

    id: str
    cls: str
    name: str
    outcome: str
    reason: str
    seconds: float = 0.0
    peak_rss_mb: float | None = None
    exhausted: bool = False


@dataclass
class Attack:
    id: str
    cls: str
    name: str
    fn: Callable
    quick: bool = False
    full_only: bool = False


_REGISTRY: list[Attack] = []


def registry() -> list[Attack]:
    """Every registered attack, in registration order (the attack modules imported first)."""
    from bench.attacks import imports, rights, web  # noqa: F401 - they register their attacks

    return list(_REGISTRY)


def add(att: Attack) -> None:
    if any(a.id == att.id for a in _REGISTRY):
        raise ValueError(f"attack {att.id} defined twice")
    _REGISTRY.append(att)


def attack(cls: str, name: str, *, quick: bool = False, full_only: bool = False):
    """Decorator: register `fn(env) -> (outcome, reason)` as attack `<cls>.<name>`."""
    def wrap(fn):
        add(Attack(f"{cls}.{name}", cls, name, fn, quick, full_only))
        return fn
    return wrap


def held(reason: str) -> tuple[str, str]:
    return "held", reason


def failed(reason: str) -> tuple[str, str]:
    return "failed", reason


# --- child processes -------------------------------------------------------------------------------


@dataclass
class Child:
    """What a child process did: `status` ok / error / memory / timeout / signal, its value or error,
    peak resident memory (MB) and wall seconds."""

    status: str
    value: object = None
    error: str = ""
    peak_rss_mb: float = 0.0
    seconds: float = 0.0

    @property
    def exhausted(self) -> bool:
        return self.status in ("memory", "timeout", "signal") or "MemoryError" in str(self.value)


def _child_main(fn, args, mem_bytes: int, wfd: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
    try:
        payload = ("ok", fn(*args), "")
    except MemoryError:
        payload = ("memory", None, "MemoryError")
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        payload = ("error", None, f"{type(exc).__name__}: {exc}"[:300])
    try:
        data = pickle.dumps(payload)
    except Exception:  # noqa: BLE001 - an unpicklable value
        data = pickle.dumps(("ok", repr(payload[1])[:300], ""))
    with os.fdopen(wfd, "wb") as w:
        w.write(data)


def run_child(fn: Callable, *args, mem_mb: int, wall_s: float) -> Child:
    """Run `fn(*args)` in a forked child limited to `mem_mb` of address space and `wall_s` seconds
    (killed with SIGKILL beyond it); the value must be picklable."""
    rfd, wfd = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(rfd)
        code = 0
        try:
            _child_main(fn, args, mem_mb * 1024 * 1024, wfd)
        except BaseException:  # noqa: BLE001
            code = 1
        os._exit(code)
    os.close(wfd)
    chunks, timed_out = [], False
    with os.fdopen(rfd, "rb") as r:
        while True:
            left = wall_s - (time.perf_counter() - t0)
            if left <= 0:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            ready, _, _ = select.select([r], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(r.fileno(), 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    _, status, usage = os.wait4(pid, 0)
    secs = round(time.perf_counter() - t0, 2)
    peak = round(usage.ru_maxrss / 1024, 1)
    if timed_out:
        return Child("timeout", error=f"killed after {wall_s:.0f} s", peak_rss_mb=peak, seconds=secs)
    if os.WIFSIGNALED(status):
        return Child("signal", error=f"died of signal {os.WTERMSIG(status)}", peak_rss_mb=peak, seconds=secs)
    if not chunks:
        return Child("error", error=f"no answer (exit {os.waitstatus_to_exitcode(status)})", peak_rss_mb=peak,
                     seconds=secs)
    st, value, err = pickle.loads(b"".join(chunks))
    return Child(st, value, err, peak, secs)


# --- the environment: database copies and fixtures -------------------------------------------------


@dataclass
class Env:
    """What an attack gets: `fresh()` (an engine on its own copy of the attack database), the
    fixtures `fx` (users per role as SessionUser, own and foreign ids), limits and mode."""

    base_url: str
    tmp: Path
    quick: bool = False
    mem_mb: int = 3072
    wall_s: float = 60.0
    fx: dict = field(default_factory=dict)
    _n: int = 0
    children: list = field(default_factory=list)

    @property
    def postgres(self) -> bool:
        return self.base_url.startswith("postgresql")

    def copy_url(self) -> str:
        """A new copy of the attack database; its URL."""
        self._n += 1
        if not self.postgres:
            src = Path(self.base_url.removeprefix("sqlite:///"))
            dst = self.tmp / f"copy_{self._n}.db"
            shutil.copyfile(src, dst)
            return f"sqlite:///{dst}"
        return _pg_copy(self.base_url, f"atk_{uuid.uuid4().hex[:10]}")

    def drop(self, url: str) -> None:
        if self.postgres:
            _pg_drop(self.base_url, url)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)

    @contextmanager
    def fresh(self) -> Iterator:
        """An engine on a copy of the attack database, disposed and dropped afterwards."""
        from lib.db import make_engine

        url = self.copy_url()
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
            self.drop(url)

    def user(self, role: str):
        return self.fx["users"][role]


def _pg_admin(base_url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    return create_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _pg_copy(base_url: str, name: str) -> str:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    base = make_url(base_url)
    admin = _pg_admin(base_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _pg_drop(base_url: str, url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    admin = _pg_admin(base_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def build_base(db: str | None, tmp: Path, customers: int = 1500) -> str:
    """Build the attack database (the demo province, demo users) once; return its URL. With a
    PostgreSQL `db` a new database next to it is the template every attack copies."""
    from sqlalchemy import text

    from lib import auth, demo
    from lib.db import make_engine, upgrade

    if db and db.startswith("postgresql"):
        from sqlalchemy.engine import make_url

        name = f"atk_base_{uuid.uuid4().hex[:8]}"
        admin = _pg_admin(db)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(db).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp / 'base.db'}"
    engine = make_engine(url)
    upgrade(engine)
    demo.generate(engine, seed=DEMO_SEED, customers=customers, months=6, end_month=DEMO_END)
    auth.create_demo_users(engine)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return url


# --- adapting to signatures that change with the fixes ---------------------------------------------


def params(fn) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(fn).parameters)


def actor_for(fn, user, name: str = "actor"):
    """The acting user as `fn` wants it: the login when its parameter `name` is annotated str (the
    code before the fixes), else the SessionUser."""
    p = params(fn).get(name)
    if p is None:
        p = list(params(fn).values())[1]  # (engine, actor, ...)
    ann = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", "")
    return user.login if ann.replace(" ", "") in ("str", "str|None") else user


def import_as(engine, user, kind: str, data: bytes, filename: str, **kw):
    """lib.importer.import_file as `user` would run it from the imports page: `user=` when the
    function takes it, else the page's `scope=` and `actor=`."""
    from lib import importer

    p = params(importer.import_file)
    if "user" in p:
        kw["user"] = user
        if "scope" in p and "scope" not in kw:
            kw["scope"] = user.scope
    else:
        kw.setdefault("scope", user.scope)
        kw.setdefault("actor", user.login)
    return importer.import_file(engine, kind, data, filename, **kw)


def report_summary(rep) -> dict:
    """The parts of an ImportReport an attack judges (picklable, for child processes)."""
    errs = [{"row": e.row, "column": e.column, "code": e.code, "params": {k: str(v)[:300] for k, v in e.params.items()},
             "message": _message(e)} for e in rep.errors[:20]]
    return {"ok": rep.ok, "rows": rep.rows, "inserted": rep.inserted, "updated": rep.updated, "errors": errs,
            "error_count": rep.error_count, "seconds": rep.seconds}


def _message(issue) -> str:
    try:
        from lib.i18n import translator

        return issue.text(translator("en"))[:500]
    except Exception:  # noqa: BLE001 - the message is a nicety
        return getattr(issue, "message", "")[:500] if isinstance(getattr(issue, "message", ""), str) else ""


def count(engine, table: str, where: str = "1=1", **kw) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE {where}"), kw).scalar_one()


# --- running ---------------------------------------------------------------------------------------


def _one(env: Env, att: Attack) -> Result:
    t0 = time.perf_counter()
    env.children = []
    try:
        outcome, reason = att.fn(env)
    except Exception as exc:  # noqa: BLE001 - an attack that broke is reported, the run goes on
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        outcome, reason = "error", f"attack broke: {type(exc).__name__}: {str(exc)[:200]} ({Path(tb.filename).name}:{tb.lineno})"
    secs = round(time.perf_counter() - t0, 2)
    peak = max((c.peak_rss_mb for c in env.children), default=None)
    exhausted = any(c.exhausted for c in env.children)
    return Result(att.id, att.cls, att.name, outcome, " ".join(str(reason).split())[:300], secs, peak, exhausted)


def run(env: Env, attacks: list[Attack], echo: Callable[[str], None] = print) -> list[dict]:
    """Run `attacks` one by one; return their results as dicts."""
    out = []
    for att in attacks:
        res = _one(env, att)
        extra = f" peak {res.peak_rss_mb:.0f} MB" if res.peak_rss_mb is not None else ""
        echo(f"{res.outcome:6s} {res.id:45s} {res.seconds:6.1f} s{extra}  {res.reason}")
        out.append(asdict(res))
    return out


def select_attacks(quick: bool, only: str | None = None) -> list[Attack]:
    atts = registry()
    if quick:
        atts = [a for a in atts if a.quick]
    if only:
        atts = [a for a in atts if only in a.id]
    return atts


def tally(results: list[dict]) -> dict[str, dict[str, int]]:
    """tried / held / failed / error per class and in total."""
    out: dict[str, dict[str, int]] = {}
    for r in results:
        for key in (r["cls"], "total"):
            row = out.setdefault(key, {"tried": 0, "held": 0, "failed": 0, "error": 0})
            row["tried"] += 1
            row[r["outcome"]] += 1
    return dict(sorted(out.items()))


# --- fixtures: own and foreign rows, users per role -------------------------------------------------

_OWN = "/37/3701/370102/370102001/"


def _row(conn, sql: str, **kw) -> dict:
    from sqlalchemy import text

    row = conn.execute(text(sql), kw).mappings().first()
    if row is None:
        raise RuntimeError(f"fixture not found: {sql[:80]}")
    return dict(row)


def fixtures(url: str) -> dict:
    """Users per role (SessionUser) and ids inside the demo station/district (own) and outside the
    demo city (foreign), read once from the attack database."""
    from lib import auth
    from lib.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        ids = {r: _row(conn, "SELECT id FROM app_user WHERE login = :l", l=lg)["id"] for r, lg in ROLE_LOGINS.items()}
        custmgr = auth.session_user(engine, ids["customer_manager"])
        own = _row(conn, "SELECT * FROM customer WHERE org_path LIKE :p AND status = 'existing' AND phone <> '' "
                         "AND credit_code <> '' AND contact <> '' AND lon IS NOT NULL AND manager_id IS NOT NULL "
                         "ORDER BY diesel_t + gasoline_t DESC", p=custmgr.scope + "%")
        fx = {
            "user_ids": ids,
            "own_customer": own,
            "lost_customer": _row(conn, "SELECT * FROM customer WHERE status = 'lost' AND org_path LIKE :p ORDER BY id",
                                  p="/37/3701/%"),
            "foreign_customer": _row(conn, "SELECT * FROM customer WHERE org_path NOT LIKE '/37/3701/%' ORDER BY id"),
            "own_station": _row(conn, "SELECT id, code, org_path FROM station WHERE org_path = :p", p=_OWN),
            "foreign_station": _row(conn, "SELECT id, code, org_path FROM station WHERE org_path NOT LIKE '/37/3701/%' "
                                          "ORDER BY id"),
            "own_grid": _row(conn, "SELECT id, code, name, org_path, owner_name, owner_phone FROM grid "
                                   "WHERE org_path = :p", p=_OWN),
            "foreign_grid": _row(conn, "SELECT id, code, org_path FROM grid WHERE org_path NOT LIKE '/37/3701/%' ORDER BY id"),
            "own_manager": _row(conn, "SELECT id, code, name, phone, org_path FROM customer_manager WHERE id = :m",
                                m=custmgr.scope.rstrip("/").rsplit("/m", 1)[1]),
            "foreign_manager": _row(conn, "SELECT id, code, org_path FROM customer_manager "
                                          "WHERE org_path NOT LIKE '/37/3701/%' ORDER BY id"),
            "own_unit": _row(conn, "SELECT id, code, path FROM org_unit WHERE path = :p", p=_OWN),
            "foreign_unit": _row(conn, "SELECT id, code, path FROM org_unit WHERE level = 'station' "
                                       "AND path NOT LIKE '/37/3701/%' ORDER BY id"),
            "own_district": _row(conn, "SELECT id, code, path FROM org_unit WHERE path = '/37/3701/370102/'"),
            "own_matter": _row(conn, "SELECT id FROM matter WHERE org_path LIKE :p ORDER BY id", p=_OWN + "%"),
            "foreign_matter": _row(conn, "SELECT id FROM matter WHERE org_path NOT LIKE '/37/3701/%' ORDER BY id"),
        }
    fx["users"] = {r: auth.session_user(engine, i) for r, i in ids.items()}
    engine.dispose()
    return fx
