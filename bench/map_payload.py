"""Grid map payload and time to show, at 30,000 and 100,000 customers, beside a naive map.

For each size it builds a demo province (lib.demo, in data/bench/), then measures:

- **ours**: `lib.maps.grid_map` at province scope (all layers) and for the biggest district — the
  bytes streamlit-folium sends to the browser (script + header + html of the component) and the
  Leaflet/plugin files it loads once from the app (static, cacheable);
- **naive**: the same data as one `folium.Marker` per customer (with a tooltip) plus the grids as
  one `folium.GeoJson` — the "obvious" folium map — and the same payload measure;
- the time from navigation until the map is drawn in local Chromium (standalone HTML of each map
  served from 127.0.0.1 with the same local Leaflet; every other request blocked), and with
  `--streamlit` also the real app page: from clicking 网格地图 in the navigation until every grid
  polygon is drawn, logged in as the province admin.

Usage: python bench/map_payload.py [--sizes 30000 100000] [--streamlit] [--out bench/map_payload.json]
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import folium  # noqa: E402
from sqlalchemy import text  # noqa: E402
from streamlit_folium import _get_header, _get_html, _get_map_string  # noqa: E402

from lib import auth, demo, maps  # noqa: E402
from lib.db import make_engine  # noqa: E402
from lib.maps import assets  # noqa: E402
from lib.queries import default_scope_and_month  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LOCAL = ("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:", "ws://127.0.0.1")


def component_bytes(m: folium.Map) -> int:
    """Bytes of what st_folium sends for `m`: the Leaflet script, header and html of the component."""
    m.get_root().render()
    return sum(len(s.encode()) for s in (_get_map_string(m), _get_header(m), _get_html(m)))


def asset_bytes(m: folium.Map) -> int:
    """Bytes of the local Leaflet/plugin files the map loads (once; the browser caches them)."""
    total = 0
    for url in assets.asset_urls(m):
        if url.startswith(assets.url_base() + "/"):
            total += assets.local_file(url).stat().st_size
    return total


def naive_map(engine, scope: str, month: str, rows: list | None = None) -> folium.Map:
    """One folium Marker per customer with a tooltip, and the grids as GeoJSON: the obvious map.
    `rows` (name, code, lat, lon) replaces the scope's customers (for `naive_bytes_chunked`)."""
    g = maps.data.grids(engine, scope)
    m = folium.Map(location=[36.5, 118.5], zoom_start=8, tiles=None)
    folium.GeoJson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": c, "name": n}, "geometry": json.loads(geom)}
        for c, n, geom in zip(g["code"], g["name"], g["geometry"])]},
        tooltip=folium.GeoJsonTooltip(["code", "name"]), name="grids").add_to(m)
    layer = folium.FeatureGroup(name="customers").add_to(m)
    if rows is None:
        rows = _customer_rows(engine, scope)
    for name, code, lat, lon in rows:
        folium.Marker([lat, lon], tooltip=f"{name} {code}").add_to(layer)
    folium.LayerControl().add_to(m)
    assets.localize(m)
    return m


def _customer_rows(engine, scope: str) -> list:
    with engine.connect() as conn:
        return conn.execute(text("SELECT name, code, lat, lon FROM customer WHERE org_path LIKE :s "
                                 "AND lon IS NOT NULL ORDER BY id"), {"s": scope + "%"}).all()


def naive_bytes_chunked(engine, scope: str, month: str, chunk: int = 100_000) -> int:
    """Bytes the naive map would send, measured in parts: the map without customers, plus for each
    `chunk` of customers what its markers add. Marker code does not depend on the other markers
    (each has its own generated name of fixed length), so the sum equals the whole map's size,
    which at 1,000,000 customers needs more than 16 GB of memory to build at once here."""
    rows = _customer_rows(engine, scope)
    empty = component_bytes(naive_map(engine, scope, month, rows=[]))
    total = empty
    for i in range(0, len(rows), chunk):
        total += component_bytes(naive_map(engine, scope, month, rows=rows[i:i + chunk])) - empty
    return total


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `folder` on 127.0.0.1 (a free port) in a thread; return (server, base URL)."""
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def _browser(p):
    exe = CHROMIUM if os.path.exists(CHROMIUM) else None
    return p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu",
                                                        "--disable-background-networking"])


def _block_outside(page, outside: list):
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(LOCAL)
               else (outside.append(r.request.url), r.abort()))


def time_page(url: str, timeout_s: float) -> dict:
    """Open one standalone map page in Chromium (outside requests blocked) and time it:
    navigation → 'load' → two animation frames (Leaflet has built every layer and painted)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = _browser(p)
        page = b.new_page(viewport={"width": 1400, "height": 900})
        outside: list[str] = []
        _block_outside(page, outside)
        t0 = time.perf_counter()
        page.goto(url, wait_until="load", timeout=timeout_s * 1000)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        seconds = round(time.perf_counter() - t0, 2)
        paths = page.locator("path.leaflet-interactive").count()
        b.close()
    return {"seconds": seconds, "paths": paths, "outside_requests": len(outside)}


