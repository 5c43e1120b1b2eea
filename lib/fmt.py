"""Number formatting (数字格式) for the session's language: tonnes, percentages, counts.

Words (units, "no data") come from the message catalogs like every other label.
"""
from __future__ import annotations

from lib.i18n import translator


def count(n: int | float, lang: str) -> str:
    """Return a whole count with thousands separators."""
    return f"{int(round(n)):,}"


def tonnes(value: float | None, lang: str) -> str:
    """Return tonnes with a unit: "1,234.5 吨" / "1,234.5 t"."""
    t = translator(lang)
    if value is None:
        return t("fmt.no_data")
    return t("fmt.tonnes", value=f"{value:,.1f}")


def pct(value: float | None, lang: str, signed: bool = False) -> str | None:
    """Return a fraction as a percentage (0.253 → "25.3%"); None → "no data" (or None for a delta)."""
    if value is None:
        return None if signed else translator(lang)("fmt.no_data")
    return f"{value:+.1%}" if signed else f"{value:.1%}"
