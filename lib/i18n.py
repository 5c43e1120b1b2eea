"""Message catalogs (界面文字): Chinese by default, English on request, chosen per session.

Catalogs are TOML files in `lib/locales/<lang>/` (one per area of the app: `common.toml`,
`maps.toml`, …) with dotted keys; a key defined in two files is an error. No process-
global state: `translator(lang)` returns a function bound to one language, so each Streamlit
session can speak its own.
"""
from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, full + "."))
        else:
            flat[full] = str(value)
    return flat


@cache
def catalog(lang: str) -> dict[str, str]:
    """Return the flat catalog {dotted key: message} of `lang`."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    merged: dict[str, str] = {}
    for path in sorted((LOCALES / lang).glob("*.toml")):
        with open(path, "rb") as fh:
            part = _flatten(tomllib.load(fh))
        clash = set(part) & set(merged)
        if clash:
            raise ValueError(f"{path.name}: keys defined twice: {sorted(clash)[:5]}")
        merged.update(part)
    return merged


def translator(lang: str) -> Callable[..., str]:
    """Return t(key, **values) for `lang`.

    A missing key shows as the raw key rather than breaking the page; tests check that every key
    the code uses is in both catalogs.
    """
    messages = catalog(lang)

    def t(key: str, **values) -> str:
        message = messages.get(key, key)
        return message.format(**values) if values else message

    return t
