"""Local map assets (本地地图资源): Leaflet and its plugins served by the app itself, never from a CDN.

folium names every script and stylesheet an element needs in its `default_js` / `default_css`
(CDN URLs), and streamlit-folium loads exactly those lists inside the map's iframe. Here every such
name is mapped to a copy served by Streamlit's static file serving (`server.enableStaticServing`:
`<app root>/static/…` is served at `/app/static/…`). The copies come from installed Python
packages, pinned in requirements.txt, so nothing third-party is committed:

| asset | package (PyPI) | files |
|---|---|---|
| Leaflet 1.9.3 | XStatic-Leaflet | leaflet.js, leaflet.css, images/ |
| Leaflet.markercluster 1.4.1 | XStatic-Leaflet-MarkerCluster | leaflet.markercluster.js, MarkerCluster*.css |
| Leaflet.heat | folium (ships it in folium/templates) | leaflet_heat.min.js |
| Leaflet.draw 0.4.14 | pyqtlet2 (bundles it; nothing of pyqtlet2 is imported) | leaflet.draw.js/.css, images/ |

`ensure_vendor()` copies them into `static/vendor/` (git-ignored) on first use; `localize(map)`
rewrites every element of a folium map to those URLs and raises if an element needs an asset
with no local copy, so a map can never ask the browser for an outside URL. jQuery, Bootstrap and
Font Awesome (folium's defaults for awesome-markers and popups) are dropped: our maps use
Leaflet's own vector layers, DivIcons and tooltips only.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import threading
from pathlib import Path

from lib.config import ROOT

STATIC_DIR = ROOT / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
STATIC_URL = "/app/static"  # where Streamlit serves <app root>/static/


def _package_dir(module: str) -> Path:
    """Return the folder of an installed package without importing (running) it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {module!r} is not installed (pip install -r requirements.txt)")
    return Path(list(spec.submodule_search_locations)[0])


# local folder → (package, folder inside the package, files or sub-folders to copy)
SOURCES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "leaflet": ("xstatic.pkg.leaflet", "data", ("leaflet.js", "leaflet.css", "images")),
    "markercluster": ("xstatic.pkg.leaflet_markercluster", "data",
                      ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css")),
    "heat": ("folium", "templates", ("leaflet_heat.min.js",)),
    "draw": ("pyqtlet2", "web/modules/leaflet_draw_414", ("leaflet.draw.js", "leaflet.draw.css", "images")),
}

# folium's link names → file under static/vendor/ (None: not needed, dropped)
JS = {
    "leaflet": "leaflet/leaflet.js",
    "markerclusterjs": "markercluster/leaflet.markercluster.js",
    "leaflet-heat.js": "heat/leaflet_heat.min.js",
    "leaflet_draw_js": "draw/leaflet.draw.js",
    "jquery": None,
    "bootstrap": None,
    "awesome_markers": None,
}
CSS = {
    "leaflet_css": "leaflet/leaflet.css",
    "markerclustercss": "markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "markercluster/MarkerCluster.Default.css",
    "leaflet_draw_css": "draw/leaflet.draw.css",
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
}

_lock = threading.Lock()
_done = False


def _copy_file(src: Path, dst: Path) -> None:
    """Copy one file atomically unless an identical-size copy is already there."""
    if dst.exists() and dst.stat().st_size == src.stat().st_size:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=".tmp-")
    os.close(fd)
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def ensure_vendor(target: Path | None = None) -> Path:
    """Copy Leaflet and the plugins from their packages into `static/vendor/` (once per process).

    Returns the vendor folder. Safe to call from several processes at once (atomic renames).
    """
    global _done
    target = target or VENDOR_DIR
    if _done and target == VENDOR_DIR:
        return target
    with _lock:
        for name, (module, sub, items) in SOURCES.items():
            base = _package_dir(module) / sub
            for item in items:
                src = base / item
                if src.is_dir():
                    for f in sorted(src.iterdir()):
                        if f.is_file():
                            _copy_file(f, target / name / item / f.name)
                else:
                    _copy_file(src, target / name / item)
        if target == VENDOR_DIR:
            _done = True
    return target


def url_base(base_url_path: str = "") -> str:
    """Return the URL of `static/vendor/` for a server whose `server.baseUrlPath` is given."""
    prefix = "/" + base_url_path.strip("/") if base_url_path and base_url_path.strip("/") else ""
    return f"{prefix}{STATIC_URL}/vendor"


def _elements(root):
    yield root
    for child in getattr(root, "_children", {}).values():
        yield from _elements(child)


def localize(m, base: str | None = None):
    """Point every script/stylesheet of folium map `m` (and its plugins) at the local copies.

    Raises ValueError naming an asset that has no local copy (so no CDN URL can slip through).
    Returns `m`.
    """
    ensure_vendor()
    base = (base or url_base()).rstrip("/")
    for el in _elements(m):
        for attr, table in (("default_js", JS), ("default_css", CSS)):
            links = getattr(el, attr, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if url.startswith(base + "/"):
                    local.append((name, url))
                    continue
                if name not in table:
                    raise ValueError(f"no local copy of map asset {name!r} ({url}); add it to lib/map_assets.py")
                if table[name] is not None:
                    local.append((name, f"{base}/{table[name]}"))
            setattr(el, attr, local)
    return m


def asset_urls(m) -> list[str]:
    """Return every script/stylesheet URL the elements of map `m` ask for (for tests and the bench)."""
    urls = []
    for el in _elements(m):
        for attr in ("default_js", "default_css"):
            urls.extend(url for _, url in getattr(el, attr, None) or [])
    return list(dict.fromkeys(urls))
