"""Number and date formatting (数字与日期格式) for the session's language, with Babel.

Words (units, "no data") come from the message catalogs like every other label.
"""
from __future__ import annotations

import datetime as dt

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from lib.i18n import translator

LOCALE = {"zh": "zh_CN", "en": "en_GB"}


def _loc(lang: str) -> str:
    return LOCALE.get(lang, "zh_CN")


def count(n: int | float, lang: str) -> str:
    """Return a whole count with the language's grouping: "24,263"."""
    return format_decimal(int(round(n)), format="#,##0", locale=_loc(lang))


def number(value: float | None, lang: str, digits: int = 1) -> str:
    """Return a decimal number with `digits` decimals, or "no data"."""
    if value is None:
        return translator(lang)("fmt.no_data")
    return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0", locale=_loc(lang))


def tonnes(value: float | None, lang: str) -> str:
    """Return tonnes with a unit: "1,234.5 吨" / "1,234.5 t"."""
    if value is None:
        return translator(lang)("fmt.no_data")
    return translator(lang)("fmt.tonnes", value=number(value, lang, 1))


def pct(value: float | None, lang: str, signed: bool = False) -> str | None:
    """Return a fraction as a percentage (0.253 → "25.3%"); None → "no data" (or None for a delta)."""
    if value is None:
        return None if signed else translator(lang)("fmt.no_data")
    text = format_percent(abs(value) if signed else value, format="#,##0.0%", locale=_loc(lang))
    return ("+" if value >= 0 else "-") + text if signed else text


def cny(value: float | None, lang: str) -> str:
    """Return an amount in yuan: "¥15,304,645" / "CN¥15,304,645"."""
    if value is None:
        return translator(lang)("fmt.no_data")
    return format_currency(value, "CNY", format="¤#,##0", currency_digits=False, locale=_loc(lang))


def month(value: str, lang: str) -> str:
    """Return a `YYYY-MM` month as "2026年10月" / "October 2026"."""
    d = dt.date(int(value[:4]), int(value[5:7]), 1)
    return format_date(d, "y年M月" if lang == "zh" else "MMMM y", locale=_loc(lang))


def date(value: dt.date | None, lang: str) -> str:
    """Return a date as "2026年10月1日" / "1 Oct 2026"."""
    if value is None:
        return ""
    return format_date(value, "y年M月d日" if lang == "zh" else "d MMM y", locale=_loc(lang))
