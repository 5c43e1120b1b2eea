"""Form widgets from a field spec 表单控件: one widget per `lib.validation.Field`, chosen by its check,
so a field added to a spec (e.g. `lib.customers.FIELDS`) appears on its form with no page code.

| check            | widget                                                                   |
|------------------|--------------------------------------------------------------------------|
| text (and "own") | text_input (max_chars = max_len for text)                                |
| number, integer  | number_input bounded by lo/hi                                            |
| choice           | selectbox with the value labels of its vocabulary (`val.<vocab>.<x>`), a |
|                  | blank ("—") first when the field is optional and has no default          |
| flag             | checkbox                                                                 |
| month            | text_input with the placeholder YYYY-MM                                  |
| date             | date_input                                                               |

The value returned is what the spec's checks take (lib.validation.text_cell turns it into a cell).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from lib import vocab
from lib.validation import Field

_JS_INT = 2**53 - 1  # a number_input bound beyond this is not exact in the browser


def field_label(t: Callable[..., str], field: Field) -> str:
    """The field's label: its column label col.<key> (the key itself without one)."""
    return vocab.column_label(t, field.key)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _date(value) -> dt.date | None:
    if _missing(value) or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def field_widget(container, field: Field, value, t: Callable[..., str], key: str, *, vocabulary: str | None = None):
    """Draw the widget for `field` in `container` (st, a column, a form), prefilled with `value`
    (None: the field's default, else the widget's blank or first option); return the entered value.

    `vocabulary` names the value labels of a choice where they differ from the column's default in
    lib.vocab.COLUMN_VALUES (e.g. "customer_status" for a customer's status).
    """
    label = field_label(t, field)
    if _missing(value):
        value = field.default
    check = field.check
    if check in ("number", "integer"):
        integer = check == "integer"
        lo, hi = field.lo, min(field.hi, _JS_INT)
        lo, hi = (int(lo), int(hi)) if integer else (float(lo), float(hi))
        shown = None if _missing(value) else (int(value) if integer else float(value))
        if shown is not None and not lo <= shown <= hi:  # keep an out-of-range stored value: the check names it
            lo = hi = None
        return container.number_input(label, min_value=lo, max_value=hi, value=shown, step=1 if integer else None,
                                      key=key)
    if check == "choice":
        voc = vocabulary or vocab.COLUMN_VALUES.get(field.key)
        options = list(field.options)
        if not field.required and field.default is None:
            options = [None, *options]
        index = options.index(value) if value in options else 0
        return container.selectbox(
            label, options, index, key=key,
            format_func=lambda x: "—" if x is None else t(vocab.value_key(voc, x)) if voc else str(x))
    if check == "flag":
        return container.checkbox(label, bool(value), key=key)
    if check == "month":
        return container.text_input(label, "" if _missing(value) else str(value), placeholder="YYYY-MM", key=key)
    if check == "date":
        return container.date_input(label, _date(value), key=key)
    text = "" if _missing(value) else str(value)
    if check == "text":
        return container.text_input(label, text, max_chars=field.max_len, key=key)
    return container.text_input(label, text, key=key)  # "own" checks (phone, credit code …): free text
