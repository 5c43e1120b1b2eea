"""`python -m lib.maps.fetch_assets [folder]`: copy and fetch the map assets into the asset folder
and check every file against lib/maps/assets.toml (at install; otherwise the first map does it)."""
from __future__ import annotations

import sys
from pathlib import Path

from lib.maps import assets


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = assets.ensure(Path(args[0]) if args else None)
    for name, spec in assets.manifest()["assets"].items():
        folder = root / assets.folder_name(name, spec)
        print(f"{name} {spec['version']}: {len(spec['files'])} files checked in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
