"""Message catalogs (界面文字): Chinese by default, English on request, chosen per session.

Catalogs are TOML files in `lib/locales/` (`zh.toml`, `en.toml`) with dotted keys. No process-
global state: `translator(lang)` returns a function bound to one language, so each Streamlit
session can speak its own.
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Callable

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


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """Return the flat catalog {dotted key: message} of `lang`."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    with open(LOCALES / f"{lang}.toml", "rb") as fh:
        return _flatten(tomllib.load(fh))


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
