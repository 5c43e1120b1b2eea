"""Map assets (lib.maps.assets): the manifest matches the served files and folium's templates, a
damaged or tampered asset is refused, and a read-only source tree still renders and serves a map."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import sys
import tarfile
from pathlib import Path

import folium
import folium.plugins
import pytest
from streamlit.components.v1 import declare_component

from lib import maps
from lib.maps import assets

ROOT = Path(__file__).resolve().parent.parent
SPECS = assets.manifest()["assets"]


@pytest.fixture(scope="module")
def served() -> Path:
    """The asset folder the app serves, filled (and fetched once) as at the first map."""
    return assets.ensure()


@pytest.mark.parametrize("name", list(SPECS))
def test_manifest_hashes_match_the_served_files(served, name):
    spec = SPECS[name]
    folder = served / assets.folder_name(name, spec)
    assert spec["files"]
    for rel, digest in spec["files"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest, rel
    if spec["source"] == "pypi":  # the very bytes of the pinned package
        base = assets.package_dir(spec["module"]) / spec["folder"]
        assert all((folder / rel).read_bytes() == (base / rel).read_bytes() for rel in spec["files"])


def test_every_stylesheet_image_is_served(served):
    """The images a stylesheet points at (url(images/…)) are in the manifest, so none is a 404."""
    for name, spec in SPECS.items():
        for rel in spec["files"]:
            if rel.endswith(".css"):
                css = (served / assets.folder_name(name, spec) / rel).read_text(encoding="utf-8")
                for ref in re.findall(r"url\(['\"]?(images/[^'\")]+)", css):
                    assert ref in spec["files"], (name, ref)


def _version_in(urls: list[str], pattern: str) -> str:
    found = [m.group(1) for u in urls if (m := re.search(pattern, u))]
    assert found, (pattern, urls)
    return found[0]


def test_versions_match_what_folium_asks_for():
    m = folium.Map(tiles=None)
    draw = folium.plugins.Draw()
    leaflet = _version_in([u for _, u in m.default_js], r"leaflet@([\d.]+)/")
    named_draw = _version_in([u for _, u in draw.default_js], r"leaflet\.draw/([\d.]+)/")
    assert SPECS["leaflet"]["version"] == SPECS["leaflet"]["folium_names"] == leaflet
    assert SPECS["leaflet-draw"]["folium_names"] == named_draw
    assert SPECS["leaflet-draw"]["version"].split(".")[:2] == named_draw.split(".")[:2]  # same 1.0 API
    assert SPECS["leaflet-heat"]["version"] == f"folium-{folium.__version__}"
    assert "npmjs.org/leaflet-draw/-/leaflet-draw-" + SPECS["leaflet-draw"]["version"] in SPECS["leaflet-draw"]["url"]


def test_a_map_references_only_local_assets(served):
    m = folium.Map(tiles=None)
    folium.plugins.Draw().add_to(m)
    folium.plugins.HeatMap([[36.6, 117.0, 1.0]]).add_to(m)
    assets.localize(m, "/crm/component/x")
    urls = assets.asset_urls(m)
    assert len(urls) == 5  # leaflet js + css, draw js + css, heat
    assert all(u.startswith("/crm/component/x/") for u in urls)
    for u in urls:
        assert assets.local_file(u, "/crm/component/x", served).is_file(), u
    html = m.get_root().render()
    assert not re.search(r"(src|href)=\"https?://", html)


def test_serve_declares_the_folder_under_the_name_url_base_assumes(served):
    # outside a script run Streamlit registers nothing but names the component as in the app
    assert assets.serve(declare_component) == assets.url_base() == "/component/lib.maps.assets.files"
    assert assets.serve(declare_component, "/crm/") == "/crm/component/lib.maps.assets.files"
    got = {}
    assets.serve(lambda name, path: got.update(name=name, path=path) or type("C", (), {"name": name}), "")
    assert Path(got["path"]) == served


def test_a_damaged_file_is_copied_again_and_a_tampered_tarball_refused(served, tmp_path):
    root = tmp_path / "assets"
    draw = assets.folder_name("leaflet-draw", SPECS["leaflet-draw"])
    shutil.copytree(served / draw, root / draw)  # the npm asset already there: no network needed
    calls = []

    def offline(url):
        calls.append(url)
        return b"not the tarball"

    assert assets.fill(root, download=offline) == root
    assert calls == []
    css = root / assets.folder_name("leaflet", SPECS["leaflet"]) / "leaflet.css"
    assert not assets.problems(css.parent, SPECS["leaflet"])

    css.write_text("/* changed */", encoding="utf-8")
    assert assets.problems(css.parent, SPECS["leaflet"]) == ["leaflet.css: SHA-256 differs from lib/maps/assets.toml"]
    assets.fill(root, download=offline)
    assert assets.sha256(css) == SPECS["leaflet"]["files"]["leaflet.css"]

    shutil.rmtree(root / draw)
    with pytest.raises(assets.AssetError, match="integrity mismatch"):
        assets.fill(root, download=offline)
    assert calls == [SPECS["leaflet-draw"]["url"]]
    assert not (root / draw).exists()  # nothing half-written is left to be served
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_npm_tarball_is_checked_then_each_file(tmp_path, monkeypatch):
    js, css = b"L.drawVersion = '9.9.9';", b".leaflet-draw {}"
    tgz = _tarball({"package/dist/x.js": js, "package/dist/x.css": css, "package/README.md": b"not served"})
    spec = {"version": "9.9.9", "source": "npm", "url": "https://registry.npmjs.org/x/-/x-9.9.9.tgz",
            "integrity": _sri(tgz), "folder": "package/dist",
            "files": {"x.js": hashlib.sha256(js).hexdigest(), "x.css": hashlib.sha256(css).hexdigest()}}
    monkeypatch.setenv("GRIDCRM_NPM_REGISTRY", "https://mirror.example/npm/")
    asked = []
    assets.install_one(tmp_path, "x", spec, lambda url: asked.append(url) or tgz)
    assert asked == ["https://mirror.example/npm/x/-/x-9.9.9.tgz"]  # a mirror, checked all the same
    assert sorted(p.name for p in (tmp_path / "x-9.9.9").iterdir()) == ["x.css", "x.js"]
    assert (tmp_path / "x-9.9.9" / "x.js").read_bytes() == js

    wrong = dict(spec, files={**spec["files"], "x.js": "0" * 64})  # tarball fine, file not the one recorded
    with pytest.raises(assets.AssetError, match="x.js: SHA-256 differs"):
        assets.install_one(tmp_path / "other", "x", wrong, lambda url: tgz)
    assert not (tmp_path / "other" / "x-9.9.9").exists()


class _ReadOnly:
    """Refuse every write under a folder, as a read-only file system would (an audit hook: it
    sees open() for writing, mkdir, rename, copies and symlinks from Python and its C modules)."""

    WRITES = {"os.mkdir", "os.rename", "os.replace", "os.symlink", "os.link", "os.remove", "os.rmdir",
              "shutil.copyfile", "shutil.copytree", "os.chmod"}

    def __init__(self, folder: Path):
        self.folder = str(folder)
        self.on = False
        self.refused: list[str] = []
        sys.addaudithook(self)

    def _inside(self, path) -> bool:
        try:  # no resolve(): a hook must not make calls that raise audit events themselves
            path = os.path.abspath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return path.startswith(self.folder + os.sep) and "__pycache__" not in path  # bytecode: Python copes

    def __call__(self, event: str, args: tuple) -> None:
        if not self.on:
            return
        if event == "open" and len(args) >= 2 and isinstance(args[1], str) and set(args[1]) & set("wax+"):
            paths = [args[0]]
        elif event == "open" and len(args) >= 3 and isinstance(args[2], int) and args[2] & 0o3:
            paths = [args[0]]
        elif event in self.WRITES:
            paths = [a for a in args if isinstance(a, (str, bytes, Path))]
        else:
            return
        for p in paths:
            if self._inside(p):
                self.refused.append(f"{event} {p}")
                raise PermissionError(f"read-only source tree: {event} {p}")


_guard = _ReadOnly(ROOT)


def test_a_read_only_source_tree_still_renders_and_serves_a_map(engine, served, tmp_path, monkeypatch):
    # The guard proves it bites first: writing into the source tree is refused while it is on.
    _guard.on = True
    try:
        with pytest.raises(PermissionError):
            (ROOT / "gridcrm-write-probe").mkdir()
        assert _guard.refused
        _guard.refused.clear()
        # a fresh asset folder elsewhere (the npm asset copied in: no network in this test)
        draw = assets.folder_name("leaflet-draw", SPECS["leaflet-draw"])
        shutil.copytree(served / draw, tmp_path / draw)
        monkeypatch.setenv("GRIDCRM_ASSET_DIR", str(tmp_path))
        base = assets.serve(lambda name, path: type("C", (), {"name": f"lib.maps.assets.{name}"}))
        drawn = maps.grid_map(engine, "/37/", _month(engine), asset_base=base)
        html = drawn.map.get_root().render()
    finally:
        _guard.on = False
    assert _guard.refused == []
    assert "L.featureGroup" in html and drawn.grids > 10
    for u in assets.asset_urls(drawn.map):
        assert assets.local_file(u, base, tmp_path).is_file(), u


def _month(engine) -> str:
    from lib.queries import default_scope_and_month
    return default_scope_and_month(engine)[1]


def test_readme_names_every_setting_the_maps_read():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = set()
    for path in (ROOT / "lib" / "maps").glob("*.py"):
        names |= set(re.findall(r"environ(?:\.get)?[\[(]\"(GRIDCRM_[A-Z_]+)\"", path.read_text(encoding="utf-8")))
    assert {"GRIDCRM_ASSET_DIR", "GRIDCRM_NPM_REGISTRY", "GRIDCRM_TILE_URL"} <= names
    assert [n for n in sorted(names) if f"`{n}`" not in readme] == []
