"""Load test (负载测试): N real Chromium sessions at once through the main pages of a fresh server.

    python -m bench.load_test --db sqlite:////tmp/load30k.db --sessions 10 --rounds 3 \
        --json bench/results/load_10_sessions.json
    python -m bench.load_test --db URL --quick      # 10 sessions × 1 round × 3 pages (the test)

A fresh Streamlit server is started on the database exactly as the browser tests start theirs
(`tests/browser_harness.py`); Debian's Chromium is launched once through Playwright's async API
with one browser context per session, and every request to anything but this machine is blocked
and counted. Each session logs in as a demo user (admin, viewer, city, area in turn) and then
clicks through the main pages in the sidebar, all sessions at the same time. Each session starts
at a different page of the cycle (`--same-order`: all start at the same page) and sees every page
once per round.

Page time = from the click on the sidebar link until the page's own title is in its <h1>,
Streamlit's script state is "notRunning" and no spinner or loading skeleton shows; when a rerun
starts within 0.4 s after that (a component reporting its value), the page ends when that rerun
has settled. Also timed: "open" = a fresh context loading the login page, "login" = from the
click on 登录 to the settled overview. After each page the run counts an error for an exception
element, an error alert, the word "Traceback", or a page that did not settle in `--page-timeout`
seconds.

The database's schema is upgraded before the server starts (the app would do it on its first run,
which is then not timed as a page). The server's memory is the resident set (VmRSS from /proc) of the Streamlit process and all its
children, sampled every 0.5 s: start = before any browser connects, peak, end = after the last
page of the last session.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import streamlit  # noqa: E402,F401

# lib.ui's cached functions are only imported here, outside a Streamlit runtime: no warning for each
logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

from lib import auth  # noqa: E402
from lib.i18n import translator  # noqa: E402
from lib.ui import PAGES, allowed_pages  # noqa: E402
from tests.browser_harness import CHROMIUM, LOCAL, _free_port  # noqa: E402

# Same switches as the harness's browser fixture: nothing in Chromium itself calls out.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
MAIN_PAGES = ("pages/overview.py", "pages/tiers.py", "pages/plan.py", "pages/four_rates.py", "pages/churn.py",
              "pages/reports.py", "pages/grid_map.py", "pages/customers.py", "pages/visits.py")
# A dashboard with charts, the map (a component in an iframe), a work page with tables.
QUICK_PAGES = ("pages/overview.py", "pages/grid_map.py", "pages/customers.py")
LOGINS = ("admin", "viewer", "city", "area")
T = translator("zh")
SAMPLE_EVERY_S = 0.5
STABLE_MS = 400  # a rerun that starts this soon after the page settled is part of the page

# Counts the script runs the page has started (a MutationObserver on Streamlit's state attribute),
# so a rerun that starts and ends between two looks is still seen.
INIT_JS = """
window.__gcRuns = 0;
new MutationObserver((records) => {
  for (const r of records) {
    if (r.target.getAttribute('data-test-script-state') === 'running') window.__gcRuns += 1;
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
"""
SETTLED_JS = """(title) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const conn = app.getAttribute('data-test-connection-state');
  if (conn && conn !== 'CONNECTED') return false;
  if (document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')) return false;
  if (title !== null && ![...document.querySelectorAll('h1')].some((h) => h.innerText.includes(title))) return false;
  return window.__gcRuns + 1;  // truthy: the number of runs so far, plus one
}"""
PROBLEMS_JS = """() => {
  const bad = [...document.querySelectorAll('[data-testid="stException"], [data-testid="stAlertContentError"]')];
  const body = document.body ? document.body.textContent : '';
  return {count: bad.length, traceback: body.includes('Traceback'),
          text: bad.map((e) => e.innerText.slice(0, 300))};
}"""


# --- server and its memory ---------------------------------------------------------------------


def start_server(db_url: str, log_path: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start a fresh Streamlit server on `db_url` as tests/browser_harness.py does; return it and
    its base URL once /_stcore/health answers."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=db_url, GRIDCRM_DEMO="1")
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
    )
    if log_path:
        log.close()  # the server has its own handle
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                return proc, base
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the Streamlit server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the live processes `pids` and of the children they have reaped
    (utime, stime, cutime, cstime from /proc/<pid>/stat): a closed tab's renderer still counts."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU time the whole machine has spent not idle since boot, all cores (from /proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait


def _process_tree(root: int) -> list[int]:
    """`root` and every process below it (from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and its children in MB (VmRSS)."""
    kb = 0
    for pid in _process_tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        kb += int(line.split()[1])
                        break
        except OSError:
            pass
    return kb / 1024


class MemorySampler(threading.Thread):
    """Samples `tree_rss_mb(pid)` every SAMPLE_EVERY_S seconds until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._stop_event = threading.Event()
        self._t0 = time.perf_counter()

    def sample(self) -> float:
        mb = tree_rss_mb(self.pid)
        self.samples.append((time.perf_counter() - self._t0, mb))
        return mb

    def run(self) -> None:
        while not self._stop_event.wait(SAMPLE_EVERY_S):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(5)


# --- browser sessions ----------------------------------------------------------------------------


@dataclass
class SessionLog:
    index: int
    login: str
    times: dict[str, list[float]] = field(default_factory=dict)  # page → seconds
    round_times: dict[int, list[float]] = field(default_factory=dict)  # round → seconds
    open_s: float | None = None  # the login page, from a fresh context
    login_s: float | None = None  # from the click on 登录 to the first page
    errors: list[dict] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    # page, round (1-based), clicked, settled, checked (s from the start of the run)
    timeline: list[tuple[str, int, float, float, float]] = field(default_factory=list)
    t0: float = 0.0


def _nav_href(base: str, path: str) -> str:
    """The sidebar link of a page: the app's first page is at '/', the others at '/<file stem>'."""
    return f"{base}/" if path == PAGES[0].path else f"{base}/{Path(path).stem}"


async def _settle(page, title: str | None, timeout_s: float) -> float:
    """Wait until the page settled (see module docs); return the perf_counter() time it first did,
    counting a rerun that starts within STABLE_MS as part of the page."""
    deadline = time.perf_counter() + timeout_s
    while True:
        left_ms = max(1000, (deadline - time.perf_counter()) * 1000)
        handle = await page.wait_for_function(SETTLED_JS, arg=title, polling=50, timeout=left_ms)
        settled_at = time.perf_counter()
        runs = await handle.json_value()
        await page.wait_for_timeout(STABLE_MS)
        if await page.evaluate(SETTLED_JS, title) == runs:
            return settled_at
        if time.perf_counter() > deadline:
            raise TimeoutError("the page kept rerunning")


async def _check(page, log: SessionLog, where: str) -> None:
    found = await page.evaluate(PROBLEMS_JS)
    if found["count"] or found["traceback"]:
        log.errors.append({"page": where, "what": found["text"] or ["Traceback in the page text"]})


async def run_session(browser, base: str, log: SessionLog, pages: list[str], rounds: int,
                      page_timeout_s: float, start_offset: int) -> None:
    """One user: log in, then click through `pages` `rounds` times, starting at `start_offset`."""
    context = await browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        await context.add_init_script(INIT_JS)
        page = await context.new_page()

        async def route(r):
            if r.request.url.startswith(LOCAL):
                await r.continue_()
            else:
                log.outside.append(r.request.url)
                await r.abort()

        await page.route("**/*", route)
        try:
            t0 = time.perf_counter()
            await page.goto(base + "/", timeout=page_timeout_s * 1000)
            await page.get_by_label("密码").wait_for(timeout=page_timeout_s * 1000)
            log.open_s = await _settle(page, None, page_timeout_s) - t0
            await page.get_by_label("用户名").fill(log.login)
            await page.get_by_label("密码").fill(auth.DEMO_PASSWORD)
            t0 = time.perf_counter()
            await page.get_by_role("button", name="登录").click()
            log.login_s = await _settle(page, T(PAGES[0].title_key), page_timeout_s) - t0
            await _check(page, log, "login")
        except Exception as exc:  # noqa: BLE001 (reported, the session cannot go on)
            log.errors.append({"page": "login", "what": [f"{type(exc).__name__}: {str(exc)[:300]}"]})
            return
        order = pages[start_offset:] + pages[:start_offset]
        for round_no in range(1, rounds + 1):
            for path in order:
                title = T(next(s for s in PAGES if s.path == path).title_key)
                name = Path(path).stem
                t0 = time.perf_counter()
                try:
                    await page.locator(f'a[data-testid="stSidebarNavLink"][href="{_nav_href(base, path)}"]').click(
                        timeout=page_timeout_s * 1000)
                    settled_at = await _settle(page, title, page_timeout_s)
                except Exception as exc:  # noqa: BLE001 (counted; try the next page)
                    log.errors.append({"page": name, "what": [f"{type(exc).__name__}: {str(exc)[:300]}"]})
                    try:
                        await _settle(page, None, page_timeout_s)
                    except Exception:  # noqa: BLE001
                        pass
                    continue
                log.times.setdefault(name, []).append(settled_at - t0)
                log.round_times.setdefault(round_no, []).append(settled_at - t0)
                await _check(page, log, name)
                log.timeline.append((name, round_no, round(t0 - log.t0, 2), round(settled_at - log.t0, 2),
                                     round(time.perf_counter() - log.t0, 2)))
    finally:
        await context.close()


async def _drive(base: str, sessions: int, rounds: int, pages: list[str], page_timeout_s: float,
                 same_order: bool, server_pid: int) -> tuple[list[SessionLog], dict]:
    """Run every session at once in one Chromium; return the logs and the CPU seconds used
    meanwhile by the server, the browser side (Chromium and Playwright's driver), this process, and
    the whole machine (the rest is other work on the same machine)."""
    from playwright.async_api import async_playwright

    t0 = time.perf_counter()
    logs = [SessionLog(i, LOGINS[i % len(LOGINS)], t0=t0) for i in range(sessions)]
    server_cpu0 = _cpu_seconds(_process_tree(server_pid))
    own0, machine0 = sum(os.times()[:2]), _machine_busy_seconds()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # After login the session is on the first page; every session's cycle starts elsewhere.
            offsets = [1 if same_order or len(pages) == 1 else 1 + i % (len(pages) - 1) for i in range(sessions)]
            await asyncio.gather(*(run_session(browser, base, log, pages, rounds, page_timeout_s, off)
                                   for log, off in zip(logs, offsets)))
            server = _process_tree(server_pid)
            others = [p for p in _process_tree(os.getpid()) if p != os.getpid() and p not in server]
            cpu = {"server": round(_cpu_seconds(server) - server_cpu0, 1),
                   "browser": round(_cpu_seconds(others), 1),
                   "load_test": round(sum(os.times()[:2]) - own0, 1),
                   "machine_busy": round(_machine_busy_seconds() - machine0, 1),
                   "machine_capacity": round((time.perf_counter() - t0) * (os.cpu_count() or 1), 1),
                   "wall": round(time.perf_counter() - t0, 1)}
        finally:
            await browser.close()
    return logs, cpu


# --- figures -------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50_s": None, "p95_s": None, "max_s": None}
    return {"n": len(values), "p50_s": round(percentile(values, 50), 3), "p95_s": round(percentile(values, 95), 3),
            "max_s": round(max(values), 3)}


def _scale(db_url: str) -> dict:
    """Upgrade the schema (as the app's first run would: not to be timed as a page) and count."""
    from sqlalchemy import text

    from lib.db import make_engine, upgrade

    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            customers = conn.execute(text("SELECT COUNT(*) FROM customer")).scalar_one()
            monthly = conn.execute(text("SELECT COUNT(*) FROM monthly_consumption")).scalar_one()
        return {"customers": customers, "monthly_rows": monthly, "backend": engine.dialect.name}
    finally:
        engine.dispose()


def _code_version() -> dict:
    """The git commit the app runs from and how many files differ from it (None outside git)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "changed_files": None}
    return {"commit": commit, "changed_files": len(changed)}


def _check_pages(pages: list[str]) -> None:
    known = {s.path for s in PAGES}
    unknown = [p for p in pages if p not in known]
    if unknown:
        raise SystemExit(f"unknown pages: {unknown}")
    for login in LOGINS:
        role = next(u[2] for u in auth.DEMO_USERS if u[0] == login)
        allowed = {s.path for s in allowed_pages(role)}
        if not set(pages) <= allowed:
            raise SystemExit(f"{login} may not open {sorted(set(pages) - allowed)}")
    if pages[0] != PAGES[0].path or len(set(pages)) != len(pages) or len(pages) < 2:
        raise SystemExit(f"give two or more different pages, the first {PAGES[0].path} (where a login lands)")


def run(db_url: str, sessions: int = 10, rounds: int = 1, pages: list[str] | tuple = MAIN_PAGES,
        page_timeout_s: float = 300, same_order: bool = False, log_path: Path | None = None,
        note: str | None = None) -> dict:
    """Run the load test and return the result (the JSON document)."""
    pages = list(pages)
    _check_pages(pages)
    scale = _scale(db_url)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load_before = os.getloadavg()
    own_log = log_path is None
    if own_log:
        log_path = Path(tempfile.mkstemp(prefix="gridcrm_load_", suffix=".log")[1])
    proc, base = start_server(db_url, log_path)
    sampler = MemorySampler(proc.pid)
    try:
        rss_start = sampler.sample()
        sampler.start()
        t0 = time.perf_counter()
        logs, cpu = asyncio.run(_drive(base, sessions, rounds, pages, page_timeout_s, same_order, proc.pid))
        wall = time.perf_counter() - t0
        rss_end = sampler.sample()
    finally:
        sampler.stop()
        stop_server(proc)
    server_log = log_path.read_text(errors="replace") if log_path.exists() else ""
    if own_log:
        log_path.unlink(missing_ok=True)

    names = [Path(p).stem for p in pages]
    per_page = {n: [x for log in logs for x in log.times.get(n, [])] for n in names}
    everything = [x for xs in per_page.values() for x in xs]
    errors = [dict(e, session=log.index, login=log.login) for log in logs for e in log.errors]
    result = {
        "scale": scale,
        "sessions": sessions,
        "rounds": rounds,
        "logins": sorted({log.login for log in logs}),
        "order": "same" if same_order else "staggered",
        "pages": [{"page": n, "title": T(next(s for s in PAGES if s.path == p).title_key), **_stats(per_page[n])}
                  for n, p in zip(names, pages)],
        "all": _stats(everything),
        "by_round": [dict(round=r, **_stats([x for log in logs for x in log.round_times.get(r, [])]))
                     for r in range(1, rounds + 1)],
        "open": _stats([log.open_s for log in logs if log.open_s is not None]),
        "login": _stats([log.login_s for log in logs if log.login_s is not None]),
        "errors": len(errors),
        "error_details": errors[:50],
        "outside_requests": sum(len(log.outside) for log in logs),
        "outside_urls": sorted({u for log in logs for u in log.outside})[:20],
        "server_rss_mb": {"start": round(rss_start, 1), "peak": round(max(mb for _, mb in sampler.samples), 1),
                          "end": round(rss_end, 1), "samples": len(sampler.samples)},
        "per_session": [{"session": log.index, "login": log.login,
                         "visited": {n: len(log.times.get(n, [])) for n in names},
                         "errors": len(log.errors), "outside_requests": len(log.outside),
                         "timeline": log.timeline} for log in logs],
        "wall_s": round(wall, 1),
        "cpu_s": cpu,
        "page_views_per_s": round(len(everything) / wall, 2) if wall else None,
        "server_log_problems": [line for line in server_log.splitlines()
                                if "Traceback" in line or "Error" in line][:20],
        "measured": {"started": started, "loadavg_before": [round(x, 2) for x in load_before],
                     "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "code": _code_version(),
        "note": note,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "chromium": CHROMIUM},
    }
    return result


def markdown(result: dict) -> str:
    s = result["scale"]
    rss = result["server_rss_mb"]
    lines = [f"{result['sessions']} sessions × {result['rounds']} rounds, {s['customers']:,} customers "
             f"({s['backend']}), {result['wall_s']} s wall, {result['page_views_per_s']} page views/s",
             "", "| page | n | p50 s | p95 s | max s |", "|---|---:|---:|---:|---:|"]
    for p in result["pages"] + [dict(result["all"], page="**all pages**", title=""),
                                dict(result["open"], page="open", title="(login page)"),
                                dict(result["login"], page="login", title="登录 → 总览")]:
        cells = ["–" if p[k] is None else f"{p[k]:.2f}" for k in ("p50_s", "p95_s", "max_s")]
        lines.append(f"| {p['page']} {p['title']} | {p['n']} | " + " | ".join(cells) + " |")
    cpu = result["cpu_s"]
    rounds = ", ".join(f"{r['round']}: {r['p50_s']} / {r['p95_s']}" for r in result["by_round"] if r["n"])
    lines += ["", f"p50 / p95 s by round: {rounds}",
              f"CPU s: server {cpu['server']}, browsers {cpu['browser']}, whole machine {cpu['machine_busy']} "
              f"of {cpu['machine_capacity']}",
              f"errors: {result['errors']}, outside requests: {result['outside_requests']}, "
              f"server RSS MB: start {rss['start']}, peak {rss['peak']}, end {rss['end']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.load_test", description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=os.environ.get("DATABASE_URL"), help="SQLAlchemy URL of a demo database")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=None, help="times each session goes through the pages")
    ap.add_argument("--pages", nargs="+", help=f"page files (default: {' '.join(MAIN_PAGES)})")
    ap.add_argument("--quick", action="store_true", help=f"1 round over {', '.join(QUICK_PAGES)}")
    ap.add_argument("--same-order", action="store_true", help="every session starts at the same page")
    ap.add_argument("--page-timeout", type=float, default=300, help="seconds a page may take to settle")
    ap.add_argument("--server-log", type=Path, help="keep the server's output in this file")
    ap.add_argument("--json", type=Path, help="write the result here")
    ap.add_argument("--note", help="a remark kept in the JSON (what else ran, which code)")
    args = ap.parse_args(argv)
    if not args.db:
        ap.error("--db (or DATABASE_URL) is required")
    pages = args.pages or (QUICK_PAGES if args.quick else MAIN_PAGES)
    rounds = args.rounds or (1 if args.quick else 3)
    result = run(args.db, args.sessions, rounds, pages, args.page_timeout, args.same_order, args.server_log,
                 args.note)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