def time_standalone(pages: dict[str, str], timeout_s: float = 300) -> dict[str, dict]:
    """Time each map's standalone HTML in Chromium, each in its own process: a page still not
    shown after `timeout_s` is reported as not finished (and its browser killed)."""
    folder = Path(tempfile.mkdtemp(prefix="mapbench-"))
    served = folder / assets.url_base().strip("/")  # the same URLs as in the app
    served.parent.mkdir(parents=True)
    shutil.copytree(assets.ensure(), served)
    for name, html in pages.items():
        (folder / f"{name}.html").write_text(html, encoding="utf-8")
    httpd, base = serve(folder)
    out = {}
    try:
        for name in pages:
            size = (folder / f"{name}.html").stat().st_size
            proc = subprocess.Popen([sys.executable, __file__, "--time-page", f"{base}/{name}.html",
                                     "--timeout", str(timeout_s)], stdout=subprocess.PIPE, text=True,
                                    start_new_session=True)
            try:
                stdout, _ = proc.communicate(timeout=timeout_s + 30)
                result = json.loads(stdout.strip().splitlines()[-1]) if proc.returncode == 0 else \
                    {"seconds": None, "paths": f"failed (exit {proc.returncode})"}
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
                result = {"seconds": None, "paths": f"not shown within {timeout_s:g} s"}
            out[name] = {**result, "html_bytes": size}
    finally:
        httpd.shutdown()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def time_streamlit(db_url: str, grids: int, city_grids: int) -> dict:
    """Start the app on the bench database and time the grid map page: the province admin's first
    visit (cold: the server imports the map modules and fills its query cache) and second visit
    (warm), then a city manager's first visit (another scope: cold query cache, modules loaded)."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=db_url, GRIDCRM_DEMO="1")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            b = _browser(p)
            outside: list[str] = []
            runs = []
            for login, n, visits in (("admin", grids, 2), ("city", city_grids, 1)):
                page = b.new_page(viewport={"width": 1600, "height": 1000})
                _block_outside(page, outside)

                def settle(page=page):
                    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=120_000)

                page.goto(base + "/", timeout=120_000)
                settle()
                page.get_by_label("用户名").fill(login)
                page.get_by_label("密码").fill(auth.DEMO_PASSWORD)
                page.get_by_role("button", name="登录").click()
                page.wait_for_timeout(500)
                settle()
                for attempt in range(visits):
                    if attempt:
                        page.locator('[data-testid="stSidebarNavLink"]').first.click()
                        page.wait_for_timeout(500)
                        settle()
                    t0 = time.perf_counter()
                    page.locator('[data-testid="stSidebarNavLink"]', has_text="网格地图").click()
                    drawn = None
                    while time.perf_counter() - t0 < 120:
                        frames = [f for f in page.frames if "st_folium" in f.url]
                        if frames and frames[0].locator("path.gc-grid").count() >= n:
                            drawn = round(time.perf_counter() - t0, 2)
                            break
                        page.wait_for_timeout(30)
                    runs.append(drawn)
                page.close()
            b.close()
        return {"first_visit_after_start_seconds": runs[0], "warm_seconds": runs[1],
                "other_user_first_visit_seconds": runs[2], "outside_requests": len(outside)}
    finally:
        proc.terminate()
        proc.wait(20)


def measure(size: int, with_streamlit: bool, workdir: Path, timeout_s: float) -> dict:
    db = workdir / f"map_{size}.db"
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    if not db.exists() or os.environ.get("BENCH_REGENERATE"):
        t0 = time.perf_counter()
        demo.generate(engine, customers=size, months=3, end_month="2026-10", replace=True)
        auth.create_demo_users(engine)
        print(f"  demo of {size:,} customers built in {time.perf_counter() - t0:.1f} s", flush=True)
    root, month = default_scope_and_month(engine)
    with engine.connect() as conn:
        district = conn.execute(text(
            "SELECT o.path FROM org_unit o JOIN customer c ON c.org_path LIKE o.path || '%' "
            "WHERE o.level = 'district' GROUP BY o.path ORDER BY COUNT(*) DESC LIMIT 1")).scalar_one()
        customers = conn.execute(text("SELECT COUNT(*) FROM customer")).scalar_one()
    result: dict = {"customers": customers, "month": month}
    maps_built = {}
    for label, scope in (("province", root), ("biggest_district", district)):
        t0 = time.perf_counter()
        data = maps.grid_map_data(engine, scope, month)
        reports = maps.data.partition_reports(engine, scope)
        m = maps.grid_map(engine, scope, month, data=data, partition=reports, layers=maps.LAYERS).map
        built = time.perf_counter() - t0
        maps_built[f"ours_{label}"] = m.get_root().render()  # standalone page, before streamlit-folium renames ids
        result[f"ours_{label}"] = {
            "scope": scope, "grids": len(data["grids"]), "component_bytes": component_bytes(m),
            "asset_bytes": asset_bytes(m), "build_seconds": round(built, 2),
            "aggregated": dict(data["aggregated"]),
        }
    default = maps.grid_map(engine, root, month, partition=maps.data.partition_reports(engine, root)).map
    result["ours_province_default_layers"] = {"layers": list(maps.DEFAULT_LAYERS),
                                              "component_bytes": component_bytes(default)}
    t0 = time.perf_counter()
    naive = naive_map(engine, root, month)
    maps_built["naive_province"] = naive.get_root().render()
    naive_bytes = component_bytes(naive)
    result["naive_province"] = {"scope": root, "markers": customers, "component_bytes": naive_bytes,
                                "asset_bytes": asset_bytes(naive), "build_seconds": round(time.perf_counter() - t0, 2)}
    print("  timing in Chromium …", flush=True)
    for name, r in time_standalone(maps_built, timeout_s=timeout_s).items():
        result[name]["chromium"] = r
    if with_streamlit:
        with engine.connect() as conn:
            city = conn.execute(text("SELECT org_path FROM app_user WHERE login = 'city'")).scalar_one()
        result["streamlit_page"] = time_streamlit(url, result["ours_province"]["grids"],
                                                  len(maps.data.grids(engine, city)))
    engine.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[30_000, 100_000])
    ap.add_argument("--streamlit", action="store_true", help="also time the real app page")
    ap.add_argument("--out", default=str(ROOT / "bench" / "map_payload.json"))
    ap.add_argument("--workdir", default=str(ROOT / "data" / "bench" / "maps"))
    ap.add_argument("--timeout", type=float, default=300, help="seconds a map may take to show in Chromium")
    ap.add_argument("--time-page", help=argparse.SUPPRESS)
    ap.add_argument("--naive-chunked", metavar="DB_URL",
                    help="only measure the naive map's size on this database, 100,000 customers at a time, "
                         "and print it in MB (what `python -m bench --skip naive-map` leaves out)")
    args = ap.parse_args(argv)
    if args.naive_chunked:
        engine = make_engine(args.naive_chunked)
        scope, month = default_scope_and_month(engine)
        t0 = time.perf_counter()
        size = naive_bytes_chunked(engine, scope, month)
        print(json.dumps({"naive_map_payload_mb": round(size / 1e6, 3), "seconds": round(time.perf_counter() - t0, 1)}))
        return 0
    if args.time_page:
        print(json.dumps(time_page(args.time_page, args.timeout)))
        return 0
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    results = {"machine": {"cores": os.cpu_count()}, "runs": []}
    for size in args.sizes:
        print(f"== {size:,} customers", flush=True)
        r = measure(size, args.streamlit, workdir, args.timeout)
        results["runs"].append(r)
        mb = 1024 * 1024
        print(f"  ours_province_default_layers sent {r['ours_province_default_layers']['component_bytes'] / mb:.2f} MB",
              flush=True)
        for key in ("ours_province", "ours_biggest_district", "naive_province"):
            x = r[key]
            c = x.get("chromium", {})
            print(f"  {key:24s} sent {x['component_bytes'] / mb:7.2f} MB (+ {x['asset_bytes'] / 1024:.0f} KB static, "
                  f"cached)  build {x['build_seconds']:6.2f} s  Chromium {c.get('seconds')} s  paths {c.get('paths')}",
                  flush=True)
        if "streamlit_page" in r:
            print(f"  streamlit page (click → polygons drawn): {r['streamlit_page']}", flush=True)
        Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
