"""Only the columns a file has 只更新文件中有的列 (issue 14): before the row checks, a row naming a
record that exists (a customer, manager, station or org unit by code; a customer's or station's
month or day) gets the stored value for every column the file leaves out, so a file with
`code,name,kind,station_code` changes the name and leaves phone, contact, coordinates, volumes,
credit code, lost status and manager as they are. The stored values come as the app downloads
them (lib.export.IMPORT_READERS, `as_import_file`), so they pass the same checks and every derived
value (tier, org path, grid) is recomputed from the whole row.

The blank-cell rule, one for every kind: **a blank cell keeps the stored value; a cell holding only
a dash (CLEAR: "-" or "—") clears it** (for a new row a dash is the same as blank). Why: a branch
clerk fills the downloaded template, which has every column, with the few values they mean to
change, or edits an exported sheet where the other cells already hold the stored values; in both a
blank cell means "nothing to say", never "erase" (the 2026 attack wiped customers this way), and the
stations and org-unit boundary imports already kept a stored value for a blank cell. Clearing is a
deliberate act, the dash people already write for "none" in Chinese sheets. The rule is in the
templates' 填写说明 sheet and the imports page help (catalog imp.blank_rule).
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from lib.importer.specs import columns
from lib.validation import Checker

CLEAR = ("-", "—")
# Per kind: the columns naming the stored record a row updates (kinds not listed only insert, or
# have no optional column to lose).
KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("code",),
    "managers": ("code",),
    "stations": ("code",),
    "org_units": ("code",),
    "consumption": ("customer_code", "month"),
    "station_sales": ("station_code", "month"),
    "traffic": ("station_code", "day"),
}
# Columns with their own keep rule (an org unit's boundary: blank keeps it, lib.org.write_units).
NO_FILL: dict[str, tuple[str, ...]] = {"org_units": ("boundary",)}


def _norm(df: pd.DataFrame, keys: tuple[str, ...]) -> list[tuple]:
    """Each row's key as stored text: codes upper-case, months YYYY-MM, days ISO (None where unreadable)."""
    ck = Checker(df[list(keys)].copy())
    parts = []
    for k in keys:
        if k == "month":
            parts.append(ck.month(k).tolist())
        elif k == "day":
            parts.append([d.isoformat() if d is not None and d == d else None for d in ck.date(k)])
        else:
            parts.append(df[k].str.upper().tolist())
    return list(zip(*parts))


def _stored(conn: Connection, kind: str, scope: str, keys: tuple[str, ...], wanted: set) -> pd.DataFrame:
    """The stored records of `kind` in `scope` whose key is in `wanted`, as file cells (key columns as index)."""
    from lib.export import IMPORT_READERS, as_import_file

    months = sorted({k[1][:7] for k in wanted if k[1]}) if len(keys) > 1 else [None]
    frames = [IMPORT_READERS[kind](conn, scope, m) for m in (months if len(months) <= 24 else [None])]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if rows.empty:
        return rows
    raw = rows[list(keys)].astype(object).where(rows[list(keys)].notna(), "").astype(str)
    found = _norm(raw, keys)
    hit = [k in wanted for k in found]
    if not any(hit):
        return pd.DataFrame()
    rows = rows[hit].reset_index(drop=True)  # only the records the file names go through the formatting
    cells = as_import_file(rows, kind, "en")
    cells.index = pd.MultiIndex.from_tuples([k for k, h in zip(found, hit) if h], names=list(keys))
    return cells[~cells.index.duplicated()]


def fill_stored(conn: Connection, kind: str, df: pd.DataFrame, scope: str) -> pd.DataFrame:
    """The file's cells with the stored values where a row updates a record and its cell is blank or
    its column absent; dash cells (CLEAR) made blank. Returns a new frame (same attrs)."""
    keys = KEYS.get(kind)
    present = set(df.attrs.get("headers", df.columns))
    cols = [k for k, _, _ in columns(kind) if keys and k not in keys and k not in NO_FILL.get(kind, ())]
    out = df.copy()
    out.attrs = dict(df.attrs)
    gaps = [c for c in cols if c not in present or (out[c] == "").any()]
    if keys and gaps and len(out):
        key = _norm(out, keys)
        wanted = {k for k in key if all(k)}
        stored = _stored(conn, kind, scope, keys, wanted) if wanted else pd.DataFrame()
        if len(stored):
            hit = pd.Series([k in stored.index for k in key], index=out.index)
            src = stored.reindex(pd.MultiIndex.from_tuples(key))
            src.index = out.index
            for c in gaps:
                fill = hit & ((out[c] == "") if c in present else True) & src[c].notna()
                out.loc[fill, c] = [str(v) for v in src.loc[fill, c]]
    for c in out.columns:
        if out[c].isin(CLEAR).any():
            out[c] = out[c].where(~out[c].isin(CLEAR), "")
    return out
