"""Import batches and revert 导入批次与撤销 (issue 14): every import that writes records, besides its
summary audit row, one `import_batch` row and per row it inserted, updated or deleted the row's
before and after (`import_change`, JSON objects of the stored cells, dates as ISO text;
NULL before = inserted, NULL after = deleted), tied to the batch.

Capture: `snapshot(conn, kind, out)` reads, before the write, the rows the file can touch (per table
of TABLES: those matching the file's keys, or the whole table for small ones) and the table's
highest id; `record(...)` reads them again after the write (plus every row with a higher id: the
inserted ones), keeps the rows that differ and bulk-inserts them (lib.db.bulk_insert: COPY on
PostgreSQL). A users import records no rows (password hashes stay out of the change log) and cannot
be reverted.

`revert(engine, user, batch_id)`: admins only ("imports.revert"); all or nothing in one write
transaction: every row the batch changed must still be as the batch left it (otherwise a later
import or a form edit touched it: refused, with the list of those rows); then updated rows get
their before values back, inserted rows are deleted (with their summary rows) and deleted rows come
back; the summaries are refreshed as the import's write path refreshes them (lib.summary).
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import Connection, Engine, text

from lib import auth, db, months
from lib.importer.check import MONTH_COLUMN
from lib.months import first_open
from lib.summary import refresh_customer_monthly, refresh_station_monthly
from lib.tier_history import COLS, note_changes
from lib.transfer import _kind, models_metadata


def _ids(s: pd.Series) -> list:
    return sorted({int(v) for v in s.dropna()})


def _values(col: str) -> Callable[[pd.DataFrame], list]:
    return lambda out: sorted({v for v in out[col].dropna() if v != ""}) if col in out else []


# Per import kind: (table, key columns, filter) — the filter maps the checked rows to {column: values}
# selecting the rows the file can touch (None: the whole table). Parents before children.
Filter = Callable[[pd.DataFrame], dict] | None
TABLES: dict[str, tuple[tuple[str, tuple[str, ...], Filter], ...]] = {
    "customers": (("customer", ("code",), lambda o: {"code": _values("code")(o)}),),
    "consumption": (("monthly_consumption", ("customer_id", "month"),
                     lambda o: {"customer_id": _ids(o["customer_id"]), "month": _values("month")(o)}),),
    "traffic": (("station_traffic", ("station_id", "day"),
                 lambda o: {"station_id": _ids(o["station_id"]), "day": _values("day")(o)}),),
    "visits": (("visit", ("id",), lambda o: {"customer_id": _ids(o["customer_id"])}),),
    "stations": (("org_unit", ("id",), lambda o: {"level": ["station"]}), ("station", ("id",), None)),
    "competitor_stations": (("competitor_station", ("id",), None),),
    "station_sales": (("station_sales", ("station_id", "month"), None), ("station", ("id",), None)),
    "managers": (("customer_manager", ("id",), None),),
    "targets": (("development_plan", ("id",), None),),
    "rate_targets": (("four_rate_target", ("station_id", "rate"), None),),
    "surveys": (("survey_submission", ("id",), None), ("special_survey", ("id",), None)),
    "org_units": (("org_unit", ("id",), None),),
    # development cases: signing changes the customer (lib.development.sign_customer); each case its stage log
    "development": (("customer", ("code",), lambda o: {"code": sorted(set(o.loc[o["stage"] == "signed", "code"]))}),
                    ("development", ("id",), None), ("development_stage", ("id",), None)),
    "grids": (("grid", ("id",), None),),
}
# Summary rows that hang on a row an import inserted: deleted before that row on revert.
SUMMARY_CHILDREN = {"customer": ("customer_monthly", "customer_id"), "station": ("station_monthly", "station_id")}
CHUNK = 5000


def _table(name: str) -> sa.Table:
    return models_metadata().tables[name]


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode  # one encoder, reused


def _iso(v) -> str:
    return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat() if isinstance(v, dt.date) else str(v)


def _codec(t: sa.Table) -> list[tuple[str, Callable | None, Callable | None]]:
    """(column, encode, decode) per column (lib.transfer's column kinds): dates and times as ISO text,
    JSON columns as their JSON text; numbers, text and booleans as JSON has them (None: as is)."""
    out = []
    for c in t.columns:
        kind = _kind(c)
        if kind in ("date", "datetime"):
            out.append((c.name, _iso, dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat))
        elif kind == "json":
            out.append((c.name, lambda v: json.dumps(v, ensure_ascii=False), json.loads))
        else:
            out.append((c.name, None, None))
    return out


def _encode(codec, row) -> dict:
    if not any(enc for _, enc, _ in codec):  # numbers and text only: as they are (fast path for big tables)
        return dict(zip((name for name, _, _ in codec), row))
    return {name: v if enc is None or v is None else enc(v) for (name, enc, _), v in zip(codec, row)}


def _decode(codec, cells: dict) -> dict:
    return {name: cells.get(name) if dec is None or cells.get(name) is None else dec(cells[name])
            for name, _, dec in codec}


def _statements(conn: Connection, t: sa.Table, where: dict) -> tuple[list, set | None]:
    """The selects of the rows matching `where` and the first column's values to keep (None: all).
    The other columns' rows are counted first: few (a month the file adds), they are read at once
    and the first column filtered here; many, the first column's values go in chunks."""
    (col, values), *rest = where.items()
    conds = [t.c[c].in_(v) for c, v in rest]
    if rest and conn.execute(sa.select(sa.func.count()).select_from(t).where(*conds)).scalar() <= 2 * len(values):
        return [sa.select(t).where(*conds)], set(values)
    return [sa.select(t).where(t.c[col].in_(values[i:i + CHUNK]), *conds) for i in range(0, len(values), CHUNK)], None


def _read(conn: Connection, t: sa.Table, keys: tuple[str, ...], where: dict | None, above: int | None = None) -> dict:
    """{key tuple: row JSON} of the rows of `t` matching `where` ({column: values}), or every row; with
    `above`, also every row whose id is higher."""
    codec = _codec(t)
    names = [c for c, _, _ in codec]
    stmts, keep = [], None
    if where is None:
        stmts.append(sa.select(t))
    elif all(where.values()):
        stmts, keep = _statements(conn, t, where)
    if above is not None and where is not None and "id" in t.c:
        stmts.append(sa.select(t).where(t.c.id > above))
    first = names.index(next(iter(where))) if where else 0
    found = {}
    for n, stmt in enumerate(stmts):
        filtered = keep is not None and n == 0
        for row in conn.execute(stmt):
            if not filtered or row[first] in keep:
                cells = _encode(codec, row)
                found[tuple(cells[p] for p in keys)] = _JSON(cells)
    return found


@dataclass
class Snapshot:
    """The rows a file can touch, before the write: per table (name, keys, filter, rows, highest id)."""

    kind: str
    parts: list = field(default_factory=list)


def snapshot(conn: Connection, kind: str, out: pd.DataFrame | None) -> Snapshot:
    """Read the rows of `kind`'s tables the checked rows `out` can touch (before the write)."""
    snap = Snapshot(kind)
    for name, keys, flt in TABLES.get(kind, ()):
        t = _table(name)
        where = None if flt is None or out is None else flt(out)
        top = conn.execute(sa.select(sa.func.max(t.c.id))).scalar() if "id" in t.c else None
        snap.parts.append((name, keys, where, _read(conn, t, keys, where), top or 0))
    return snap


def record(conn: Connection, snap: Snapshot, report, actor: str, scope: str) -> int | None:
    """After the write: store the batch and the rows that changed; return the batch id (None: nothing
    recorded, for a kind without TABLES)."""
    if snap.kind not in TABLES:
        return None
    batches = _table("import_batch")
    batch = conn.execute(sa.insert(batches).values(
        kind=snap.kind, filename=report.filename[:200], actor=actor, org_path=scope, at=auth._now(),
        rows=report.rows, inserted=report.inserted, updated=report.updated).returning(batches.c.id)).scalar_one()
    cols: dict[str, list] = {"tbl": [], "key": [], "before": [], "after": []}
    for name, keys, where, before, top in snap.parts:
        after = _read(conn, _table(name), keys, where, top)
        changed = [k for k, a in after.items() if before.get(k) != a] + [k for k in before if k not in after]
        cols["tbl"] += [name] * len(changed)
        cols["key"] += [_JSON(list(k)) for k in changed]
        cols["before"] += [before.get(k) for k in changed]
        cols["after"] += [after.get(k) for k in changed]
    if cols["tbl"]:
        db.bulk_insert(conn, _table("import_change"), {"batch_id": [batch] * len(cols["tbl"]), **cols})
    return batch


# --- revert ---------------------------------------------------------------------------------------


@dataclass
class RevertReport:
    """Outcome of a revert: ok, or the reason ("unknown", "reverted", "changed_since", "dependent", "closed")
    and the rows a later change touched (table, key)."""

    batch_id: int
    ok: bool = False
    reason: str = ""
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    restored: int = 0


class _Refused(Exception):
    pass


def _changes(conn: Connection, batch_id: int) -> pd.DataFrame:
    return pd.read_sql_query(text("SELECT tbl, key, before, after FROM import_change WHERE batch_id = :b ORDER BY id"),
                             conn, params={"b": batch_id})


def _current(conn: Connection, name: str, keys: tuple[str, ...], group: pd.DataFrame) -> dict:
    """The rows of table `name` now, for the keys of `group`."""
    t = _table(name)
    dec = {c: d or (lambda v: v) for c, _, d in _codec(t)}
    values = list(zip(*(json.loads(k) for k in group["key"])))
    return _read(conn, t, keys, {k: [dec[k](v) for v in sorted(set(vs))] for k, vs in zip(keys, values)})


def _keys_of(kind: str) -> dict[str, tuple[str, ...]]:
    return {name: keys for name, keys, _ in TABLES.get(kind, ())}


def conflicts(conn: Connection, kind: str, changes: pd.DataFrame) -> list[tuple[str, str]]:
    """The rows (table, key) no longer as the batch left them."""
    found = []
    for name, group in changes.groupby("tbl", sort=False):
        now = _current(conn, name, _keys_of(kind)[name], group)
        for key, after in zip(group["key"], group["after"]):
            if now.get(tuple(json.loads(key))) != (after if isinstance(after, str) else None):
                found.append((name, ", ".join(str(v) for v in json.loads(key))))
    return found


def _restore(conn: Connection, kind: str, changes: pd.DataFrame) -> None:
    """Deletes of inserted rows (children first), then updates and re-inserts (parents first)."""
    order = [name for name, _, _ in TABLES[kind]]
    inserted = changes["before"].isna()
    for name in reversed(order):
        part = changes[(changes["tbl"] == name) & inserted]
        if len(part):
            _delete(conn, name, _keys_of(kind)[name], part["key"].tolist())
    for name in order:
        t, codec, keys = _table(name), _codec(_table(name)), _keys_of(kind)[name]
        part = changes[(changes["tbl"] == name) & ~inserted]
        rows = [(_decode(codec, json.loads(b)), isinstance(a, str)) for b, a in zip(part["before"], part["after"])]
        upd, new = [r for r, kept in rows if kept], [r for r, kept in rows if not kept]
        for nulls, group in _by_json_nulls(t, upd).items():
            stmt = t.update().where(*(t.c[k] == sa.bindparam(f"k_{k}") for k in keys)).values(
                {c: sa.null() for c in nulls})
            conn.execute(stmt, [{**r, **{f"k_{k}": r[k] for k in keys}} for r in group])
        for nulls, group in _by_json_nulls(t, new).items():
            conn.execute(t.insert().values({c: sa.null() for c in nulls}), group)


def _by_json_nulls(t: sa.Table, rows: list[dict]) -> dict[tuple, list[dict]]:
    """Rows grouped by their JSON columns holding SQL NULL (bound as NULL, not as the JSON text null)."""
    json_cols = [c.name for c in t.columns if _kind(c) == "json"]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        nulls = tuple(c for c in json_cols if r[c] is None)
        groups.setdefault(nulls, []).append({k: v for k, v in r.items() if k not in nulls})
    return groups

def _delete(conn: Connection, name: str, keys: tuple[str, ...], key_texts: list[str]) -> None:
    t = _table(name)
    dec = {c: d or (lambda v: v) for c, _, d in _codec(t)}
    params = [{f"k_{k}": dec[k](v) for k, v in zip(keys, json.loads(kt))} for kt in key_texts]
    if name in SUMMARY_CHILDREN:
        child, col = SUMMARY_CHILDREN[name]
        ids = [r[0] for p in _chunks(params) for r in conn.execute(
            sa.select(t.c.id).where(sa.tuple_(*(t.c[k] for k in keys)).in_([tuple(x.values()) for x in p])))]
        for part in _chunks(ids):
            conn.execute(sa.delete(_table(child)).where(_table(child).c[col].in_(part)))
    conn.execute(t.delete().where(*(t.c[k] == sa.bindparam(f"k_{k}") for k in keys)), params)


def _chunks(seq: list):
    for i in range(0, len(seq), CHUNK):
        yield seq[i:i + CHUNK]


def _cells(changes: pd.DataFrame, col: str) -> list:
    """Values of stored column `col` in the before and after rows of the changes."""
    out = []
    for side in ("before", "after"):
        out += [json.loads(v).get(col) for v in changes[side] if isinstance(v, str)]
    return [v for v in out if v is not None]


def _refresh(conn: Connection, kind: str, changes: pd.DataFrame, span: tuple) -> None:
    """Summaries as the import's write path refreshes them (lib.importer.write)."""
    if kind in ("customers", "development"):  # a development import changes the customers it signs
        stations = sorted({int(s) for s in _cells(changes, "station_id")})
        if stations:
            refresh_station_monthly(conn, station_ids=stations)
        ids = [int(i) for i in _cells(changes[changes["after"].notna() & changes["before"].notna()], "id")]
        if ids:
            refresh_customer_monthly(conn, ids)
    elif kind == "consumption":
        months = sorted(set(_cells(changes, "month")))
        ids = sorted({int(i) for i in _cells(changes, "customer_id")})
        st = [r[0] for p in _chunks(ids) for r in conn.execute(
            sa.select(sa.distinct(_table("customer").c.station_id)).where(_table("customer").c.id.in_(p)))]
        refresh_station_monthly(conn, months=months, station_ids=sorted(set(st)))
        now = tuple(conn.execute(text("SELECT MIN(month), MAX(month) FROM monthly_consumption")).first())
        if now != span:  # the data's span moved: every customer's window moved with it (as the write path)
            conn.execute(text("DELETE FROM customer_monthly WHERE month >= :m"),  # closed months stay (lib.months)
                         {"m": first_open(conn) or "0000-00"})
            refresh_customer_monthly(conn)
        else:
            refresh_customer_monthly(conn, ids, from_month=min(months))


def revert(engine: Engine, user: auth.SessionUser, batch_id: int) -> RevertReport:
    """Undo import batch `batch_id` (admins; all or nothing); see the module docstring."""
    auth.require(user, "imports.revert")
    report = RevertReport(batch_id)
    try:
        with db.write(engine) as conn:
            batch = conn.execute(text("SELECT kind, org_path, reverted_at FROM import_batch WHERE id = :b"),
                                 {"b": batch_id}).mappings().first()
            if batch is None or not batch["org_path"].startswith(user.scope) or batch["kind"] not in TABLES:
                report.reason = "unknown"
                raise _Refused
            if batch["reverted_at"] is not None:
                report.reason = "reverted"
                raise _Refused
            _revert_rows(conn, batch["kind"], batch_id, report)
            conn.execute(text("UPDATE import_batch SET reverted_at = :at, reverted_by = :by WHERE id = :b"),
                         {"at": auth._now(), "by": user.login, "b": batch_id})
            auth.audit(conn, user.login, "import_revert", "import_batch", batch_id, None,
                       {"rows": report.restored, "kind": batch["kind"]}, org_path=batch["org_path"])
        report.ok = True
    except _Refused:
        report.ok = False
    return report


def _check_history(conn: Connection, kind: str, changes: pd.DataFrame, report: RevertReport) -> None:
    """Closed months and the tier history (issue 15): a batch that wrote rows of a month closed since
    is refused ("closed": a closed month's figures never change); customers whose tier the revert
    puts back get their tier history noted as any tier change (lib.tier_history.note_changes)."""
    last = months.last_closed(conn)
    if last and kind in MONTH_COLUMN:
        col = MONTH_COLUMN[kind]
        if any(str(v)[:7] <= last for v in _cells(changes, col)):
            report.reason = "closed"
            raise _Refused
    if kind == "customers":
        upd = changes[(changes["tbl"] == "customer") & changes["before"].notna() & changes["after"].notna()]
        rows = [json.loads(b) for b in upd["before"]]
        if rows:
            note_changes(conn, pd.DataFrame({c: [r[c] for r in rows] for c in ("id", *COLS)}).rename(
                columns={"id": "customer_id"}))


def _revert_rows(conn: Connection, kind: str, batch_id: int, report: RevertReport) -> None:
    changes = _changes(conn, batch_id)
    report.conflicts = conflicts(conn, kind, changes)
    if report.conflicts:
        report.reason = "changed_since"
        raise _Refused
    _check_history(conn, kind, changes, report)
    span = tuple(conn.execute(text("SELECT MIN(month), MAX(month) FROM monthly_consumption")).first())
    try:
        with conn.begin_nested():
            _restore(conn, kind, changes)
    except sa.exc.IntegrityError:  # a later row hangs on a row the import inserted (a visit, consumption …)
        report.reason = "dependent"
        raise _Refused from None
    _refresh(conn, kind, changes, span)
    report.restored = len(changes)


def recent(engine: Engine, scope: str, limit: int = 20) -> pd.DataFrame:
    """The latest import batches inside `scope`, newest first (id, at, kind, filename, actor, rows,
    inserted, updated, reverted_at, reverted_by)."""
    from lib.queries import in_scope, read_df, scope_like

    return read_df(engine, (
        "SELECT id, at, kind, filename, actor, rows, inserted, updated, reverted_at, reverted_by FROM import_batch "
        f"WHERE {in_scope('org_path')} ORDER BY id DESC LIMIT {int(limit)}"), scope=scope_like(scope))



def revertible(batches: pd.DataFrame) -> pd.DataFrame:
    """The batches of `recent` that may still be reverted: not reverted yet, of a kind that records its rows."""
    return batches[batches["reverted_at"].isna() & batches["kind"].isin(list(TABLES))]


def recent_table(t: Callable[..., str], batches: pd.DataFrame) -> pd.DataFrame:
    """`recent`'s batches as the imports page lists them 最近导入, headed and labelled in `t`'s language."""
    state = [t("imp.recent.active") if pd.isna(at) else t("imp.recent.reverted", by=by, at=str(at)[:16])
             for at, by in zip(batches["reverted_at"], batches["reverted_by"])]
    return pd.DataFrame({t("imp.recent.at"): batches["at"].astype(str).str[:16], "#": batches["id"],
                         t("imp.recent.kind"): [t(f"imp.kind.{k}") for k in batches["kind"]],
                         t("imp.recent.file"): batches["filename"], t("imp.recent.actor"): batches["actor"],
                         t("imp.recent.rows"): batches["rows"], t("imp.recent.inserted"): batches["inserted"],
                         t("imp.recent.updated"): batches["updated"], t("imp.recent.state"): state})
